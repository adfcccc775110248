//! Step-up authentication (RFC 9470): how strongly and how recently the user must have
//! authenticated, declared in the route's type like its scopes.
//!
//! A route says `Auth<Jwt, (Items, Mfa)>` or `Auth<Jwt, (Items, MaxAge<300>)>`; the markers
//! [`Mfa`], [`MaxAge`] and those of [`acr!`](crate::acr) sit in the same tuple as the
//! scopes, and [`Auth`](crate::Auth) checks them against the principal's
//! [`AuthContext`] (for a [`Jwt`](crate::jwt::Jwt): its `acr`, `amr` and `auth_time`
//! claims). A token that does not satisfy them is refused with 401 and
//! `WWW-Authenticate: Bearer error="insufficient_user_authentication"`, carrying the
//! `acr_values` and `max_age` the client should ask its authorization server for.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::scopes::ScopeSet;

/// The `acr` value [`Mfa`] asks for in its challenge: OpenID Provider Authentication Policy
/// Extension's "multi-factor" policy, which authorization servers that support step-up by
/// `acr_values` commonly accept as "authenticate with more than one factor".
pub const MFA_ACR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// How a principal authenticated: the authentication event behind its credentials (OpenID
/// Connect Core §2, RFC 9470 §4).
///
/// Returned by [`Principal::authentication_context`](crate::Principal::authentication_context);
/// [`Jwt`](crate::jwt::Jwt) fills it from the token's claims.
///
/// ```
/// use warden::AuthContext;
///
/// let amr = vec!["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()];
/// let context = AuthContext { acr: None, amr: &amr, auth_time: Some(1_700_000_000) };
/// assert!(context.has_method("mfa"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuthContext<'a> {
    /// Authentication context class reference (`acr`): the level the authentication met.
    pub acr: Option<&'a str>,
    /// Authentication methods references (`amr`, RFC 8176 values such as `pwd`, `otp`,
    /// `hwk`, `mfa`).
    pub amr: &'a [String],
    /// When the user last authenticated interactively, seconds since the epoch (`auth_time`).
    pub auth_time: Option<u64>,
}

impl AuthContext<'_> {
    /// Whether `method` is one of the `amr` values.
    pub fn has_method(&self, method: &str) -> bool {
        self.amr.iter().any(|m| m == method)
    }
}

/// One condition a marker puts on the authentication event. A route's conditions are the
/// rules of every marker in its requirement, and all must hold.
///
/// Markers are made with [`acr!`](crate::acr), [`Mfa`] and [`MaxAge`]; a marker of the
/// application's own implements [`ScopeSet::visit_step_up`] with one of these.
///
/// ```
/// use warden::{AuthContext, ScopeSet, StepUpRule};
///
/// /// A hardware-bound key (RFC 8176 `hwk`).
/// struct HardwareKey;
///
/// impl ScopeSet for HardwareKey {
///     fn visit(_: &mut dyn FnMut(&'static str)) {}
///     fn visit_step_up(f: &mut dyn FnMut(StepUpRule)) {
///         f(StepUpRule::Amr { method: "hwk", acr_values: &["phrh"] })
///     }
/// }
///
/// let amr = vec!["hwk".to_owned()];
/// let context = AuthContext { amr: &amr, ..AuthContext::default() };
/// assert!(StepUpRule::Amr { method: "hwk", acr_values: &[] }.is_satisfied_by(&context, 0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepUpRule {
    /// `acr` is one of these values.
    Acr(&'static [&'static str]),
    /// `amr` contains `method`. When it does not and the route requires no `acr`, the
    /// challenge suggests `acr_values` (the authorization server's name for a login that
    /// would add the method).
    Amr {
        /// The RFC 8176 method.
        method: &'static str,
        /// What to ask the authorization server for.
        acr_values: &'static [&'static str],
    },
    /// The user authenticated at most this many seconds ago (`auth_time`; a missing
    /// `auth_time` fails it).
    MaxAge(u64),
}

