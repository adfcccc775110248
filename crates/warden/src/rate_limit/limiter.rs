//! The limiter: a store, a named policy, and what to do when the store is down.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;

use super::headers::ceil_seconds;
use super::{Decision, InvalidPolicyName, Policy, RateLimitStore, StoreError};

/// `Retry-After` of the 503 a fail-closed limiter answers while its store is down.
pub const UNAVAILABLE_RETRY_AFTER: u32 = 5;

/// At most one `warn!` per this interval while a store keeps failing.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// What a limiter does when its store cannot decide (Redis down, timed out).
///
/// ```
/// use warden::rate_limit::FailureMode;
///
/// assert_eq!(FailureMode::default(), FailureMode::Open);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureMode {
    /// Let the request through unmetered and log a warning: an outage of the limiter does
    /// not become an outage of the service. The default.
    #[default]
    Open,
    /// Refuse the request with 503 and `Retry-After`: for limits that protect against
    /// abuse (password guessing) rather than overload.
    Closed,
}

/// Checks keys against a [`RateLimitStore`] and turns decisions into HTTP.
///
/// Use it inside a handler (`limiter.check(&key).await?`) to throttle by anything the
/// handler knows, such as the account a login names, or wrap routes in
/// [`RateLimitLayer`](super::RateLimitLayer). Cloning is cheap and shares the state.
///
/// ```
/// use axum::Json;
/// use axum::extract::State;
/// use serde::Deserialize;
/// use warden::rate_limit::{MemoryStore, Quota, RateLimitError, RateLimiter};
///
/// #[derive(Deserialize)]
/// struct Login { username: String, password: String }
///
/// async fn login(
///     State(per_account): State<RateLimiter<MemoryStore>>,
///     Json(form): Json<Login>,
/// ) -> Result<&'static str, RateLimitError> {
///     // 429 with Retry-After once the account has had its 5 tries in a minute.
///     per_account.check(&format!("login:{}", form.username)).await?;
///     Ok("checked the password")
/// }
///
/// let per_account = RateLimiter::new(MemoryStore::new(Quota::per_minute(5)))
///     .with_policy_name("login")
///     .unwrap();
/// let app: axum::Router = axum::Router::new()
///     .route("/login", axum::routing::post(login))
///     .with_state(per_account);
/// ```
#[derive(Debug)]
pub struct RateLimiter<S> {
    store: S,
    shared: Arc<Shared>,
}

impl<S: Clone> Clone for RateLimiter<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

#[derive(Debug)]
struct Shared {
    policy: Arc<Policy>,
    mode: FailureMode,
    warnings: WarnThrottle,
}

impl<S: RateLimitStore> RateLimiter<S> {
    /// A fail-open limiter over `store`, advertised as the policy `"default"`.
    pub fn new(store: S) -> Self {
        let policy = Policy::default_for(store.quota());
        Self {
            store,
            shared: Arc::new(Shared {
                policy: Arc::new(policy),
                mode: FailureMode::Open,
                warnings: WarnThrottle::default(),
            }),
        }
    }

    /// Advertises the policy as `name` in `RateLimit-Policy` and `RateLimit`; give each
    /// limiter of one route a distinct name. Printable ASCII only.
    pub fn with_policy_name(self, name: &str) -> Result<Self, InvalidPolicyName> {
        let policy = Policy::new(name, self.store.quota())?;
        let mode = self.shared.mode;
        Ok(self.rebuild(policy.into(), mode))
    }

    /// Sets what happens when the store cannot decide.
    pub fn with_failure_mode(self, mode: FailureMode) -> Self {
        let policy = Arc::clone(&self.shared.policy);
        self.rebuild(policy, mode)
    }

