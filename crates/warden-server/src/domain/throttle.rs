//! Login throttling (OWASP ASVS 2.2.1), in memory or shared through Redis so that several
//! instances enforce one budget.
//!
//! **Failures are what is counted** (as Keycloak and the OWASP Authentication Cheat Sheet
//! do): a user who signs in a hundred times with the right password, a test suite, a kiosk,
//! an office behind one NAT address are never refused for succeeding. Three budgets, each a
//! GCRA limit (a burst, then a steady rate; past it 429 with `Retry-After`):
//!
//! | budget | key | default | against |
//! |---|---|---|---|
//! | per account and address | address + name | 10, then 1 a minute | one guesser at one account |
//! | per account | name | 100, then 1 every 6 s | guessing one account from many addresses |
//! | per address | address | 300, then 5 a second | one address trying many accounts |
//!
//! The per-account budget is ten times the per-(account, address) one in burst and rate, so
//! a guesser at one address is stopped long before the account's budget is spent: he can no
//! longer lock the user out (ASVS 2.2.1 asks the controls to mitigate account lockout too).
//! It takes ten addresses guessing at full speed to spend it.
//!
//! **Counted before the password is checked, given back on success.** Each attempt takes a
//! unit of every budget atomically before any password work, so of any number of parallel
//! guesses no more than the budget get through (checking first and counting failures
//! afterwards would let a hundred concurrent guesses all see room left). A login that succeeds then refunds
//! its units ([`RateLimitStore::refund`](warden::rate_limit::RateLimitStore::refund)), as
//! does one that never got to check a password (a storage error, the hashing pool full). An
//! attempt refused by one budget refunds what the others took, so a throttled request costs
//! nothing and hammering on after a 429 spends no other budget.
//!
//! The key is the username as typed (truncated), so an unknown user is throttled exactly
//! like a known one: throttling tells nothing about which accounts exist. Addresses are the
//! client's (behind trusted proxies, see `trusted_proxies`), IPv6 ones by their /64 like the
//! library's `ClientIpKey`: a subscriber holds a whole /64 (RFC 6177) and could otherwise
//! rotate through 2⁶⁴ fresh budgets.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use warden::rate_limit::{MemoryStore, Quota, RateLimitError, RateLimiter, RedisStore};

use super::DomainError;
use crate::config::Config;

/// The longest part of a username that is a key: a huge name cannot become a huge key.
const MAX_KEY_CHARS: usize = 128;

enum Limiter {
    Memory(RateLimiter<MemoryStore>),
    Redis(RateLimiter<RedisStore>),
}

impl Limiter {
    /// `n` failures at once, then `n` per `window`; `None` when `n` is 0 (off).
    fn new(config: &Config, name: &str, n: u32, window: Duration) -> Result<Option<Self>, String> {
        if n == 0 {
            return Ok(None);
        }
        let quota = Quota::with_period(window / n).with_burst(n);
        Ok(Some(match &config.redis_url {
            None => Self::Memory(RateLimiter::new(MemoryStore::new(quota))),
            Some(url) => {
                let store = RedisStore::open(url, format!("{}{name}:", config.redis_prefix), quota)
                    .map_err(|e| format!("redis_url: {e}"))?;
                Self::Redis(RateLimiter::new(store))
            }
        }))
    }

    /// Takes one unit; `Ok(true)` when it was counted, `Ok(false)` when the store was down
    /// and the attempt went through unmetered (nothing to give back then).
    async fn take(&self, key: &str) -> Result<bool, RateLimitError> {
        match self {
            Self::Memory(l) => l.check(key).await.map(|p| p.is_metered()),
            Self::Redis(l) => l.check(key).await.map(|p| p.is_metered()),
        }
    }

    async fn give_back(&self, key: &str) {
        match self {
            Self::Memory(l) => l.refund(key).await,
            Self::Redis(l) => l.refund(key).await,
        };
    }
}

/// The three login budgets.
pub struct LoginThrottle {
    per_account_ip: Option<Limiter>,
    per_account: Option<Limiter>,
    per_ip: Option<Limiter>,
}

/// The units one login attempt took: the key it was counted under in each budget that
/// counted it (per account and address, per account, per address). Give them back with
/// [`LoginThrottle::refund`] unless the attempt was a failed password check.
#[derive(Debug, Default)]
#[must_use = "a successful login gives its attempt back with `LoginThrottle::refund`"]
pub struct Attempt {
    keys: [Option<String>; 3],
}

impl LoginThrottle {
    /// Budgets from the configuration; Redis-backed when `redis_url` is set.
    pub fn new(config: &Config) -> Result<Self, String> {
        let ten_minutes = Duration::from_secs(600);
        Ok(Self {
            per_account_ip: Limiter::new(
                config,
                "login-account-ip",
                config.login_attempts_per_account_ip,
                ten_minutes,
            )?,
            per_account: Limiter::new(
                config,
                "login-account",
                config.login_attempts_per_account,
                ten_minutes,
            )?,
            per_ip: Limiter::new(
                config,
                "login-ip",
                config.login_attempts_per_ip,
                Duration::from_secs(60),
            )?,
        })
    }

    fn budgets(&self) -> [Option<&Limiter>; 3] {
        [
            self.per_account_ip.as_ref(),
            self.per_account.as_ref(),
            self.per_ip.as_ref(),
        ]
    }