impl StepUpRule {
    /// Whether `context` satisfies the rule at `now` (seconds since the epoch).
    ///
    /// ```
    /// use warden::{AuthContext, StepUpRule};
    ///
    /// let context = AuthContext { auth_time: Some(1_000), ..AuthContext::default() };
    /// assert!(StepUpRule::MaxAge(300).is_satisfied_by(&context, 1_300));
    /// assert!(!StepUpRule::MaxAge(300).is_satisfied_by(&context, 1_301));
    /// ```
    pub fn is_satisfied_by(&self, context: &AuthContext<'_>, now: u64) -> bool {
        match *self {
            Self::Acr(values) => context.acr.is_some_and(|acr| values.contains(&acr)),
            Self::Amr { method, .. } => context.has_method(method),
            Self::MaxAge(secs) => context
                .auth_time
                .is_some_and(|at| now.saturating_sub(at) <= secs),
        }
    }
}

/// Whether the rules of `R` are all satisfied by `context` at `now`: without allocating, and
/// trivially when `R` has none. A principal without a context satisfies no rule.
pub(crate) fn satisfied<R: ScopeSet>(context: Option<&AuthContext<'_>>, now: u64) -> bool {
    let mut ok = true;
    R::visit_step_up(&mut |rule| {
        ok &= context.is_some_and(|context| rule.is_satisfied_by(context, now));
    });
    ok
}

/// Seconds since the epoch (0 before it).
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The step-up requirement of a route: the rules of its markers, combined.
///
/// Combination rules (every marker of the tuple applies, like scopes):
/// - **`acr`**: the token's `acr` must be accepted by every [`acr!`](crate::acr) marker, so
///   the acceptable values are the *intersection* of their lists, in the first marker's
///   order (its order of preference). Markers with no common value can never be satisfied:
///   every token is refused, and [`ApiRouter`](crate::openapi::ApiRouter) panics when it
///   documents such a route.
/// - **`amr`**: every method required by a marker ([`Mfa`]…) must be present (union).
/// - **`max_age`**: the strictest (smallest) one.
///
/// The challenge of a refusal carries the whole requirement, not only the part that failed,
/// so one new authorization request satisfies it: `acr_values` (the acceptable `acr` values,
/// or, when the route requires no `acr`, the values its `amr` markers suggest) and
/// `max_age`.
///
/// ```
/// use warden::{MaxAge, Mfa, StepUp, acr, scope};
///
/// scope!(Items = "items");
/// acr!(Strong = "phr", "phrh");
/// acr!(Phrh = "phrh");
///
/// let step_up = StepUp::of::<(Items, (Strong, MaxAge<600>), (Mfa, Phrh, MaxAge<300>))>();
/// assert_eq!(step_up.acr(), Some(&["phrh".to_owned()][..]));
/// assert_eq!(step_up.amr(), ["mfa"]);
/// assert_eq!(step_up.max_age(), Some(300));
/// assert_eq!(step_up.acr_values().as_deref(), Some("phrh"));
/// assert!(StepUp::of::<Items>().is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepUp {
    /// Acceptable `acr` values (`None`: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    acr: Option<Vec<String>>,
    /// Required `amr` methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    amr: Vec<String>,
    /// `acr_values` the `amr` markers suggest.
    #[serde(
        default,
        rename = "suggested_acr_values",
        skip_serializing_if = "Vec::is_empty"
    )]
    suggested: Vec<String>,
    /// The longest time since the authentication, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_age: Option<u64>,
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

impl StepUp {
    /// The requirement of the markers in `R` (scopes in it are ignored).
    pub fn of<R: ScopeSet>() -> Self {
        let mut step_up = Self::default();
        R::visit_step_up(&mut |rule| step_up.add(rule));
        step_up
    }

    /// Adds one rule, by the combination rules above.
    ///
    /// ```
    /// use warden::{StepUp, StepUpRule};
    ///
    /// let mut step_up = StepUp::default();
    /// step_up.add(StepUpRule::MaxAge(600));
    /// step_up.add(StepUpRule::MaxAge(60));
    /// assert_eq!(step_up.max_age(), Some(60));
    /// ```
    pub fn add(&mut self, rule: StepUpRule) {
        match rule {
            StepUpRule::Acr(values) => {
                let values = values.iter().map(|v| (*v).to_owned()).collect();
                self.restrict_acr(values);
            }
            StepUpRule::Amr { method, acr_values } => {
                push_unique(&mut self.amr, method);
                for value in acr_values {
                    push_unique(&mut self.suggested, value);
                }
            }
            StepUpRule::MaxAge(secs) => self.restrict_max_age(secs),
        }
    }