    fn rebuild(self, policy: Arc<Policy>, mode: FailureMode) -> Self {
        Self {
            store: self.store,
            shared: Arc::new(Shared {
                policy,
                mode,
                warnings: WarnThrottle::default(),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The advertised policy.
    pub fn policy(&self) -> &Policy {
        &self.shared.policy
    }

    /// The failure mode.
    pub fn failure_mode(&self) -> FailureMode {
        self.shared.mode
    }

    /// Counts one request of `key`.
    ///
    /// `Ok` lets it through (counted, or unmetered when the store is down and the limiter
    /// fails open); `Err` is a [`RateLimitError`] that answers 429 or 503 by itself.
    pub async fn check(&self, key: &str) -> Result<Permit, RateLimitError> {
        let policy = Arc::clone(&self.shared.policy);
        match self.store.check(key).await {
            Ok(Decision::Allowed {
                remaining,
                reset_after,
            }) => Ok(Permit {
                state: Some((remaining, reset_after)),
                policy,
            }),
            Ok(Decision::Limited { retry_after }) => Err(RateLimitError::Limited {
                retry_after,
                policy,
            }),
            Err(error) => {
                self.shared
                    .warnings
                    .report(&error, self.shared.mode, policy.name());
                match self.shared.mode {
                    FailureMode::Open => Ok(Permit {
                        state: None,
                        policy,
                    }),
                    FailureMode::Closed => Err(RateLimitError::Unavailable { source: error }),
                }
            }
        }
    }
}

impl<S: RateLimitStore> RateLimiter<S> {
    /// Un-counts one request of `key` that [`check`](Self::check) let through, once it
    /// turns out not to be what the limit meters: a login that succeeded, under a limit of
    /// failed logins (see [`RateLimitStore::refund`] for the exact semantics). Only refund
    /// a metered [`Permit`]; one let through unmetered was never counted.
    ///
    /// Returns whether a unit was given back: `false` when the key had nothing counted,
    /// when the store does not implement refunds, or when the store failed (logged like a
    /// failed check). Either way the request then stays counted, so a failed refund makes
    /// the limit stricter, never looser; it is never an error for the caller.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use warden::rate_limit::{MemoryStore, Quota, RateLimiter};
    ///
    /// // Three failed logins per minute and account.
    /// let failures = RateLimiter::new(MemoryStore::new(Quota::per_minute(3)));
    /// for _ in 0..10 {
    ///     // Counted before the password is checked, so parallel guesses cannot overspend…
    ///     let permit = failures.check("alice").await.unwrap();
    ///     let password_was_right = true;
    ///     // …and given back when it was right.
    ///     if password_was_right && permit.is_metered() {
    ///         assert!(failures.refund("alice").await);
    ///     }
    /// }
    /// assert_eq!(failures.check("alice").await.unwrap().remaining(), Some(2));
    /// # }
    /// ```
    pub async fn refund(&self, key: &str) -> bool {
        match self.store.refund(key).await {
            Ok(refunded) => refunded,
            Err(error) => {
                self.shared
                    .warnings
                    .report(&error, self.shared.mode, self.shared.policy.name());
                false
            }
        }
    }
}

/// A request let through by [`RateLimiter::check`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use warden::rate_limit::{MemoryStore, Quota, RateLimiter};
///
/// let limiter = RateLimiter::new(MemoryStore::new(Quota::per_minute(10)));
/// let permit = limiter.check("k").await.unwrap();
/// assert_eq!(permit.remaining(), Some(9));
///
/// let mut headers = http::HeaderMap::new();
/// permit.append_headers(&mut headers);
/// assert_eq!(headers["ratelimit"], r#""default";r=9;t=6"#);
/// assert_eq!(headers["ratelimit-policy"], r#""default";q=10;w=60"#);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Permit {
    /// `None` when the store was down and the limiter failed open.
    state: Option<(u32, Duration)>,
    policy: Arc<Policy>,
}

impl Permit {
    /// Requests the key may still make right now; `None` if the request went unmetered.
    pub fn remaining(&self) -> Option<u32> {
        self.state.map(|(remaining, _)| remaining)
    }

    /// When the key will have its whole burst back; `None` if the request went unmetered.
    pub fn reset_after(&self) -> Option<Duration> {
        self.state.map(|(_, reset)| reset)
    }

    /// Whether the store counted the request (`false` when it was down and the limiter
    /// failed open).
    pub fn is_metered(&self) -> bool {
        self.state.is_some()
    }

    /// The policy that let the request through.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Appends `RateLimit-Policy` and, when metered, `RateLimit` to a response's headers.
    pub fn append_headers(&self, headers: &mut HeaderMap) {
        self.policy.append(headers, self.state);
    }
}

/// A request refused by a [`RateLimiter`]; answers by itself as HTTP.
///
/// | variant | status | headers | body |
/// |---|---|---|---|
/// | [`Limited`](Self::Limited) | 429 | `Retry-After`, `RateLimit-Policy`, `RateLimit` (`r=0`) | `{"detail": "Too Many Requests"}` |
/// | [`Unavailable`](Self::Unavailable) | 503 | `Retry-After` | `{"detail": "Service Unavailable"}` |
///
/// `Retry-After` is in whole seconds, rounded up (RFC 9110 §10.2.3), so a client that waits
/// that long is let through.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use axum::response::IntoResponse;
/// use warden::rate_limit::{Policy, Quota, RateLimitError};
///
/// let policy = Arc::new(Policy::new("default", Quota::per_minute(10)).unwrap());
/// let response = RateLimitError::Limited { retry_after: Duration::from_millis(5200), policy }
///     .into_response();
/// assert_eq!(response.status(), 429);
/// assert_eq!(response.headers()["retry-after"], "6");
/// assert_eq!(response.headers()["ratelimit"], r#""default";r=0;t=6"#);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// The key has spent its quota.
    #[error("too many requests; retry after {retry_after:?}")]
    Limited {
        /// When the key's next request will fit.
        retry_after: Duration,
        /// The policy that refused it.
        policy: Arc<Policy>,
    },
    /// The store cannot decide and the limiter fails closed.
    #[error("rate limiting is unavailable")]
    Unavailable {
        /// Why the store could not decide.
        #[source]
        source: StoreError,
    },
}

impl IntoResponse for RateLimitError {
    fn into_response(self) -> Response {
        match self {
            Self::Limited {
                retry_after,
                policy,
            } => {
                // Never 0: a zero wait invites an immediate retry that is refused again.
                let seconds = ceil_seconds(retry_after).max(1);
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({ "detail": "Too Many Requests" })),
                )
                    .into_response();
                let headers = response.headers_mut();
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                policy.append(headers, Some((0, Duration::from_secs(seconds))));
                response
            }
            Self::Unavailable { .. } => {
                let mut response = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({ "detail": "Service Unavailable" })),
                )
                    .into_response();
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER),
                );
                response
            }
        }
    }
}

