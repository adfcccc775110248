//! Login throttling per account and per client IP (OWASP ASVS 2.2.1), in memory or shared
//! through Redis so that several instances enforce one budget.
//!
//! Every attempt counts, successful or not, and the key is the username as typed, so an
//! unknown user is throttled exactly like a known one: throttling tells nothing about which
//! accounts exist. Limits are GCRA (a burst, then a steady rate); past them the token endpoint
//! answers 429 with `Retry-After`.

use std::time::Duration;

use warden::rate_limit::{MemoryStore, Quota, RateLimitError, RateLimiter};

use super::DomainError;
use crate::config::Config;

enum Limiter {
    Memory(RateLimiter<MemoryStore>),
    Redis(RateLimiter<warden::rate_limit::RedisStore>),
}

impl Limiter {
    fn new(config: &Config, name: &str, quota: Quota) -> Result<Self, String> {
        match &config.redis_url {
            None => Ok(Self::Memory(RateLimiter::new(MemoryStore::new(quota)))),
            Some(url) => {
                let store = warden::rate_limit::RedisStore::open(
                    url,
                    format!("{}{name}:", config.redis_prefix),
                    quota,
                )
                .map_err(|e| format!("redis_url: {e}"))?;
                Ok(Self::Redis(RateLimiter::new(store)))
            }
        }
    }

    async fn check(&self, key: &str) -> Result<(), RateLimitError> {
        match self {
            Self::Memory(l) => l.check(key).await.map(drop),
            Self::Redis(l) => l.check(key).await.map(drop),
        }
    }
}

/// The two login budgets.
pub struct LoginThrottle {
    per_account: Option<Limiter>,
    per_ip: Option<Limiter>,
}

impl LoginThrottle {
    /// Budgets from the configuration; Redis-backed when `redis_url` is set.
    pub fn new(config: &Config) -> Result<Self, String> {
        let quota = |n: u32, window: Duration| Quota::with_period(window / n).with_burst(n);
        let per_account = match config.login_attempts_per_account {
            0 => None,
            n => Some(Limiter::new(
                config,
                "login-account",
                quota(n, Duration::from_secs(600)),
            )?),
        };
        let per_ip = match config.login_attempts_per_ip {
            0 => None,
            n => Some(Limiter::new(
                config,
                "login-ip",
                quota(n, Duration::from_secs(60)),
            )?),
        };
        Ok(Self {
            per_account,
            per_ip,
        })
    }

    /// Counts one attempt; `Throttled` when either budget is spent.
    pub async fn check(&self, username: &str, ip: Option<&str>) -> Result<(), DomainError> {
        if let (Some(limiter), Some(ip)) = (&self.per_ip, ip) {
            limiter.check(ip).await.map_err(throttled)?;
        }
        if let Some(limiter) = &self.per_account {
            // Bounded, so a huge username cannot become a huge key.
            let key: String = username.chars().take(128).collect();
            limiter.check(&key).await.map_err(throttled)?;
        }
        Ok(())
    }
}

fn throttled(error: RateLimitError) -> DomainError {
    match error {
        RateLimitError::Limited { retry_after, .. } => DomainError::Throttled {
            retry_after: u32::try_from(retry_after.as_secs().max(1)).unwrap_or(u32::MAX),
        },
        RateLimitError::Unavailable { .. } => DomainError::Busy { retry_after: 1 },
        _ => DomainError::Busy { retry_after: 1 },
    }
}