    fn restrict_acr(&mut self, values: Vec<String>) {
        self.acr = Some(match self.acr.take() {
            None => {
                let mut unique = Vec::new();
                for value in &values {
                    push_unique(&mut unique, value);
                }
                unique
            }
            Some(mut acceptable) => {
                acceptable.retain(|a| values.contains(a));
                acceptable
            }
        });
    }

    fn restrict_max_age(&mut self, secs: u64) {
        self.max_age = Some(self.max_age.map_or(secs, |current| current.min(secs)));
    }

    /// Both requirements (`self`'s order of preference first).
    ///
    /// ```
    /// use warden::{Mfa, MaxAge, StepUp};
    ///
    /// let both = StepUp::of::<Mfa>().and(&StepUp::of::<MaxAge<300>>());
    /// assert_eq!(both, StepUp::of::<(Mfa, MaxAge<300>)>());
    /// ```
    pub fn and(&self, other: &Self) -> Self {
        let mut out = self.clone();
        if let Some(acr) = &other.acr {
            out.restrict_acr(acr.clone());
        }
        for method in &other.amr {
            push_unique(&mut out.amr, method);
        }
        for value in &other.suggested {
            push_unique(&mut out.suggested, value);
        }
        if let Some(secs) = other.max_age {
            out.restrict_max_age(secs);
        }
        out
    }

    /// Whether nothing is required.
    pub fn is_empty(&self) -> bool {
        self.acr.is_none() && self.amr.is_empty() && self.max_age.is_none()
    }

    /// The acceptable `acr` values, most preferred first; `None` when any `acr` will do, and
    /// empty when no value satisfies every marker.
    pub fn acr(&self) -> Option<&[String]> {
        self.acr.as_deref()
    }

    /// The `amr` methods required.
    pub fn amr(&self) -> &[String] {
        &self.amr
    }

    /// The longest time since the authentication, in seconds.
    pub fn max_age(&self) -> Option<u64> {
        self.max_age
    }

    /// The challenge's `acr_values`: the acceptable `acr` values if the route requires an
    /// `acr`, otherwise those its `amr` markers suggest; space-separated, `None` if there are
    /// none.
    pub fn acr_values(&self) -> Option<String> {
        let values = match &self.acr {
            Some(acr) => acr,
            None if !self.amr.is_empty() => &self.suggested,
            None => return None,
        };
        (!values.is_empty()).then(|| values.join(" "))
    }

    /// Whether `context` satisfies every part at `now`; no context satisfies only the empty
    /// requirement.
    ///
    /// ```
    /// use warden::{AuthContext, Mfa, StepUp};
    ///
    /// let amr = vec!["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()];
    /// let strong = AuthContext { amr: &amr, ..AuthContext::default() };
    /// assert!(StepUp::of::<Mfa>().is_satisfied_by(Some(&strong), 0));
    /// assert!(!StepUp::of::<Mfa>().is_satisfied_by(None, 0));
    /// assert!(StepUp::default().is_satisfied_by(None, 0));
    /// ```
    pub fn is_satisfied_by(&self, context: Option<&AuthContext<'_>>, now: u64) -> bool {
        if self.is_empty() {
            return true;
        }
        let Some(context) = context else {
            return false;
        };
        self.acr
            .as_ref()
            .is_none_or(|acr| context.acr.is_some_and(|a| acr.iter().any(|v| v == a)))
            && self.amr.iter().all(|method| context.has_method(method))
            && self.max_age.is_none_or(|secs| {
                context
                    .auth_time
                    .is_some_and(|at| now.saturating_sub(at) <= secs)
            })
    }

