//! Session settings: timeouts, cookies, trusted origins, bounds, the clock.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::SessionError;

/// Idle timeout by default: 30 minutes, the top of OWASP's range for low-risk
/// applications (Session Management Cheat Sheet, "Idle Timeout": 2–5 minutes for
/// high-value applications, 15–30 for low-risk ones).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Absolute timeout by default: 8 hours, a working day (OWASP, "Absolute Timeout").
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(8 * 3600);

/// The largest session data by default, as JSON: 4 KiB.
pub const DEFAULT_MAX_DATA_BYTES: usize = 4096;

/// The clock sessions are timed by.
type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// How sessions behave: timeouts, cookies, the origins trusted for unsafe requests.
///
/// ```
/// use std::time::Duration;
/// use warden::session::{MemoryStore, SessionConfig, Sessions};
///
/// let config = SessionConfig::new()
///     .idle_timeout(Duration::from_secs(15 * 60))
///     .absolute_timeout(Duration::from_secs(4 * 3600))
///     .allow_origin("https://admin.example.com"); // a second front end that may POST here
/// let sessions: Sessions = Sessions::new(MemoryStore::new(), config)?;
/// # Ok::<(), warden::session::SessionError>(())
/// ```
#[derive(Clone)]
pub struct SessionConfig {
    pub(crate) idle_timeout: Duration,
    pub(crate) absolute_timeout: Duration,
    touch_interval: Option<Duration>,
    pub(crate) insecure_http: bool,
    pub(crate) persistent: bool,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) max_data_bytes: usize,
    clock: Clock,
}

impl SessionConfig {
    /// [`DEFAULT_IDLE_TIMEOUT`], [`DEFAULT_ABSOLUTE_TIMEOUT`], `Secure` `__Host-` cookies
    /// that end with the browser session, no other trusted origin, data up to
    /// [`DEFAULT_MAX_DATA_BYTES`], the system clock.
    pub fn new() -> Self {
        Self {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            absolute_timeout: DEFAULT_ABSOLUTE_TIMEOUT,
            touch_interval: None,
            insecure_http: false,
            persistent: false,
            allowed_origins: Vec::new(),
            max_data_bytes: DEFAULT_MAX_DATA_BYTES,
            clock: Arc::new(SystemTime::now),
        }
    }

