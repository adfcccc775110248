//! The in-process store: a bounded map, expired entries evicted as it goes.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{SessionKey, SessionRecord, SessionStore, StoreError};

/// How many sessions a [`MemoryStore`] holds by default.
pub const DEFAULT_MEMORY_CAPACITY: usize = 100_000;

/// Sessions in this process's memory, at most `capacity` of them.
///
/// Right for a single instance (sessions are lost on restart); behind a load balancer
/// use `RedisStore` or a database store, since each instance would otherwise know only
/// the sessions started on it.
///
/// **Memory stays bounded.** Entries are indexed by expiry: every operation first drops
/// the entries whose time is up (the index makes that proportional to what is dropped), and
/// a new session that finds the store full evicts the one closest to expiring, so logins
/// never fail for lack of room. Sessions are only created by a login, so filling the store
/// takes that many successful logins; size it above the number of users active within the
/// idle timeout. A record is bounded by
/// [`SessionConfig::max_data_bytes`](super::SessionConfig::max_data_bytes).
///
/// Cloning is cheap and shares the sessions.
///
/// ```
/// use std::time::Duration;
/// use warden::session::{MemoryStore, SessionConfig, Sessions};
///
/// let sessions: Sessions = Sessions::new(MemoryStore::with_capacity(10_000), SessionConfig::new())?;
/// # Ok::<(), warden::session::SessionError>(())
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Entries>>,
    capacity: usize,
}

struct Entry {
    record: SessionRecord,
    expires: Instant,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<SessionKey, Entry>,
    by_expiry: BTreeSet<(Instant, SessionKey)>,
}

impl Entries {
    fn evict_expired(&mut self, now: Instant) {
        while let Some(&(expires, key)) = self.by_expiry.first() {
            if expires > now {
                break;
            }
            self.by_expiry.pop_first();
            self.by_key.remove(&key);
        }
    }

    fn remove(&mut self, key: &SessionKey) -> bool {
        match self.by_key.remove(key) {
            Some(entry) => {
                self.by_expiry.remove(&(entry.expires, *key));
                true
            }
            None => false,
        }
    }

    fn insert(&mut self, key: SessionKey, record: SessionRecord, expires: Instant) {
        self.by_expiry.insert((expires, key));
        self.by_key.insert(key, Entry { record, expires });
    }
}

fn deadline(now: Instant, ttl: Duration) -> Instant {
    const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);
    now.checked_add(ttl)
        .or_else(|| now.checked_add(YEAR))
        .unwrap_or(now)
}

impl MemoryStore {
    /// An empty store of [`DEFAULT_MEMORY_CAPACITY`] sessions.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_MEMORY_CAPACITY)
    }

    /// An empty store of at most `capacity` sessions (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    /// The most sessions this store holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many sessions are stored now, expired ones not yet evicted included.
    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    /// Whether no session is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // The map is consistent after every statement a panic could interrupt.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionStore for MemoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let mut entries = self.lock();
        entries.evict_expired(Instant::now());
        Ok(entries.by_key.get(key).map(|entry| entry.record.clone()))
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut entries = self.lock();
        entries.evict_expired(now);
        if !entries.remove(key) && entries.by_key.len() >= self.capacity {
            // Full of live sessions: the one closest to its end makes room.
            if let Some((_, oldest)) = entries.by_expiry.first().copied() {
                entries.remove(&oldest);
            }
        }
        entries.insert(*key, record.clone(), deadline(now, ttl));
        Ok(())
    }

    async fn touch(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut entries = self.lock();
        entries.evict_expired(now);
        if !entries.remove(key) {
            return Ok(false);
        }
        entries.insert(*key, record.clone(), deadline(now, ttl));
        Ok(true)
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionId;

    fn record(n: u64) -> SessionRecord {
        SessionRecord {
            data: n.to_string(),
            created_at: n,
            last_seen: n,
            csrf_token: String::new(),
        }
    }

    fn key() -> SessionKey {
        SessionId::generate().unwrap().key()
    }

    #[tokio::test]
    async fn save_load_touch_delete() {
        let store = MemoryStore::new();
        let k = key();
        assert_eq!(store.load(&k).await.unwrap(), None);
        assert!(
            !store
                .touch(&k, &record(1), Duration::from_secs(60))
                .await
                .unwrap()
        );
        assert_eq!(store.load(&k).await.unwrap(), None, "touch never creates");
        store
            .save(&k, &record(1), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(store.load(&k).await.unwrap(), Some(record(1)));
        assert!(
            store
                .touch(&k, &record(2), Duration::from_secs(60))
                .await
                .unwrap()
        );
        assert_eq!(store.load(&k).await.unwrap(), Some(record(2)));
        store.delete(&k).await.unwrap();
        assert_eq!(store.load(&k).await.unwrap(), None);
        store.delete(&k).await.unwrap();
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn expired_entries_are_evicted() {
        let store = MemoryStore::new();
        let k = key();
        store.save(&k, &record(1), Duration::ZERO).await.unwrap();
        assert_eq!(store.load(&k).await.unwrap(), None);
        assert_eq!(store.len(), 0);
        assert!(
            !store
                .touch(&k, &record(1), Duration::from_secs(9))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_full_store_evicts_the_session_closest_to_expiry() {
        let store = MemoryStore::with_capacity(2);
        let (a, b, c) = (key(), key(), key());
        store
            .save(&a, &record(1), Duration::from_secs(100))
            .await
            .unwrap();
        store
            .save(&b, &record(2), Duration::from_secs(50))
            .await
            .unwrap();
        // Replacing an existing entry needs no room.
        store
            .save(&a, &record(3), Duration::from_secs(100))
            .await
            .unwrap();
        assert_eq!(store.len(), 2);
        store
            .save(&c, &record(4), Duration::from_secs(100))
            .await
            .unwrap();
        assert_eq!(store.len(), 2);
        assert_eq!(
            store.load(&b).await.unwrap(),
            None,
            "b was closest to expiry"
        );
        assert_eq!(store.load(&a).await.unwrap(), Some(record(3)));
        assert_eq!(store.load(&c).await.unwrap(), Some(record(4)));
    }
}