    /// The fixed text of a refusal, by what the route requires (never the token's content).
    pub(crate) fn refusal_text(acr_values: Option<&str>, max_age: Option<u64>) -> &'static str {
        match (acr_values.is_some(), max_age.is_some()) {
            (false, true) => "More recent authentication required",
            (true, true) => "Stronger or more recent authentication required",
            _ => "Stronger authentication required",
        }
    }
}

/// A sentence for people, as the OpenAPI document shows it.
///
/// ```
/// use warden::{MaxAge, Mfa, StepUp};
///
/// assert_eq!(
///     StepUp::of::<(Mfa, MaxAge<300>)>().to_string(),
///     "multi-factor authentication (`amr` contains `mfa`); \
///      authentication at most 300 s old (`auth_time`)",
/// );
/// ```
impl fmt::Display for StepUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        for method in &self.amr {
            parts.push(if method == "mfa" {
                "multi-factor authentication (`amr` contains `mfa`)".to_owned()
            } else {
                format!("`amr` contains `{method}`")
            });
        }
        if let Some(acr) = &self.acr {
            parts.push(match acr.as_slice() {
                [] => {
                    "an `acr` no token can have (the route's acr markers share no value)".to_owned()
                }
                [one] => format!("`acr` `{one}`"),
                many => format!(
                    "`acr` one of {}",
                    many.iter()
                        .map(|v| format!("`{v}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        if let Some(secs) = self.max_age {
            parts.push(format!("authentication at most {secs} s old (`auth_time`)"));
        }
        f.write_str(&parts.join("; "))
    }
}

/// Requires multi-factor authentication: satisfied when the principal's `amr` contains
/// `"mfa"` (RFC 8176 §2).
///
/// Warden's server puts `mfa` in `amr` after a password and a TOTP code, and after a
/// passkey with user verification (something held, and a PIN or biometric). When it is
/// missing, the challenge suggests `acr_values` [`MFA_ACR`] (unless the route also requires
/// an `acr`, whose values are suggested instead).
///
/// ```
/// # #[cfg(feature = "jwt")] {
/// use warden::jwt::Jwt;
/// use warden::{Auth, Mfa, scope};
///
/// scope!(Payments = "payments");
///
/// /// Needs `payments` and a token from a multi-factor login.
/// async fn pay(user: Auth<Jwt, (Payments, Mfa)>) -> String {
///     user.claims.sub.clone().unwrap_or_default()
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Mfa;

impl ScopeSet for Mfa {
    fn visit(_: &mut dyn FnMut(&'static str)) {}

    fn visit_step_up(f: &mut dyn FnMut(StepUpRule)) {
        f(StepUpRule::Amr {
            method: "mfa",
            acr_values: &[MFA_ACR],
        })
    }
}

/// Requires a recent authentication: satisfied when the user authenticated at most `SECS`
/// seconds ago (`now - auth_time <= SECS`); a principal without `auth_time` fails it. The
/// challenge carries `max_age=SECS`.
///
/// ```
/// # #[cfg(feature = "jwt")] {
/// use warden::jwt::Jwt;
/// use warden::{Auth, MaxAge};
///
/// /// Changing the e-mail address needs a login of the last 5 minutes.
/// async fn change_email(user: Auth<Jwt, MaxAge<300>>) {}
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MaxAge<const SECS: u64>;

impl<const SECS: u64> ScopeSet for MaxAge<SECS> {
    fn visit(_: &mut dyn FnMut(&'static str)) {}

    fn visit_step_up(f: &mut dyn FnMut(StepUpRule)) {
        f(StepUpRule::MaxAge(SECS))
    }
}

/// Declares an `acr` marker: `acr!(pub Phr = "phr");` is satisfied when the token's `acr`
/// is `phr`; `acr!(pub Strong = "phr", "phrh");` when it is either (in order of preference:
/// the challenge's `acr_values` lists them so).
///
/// ```
/// use warden::{StepUp, acr, scope};
///
/// acr!(
///     /// A phishing-resistant login (a passkey, a security key).
///     pub PhishingResistant = "phrh", "phr"
/// );
/// scope!(Admin = "admin");
///
/// // A route taking `Auth<Jwt, (Admin, PhishingResistant)>` asks for:
/// let step_up = StepUp::of::<(Admin, PhishingResistant)>();
/// assert_eq!(step_up.acr_values().as_deref(), Some("phrh phr"));
/// ```
#[macro_export]
macro_rules! acr {
    ($(#[$meta:meta])* $vis:vis $name:ident = $($acr:literal),+ $(,)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;

        impl $crate::ScopeSet for $name {
            fn visit(_: &mut dyn FnMut(&'static str)) {}

            fn visit_step_up(f: &mut dyn FnMut($crate::StepUpRule)) {
                f($crate::StepUpRule::Acr(&[$($acr),+]))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope;

    scope!(Items = "items");
    crate::acr!(Phr = "phr");
    crate::acr!(Strong = "phr", "phrh");
    crate::acr!(Hardware = "phrh", "hwk-level");

    fn amr(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn scopes_carry_no_step_up_and_markers_no_scope() {
        assert!(StepUp::of::<(Items, ((), Items))>().is_empty());
        let mut scopes = Vec::new();
        <(Items, Mfa, Phr, MaxAge<5>)>::visit(&mut |s| scopes.push(s));
        assert_eq!(scopes, ["items"]);
    }

    #[test]
    fn acr_markers_intersect_in_the_first_order() {
        let s = StepUp::of::<(Strong, Hardware)>();
        assert_eq!(s.acr(), Some(&amr(&["phrh"])[..]));
        let s = StepUp::of::<(Hardware, (Strong,))>();
        assert_eq!(s.acr(), Some(&amr(&["phrh"])[..]));
        let s = StepUp::of::<Strong>();
        assert_eq!(s.acr_values().as_deref(), Some("phr phrh"));
        // Nothing in common: unsatisfiable, and no acr_values to suggest.
        let s = StepUp::of::<(Phr, Hardware)>();
        assert_eq!(s.acr(), Some(&[][..]));
        assert_eq!(s.acr_values(), None);
        let acr = AuthContext {
            acr: Some("phr"),
            ..AuthContext::default()
        };
        assert!(!s.is_satisfied_by(Some(&acr), 0));
    }

    #[test]
    fn amr_accumulates_and_max_age_takes_the_strictest() {
        let s = StepUp::of::<(MaxAge<600>, (Mfa, MaxAge<60>), Mfa, MaxAge<300>)>();
        assert_eq!(s.amr(), ["mfa"]);
        assert_eq!(s.max_age(), Some(60));
        assert_eq!(s.acr(), None);
        assert_eq!(s.acr_values().as_deref(), Some(MFA_ACR));
        // An acr requirement replaces the amr markers' suggestion.
        let s = StepUp::of::<(Mfa, Strong)>();
        assert_eq!(s.acr_values().as_deref(), Some("phr phrh"));
        // max_age alone suggests no acr.
        assert_eq!(StepUp::of::<MaxAge<5>>().acr_values(), None);
    }

    #[test]
    fn and_is_the_tuple() {
        let a = StepUp::of::<(Strong, MaxAge<600>)>();
        let b = StepUp::of::<(Mfa, Hardware, MaxAge<300>)>();
        assert_eq!(
            a.and(&b),
            StepUp::of::<((Strong, MaxAge<600>), (Mfa, Hardware, MaxAge<300>))>()
        );
        assert_eq!(a.and(&StepUp::default()), a);
        assert_eq!(StepUp::default().and(&a), a);
    }

    #[test]
    fn rules_and_the_summary_agree() {
        let now = 10_000;
        let methods = [amr(&[]), amr(&["pwd"]), amr(&["pwd", "otp", "mfa"])];
        let acrs = [None, Some("phr"), Some("phrh"), Some("other")];
        let times = [
            None,
            Some(now - 301),
            Some(now - 300),
            Some(now),
            Some(now + 50),
        ];
        fn check<R: ScopeSet>(context: Option<&AuthContext<'_>>, now: u64) {
            assert_eq!(
                satisfied::<R>(context, now),
                StepUp::of::<R>().is_satisfied_by(context, now),
                "{context:?}"
            );
        }
        for amr in &methods {
            for acr in acrs {
                for auth_time in times {
                    let c = AuthContext {
                        acr,
                        amr,
                        auth_time,
                    };
                    check::<(Mfa, MaxAge<300>)>(Some(&c), now);
                    check::<(Strong, Items)>(Some(&c), now);
                    check::<(Strong, Hardware, Mfa)>(Some(&c), now);
                    check::<Items>(Some(&c), now);
                }
            }
        }
        check::<Mfa>(None, now);
        check::<Items>(None, now);
        assert!(satisfied::<Items>(None, now));
        assert!(!satisfied::<MaxAge<300>>(None, now));
    }

    #[test]
    fn each_rule() {
        let strong = amr(&["pwd", "otp", "mfa"]);
        let c = AuthContext {
            acr: Some("phr"),
            amr: &strong,
            auth_time: Some(1_000),
        };
        assert!(satisfied::<(Mfa, Phr, Strong, MaxAge<0>)>(Some(&c), 1_000));
        assert!(!satisfied::<MaxAge<0>>(Some(&c), 1_001));
        assert!(!satisfied::<Hardware>(Some(&c), 1_000));
        let weak = amr(&["pwd"]);
        let c = AuthContext { amr: &weak, ..c };
        assert!(!satisfied::<Mfa>(Some(&c), 1_000));
        let c = AuthContext {
            auth_time: None,
            ..c
        };
        assert!(!satisfied::<MaxAge<{ u64::MAX }>>(Some(&c), 1_000));
    }

    /// A principal whose token names its `amr` (`"pwd"` or `"pwd mfa"`), with scope
    /// `items` when the token says `+items`; `"none"` has no context at all.
    struct Test {
        amr: Vec<String>,
        items: bool,
        context: bool,
    }

    impl crate::Principal<()> for Test {
        type Credentials = crate::HttpBearer;

        async fn authenticate(
            bearer: crate::HttpBearer,
            _: &crate::SecurityScopes,
            _: &(),
        ) -> Result<Self, crate::Denied> {
            let (methods, items) = match bearer.token.strip_suffix("+items") {
                Some(methods) => (methods, true),
                None => (bearer.token.as_str(), false),
            };
            Ok(Test {
                amr: methods.split('.').map(str::to_owned).collect(),
                items,
                context: methods != "none",
            })
        }

        fn has_scope(&self, scope: &str) -> bool {
            self.items && scope == "items"
        }

        fn authentication_context(&self) -> Option<AuthContext<'_>> {
            self.context.then(|| AuthContext {
                amr: &self.amr,
                ..AuthContext::default()
            })
        }
    }

    async fn extract<R: ScopeSet>(token: &str) -> Result<(), crate::AuthError> {
        use axum::extract::FromRequestParts;
        let (mut parts, ()) = http::Request::builder()
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .unwrap()
            .into_parts();
        crate::Auth::<Test, R>::from_request_parts(&mut parts, &())
            .await
            .map(drop)
    }

    fn step_up_refusal(result: Result<(), crate::AuthError>) -> (Option<String>, Option<u64>) {
        match result {
            Err(crate::AuthError::InsufficientUserAuthentication {
                acr_values,
                max_age,
                ..
            }) => (acr_values, max_age),
            other => panic!("expected insufficient_user_authentication, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn auth_checks_strength_before_scopes() {
        assert!(extract::<(Items, Mfa)>("pwd.otp.mfa+items").await.is_ok());
        assert!(
            extract::<Items>("none+items").await.is_ok(),
            "no marker, no context needed"
        );
        // Weak and without the scope: 401 (log in again), not 403.
        let (acr_values, max_age) = step_up_refusal(extract::<(Items, Mfa)>("pwd").await);
        assert_eq!(acr_values.as_deref(), Some(MFA_ACR));
        assert_eq!(max_age, None);
        // Strong enough, without the scope: 403.
        assert!(matches!(
            extract::<(Items, Mfa)>("pwd.mfa").await,
            Err(crate::AuthError::InsufficientScope { .. })
        ));
        // No context: every marker fails, with the whole requirement in the challenge.
        let (acr_values, max_age) =
            step_up_refusal(extract::<(Items, Strong, MaxAge<60>)>("none+items").await);
        assert_eq!(acr_values.as_deref(), Some("phr phrh"));
        assert_eq!(max_age, Some(60));
        // Optional credentials: absent is fine, present must be strong enough.
        use axum::extract::OptionalFromRequestParts;
        let (mut parts, ()) = http::Request::new(()).into_parts();
        let absent = <crate::Auth<Test, Mfa> as OptionalFromRequestParts<()>>::from_request_parts(
            &mut parts,
            &(),
        )
        .await;
        assert!(matches!(absent, Ok(None)));
    }

    mod documented {
        use super::*;
        use crate::openapi::ApiRouter;
        use crate::{Auth, routes};

        /// Strong, with items.
        ///
        /// Pays.
        #[utoipa::path(get, path = "/strong", responses((status = 200)))]
        async fn strong(_: Auth<Test, (Items, Mfa)>) {}

        #[utoipa::path(get, path = "/recent", responses((status = 200)))]
        async fn recent(_: Auth<Test, Strong>) {}

        #[utoipa::path(get, path = "/plain", responses((status = 200)))]
        async fn plain(_: Auth<Test, Items>) {}

        #[utoipa::path(get, path = "/never", responses((status = 200)))]
        async fn never(_: Auth<Test, (Phr, Hardware)>) {}

        fn doc(router: ApiRouter) -> serde_json::Value {
            serde_json::to_value(router.split_for_parts().1).unwrap()
        }

        #[test]
        fn operations_show_their_requirement() {
            let doc = doc(ApiRouter::new()
                .routes(routes!(strong))
                .routes(routes!(plain)));
            let op = &doc["paths"]["/strong"]["get"];
            assert_eq!(op["summary"], "Strong, with items.");
            assert_eq!(
                op["x-step-up"],
                serde_json::json!({"amr": ["mfa"], "suggested_acr_values": [MFA_ACR]})
            );
            assert_eq!(
                op["description"],
                "Pays.\n\n**Step-up authentication** (RFC 9470): multi-factor \
                 authentication (`amr` contains `mfa`). A token that does not show it is \
                 refused with 401 `insufficient_user_authentication`; the client gets a new \
                 one through a new authorization request with the challenge's `acr_values` \
                 and `max_age`."
            );
            assert!(
                op["responses"]["401"]["description"]
                    .as_str()
                    .unwrap()
                    .contains("insufficient_user_authentication")
            );
            let plain = &doc["paths"]["/plain"]["get"];
            assert!(plain.get("x-step-up").is_none());
            assert!(
                !plain["responses"]["401"]["description"]
                    .as_str()
                    .unwrap()
                    .contains("insufficient_user_authentication")
            );
        }

        #[test]
        fn a_router_requirement_combines_with_the_route() {
            let doc = doc(ApiRouter::new()
                .require_with_state::<Auth<Test, MaxAge<300>>>(())
                .routes(routes!(recent))
                .require_with_state::<Auth<Test, (Mfa, MaxAge<60>)>>(()));
            let op = &doc["paths"]["/recent"]["get"];
            assert_eq!(
                op["x-step-up"],
                serde_json::json!({
                    "acr": ["phr", "phrh"],
                    "amr": ["mfa"],
                    "suggested_acr_values": [MFA_ACR],
                    "max_age": 60
                })
            );
            let description = op["description"].as_str().unwrap();
            assert_eq!(description.matches("**Step-up authentication**").count(), 1);
            assert!(description.contains("at most 60 s old"), "{description}");
        }

        #[test]
        #[should_panic(expected = "share no value")]
        fn unsatisfiable_acr_markers_are_refused() {
            let _ = ApiRouter::<()>::new().routes(routes!(never));
        }
    }

    #[test]
    fn serde_round_trip() {
        let s = StepUp::of::<(Mfa, Strong, MaxAge<300>)>();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "acr": ["phr", "phrh"],
                "amr": ["mfa"],
                "suggested_acr_values": [MFA_ACR],
                "max_age": 300
            })
        );
        assert_eq!(serde_json::from_value::<StepUp>(json).unwrap(), s);
        assert_eq!(
            serde_json::to_value(StepUp::default()).unwrap(),
            serde_json::json!({})
        );
    }
}
