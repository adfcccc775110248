//! The in-process store: GCRA over sharded hash maps, pruned as it goes.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{Decision, Quota, RateLimitStore, StoreError};

/// How many checks pass between two prunings by default.
pub const DEFAULT_PRUNE_EVERY: u64 = 10_000;

/// How many independently locked maps the keys are spread over, so that checks of
/// different keys on different threads rarely wait for each other.
const SHARDS: usize = 64;

/// Rate-limit state in this process's memory: GCRA, the same algorithm and the same
/// decisions as `RedisStore`.
///
/// Right for a single instance, and for limits that may be per instance. Behind a load
/// balancer with several instances each one keeps its own budget, so a client gets up to
/// N× the quota; use `RedisStore` when that matters.
///
/// Per key the store holds one number, the key's theoretical arrival time (TAT, see the
/// `RedisStore` documentation for the algorithm), on a monotonic clock; a key whose TAT has
/// passed is indistinguishable from a fresh one. `check` decides and counts under one lock,
/// so concurrent requests never share the last unit of a burst, and
/// [`refund`](RateLimitStore::refund) gives one unit back exactly.
///
/// **Memory stays bounded.** Keys are stored as a 64-bit SipHash of the key string under a
/// per-process random seed (no allocation per request, 16 bytes per key; a collision merges
/// two keys' budgets with a probability of about n²/2⁶⁵ for n live keys, and cannot be
/// aimed at because the seed is secret). Every [`prune_every`](Self::prune_every) checks,
/// keys whose state equals a fresh key's (idle for longer than their reset time) are
/// dropped, so the store holds at most the keys active within one [`Quota::window`] plus
/// `prune_every`. That pruning walks the whole map (linear in the number of keys, one of its
/// 64 shards locked at a time) in the request that triggers it; to keep it off the request
/// path, set `prune_every(0)` and call [`prune`](Self::prune) from a timer.
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
///
/// // One of alice's requests is given back (it turned out not to count).
/// assert!(store.refund("alice").await.unwrap());
/// assert!(store.check("alice").await.unwrap().is_allowed());
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    shards: Box<[Shard]>,
    hasher: RandomState,
    /// The zero of the TATs: they are nanoseconds since this instant.
    start: Instant,
    quota: Quota,
    /// GCRA's `T`, in nanoseconds (at least 1).
    interval: u64,
    /// `B·T` in nanoseconds: how far ahead of now a TAT may run.
    window: u64,
    checks: AtomicU64,
    prune_every: u64,
}

/// Hashed key → TAT (nanoseconds since `Inner::start`), padded to its own cache lines.
#[repr(align(128))]
struct Shard(Mutex<Tats>);

type Tats = HashMap<u64, u64, BuildHasherDefault<AlreadyHashed>>;

/// The keys are already keyed SipHash values: the map uses them as they are.
#[derive(Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached (the maps' keys are `u64`), but correct should it be.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
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
        let interval = nanos(quota.interval()).max(1);
        Self {
            inner: Arc::new(Inner {
                shards: (0..SHARDS).map(|_| Shard(Mutex::default())).collect(),
                hasher: RandomState::new(),
                start: Instant::now(),
                quota,
                interval,
                window: interval.saturating_mul(u64::from(quota.burst())),
                checks: AtomicU64::new(0),
                prune_every,
            }),
        }
    }

    /// Drops the keys whose state equals a fresh key's, and gives memory back.
    pub fn prune(&self) {
        let now = self.inner.now();
        for shard in &self.inner.shards {
            let mut tats = shard.lock();
            tats.retain(|_, tat| *tat > now);
            tats.shrink_to_fit();
        }
    }

    /// How many keys are held (an estimate while requests run).
    pub fn len(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|shard| shard.lock().len())
            .sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        let now = inner.now();
        let mut tats = inner.shard(hashed).lock();
        // A TAT in the past is a fresh key's: the request is measured from now.
        let tat = tats
            .get(&hashed)
            .copied()
            .filter(|&tat| tat > now)
            .unwrap_or(now);
        // The TAT once this request counts, and how far ahead of now that is; allowed while
        // within one window (`max(TAT, now) + T - B·T <= now`).
        let new_tat = tat.saturating_add(inner.interval);
        let ahead = new_tat - now;
        if ahead > inner.window {
            return Decision::Limited {
                retry_after: Duration::from_nanos(ahead - inner.window)
                    .max(Duration::from_nanos(1)),
            };
        }
        tats.insert(hashed, new_tat);
        let remaining =
            ((inner.window - ahead) / inner.interval).min(u64::from(inner.quota.burst()));
        Decision::Allowed {
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            reset_after: Duration::from_nanos(ahead),
        }
    }

    fn give_back(&self, key: &str) -> bool {
        let inner = &*self.inner;
        let hashed = inner.hasher.hash_one(key);
        let now = inner.now();
        let mut tats = inner.shard(hashed).lock();
        let Some(&tat) = tats.get(&hashed) else {
            return false;
        };
        if tat <= now {
            // Already back to a fresh key's state: nothing is counted.
            tats.remove(&hashed);
            return false;
        }
        // One interval back, but never before now: a TAT in the past already stands for a
        // full burst (a fresh key), so the entry goes, as pruning would drop it.
        let back = tat.saturating_sub(inner.interval);
        if back > now {
            tats.insert(hashed, back);
        } else {
            tats.remove(&hashed);
        }
        true
    }
}