    /// Counts one attempt at `username` from `ip` in every budget, before the password is
    /// checked; `Throttled` when a budget is spent, and then nothing stays counted.
    pub async fn check(&self, username: &str, ip: Option<&str>) -> Result<Attempt, DomainError> {
        let account: String = username.chars().take(MAX_KEY_CHARS).collect();
        let address = ip.map(address_key);
        // An address holds no space, so `address name` names one pair only.
        let keys = [
            address
                .as_ref()
                .map(|address| format!("{address} {account}")),
            Some(account),
            address,
        ];
        let mut attempt = Attempt::default();
        for (i, (limiter, key)) in self.budgets().into_iter().zip(keys).enumerate() {
            let (Some(limiter), Some(key)) = (limiter, key) else {
                continue;
            };
            match limiter.take(&key).await {
                Ok(true) => attempt.keys[i] = Some(key),
                Ok(false) => {}
                Err(error) => {
                    self.refund(attempt).await;
                    return Err(throttled(error));
                }
            }
        }
        Ok(attempt)
    }

    /// Gives back what `attempt` took: it turned out not to be a failed guess.
    pub async fn refund(&self, attempt: Attempt) {
        let [a, b, c] = self.budgets();
        let [ka, kb, kc] = attempt.keys;
        tokio::join!(give_back(a, ka), give_back(b, kb), give_back(c, kc));
    }
}

async fn give_back(limiter: Option<&Limiter>, key: Option<String>) {
    if let (Some(limiter), Some(key)) = (limiter, key) {
        limiter.give_back(&key).await;
    }
}

/// The budget key of a client address: IPv4 as is, IPv6 as its /64.
fn address_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let network = Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX));
            format!("{network}/64")
        }
        Ok(ip) => ip.to_canonical().to_string(),
        // Not an address (never the case for what the HTTP layer passes): as is, without
        // spaces so the per-(account, address) key stays unambiguous.
        Err(_) => ip.replace(' ', "_"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_account_ip: u32, per_account: u32, per_ip: u32) -> LoginThrottle {
        LoginThrottle::new(&Config {
            login_attempts_per_account_ip: per_account_ip,
            login_attempts_per_account: per_account,
            login_attempts_per_ip: per_ip,
            ..Config::default()
        })
        .unwrap()
    }

    async fn allowed(t: &LoginThrottle, name: &str, ip: &str) -> bool {
        t.check(name, Some(ip)).await.is_ok()
    }

    #[tokio::test]
    async fn successes_given_back_are_never_refused() {
        let t = throttle(2, 3, 4);
        for _ in 0..50 {
            let attempt = t.check("alice", Some("192.0.2.1")).await.unwrap();
            t.refund(attempt).await;
        }
        // Every budget is whole: two failures for (alice, this address), then 429.
        let _ = t.check("alice", Some("192.0.2.1")).await.unwrap();
        let _ = t.check("alice", Some("192.0.2.1")).await.unwrap();
        assert!(matches!(
            t.check("alice", Some("192.0.2.1")).await,
            Err(DomainError::Throttled { .. })
        ));
    }

    #[tokio::test]
    async fn a_refusal_gives_back_what_the_other_budgets_took() {
        // The per-address budget (checked last) refuses; the account's unit it followed
        // must come back, or hammering one address would drain other accounts' budgets.
        let t = throttle(0, 3, 1);
        assert!(allowed(&t, "first", "192.0.2.1").await);
        for _ in 0..10 {
            assert!(!allowed(&t, "bob", "192.0.2.1").await);
        }
        // bob's account budget is whole: three failures from fresh addresses, then 429.
        for i in 0..3 {
            assert!(allowed(&t, "bob", &format!("198.51.100.{i}")).await, "{i}");
        }
        assert!(!allowed(&t, "bob", "198.51.100.9").await);
    }

    #[tokio::test]
    async fn one_address_cannot_spend_the_account_budget() {
        let t = throttle(2, 5, 100);
        for _ in 0..20 {
            let _ = t.check("carol", Some("203.0.113.66")).await;
        }
        assert!(!allowed(&t, "carol", "203.0.113.66").await);
        assert!(allowed(&t, "carol", "198.51.100.7").await);
    }

    #[tokio::test]
    async fn ipv6_addresses_share_their_64() {
        let t = throttle(1, 100, 100);
        assert!(allowed(&t, "dave", "2001:db8:1:2::1").await);
        assert!(
            !allowed(&t, "dave", "2001:db8:1:2:ffff::9").await,
            "same /64"
        );
        assert!(allowed(&t, "dave", "2001:db8:1:3::1").await, "another /64");
        assert_eq!(address_key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(address_key("192.0.2.1"), "192.0.2.1");
    }

    #[tokio::test]
    async fn long_names_are_keyed_by_their_start() {
        let t = throttle(0, 1, 0);
        let long = "x".repeat(10_000);
        assert!(t.check(&long, None).await.is_ok());
        let other_tail = format!("{}y", "x".repeat(200));
        assert!(t.check(&other_tail, None).await.is_err());
    }

    #[tokio::test]
    async fn zero_turns_every_budget_off() {
        let t = throttle(0, 0, 0);
        for _ in 0..100 {
            assert!(allowed(&t, "erin", "192.0.2.1").await);
        }
    }
}
