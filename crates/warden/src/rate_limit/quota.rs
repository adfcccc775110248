//! How many requests a key may make: a sustained rate and a burst.

use std::time::Duration;

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// A rate limit for one key, in GCRA terms: one request is earned every
/// [`interval`](Self::interval), and up to [`burst`](Self::burst) requests may be made at once.
///
/// `Quota::per_minute(100)` allows 100 requests at once, then one every 0.6 s; a key left
/// alone for a minute has its full burst of 100 again. [`with_burst`](Self::with_burst)
/// decouples the two: `Quota::per_second(5).with_burst(20)` sustains 5 requests per second
/// and absorbs a burst of 20.
///
/// The same quota means the same thing in every store, so the in-memory and Redis stores
/// decide alike.
///
/// ```
/// use std::time::Duration;
/// use warden::rate_limit::Quota;
///
/// let quota = Quota::per_minute(100);
/// assert_eq!(quota.burst(), 100);
/// assert_eq!(quota.interval(), Duration::from_millis(600));
/// assert_eq!(quota.window(), Duration::from_secs(60));
///
/// let login = Quota::with_period(Duration::from_secs(20)).with_burst(5);
/// assert_eq!(login.window(), Duration::from_secs(100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    interval: Duration,
    burst: u32,
}

impl Quota {
    /// `count` requests per second, all of them allowed at once.
    ///
    /// # Panics
    /// If `count` is zero: a quota that allows nothing is a configuration mistake.
    pub const fn per_second(count: u32) -> Self {
        Self::per(NANOS_PER_SECOND, count)
    }

    /// `count` requests per minute, all of them allowed at once.
    ///
    /// # Panics
    /// If `count` is zero.
    pub const fn per_minute(count: u32) -> Self {
        Self::per(60 * NANOS_PER_SECOND, count)
    }

    /// `count` requests per hour, all of them allowed at once.
    ///
    /// # Panics
    /// If `count` is zero.
    pub const fn per_hour(count: u32) -> Self {
        Self::per(3600 * NANOS_PER_SECOND, count)
    }

    /// One request per `interval`, with a burst of one (raise it with
    /// [`with_burst`](Self::with_burst)).
    ///
    /// # Panics
    /// If `interval` is zero.
    pub const fn with_period(interval: Duration) -> Self {
        assert!(!interval.is_zero(), "a quota's interval must not be zero");
        Self { interval, burst: 1 }
    }

    /// The same sustained rate with a burst of `burst` requests.
    ///
    /// # Panics
    /// If `burst` is zero.
    pub const fn with_burst(self, burst: u32) -> Self {
        assert!(burst > 0, "a quota's burst must be at least 1");
        Self { burst, ..self }
    }

    const fn per(period_nanos: u64, count: u32) -> Self {
        assert!(count > 0, "a quota must allow at least one request");
        // At least 1 ns, so that a huge count cannot make the interval zero.
        let nanos = period_nanos / count as u64;
        let nanos = if nanos == 0 { 1 } else { nanos };
        Self {
            interval: Duration::from_nanos(nanos),
            burst: count,
        }
    }

    /// The time in which one request is earned back (GCRA's emission interval, `T`).
    pub const fn interval(&self) -> Duration {
        self.interval
    }

    /// How many requests may be made at once by a key that has been idle long enough.
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// The time an exhausted key takes to earn its whole burst back: `interval × burst`.
    /// This is the window advertised as `w` in `RateLimit-Policy`.
    pub fn window(&self) -> Duration {
        self.interval.saturating_mul(self.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_unit_constructors() {
        assert_eq!(Quota::per_second(4).interval(), Duration::from_millis(250));
        assert_eq!(Quota::per_minute(1).interval(), Duration::from_secs(60));
        assert_eq!(Quota::per_hour(60).interval(), Duration::from_secs(60));
        assert_eq!(Quota::per_hour(60).burst(), 60);
    }

    #[test]
    fn window_rounds_down_only_by_nanoseconds() {
        // 1 s / 3 is not exact: the window is a hair under a second.
        let window = Quota::per_second(3).window();
        assert!(window <= Duration::from_secs(1));
        assert!(window > Duration::from_millis(999));
    }

    #[test]
    fn huge_counts_keep_a_nonzero_interval() {
        assert_eq!(
            Quota::per_second(u32::MAX).interval(),
            Duration::from_nanos(1)
        );
    }

    #[test]
    #[should_panic(expected = "at least one request")]
    fn zero_count_is_refused() {
        let _ = Quota::per_minute(0);
    }

    #[test]
    #[should_panic(expected = "burst must be at least 1")]
    fn zero_burst_is_refused() {
        let _ = Quota::per_minute(1).with_burst(0);
    }
}