    /// A session unused for this long is over (checked on every load, server-side).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// A session is over this long after its login, however active (checked on every
    /// load). A new login starts a new session.
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.absolute_timeout = timeout;
        self
    }

    /// How stale the stored last-activity time may get before a request writes it again
    /// (by default a tenth of the idle timeout, at most half of it).
    ///
    /// Activity extends the idle timeout, but writing the store on every request would
    /// turn every read into a write. A session is written at most once per interval, so it
    /// expires after between `idle_timeout - touch_interval` and `idle_timeout` of
    /// inactivity (27 to 30 minutes by default), never later.
    pub fn touch_interval(mut self, interval: Duration) -> Self {
        self.touch_interval = Some(interval);
        self
    }

    /// **Development over plain HTTP only** (`http://localhost`): cookies without `Secure`
    /// and without the `__Host-` prefix (browsers refuse that prefix without `Secure`), and
    /// the request's own origin is `http://…` for the CSRF check. Never in production: a
    /// network attacker could read and plant the cookies. Logged as a warning.
    pub fn insecure_http(mut self) -> Self {
        self.insecure_http = true;
        self
    }

    /// Gives the session cookie `Max-Age` = the absolute timeout, so it survives a browser
    /// restart ("remember me"). By default it is a browser-session cookie, as OWASP
    /// recommends ("Session Expiration"); either way the server enforces both timeouts.
    pub fn persistent_cookie(mut self) -> Self {
        self.persistent = true;
        self
    }

    /// Trusts unsafe requests from `origin` (`https://host[:port]`, as browsers send it in
    /// `Origin`) although they are cross-origin: a separate front end of yours. The
    /// request's own origin is always trusted.
    pub fn allow_origin(mut self, origin: &str) -> Self {
        self.allowed_origins.push(origin.to_owned());
        self
    }

    /// The largest session data accepted at login, as JSON (bounds what a store holds per
    /// session).
    pub fn max_data_bytes(mut self, bytes: usize) -> Self {
        self.max_data_bytes = bytes;
        self
    }

    /// Times sessions by `now` instead of the system clock: for tests of timeouts without
    /// sleeping.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::{Duration, SystemTime};
    /// use warden::session::SessionConfig;
    ///
    /// let now = Arc::new(Mutex::new(SystemTime::now()));
    /// let clock = Arc::clone(&now);
    /// let config = SessionConfig::new().clock(move || *clock.lock().unwrap());
    /// *now.lock().unwrap() += Duration::from_secs(3600); // an hour later
    /// ```
    pub fn clock(mut self, now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(now);
        self
    }

    /// Milliseconds since the Unix epoch on the configured clock.
    pub(crate) fn now_ms(&self) -> u64 {
        (self.clock)()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// The touch interval in effect.
    pub(crate) fn effective_touch_interval(&self) -> Duration {
        let half = self.idle_timeout / 2;
        self.touch_interval
            .unwrap_or(self.idle_timeout / 10)
            .min(half)
    }

    /// Checks the settings and normalizes the origins.
    pub(crate) fn validated(mut self) -> Result<Self, SessionError> {
        if self.idle_timeout < Duration::from_millis(1) {
            return Err(SessionError::Config("idle_timeout must be at least 1 ms"));
        }
        if self.absolute_timeout < Duration::from_millis(1) {
            return Err(SessionError::Config(
                "absolute_timeout must be at least 1 ms",
            ));
        }
        if self.max_data_bytes == 0 {
            return Err(SessionError::Config("max_data_bytes must be positive"));
        }
        let mut origins = Vec::with_capacity(self.allowed_origins.len());
        for origin in &self.allowed_origins {
            origins.push(normalize_origin(origin).ok_or(SessionError::Config(
                "allowed origins must be http(s)://host[:port], without path",
            ))?);
        }
        self.allowed_origins = origins;
        Ok(self)
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_timeout", &self.absolute_timeout)
            .field("touch_interval", &self.effective_touch_interval())
            .field("insecure_http", &self.insecure_http)
            .field("persistent", &self.persistent)
            .field("allowed_origins", &self.allowed_origins)
            .field("max_data_bytes", &self.max_data_bytes)
            .finish_non_exhaustive()
    }
}

/// `scheme://host[:port]` in lowercase, or `None` when `origin` is not a serialized
/// http(s) origin (RFC 6454 §6.2): no path, query, fragment or user info.
pub(crate) fn normalize_origin(origin: &str) -> Option<String> {
    let (scheme, authority) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    if authority.is_empty()
        || authority.len() > 255 + 6
        || !authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_and_checked() {
        assert_eq!(
            normalize_origin("HTTPS://App.Example.com:8443").as_deref(),
            Some("https://app.example.com:8443")
        );
        assert_eq!(
            normalize_origin("http://[::1]:3000").as_deref(),
            Some("http://[::1]:3000")
        );
        for bad in [
            "app.example.com",
            "ftp://x",
            "https://",
            "https://a/",
            "https://a/path",
            "https://u@a",
            "https://a?q",
            "null",
        ] {
            assert_eq!(normalize_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn touch_interval_defaults_and_bounds() {
        let c = SessionConfig::new().idle_timeout(Duration::from_secs(100));
        assert_eq!(c.effective_touch_interval(), Duration::from_secs(10));
        let c = c.touch_interval(Duration::from_secs(90));
        assert_eq!(c.effective_touch_interval(), Duration::from_secs(50));
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(
            SessionConfig::new()
                .idle_timeout(Duration::ZERO)
                .validated()
                .is_err()
        );
        assert!(
            SessionConfig::new()
                .absolute_timeout(Duration::ZERO)
                .validated()
                .is_err()
        );
        assert!(SessionConfig::new().max_data_bytes(0).validated().is_err());
        assert!(
            SessionConfig::new()
                .allow_origin("https://a/b")
                .validated()
                .is_err()
        );
        let c = SessionConfig::new()
            .allow_origin("https://A.example")
            .validated()
            .unwrap();
        assert_eq!(c.allowed_origins, ["https://a.example"]);
    }
}
