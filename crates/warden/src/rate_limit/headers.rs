//! The IETF `RateLimit-Policy` and `RateLimit` fields, and `Retry-After`.
//!
//! Written after draft-ietf-httpapi-ratelimit-headers-11 (May 2026), the latest revision:
//! both fields are Structured Field Lists (RFC 9651) whose items are Strings naming a
//! policy (§3, §4), e.g.
//!
//! ```text
//! RateLimit-Policy: "default";q=100;w=60
//! RateLimit: "default";r=42;t=25
//! ```
//!
//! - `q` (§3.1.1) is the quota: the burst, what an idle key may spend at once;
//!   `w` (§3.1.3) is the window, in whole seconds (no sub-second precision), in which an
//!   exhausted key earns `q` back. `q / w` is the sustained rate.
//! - `r` (§4.1.1) is what the key may spend now; `t` (§4.1.2) the effective window in
//!   seconds. With GCRA, units come back one per interval rather than all at a window's
//!   end, so `t` is the time until the whole burst is back (§8.4: the window "does not
//!   necessarily end at a fixed point in time"). On a 429, `t` equals `Retry-After`,
//!   since §6 says Retry-After "SHOULD NOT reference a point in time earlier than the end
//!   of the effective window".
//! - No `pk` (partition key, §3.1.4): it would echo a hash of the client's address or
//!   credentials; §6.1 asks servers to avoid sensitive partition keys.
//! - Earlier drafts (≤ -06) used `RateLimit-Limit`/`-Remaining`/`-Reset`; they are not sent.
//!
//! Several limiters on one route each append their own items (§4: a list "can be split
//! over multiple fields"), so give them distinct policy names.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::Quota;

/// `RateLimit`, the current service limit (draft-ietf-httpapi-ratelimit-headers-11 §4).
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// `RateLimit-Policy`, the quota policy (draft-ietf-httpapi-ratelimit-headers-11 §3).
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// A named quota as advertised to clients, with its `RateLimit-Policy` value rendered once.
///
/// Per draft-ietf-httpapi-ratelimit-headers-11: `RateLimit-Policy: "name";q=B;w=W` with
/// `q` the burst and `w` the whole seconds in which an exhausted key earns it back;
/// `RateLimit: "name";r=R;t=T` with `r` what the key may spend now and `t` the seconds
/// until its whole burst is back (on a 429, `t` equals `Retry-After`). No `pk`: it would
/// echo a hash of the client's address or credentials.
///
/// ```
/// use warden::rate_limit::{Policy, Quota};
///
/// let policy = Policy::new("login", Quota::per_minute(5)).unwrap();
/// assert_eq!(policy.header_value(), r#""login";q=5;w=60"#);
/// assert!(Policy::new("caf\u{e9}", Quota::per_minute(5)).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Policy {
    name: Arc<str>,
    /// The name as an sf-string, quotes included.
    item: Arc<str>,
    quota: Quota,
    header: HeaderValue,
}

/// The policy name is not printable ASCII, so it cannot be a Structured Field String.
///
/// ```
/// use warden::rate_limit::{Policy, Quota};
///
/// let error = Policy::new("per\nuser", Quota::per_minute(5)).unwrap_err();
/// assert_eq!(error.to_string(), "a rate-limit policy name must be printable ASCII");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a rate-limit policy name must be printable ASCII")]
pub struct InvalidPolicyName;

impl Policy {
    /// The policy `name` (printable ASCII, RFC 9651 §3.3.3) holding keys to `quota`.
    pub fn new(name: &str, quota: Quota) -> Result<Self, InvalidPolicyName> {
        let item = sf_string(name).ok_or(InvalidPolicyName)?;
        Ok(Self::from_item(name, item, quota))
    }

    /// The policy `"default"`.
    pub(crate) fn default_for(quota: Quota) -> Self {
        Self::from_item("default", "\"default\"".to_owned(), quota)
    }

    fn from_item(name: &str, item: String, quota: Quota) -> Self {
        let window = ceil_seconds(quota.window()).max(1);
        Self {
            header: header_value(format!("{item};q={};w={window}", quota.burst())),
            name: name.into(),
            item: item.into(),
            quota,
        }
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The quota it enforces.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// The `RateLimit-Policy` field value.
    pub fn header_value(&self) -> &HeaderValue {
        &self.header
    }

    /// The `RateLimit` field value for `remaining` units and an effective window `reset`.
    pub fn ratelimit_value(&self, remaining: u32, reset: Duration) -> HeaderValue {
        let t = ceil_seconds(reset);
        header_value(format!("{};r={remaining};t={t}", self.item))
    }

    /// Appends `RateLimit-Policy` and `RateLimit` (the latter when the state is known).
    pub(crate) fn append(&self, headers: &mut HeaderMap, state: Option<(u32, Duration)>) {
        if !self.header.is_empty() {
            headers.append(RATELIMIT_POLICY, self.header.clone());
        }
        if let Some((remaining, reset)) = state {
            let value = self.ratelimit_value(remaining, reset);
            if !value.is_empty() {
                headers.append(RATELIMIT, value);
            }
        }
    }
}

/// The item is printable ASCII (checked by `sf_string`) and the rest digits, so this
/// cannot fail; should it, the value is empty and the field left out rather than the
/// response broken.
fn header_value(value: String) -> HeaderValue {
    HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whole seconds, rounded up: waiting that long is always enough.
/// RFC 9110 §10.2.3 (`Retry-After: delay-seconds`) and the draft's `w` and `t` are integers.
pub(crate) fn ceil_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs();
    if duration.subsec_nanos() > 0 {
        seconds.saturating_add(1)
    } else {
        seconds
    }
}

/// `"…"` with `\` and `"` escaped, or `None` outside printable ASCII (RFC 9651 §3.3.3).
fn sf_string(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => return None,
        }
    }
    out.push('"');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_and_ratelimit_values() {
        let policy = Policy::new("default", Quota::per_minute(100)).unwrap();
        assert_eq!(policy.header_value(), r#""default";q=100;w=60"#);
        assert_eq!(
            policy.ratelimit_value(42, Duration::from_millis(24_001)),
            r#""default";r=42;t=25"#
        );
    }

    #[test]
    fn sub_second_windows_round_up_to_one() {
        let policy = Policy::new("fast", Quota::per_second(1000).with_burst(10)).unwrap();
        assert_eq!(policy.header_value(), r#""fast";q=10;w=1"#);
        assert_eq!(
            policy.ratelimit_value(0, Duration::ZERO),
            r#""fast";r=0;t=0"#
        );
    }

    #[test]
    fn names_are_escaped_or_refused() {
        let policy = Policy::new(r#"a "b" \c"#, Quota::per_minute(1)).unwrap();
        assert_eq!(policy.header_value(), r#""a \"b\" \\c";q=1;w=60"#);
        assert_eq!(
            Policy::new("tab\there", Quota::per_minute(1)).unwrap_err(),
            InvalidPolicyName
        );
    }

    #[test]
    fn ceil_seconds_rounds_up() {
        assert_eq!(ceil_seconds(Duration::ZERO), 0);
        assert_eq!(ceil_seconds(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_seconds(Duration::from_secs(2)), 2);
        assert_eq!(ceil_seconds(Duration::from_millis(2001)), 3);
    }
}
