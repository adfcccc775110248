//! The shared store: GCRA in one Lua script on Redis, one round trip per check.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

use super::{Decision, Quota, RateLimitStore, StoreError};

/// How long a check may wait for Redis before it counts as failed.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// GCRA (the generic cell rate algorithm, as in redis-cell and governor) for one key.
///
/// Per key, Redis holds one number: the theoretical arrival time (TAT) of the key's next
/// request, in microseconds since the Unix epoch. With `T` the emission interval and `B`
/// the burst, a request at `now` is allowed when `max(TAT, now) + T - B·T <= now`; the TAT
/// then becomes `max(TAT, now) + T`. A key whose TAT is in the past is indistinguishable
/// from a fresh key, so the key expires when the TAT is reached (at most one window,
/// `B·T`, after its last allowed request) and Redis memory stays bounded by the keys
/// active within one window.
///
/// Reading, deciding and writing happen in one script, which Redis runs atomically: two
/// instances cannot both spend the last unit of a burst. `EVALSHA` makes it one round
/// trip (the `redis` crate falls back to `SCRIPT LOAD` once after a `NOSCRIPT`).
///
/// **Clock.** `now` is Redis's `TIME`, not the caller's clock: every instance then reads
/// the same clock and the skew between application servers does not matter (were each to
/// pass its own `now`, an instance running ahead would see TATs as already reached and
/// grant extra requests, and one running behind would refuse too many). What remains:
/// `TIME` is the wall clock of the Redis primary, so a step of that clock (NTP, a failover
/// to a replica whose clock differs) shifts every key by the step, granting a burst early
/// when the clock jumps forward or delaying it when it jumps back; either heals within one
/// window. Since Redis 5 scripts replicate their effects (the `SET` with its absolute
/// value), so replicas never re-run `TIME`; Redis 3.2–4 would need
/// `redis.replicate_commands()`, and are not supported.
///
/// Numbers: Lua numbers are doubles, exact up to 2⁵³; microseconds since 1970 are about
/// 2⁵⁰·⁶ today. The TAT is written with `%.0f` because Redis would turn a bare number
/// argument into a 14-significant-digit string and lose precision.
///
/// `KEYS[1]` the key; `ARGV[1]` `T` in microseconds; `ARGV[2]` `B`.
/// Returns `{allowed (0/1), remaining, retry_after_us, reset_after_us}`.
const GCRA_SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if allow_at > now then
  return {0, 0, allow_at - now, tat - now}
end
local reset_after = new_tat - now
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(reset_after / 1000))
return {1, math.floor((now - allow_at) / interval), 0, reset_after}
";

static GCRA: LazyLock<Script> = LazyLock::new(|| Script::new(GCRA_SCRIPT));

/// Gives back one unit of a key (`RateLimitStore::refund`): its TAT moves back by `T`, but
/// never before now, since a TAT in the past is a fresh key's (a full burst) and an earlier
/// one would be credit beyond it. A TAT that reaches now deletes the key, like its expiry
/// would. The same clock (`TIME`) and precision as `GCRA_SCRIPT`, and atomic like it: a
/// refund and a check of one key never interleave.
///
/// `KEYS[1]` the key; `ARGV[1]` `T` in microseconds (`ARGV[2]`, `B`, is not needed). Returns
/// 1 when a unit was given back, 0 when the key had nothing counted.
const REFUND_SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil then
  return 0
end
if tat <= now then
  redis.call('DEL', KEYS[1])
  return 0
end
local back = tat - interval
if back > now then
  redis.call('SET', KEYS[1], string.format('%.0f', back), 'PX', math.ceil((back - now) / 1000))
else
  redis.call('DEL', KEYS[1])
end
return 1
";

static REFUND: LazyLock<Script> = LazyLock::new(|| Script::new(REFUND_SCRIPT));

