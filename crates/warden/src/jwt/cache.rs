//! A bounded cache of verified tokens, so a client that presents the same access token on
//! every request pays for one signature check, not one per request.
//!
//! A hit must never accept a token that a full verification would refuse now, so an entry is
//! only reused when
//!
//! - the presented token is byte-for-byte the verified one (compared in constant time; the
//!   map is keyed by a per-process randomly keyed SipHash, so a client cannot aim at an
//!   entry);
//! - the verifier's key set is unchanged (its generation: a rotation, a `replace` or a
//!   refetched JWKS starts a new one and retires every entry);
//! - the entry is younger than [`MAX_ENTRY_AGE`] and before the end of the verifying key's
//!   own validity (a retired ring key); and
//! - the time-dependent claims (`exp`, `nbf`, `iat`) still pass, re-checked by the verifier
//!   on every hit.
//!
//! Everything else a verification decides (signature, header, `typ`, `iss`, `aud`) depends
//! only on the token's bytes and the key set, which the checks above pin. Refusals are never
//! cached. Envoy's `jwt_authn` filter and most API gateways keep the same kind of cache.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::secret::constant_time_eq;

/// The default number of cached tokens per verifier.
pub const DEFAULT_CACHE_CAPACITY: usize = 4096;

/// How long one verification is reused at most, whatever the token's `exp`: it bounds how
/// long a cached token outlives a key that disappeared without a new generation (a remote
/// JWKS whose refresh is due but not yet triggered).
pub const MAX_ENTRY_AGE: Duration = Duration::from_secs(60);

/// Tokens longer than this are verified every time: caching them would let a client fill
/// the cache with large entries.
const MAX_CACHED_TOKEN_BYTES: usize = 2048;

const SHARDS: usize = 16;

/// The claims of one verified token, type-erased (one verifier may be asked for several
/// claim types; the type is part of the key).
pub(crate) type Shared = Arc<dyn Any + Send + Sync>;

struct Entry {
    token: Box<[u8]>,
    claims: Shared,
    generation: u64,
    /// Seconds since the epoch after which the verifying key no longer verifies anything.
    key_until: Option<u64>,
    inserted: Instant,
}

/// The map's keys are already keyed SipHash digests: hash them as they are.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in rather than panic.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Shard = HashMap<u64, Entry, BuildHasherDefault<Prehashed>>;

/// The cache of one [`Verifier`](super::Verifier) and its clones.
pub(crate) struct TokenCache {
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("capacity", &(self.per_shard * SHARDS))
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache of about `capacity` tokens (rounded up to a multiple of the shard count).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn digest(&self, type_id: TypeId, token: &str) -> u64 {
        self.hasher.hash_one((type_id, token))
    }

    fn shard(&self, digest: u64) -> std::sync::MutexGuard<'_, Shard> {
        // The top bits pick the shard; the map uses all of them.
        let index = (digest >> 60) as usize % SHARDS;
        // A panic while holding a shard cannot leave an entry half-written (inserts and
        // removals are single calls), so a poisoned shard is still consistent.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The claims verified earlier for exactly `token`, if that verification still stands for
    /// key generation `generation` at `now` (seconds). The caller re-checks the claims' times.
    pub(crate) fn get(
        &self,
        type_id: TypeId,
        token: &str,
        generation: u64,
        now: u64,
    ) -> Option<Shared> {
        if token.len() > MAX_CACHED_TOKEN_BYTES {
            return None;
        }
        let digest = self.digest(type_id, token);
        let shard = self.shard(digest);
        let entry = shard.get(&digest)?;
        let usable = constant_time_eq(&entry.token, token.as_bytes())
            && entry.generation == generation
            && entry.inserted.elapsed() < MAX_ENTRY_AGE
            && entry.key_until.is_none_or(|until| now < until);
        usable.then(|| Arc::clone(&entry.claims))
    }

    /// Remembers a successful verification.
    pub(crate) fn insert(
        &self,
        type_id: TypeId,
        token: &str,
        claims: Shared,
        generation: u64,
        key_until: Option<u64>,
    ) {
        if token.len() > MAX_CACHED_TOKEN_BYTES {
            return;
        }
        let digest = self.digest(type_id, token);
        let entry = Entry {
            token: token.as_bytes().into(),
            claims,
            generation,
            key_until,
            inserted: Instant::now(),
        };
        let mut shard = self.shard(digest);
        if shard.len() >= self.per_shard && !shard.contains_key(&digest) {
            // Full: first drop what can no longer be used, then, if that freed nothing, one
            // entry the random hash order puts first (random eviction: cheap, and no client
            // can keep an entry in by touching it).
            let now = Instant::now();
            shard.retain(|_, e| {
                e.generation == generation && now.duration_since(e.inserted) < MAX_ENTRY_AGE
            });
            if shard.len() >= self.per_shard
                && let Some(&victim) = shard.keys().next()
            {
                shard.remove(&victim);
            }
        }
        shard.insert(digest, entry);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(n: u32) -> Shared {
        Arc::new(n)
    }

    fn value(shared: Option<Shared>) -> Option<u32> {
        shared.and_then(|s| s.downcast_ref::<u32>().copied())
    }

    const T: TypeId = TypeId::of::<u32>();

    #[test]
    fn a_hit_needs_the_same_token_type_and_generation() {
        let cache = TokenCache::new(64);
        cache.insert(T, "a.b.c", claims(1), 7, None);
        assert_eq!(value(cache.get(T, "a.b.c", 7, 0)), Some(1));
        assert_eq!(value(cache.get(T, "a.b.d", 7, 0)), None, "other token");
        assert_eq!(
            value(cache.get(T, "a.b.c", 8, 0)),
            None,
            "new key generation"
        );
        assert!(
            cache.get(TypeId::of::<u64>(), "a.b.c", 7, 0).is_none(),
            "other claims type"
        );
    }

    #[test]
    fn an_entry_ends_with_its_key() {
        let cache = TokenCache::new(64);
        cache.insert(T, "a.b.c", claims(1), 0, Some(100));
        assert_eq!(value(cache.get(T, "a.b.c", 0, 99)), Some(1));
        assert_eq!(value(cache.get(T, "a.b.c", 0, 100)), None);
    }

    #[test]
    fn capacity_is_a_bound() {
        let cache = TokenCache::new(32);
        for n in 0..1000 {
            cache.insert(T, &format!("token-{n}"), claims(n), 0, None);
        }
        assert!(cache.len() <= 32, "{} entries", cache.len());
        // The newest entry is always kept.
        assert_eq!(value(cache.get(T, "token-999", 0, 0)), Some(999));
    }

    #[test]
    fn long_tokens_are_not_cached() {
        let cache = TokenCache::new(32);
        let long = "x".repeat(MAX_CACHED_TOKEN_BYTES + 1);
        cache.insert(T, &long, claims(1), 0, None);
        assert!(cache.get(T, &long, 0, 0).is_none());
        assert_eq!(cache.len(), 0);
    }
}
