//! Where rate-limit state lives: the store trait, its decisions and its errors.

use std::future::Future;
use std::time::Duration;

use super::Quota;

/// What a store decided for one request of one key.
///
/// ```
/// use std::time::Duration;
/// use warden::rate_limit::Decision;
///
/// let decision = Decision::Limited { retry_after: Duration::from_millis(1500) };
/// assert!(!decision.is_allowed());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The request fits the quota and was counted.
    Allowed {
        /// How many more requests the key may make right now.
        remaining: u32,
        /// When the key will have its whole burst back if it makes no more requests.
        reset_after: Duration,
    },
    /// The request does not fit the quota and was not counted.
    Limited {
        /// When the key's next request will fit.
        retry_after: Duration,
    },
}

impl Decision {
    /// Whether the request was let through.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed { .. })
    }
}

/// Why a store could not decide.
///
/// A [`RateLimiter`](super::RateLimiter) turns it into a pass (fail-open, the default) or
/// a 503 (fail-closed); it never becomes a 500 or a panic.
///
/// ```
/// use std::time::Duration;
/// use warden::rate_limit::StoreError;
///
/// let error = StoreError::Timeout(Duration::from_millis(200));
/// assert_eq!(error.to_string(), "rate-limit store did not answer within 200ms");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed: connection refused, reset, a server error.
    #[error("rate-limit store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The backend did not answer in time.
    #[error("rate-limit store did not answer within {0:?}")]
    Timeout(Duration),
    /// The backend answered something this crate does not understand.
    #[error("unexpected reply from the rate-limit store: {0}")]
    Protocol(&'static str),
}

/// A place to keep one [`Quota`]'s state per key and decide requests atomically.
///
/// Implemented by [`MemoryStore`](super::MemoryStore) (one process) and `RedisStore`
/// (shared by every instance; feature `redis`). Implement it for another backend; `check`
/// must count and decide in one atomic step, or two concurrent requests could both take
/// the last unit of a burst. [`refund`](Self::refund) is optional: a store without it keeps
/// every allowed request counted.
///
/// ```
/// use std::time::Duration;
/// use warden::rate_limit::{Decision, Quota, RateLimitStore, StoreError};
///
/// /// A store that lets everything through (for local development).
/// struct Unlimited;
///
/// impl RateLimitStore for Unlimited {
///     fn quota(&self) -> Quota {
///         Quota::per_second(u32::MAX)
///     }
///
///     async fn check(&self, _key: &str) -> Result<Decision, StoreError> {
///         Ok(Decision::Allowed { remaining: u32::MAX, reset_after: Duration::ZERO })
///     }
/// }
/// ```
pub trait RateLimitStore: Send + Sync + 'static {
    /// The quota every key of this store is held to.
    fn quota(&self) -> Quota;

    /// Counts one request of `key` and decides it.
    fn check(&self, key: &str) -> impl Future<Output = Result<Decision, StoreError>> + Send;

    /// Un-counts one request of `key` that [`check`](Self::check) allowed, because it turned
    /// out not to be what the quota meters (a login that succeeded, under a quota of failed
    /// logins). Returns whether a unit was given back.
    ///
    /// In GCRA terms the key's theoretical arrival time moves back by one interval, but
    /// never before now: a key gets at most its burst back, never credit beyond it, and
    /// refunding a key with nothing counted (fresh, or idle long enough to have earned
    /// everything back) does nothing and returns `false`. Units are not told apart, so a
    /// refund gives back *a* unit of the key, not the one of a particular request.
    ///
    /// Counting first and refunding afterwards, rather than checking first and counting
    /// only failures, keeps the budget exact under concurrency: a hundred simultaneous
    /// requests cannot all see a budget with room left before any of them is counted.
    ///
    /// **A store that does not implement it** inherits this provided method, which gives
    /// nothing back and returns `Ok(false)`: every allowed request stays counted, so such a
    /// store's limits err on the strict side, never the lenient one. It must be atomic
    /// like `check` when implemented.
    ///
    /// ```
    /// use warden::rate_limit::{MemoryStore, Quota, RateLimitStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// // Five failed logins per minute: each attempt is counted before the password is
    /// // checked, and given back when it was right.
    /// let failures = MemoryStore::new(Quota::per_minute(5));
    /// for _ in 0..100 {
    ///     assert!(failures.check("alice").await.unwrap().is_allowed());
    ///     assert!(failures.refund("alice").await.unwrap());
    /// }
    /// assert!(!failures.refund("bob").await.unwrap(), "nothing counted");
    /// # }
    /// ```
    fn refund(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let _ = key;
        std::future::ready(Ok(false))
    }
}
