//! Where sessions live: the record, the store trait, and its type-erased form.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{SessionKey, StoreError};

/// What a store keeps per session, under the session's [`SessionKey`].
///
/// Stores treat it as opaque: keep it as it is, or as its JSON (`serde_json::to_string`),
/// which is what `RedisStore` does. Times are milliseconds since the
/// Unix epoch on the [`SessionConfig`](super::SessionConfig) clock; the timeouts are checked
/// against them by [`Sessions`](super::Sessions) on every load, whatever the store's own
/// expiry does.
///
/// ```
/// use warden::session::SessionRecord;
///
/// let json = r#"{"data":"{\"user_id\":7}","created_at":1,"last_seen":2,"csrf_token":"t"}"#;
/// let record: SessionRecord = serde_json::from_str(json).unwrap();
/// assert_eq!(record.last_seen, 2);
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The application's session data as JSON text (what was given to
    /// [`Sessions::login`](super::Sessions::login)).
    pub data: String,
    /// When the session was created (at login): the base of the absolute timeout.
    pub created_at: u64,
    /// The last activity written to the store: the base of the idle timeout. Written at
    /// most once per [`touch_interval`](super::SessionConfig::touch_interval).
    pub last_seen: u64,
    /// The session's anti-CSRF token (the fallback for clients that send neither
    /// `Sec-Fetch-Site` nor `Origin`).
    pub csrf_token: String,
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("data_len", &self.data.len())
            .field("created_at", &self.created_at)
            .field("last_seen", &self.last_seen)
            .finish_non_exhaustive()
    }
}

/// Server-side session storage: a map from [`SessionKey`] to [`SessionRecord`] whose
/// entries expire.
///
/// Implemented by [`MemoryStore`](super::MemoryStore) (one process, bounded) and
/// `RedisStore` (every instance; features `session` and `redis`). Expiry in the store is
/// garbage collection only: [`Sessions`](super::Sessions) checks both timeouts on every
/// load, so a store may keep an entry past its `ttl`, but must not lose one before.
///
/// [`touch`](Self::touch) must not recreate a deleted entry: a request that read a
/// session just before a concurrent logout would otherwise bring it back when it extends
/// the idle timeout.
///
/// A database store, say on PostgreSQL (here with a stand-in `Db` for the client):
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use warden::session::{SessionKey, SessionRecord, SessionStore, StoreError};
///
/// // CREATE TABLE sessions (
/// //     key        TEXT PRIMARY KEY,   -- SessionKey::to_hex(): a digest, not the cookie
/// //     record     TEXT NOT NULL,      -- the SessionRecord as JSON
/// //     expires_at BIGINT NOT NULL     -- Unix milliseconds
/// // );
/// // CREATE INDEX sessions_expires_at ON sessions (expires_at);
/// // and now and then: DELETE FROM sessions WHERE expires_at <= $1
/// struct DbStore { db: Db }
///
/// fn now_ms() -> i64 {
///     SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
/// }
///
/// fn expires_at(ttl: Duration) -> i64 {
///     now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
/// }
///
/// fn backend(error: DbError) -> StoreError {
///     StoreError::Backend(Box::new(error))
/// }
///
/// fn to_json(record: &SessionRecord) -> Result<String, StoreError> {
///     serde_json::to_string(record).map_err(|_| StoreError::Corrupt("record not serializable"))
/// }
///
/// impl SessionStore for DbStore {
///     async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
///         let row = self.db.fetch_optional(
///             "SELECT record FROM sessions WHERE key = $1 AND expires_at > $2",
///             (key.to_hex(), now_ms()),
///         ).await.map_err(backend)?;
///         row.map(|json| serde_json::from_str(&json).map_err(|_| StoreError::Corrupt("not a record")))
///             .transpose()
///     }
///
///     async fn save(&self, key: &SessionKey, record: &SessionRecord, ttl: Duration) -> Result<(), StoreError> {
///         self.db.execute(
///             "INSERT INTO sessions (key, record, expires_at) VALUES ($1, $2, $3)
///              ON CONFLICT (key) DO UPDATE SET record = $2, expires_at = $3",
///             (key.to_hex(), to_json(record)?, expires_at(ttl)),
///         ).await.map_err(backend)?;
///         Ok(())
///     }
///
///     async fn touch(&self, key: &SessionKey, record: &SessionRecord, ttl: Duration) -> Result<bool, StoreError> {
///         // An UPDATE, never an upsert: a session deleted meanwhile stays deleted.
///         let rows = self.db.execute(
///             "UPDATE sessions SET record = $2, expires_at = $3 WHERE key = $1",
///             (key.to_hex(), to_json(record)?, expires_at(ttl)),
///         ).await.map_err(backend)?;
///         Ok(rows == 1)
///     }
///
///     async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
///         self.db.execute("DELETE FROM sessions WHERE key = $1", (key.to_hex(),))
///             .await.map_err(backend)?;
///         Ok(())
///     }
/// }
/// # #[derive(Debug)] struct DbError;
/// # impl std::fmt::Display for DbError { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("db") } }
/// # impl std::error::Error for DbError {}
/// # struct Db;
/// # impl Db {
/// #     async fn fetch_optional<A: Send>(&self, _: &str, _: A) -> Result<Option<String>, DbError> { Ok(None) }
/// #     async fn execute<A: Send>(&self, _: &str, _: A) -> Result<u64, DbError> { Ok(1) }
/// # }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// The record under `key`, or `None` when there is none (or it has expired).
    fn load(
        &self,
        key: &SessionKey,
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Stores `record` under `key`, replacing any, to expire after `ttl`.
    fn save(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Replaces the record under `key` and its expiry, **only if an entry exists**;
    /// `Ok(false)` when there was none (it was deleted or expired meanwhile).
    fn touch(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the entry under `key`; deleting a missing entry is not an error.
    fn delete(&self, key: &SessionKey) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`SessionStore`] as a trait object, so that [`Sessions`](super::Sessions) (and every
/// extractor) is not generic over the store. One allocation per store call, next to a
/// network round trip or a lock.
pub(crate) trait DynStore: Send + Sync {
    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>>;
    fn save<'a>(
        &'a self,
        key: &'a SessionKey,
        record: &'a SessionRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn touch<'a>(
        &'a self,
        key: &'a SessionKey,
        record: &'a SessionRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn delete<'a>(&'a self, key: &'a SessionKey) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl<S: SessionStore> DynStore for S {
    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        Box::pin(SessionStore::load(self, key))
    }

    fn save<'a>(
        &'a self,
        key: &'a SessionKey,
        record: &'a SessionRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(SessionStore::save(self, key, record, ttl))
    }

    fn touch<'a>(
        &'a self,
        key: &'a SessionKey,
        record: &'a SessionRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(SessionStore::touch(self, key, record, ttl))
    }

    fn delete<'a>(&'a self, key: &'a SessionKey) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(SessionStore::delete(self, key))
    }
}