impl Inner {
    /// Nanoseconds since `start`, on the monotonic clock.
    fn now(&self) -> u64 {
        nanos(self.start.elapsed())
    }

    fn shard(&self, hashed: u64) -> &Shard {
        // Bits the maps themselves hardly use: hashbrown takes the low bits for the
        // bucket and the top seven for its tag.
        &self.shards[(hashed >> 32) as usize % SHARDS]
    }
}

impl Shard {
    /// The map; a panic elsewhere while it was held leaves plain numbers, still usable.
    fn lock(&self) -> MutexGuard<'_, Tats> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RateLimitStore for MemoryStore {
    fn quota(&self) -> Quota {
        self.inner.quota
    }

    async fn check(&self, key: &str) -> Result<Decision, StoreError> {
        Ok(self.decide(key))
    }

    async fn refund(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.give_back(key))
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
        // Exact: 40 s from the first request, less the time since.
        assert!(reset_after <= Duration::from_secs(40), "{reset_after:?}");
        assert!(reset_after > Duration::from_secs(39), "{reset_after:?}");
    }

    #[test]
    fn refund_gives_one_request_back() {
        let store = MemoryStore::new(Quota::per_minute(3));
        for _ in 0..3 {
            assert!(store.decide("k").is_allowed());
        }
        assert!(!store.decide("k").is_allowed());
        assert!(store.give_back("k"));
        let Decision::Allowed { remaining, .. } = store.decide("k") else {
            panic!("the refunded unit is usable again")
        };
        assert_eq!(remaining, 0);
        assert!(
            !store.decide("k").is_allowed(),
            "exactly one unit came back"
        );
    }

    #[test]
    fn refunds_never_give_more_than_a_full_burst() {
        let store = MemoryStore::new(Quota::per_minute(3)).prune_every(0);
        assert!(
            !store.give_back("never-seen"),
            "nothing counted, nothing to give"
        );
        assert!(store.decide("k").is_allowed());
        assert!(store.give_back("k"));
        // Back to a fresh key: the entry is gone and further refunds do nothing.
        assert_eq!(store.len(), 0);
        assert!(!store.give_back("k"));
        assert!(!store.give_back("k"));
        let allowed = (0..10).filter(|_| store.decide("k").is_allowed()).count();
        assert_eq!(allowed, 3, "the burst, not more");
    }

    #[test]
    fn concurrent_checks_never_exceed_the_burst() {
        let store = MemoryStore::new(Quota::per_hour(10));
        let allowed: usize = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..8)
                .map(|_| {
                    let store = store.clone();
                    scope
                        .spawn(move || (0..50).filter(|_| store.decide("hot").is_allowed()).count())
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        assert_eq!(allowed, 10);
    }

    #[test]
    fn keys_in_every_shard_are_counted_and_pruned() {
        let store = MemoryStore::new(Quota::with_period(Duration::from_millis(1))).prune_every(0);
        for i in 0..2000 {
            store.decide(&format!("key-{i}"));
        }
        assert_eq!(store.len(), 2000);
        assert!(
            store
                .inner
                .shards
                .iter()
                .all(|shard| !shard.lock().is_empty()),
            "2000 keys spread over all 64 shards"
        );
        std::thread::sleep(Duration::from_millis(5));
        store.prune();
        assert!(store.is_empty());
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