/// Logs store failures without flooding: the first at once, then one summary per
/// [`WARN_EVERY`] with the number of failures in between (each one is still logged at
/// `debug`).
#[derive(Debug, Default)]
struct WarnThrottle {
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl WarnThrottle {
    fn report(&self, error: &StoreError, mode: FailureMode, policy: &str) {
        let action = match mode {
            FailureMode::Open => "letting requests through unmetered",
            FailureMode::Closed => "refusing requests with 503",
        };
        tracing::debug!(%error, policy, action, "rate-limit store failed");
        // `try_lock`: a contended or poisoned lock only means another thread is logging.
        let now = Instant::now();
        let due = match self.last.try_lock() {
            Ok(mut last) => {
                let due = last.is_none_or(|at| now.duration_since(at) >= WARN_EVERY);
                if due {
                    *last = Some(now);
                }
                due
            }
            Err(_) => false,
        };
        if due {
            let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
            tracing::warn!(%error, policy, action, suppressed, "rate-limit store failed");
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limit::{MemoryStore, Quota};

    struct Down;

    impl RateLimitStore for Down {
        fn quota(&self) -> Quota {
            Quota::per_minute(1)
        }

        async fn check(&self, _: &str) -> Result<Decision, StoreError> {
            Err(StoreError::Timeout(Duration::from_millis(1)))
        }

        async fn refund(&self, _: &str) -> Result<bool, StoreError> {
            Err(StoreError::Timeout(Duration::from_millis(1)))
        }
    }

    /// Lets everything through and inherits the provided `refund`.
    struct NoRefunds;

    impl RateLimitStore for NoRefunds {
        fn quota(&self) -> Quota {
            Quota::per_minute(1)
        }

        async fn check(&self, _: &str) -> Result<Decision, StoreError> {
            Ok(Decision::Allowed {
                remaining: 0,
                reset_after: Duration::ZERO,
            })
        }
    }

    #[tokio::test]
    async fn fails_open_by_default() {
        let permit = RateLimiter::new(Down).check("k").await.unwrap();
        assert!(!permit.is_metered());
        let mut headers = HeaderMap::new();
        permit.append_headers(&mut headers);
        assert!(headers.get("ratelimit").is_none());
        assert_eq!(headers["ratelimit-policy"], r#""default";q=1;w=60"#);
    }

    #[tokio::test]
    async fn fails_closed_with_503() {
        let limiter = RateLimiter::new(Down).with_failure_mode(FailureMode::Closed);
        let error = limiter.check("k").await.unwrap_err();
        assert!(matches!(error, RateLimitError::Unavailable { .. }));
        let response = error.into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "5");
    }

    #[tokio::test]
    async fn limited_answers_429_with_headers() {
        let limiter = RateLimiter::new(MemoryStore::new(Quota::per_minute(1)))
            .with_policy_name("per-ip")
            .unwrap();
        limiter.check("k").await.unwrap();
        let response = limiter.check("k").await.unwrap_err().into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "60");
        assert_eq!(response.headers()["ratelimit"], r#""per-ip";r=0;t=60"#);
        assert_eq!(
            response.headers()["ratelimit-policy"],
            r#""per-ip";q=1;w=60"#
        );
    }

    #[tokio::test]
    async fn refunds_reach_the_store_and_failures_keep_the_count() {
        let limiter = RateLimiter::new(MemoryStore::new(Quota::per_minute(1)));
        assert!(limiter.check("k").await.unwrap().is_metered());
        assert!(limiter.refund("k").await);
        assert!(limiter.check("k").await.is_ok(), "the unit came back");
        assert!(limiter.check("k").await.is_err());

        // A store without refunds gives nothing back…
        assert!(!RateLimiter::new(NoRefunds).refund("k").await);
        // …nor does one that is down, which is logged like a failed check.
        let down = RateLimiter::new(Down);
        assert!(!down.refund("k").await);
        assert!(down.shared.warnings.last.lock().unwrap().is_some());
    }

    #[test]
    fn warnings_are_throttled() {
        let throttle = WarnThrottle::default();
        let error = StoreError::Protocol("x");
        for _ in 0..5 {
            throttle.report(&error, FailureMode::Open, "default");
        }
        assert_eq!(throttle.suppressed.load(Ordering::Relaxed), 4);
    }
}
