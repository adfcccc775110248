//! Proof identifiers in Redis, shared by every instance behind one URL.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::aio::ConnectionManager;

use super::{ReplayFuture, ReplayStore, ReplayStoreError};

/// How long a check waits for Redis by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// A [`ReplayStore`] in Redis: one `SET key 1 NX PX ttl` per proof, atomic in Redis, so a
/// proof replayed to another instance is refused there too. Keys expire by themselves.
///
/// ```no_run
/// use warden::dpop::{DPoPVerifier, RedisReplayStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisReplayStore::open("redis://127.0.0.1:6379", "myapi:dpop:")?;
/// let verifier = DPoPVerifier::new("https://api.example.com")?.replay_store(store);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisReplayStore {
    connection: ConnectionManager,
    prefix: Arc<str>,
    timeout: Duration,
}

impl RedisReplayStore {
    /// A store over an existing connection manager, its keys under `prefix`.
    pub fn new(connection: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self {
            connection,
            prefix: prefix.into().into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// A store on the Redis at `url`, connecting on first use and reconnecting after
    /// failures. Must be called within a Tokio runtime.
    pub fn open(url: &str, prefix: impl Into<String>) -> Result<Self, ReplayStoreError> {
        let connection = crate::redis_connection::lazy_connection(url, "RedisReplayStore::open")
            .map_err(ReplayStoreError::Backend)?;
        Ok(Self::new(connection, prefix))
    }

    /// Waits at most `timeout` for Redis per proof.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl ReplayStore for RedisReplayStore {
    fn first_use(&self, key: [u8; 32], ttl: Duration) -> ReplayFuture<'_> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let key = format!("{}{}", self.prefix, URL_SAFE_NO_PAD.encode(key));
            let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let mut command = redis::cmd("SET");
            command.arg(key).arg(1).arg("NX").arg("PX").arg(millis);
            let set = command.query_async::<Option<String>>(&mut connection);
            let reply = tokio::time::timeout(self.timeout, set)
                .await
                .map_err(|_| ReplayStoreError::Timeout(self.timeout))?
                .map_err(|e| ReplayStoreError::Backend(Box::new(e)))?;
            // `OK` when set; nil when the key was already there.
            Ok(reply.is_some())
        })
    }
}

impl fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
