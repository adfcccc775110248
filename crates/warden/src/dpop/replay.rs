//! Remembering the `jti` of every accepted proof for as long as its `iat` is acceptable, so a
//! captured proof cannot be sent again (RFC 9449 §11.1).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The default number of proofs a [`MemoryReplayStore`] remembers.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// Why a replay store could not answer. The proof is then refused (503 with `Retry-After`):
/// a replay cache that fails open would be no cache at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayStoreError {
    /// The backend failed: connection refused, reset, a server error.
    #[error("DPoP replay store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The backend did not answer in time.
    #[error("DPoP replay store did not answer within {0:?}")]
    Timeout(Duration),
    /// The store is full of proofs that have not expired yet.
    #[error("DPoP replay store is full")]
    Full,
}

/// The future a [`ReplayStore`] answers with.
pub type ReplayFuture<'a> =
    Pin<Box<dyn Future<Output = Result<bool, ReplayStoreError>> + Send + 'a>>;

/// Where proof identifiers are remembered.
///
/// [`first_use`](Self::first_use) must record and answer in one atomic step: two requests
/// racing with the same proof must not both be told "first". Implemented by
/// [`MemoryReplayStore`] (one process) and `RedisReplayStore` (every instance; feature
/// `redis`).
///
/// ```
/// use std::time::Duration;
/// use warden::dpop::{ReplayFuture, ReplayStore};
///
/// /// Accepts every proof again: for a test double only.
/// struct Forgetful;
///
/// impl ReplayStore for Forgetful {
///     fn first_use(&self, _key: [u8; 32], _ttl: Duration) -> ReplayFuture<'_> {
///         Box::pin(async { Ok(true) })
///     }
/// }
/// ```
pub trait ReplayStore: Send + Sync + 'static {
    /// Records `key` (a hash of the proof's key, target and `jti`) for `ttl`; `true` if it
    /// was not already recorded.
    fn first_use(&self, key: [u8; 32], ttl: Duration) -> ReplayFuture<'_>;
}

/// Proof identifiers in this process's memory: enough for a single instance. Bounded: when
/// full, expired entries are swept; if none has expired, the proof is refused (fail closed)
/// rather than a live entry forgotten.
///
/// ```
/// use std::time::Duration;
/// use warden::dpop::{MemoryReplayStore, ReplayStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryReplayStore::new(1000);
/// assert!(store.first_use([1; 32], Duration::from_secs(60)).await.unwrap());
/// assert!(!store.first_use([1; 32], Duration::from_secs(60)).await.unwrap()); // replayed
/// # });
/// ```
#[derive(Debug)]
pub struct MemoryReplayStore {
    shards: Box<[Mutex<Shard>]>,
    shard_capacity: usize,
}

#[derive(Debug, Default)]
struct Shard {
    seen: HashMap<[u8; 32], Instant>,
}

const SHARDS: usize = 16;

impl MemoryReplayStore {
    /// A store remembering at most `capacity` live proofs (at least one per shard).
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            shard_capacity: capacity.div_ceil(SHARDS).max(1),
        }
    }

    /// How many proofs are remembered now (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.seen.len()))
            .sum()
    }

    /// Whether no proof is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn record(&self, key: [u8; 32], ttl: Duration, now: Instant) -> Result<bool, ReplayStoreError> {
        // The key is a SHA-256 output: its first byte spreads evenly.
        let shard = &self.shards[usize::from(key[0]) % SHARDS];
        let mut shard = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(until) = shard.seen.get(&key) {
            if *until > now {
                return Ok(false);
            }
        } else if shard.seen.len() >= self.shard_capacity {
            shard.seen.retain(|_, until| *until > now);
            if shard.seen.len() >= self.shard_capacity {
                return Err(ReplayStoreError::Full);
            }
        }
        shard.seen.insert(key, now + ttl);
        Ok(true)
    }
}

impl Default for MemoryReplayStore {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_CAPACITY)
    }
}

impl ReplayStore for MemoryReplayStore {
    fn first_use(&self, key: [u8; 32], ttl: Duration) -> ReplayFuture<'_> {
        let answer = self.record(key, ttl, Instant::now());
        Box::pin(std::future::ready(answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_expires_and_a_full_store_fails_closed() {
        let store = MemoryReplayStore::new(SHARDS); // one entry per shard
        let t0 = Instant::now();
        let ttl = Duration::from_secs(10);
        assert!(store.record([0; 32], ttl, t0).unwrap());
        assert!(
            !store
                .record([0; 32], ttl, t0 + Duration::from_secs(9))
                .unwrap()
        );
        // Same shard (first byte 0 mod 16), another key: full while the first is live.
        let mut other = [0; 32];
        other[0] = 16;
        other[1] = 1;
        assert!(matches!(
            store.record(other, ttl, t0 + Duration::from_secs(5)),
            Err(ReplayStoreError::Full)
        ));
        // Once the first has expired it is swept to make room.
        assert!(
            store
                .record(other, ttl, t0 + Duration::from_secs(11))
                .unwrap()
        );
        // And an expired key is new again.
        assert!(
            store
                .record([0; 32], ttl, t0 + Duration::from_secs(30))
                .unwrap()
        );
    }
}