/// Rate-limit state in Redis, shared by every instance that uses the same prefix.
///
/// Each check is one `EVALSHA` of a GCRA script (see the comment on `GCRA_SCRIPT` in the
/// source for the algorithm and the clock): atomic, one round trip, one key per rate-limit
/// key; so is each [`refund`](RateLimitStore::refund), with a second script (`{prefix}{key}`, expiring once the key is back to a full burst). Two processes
/// with stores of the same prefix and quota share one budget per key; give limiters with
/// different quotas different prefixes. Works with Redis Cluster (one key per script).
/// Needs Redis 5 or later (or Valkey).
///
/// A check that fails or takes longer than [`DEFAULT_REDIS_TIMEOUT`] (see
/// [`with_timeout`](Self::with_timeout)) is a [`StoreError`]; the
/// [`RateLimiter`](super::RateLimiter) then fails open or closed as configured.
///
/// Cloning is cheap and shares the connection.
///
/// ```no_run
/// use warden::rate_limit::{Quota, RateLimiter, RedisStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::open("redis://127.0.0.1:6379", "myapp:rl:login:", Quota::per_minute(5))?;
/// let limiter = RateLimiter::new(store);
/// limiter.check("alice").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: Arc<str>,
    quota: Quota,
    timeout: Duration,
}

impl RedisStore {
    /// A store over an existing connection manager, keeping its keys under `prefix`.
    pub fn new(connection: ConnectionManager, prefix: impl Into<String>, quota: Quota) -> Self {
        Self {
            connection,
            prefix: prefix.into().into(),
            quota,
            timeout: DEFAULT_REDIS_TIMEOUT,
        }
    }

    /// A store on the Redis at `url` (`redis://host:port/db`), connecting on first use and
    /// reconnecting after failures, so the application starts even while Redis is down.
    ///
    /// Must be called within a Tokio runtime (the connection manager spawns a task);
    /// outside one, or with a malformed URL, this is an error.
    pub fn open(url: &str, prefix: impl Into<String>, quota: Quota) -> Result<Self, StoreError> {
        let connection = crate::redis_connection::lazy_connection(url, "RedisStore::open")
            .map_err(StoreError::Backend)?;
        Ok(Self::new(connection, prefix, quota))
    }

    /// Waits at most `timeout` for Redis per check.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The prefix of this store's keys.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Runs `script` on this store's `key` with `T` (microseconds) and `B` as arguments.
    async fn eval<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        key: &str,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        let mut full_key = Vec::with_capacity(self.prefix.len() + key.len());
        full_key.extend_from_slice(self.prefix.as_bytes());
        full_key.extend_from_slice(key.as_bytes());
        let interval = u64::try_from(self.quota.interval().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(full_key)
            .arg(interval)
            .arg(self.quota.burst());
        tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection))
            .await
            .map_err(|_| StoreError::Timeout(self.timeout))?
            .map_err(backend)
    }
}

fn backend(error: redis::RedisError) -> StoreError {
    StoreError::Backend(Box::new(error))
}

fn micros(value: i64) -> Duration {
    Duration::from_micros(u64::try_from(value).unwrap_or(0))
}

impl RateLimitStore for RedisStore {
    fn quota(&self) -> Quota {
        self.quota
    }

    async fn check(&self, key: &str) -> Result<Decision, StoreError> {
        let reply: Vec<i64> = self.eval(&GCRA, key).await?;
        let &[allowed, remaining, retry_after, reset_after] = reply.as_slice() else {
            return Err(StoreError::Protocol(
                "the GCRA script must return 4 integers",
            ));
        };
        Ok(match allowed {
            1 => Decision::Allowed {
                remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
                reset_after: micros(reset_after),
            },
            0 => Decision::Limited {
                retry_after: micros(retry_after).max(Duration::from_micros(1)),
            },
            _ => {
                return Err(StoreError::Protocol(
                    "the GCRA script's verdict must be 0 or 1",
                ));
            }
        })
    }

    async fn refund(&self, key: &str) -> Result<bool, StoreError> {
        match self.eval::<i64>(&REFUND, key).await? {
            1 => Ok(true),
            0 => Ok(false),
            _ => Err(StoreError::Protocol("the refund script must return 0 or 1")),
        }
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("quota", &self.quota)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
