//! The shared store: sessions in Redis, one key per session, expiring by itself.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::{SessionKey, SessionRecord, SessionStore, StoreError};

/// How long a store operation may wait for Redis before it counts as failed (then the
/// request is answered 503).
pub const DEFAULT_SESSION_REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// The largest record read back; anything larger is not one of ours.
const MAX_RECORD_BYTES: usize = 64 * 1024;

/// Sessions in Redis, shared by every instance that uses the same prefix.
///
/// Each session is one string key, `{prefix}{SessionKey::to_hex()}` (a digest: the keys
/// list no cookie), holding the [`SessionRecord`] as JSON, with a `PX` expiry at the
/// session's nearer deadline, so Redis drops ended sessions by itself. One round trip per
/// operation: `GET`, `SET … PX` at login, `SET … XX PX` to extend the idle timeout (`XX`:
/// only if the key still exists, so a concurrent logout is never undone), `DEL` at logout.
/// Works with Redis Cluster and Valkey.
///
/// An operation that fails or takes longer than [`DEFAULT_SESSION_REDIS_TIMEOUT`] (see
/// [`with_timeout`](Self::with_timeout)) is a [`StoreError`]: the request is answered 503,
/// never let in.
///
/// Cloning is cheap and shares the connection.
///
/// ```no_run
/// use warden::session::{RedisStore, SessionConfig, Sessions};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::open("redis://127.0.0.1:6379", "myapp:session:")?;
/// let sessions: Sessions = Sessions::new(store, SessionConfig::new())?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: Arc<str>,
    timeout: Duration,
}

impl RedisStore {
    /// A store over an existing connection manager, keeping its keys under `prefix`.
    pub fn new(connection: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            connection,
            prefix: prefix.into().into(),
            timeout: DEFAULT_SESSION_REDIS_TIMEOUT,
        }
    }

    /// A store on the Redis at `url` (`redis://host:port/db`), connecting on first use and
    /// reconnecting after failures, so the application starts even while Redis is down.
    ///
    /// Must be called within a Tokio runtime (the connection manager spawns a task);
    /// outside one, or with a malformed URL, this is an error.
    pub fn open(url: &str, prefix: impl Into<String>) -> Result<Self, StoreError> {
        let connection = crate::redis_connection::lazy_connection(url, "RedisStore::open")
            .map_err(StoreError::Backend)?;
        Ok(Self::new(connection, prefix))
    }

    /// Waits at most `timeout` for Redis per operation.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The prefix of this store's keys.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, key: &SessionKey) -> String {
        format!("{}{}", self.prefix, key.to_hex())
    }

    async fn run<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        tokio::time::timeout(self.timeout, command.query_async(&mut connection))
            .await
            .map_err(|_| StoreError::Timeout(self.timeout))?
            .map_err(|error| StoreError::Backend(Box::new(error)))
    }
}

fn px(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn encode(record: &SessionRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|_| StoreError::Corrupt("record not serializable"))
}

impl SessionStore for RedisStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let mut command = redis::cmd("GET");
        command.arg(self.key(key));
        let Some(bytes) = self.run::<Option<Vec<u8>>>(command).await? else {
            return Ok(None);
        };
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(StoreError::Corrupt("record too large"));
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| StoreError::Corrupt("record is not JSON of a SessionRecord"))
    }

    async fn save(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut command = redis::cmd("SET");
        command
            .arg(self.key(key))
            .arg(encode(record)?)
            .arg("PX")
            .arg(px(ttl));
        self.run::<()>(command).await
    }

    async fn touch(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut command = redis::cmd("SET");
        command
            .arg(self.key(key))
            .arg(encode(record)?)
            .arg("XX")
            .arg("PX")
            .arg(px(ttl));
        // `OK` when set, nil when the key did not exist.
        Ok(self.run::<Option<String>>(command).await?.is_some())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let mut command = redis::cmd("DEL");
        command.arg(self.key(key));
        self.run::<i64>(command).await.map(drop)
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
