//! The in-process store: governor's keyed GCRA limiter, pruned as it goes.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;

use super::{Decision, Quota, RateLimitStore, StoreError};

type Keyed = governor::RateLimiter<
    u64,
    DefaultKeyedStateStore<u64>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// How many checks pass between two prunings by default.
pub const DEFAULT_PRUNE_EVERY: u64 = 10_000;

/// Rate-limit state in this process's memory (governor's keyed GCRA limiter).
///
/// Right for a single instance, and for limits that may be per instance. Behind a load
/// balancer with several instances each one keeps its own budget, so a client gets up to
/// N× the quota; use `RedisStore` when that matters.
///
/// **Memory stays bounded.** Keys are stored as a 64-bit SipHash of the key string under a
/// per-process random seed (no allocation per request, 8 bytes per key; a collision merges
/// two keys' budgets with a probability of about n²/2⁶⁵ for n live keys, and cannot be
/// aimed at because the seed is secret). Every [`prune_every`](Self::prune_every) checks,
/// keys whose state equals a fresh key's (idle for longer than their reset time) are
/// dropped with governor's `retain_recent`, so the store holds at most the keys active
/// within one [`Quota::window`] plus `prune_every`. That pruning walks the whole map
/// (linear in the number of keys) in the request that triggers it; to keep it off the
/// request path, set `prune_every(0)` and call [`prune`](Self::prune) from a timer.
///
/// Cloning is cheap and shares the state.
///
/// ```
/// use warden::rate_limit::{Decision, MemoryStore, Quota, RateLimitStore};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let store = MemoryStore::new(Quota::per_minute(2));
/// assert!(store.check("alice").await.unwrap().is_allowed());
/// assert!(store.check("alice").await.unwrap().is_allowed());
/// assert!(matches!(store.check("alice").await.unwrap(), Decision::Limited { .. }));
/// assert!(store.check("bob").await.unwrap().is_allowed());
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    limiter: Keyed,
    hasher: RandomState,
    quota: Quota,
    checks: AtomicU64,
    prune_every: u64,
}

impl MemoryStore {
    /// An empty store holding every key to `quota`.
    pub fn new(quota: Quota) -> Self {
        Self::build(quota, DEFAULT_PRUNE_EVERY)
    }

    /// Prunes every `checks` checks instead of every [`DEFAULT_PRUNE_EVERY`]; `0` never
    /// prunes by itself (then call [`prune`](Self::prune) periodically). A builder step:
    /// the store it returns starts empty.
    pub fn prune_every(self, checks: u64) -> Self {
        Self::build(self.inner.quota, checks)
    }

    fn build(quota: Quota, prune_every: u64) -> Self {
        // `Quota` refuses a zero interval and a zero burst, so neither fallback is taken.
        let burst = NonZeroU32::new(quota.burst()).unwrap_or(NonZeroU32::MIN);
        let governor_quota = governor::Quota::with_period(quota.interval())
            .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst);
        Self {
            inner: Arc::new(Inner {
                limiter: governor::RateLimiter::keyed(governor_quota)
                    .with_middleware::<StateInformationMiddleware>(),
                hasher: RandomState::new(),
                quota,
                checks: AtomicU64::new(0),
                prune_every,
            }),
        }
    }

    /// Drops the keys whose state equals a fresh key's, and gives memory back.
    pub fn prune(&self) {
        self.inner.limiter.retain_recent();
        self.inner.limiter.shrink_to_fit();
    }

    /// How many keys are held (an estimate while requests run).
    pub fn len(&self) -> usize {
        self.inner.limiter.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.inner.limiter.is_empty()
    }

    fn decide(&self, key: &str) -> Decision {
        let inner = &*self.inner;
        if inner.prune_every > 0
            && inner.checks.fetch_add(1, Ordering::Relaxed) % inner.prune_every
                == inner.prune_every - 1
        {
            self.prune();
        }
        let hashed = inner.hasher.hash_one(key);
        match inner.limiter.check_key(&hashed) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = inner.quota.burst().saturating_sub(remaining);
                Decision::Allowed {
                    remaining,
                    // governor keeps the exact TAT private; this is an upper bound, off by
                    // less than one interval.
                    reset_after: inner.quota.interval().saturating_mul(used),
                }
            }
            Err(not_until) => Decision::Limited {
                retry_after: not_until
                    .wait_time_from(inner.limiter.clock().now())
                    .max(Duration::from_nanos(1)),
            },
        }
    }
}

impl RateLimitStore for MemoryStore {
    fn quota(&self) -> Quota {
        self.inner.quota
    }

    async fn check(&self, key: &str) -> Result<Decision, StoreError> {
        Ok(self.decide(key))
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("quota", &self.inner.quota)
            .field("keys", &self.len())
            .field("prune_every", &self.inner.prune_every)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_limited_with_a_retry_time() {
        let store = MemoryStore::new(Quota::per_minute(3));
        let remaining: Vec<u32> = (0..3)
            .map(|_| match store.decide("k") {
                Decision::Allowed { remaining, .. } => remaining,
                Decision::Limited { .. } => panic!("limited within the burst"),
            })
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        match store.decide("k") {
            Decision::Limited { retry_after } => {
                assert!(retry_after <= Duration::from_secs(20), "{retry_after:?}");
                assert!(retry_after > Duration::from_secs(19), "{retry_after:?}");
            }
            other => panic!("expected a limit, got {other:?}"),
        }
    }

    #[test]
    fn reset_after_grows_with_use() {
        let store = MemoryStore::new(Quota::per_minute(3));
        let Decision::Allowed { reset_after, .. } = store.decide("k") else {
            panic!("limited")
        };
        assert_eq!(reset_after, Duration::from_secs(20));
        let Decision::Allowed { reset_after, .. } = store.decide("k") else {
            panic!("limited")
        };
        assert_eq!(reset_after, Duration::from_secs(40));
    }

    #[test]
    fn pruning_drops_idle_keys() {
        // A 1 ms interval: keys are back to fresh almost at once.
        let store = MemoryStore::new(Quota::with_period(Duration::from_millis(1))).prune_every(0);
        for i in 0..100 {
            store.decide(&format!("key-{i}"));
        }
        assert_eq!(store.len(), 100);
        std::thread::sleep(Duration::from_millis(5));
        store.prune();
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn pruning_runs_on_a_counter() {
        let store = MemoryStore::new(Quota::with_period(Duration::from_millis(1))).prune_every(50);
        for i in 0..49 {
            store.decide(&format!("key-{i}"));
        }
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(store.len(), 49);
        store.decide("the-fiftieth"); // prunes, then counts itself
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn active_keys_survive_pruning() {
        let store = MemoryStore::new(Quota::per_hour(10)).prune_every(0);
        store.decide("busy");
        store.prune();
        assert_eq!(store.len(), 1);
    }
}
