//! Sign-in for an axum application: the redirect and the callback, with pending sign-ins
//! kept server-side, taken once, and bound to the browser by a cookie.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use http::header::{CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use super::pending::{hex, random_value};
use super::provider::SIGN_IN_LIFETIME;
use super::{Callback, PendingSignIn, Provider, SignInError, UpstreamIdentity, state_key};
use crate::constant_time_eq;

/// A pending sign-in and the digest of the browser-binding cookie of the browser that
/// started it: what a [`PendingStore`] keeps.
#[derive(Clone, Serialize, Deserialize)]
pub struct BoundSignIn {
    /// The sign-in.
    pub pending: PendingSignIn,
    /// SHA-256 (hex) of the binding cookie's value.
    pub browser: String,
}

/// Where pending sign-ins wait for their callback: a map from [`state_key`] to
/// [`BoundSignIn`] whose entries expire.
///
/// `take` must remove and return in one atomic step, so a `state` works once even when two
/// callbacks race (Redis `GETDEL`, SQL `DELETE … RETURNING`).
pub trait PendingStore: Send + Sync + 'static {
    /// Keeps `sign_in` under `key` for `ttl`.
    fn put(
        &self,
        key: &str,
        sign_in: BoundSignIn,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), SignInError>> + Send;
    /// Removes and returns what is under `key`, if anything (and not expired).
    fn take(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<BoundSignIn>, SignInError>> + Send;
}

/// The pending-sign-in store of one process: bounded (by default 10,000 entries; when full
/// the oldest entry is dropped), entries expire after their TTL. Several instances behind a
/// load balancer need a shared store instead (implement [`PendingStore`] on your database or
/// Redis).
#[derive(Debug)]
pub struct MemoryPendingStore {
    capacity: usize,
    entries: Mutex<Entries>,
}

/// The pending sign-ins by key with their expiry, and the keys in insertion order.
type Entries = (HashMap<String, (Instant, BoundSignIn)>, VecDeque<String>);

impl Default for MemoryPendingStore {
    fn default() -> Self {
        Self::with_capacity(10_000)
    }
}

impl MemoryPendingStore {
    /// A store holding at most `capacity` pending sign-ins.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }
}

impl std::fmt::Debug for BoundSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundSignIn")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl PendingStore for MemoryPendingStore {
    async fn put(&self, key: &str, sign_in: BoundSignIn, ttl: Duration) -> Result<(), SignInError> {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *guard;
        let now = Instant::now();
        while map.len() >= self.capacity {
            // Expired entries first, in insertion order; then the oldest live one.
            let Some(oldest) = order.pop_front() else {
                break;
            };
            map.remove(&oldest);
        }
        map.retain(|_, (expires, _)| *expires > now);
        order.retain(|k| map.contains_key(k));
        map.insert(key.to_owned(), (now + ttl, sign_in));
        order.push_back(key.to_owned());
        Ok(())
    }

    async fn take(&self, key: &str) -> Result<Option<BoundSignIn>, SignInError> {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (map, _) = &mut *guard;
        Ok(map
            .remove(key)
            .filter(|(expires, _)| *expires > Instant::now())
            .map(|(_, sign_in)| sign_in))
    }
}

/// "Sign in with …" for an axum application: one or more [`Provider`]s, a [`PendingStore`],
/// and the browser-binding cookie.
///
/// [`start`](Self::start) answers the redirect to the provider; [`finish`](Self::finish)
/// checks the callback and returns the [`UpstreamIdentity`]. Between the two, the pending
/// sign-in is stored under the SHA-256 of its `state` with the SHA-256 of a random cookie
/// value (`__Host-warden-sign-in`, `HttpOnly; Secure; SameSite=Lax`), so:
/// - a `state` works once, for 10 minutes;
/// - a callback opened in another browser fails (login CSRF: an attacker cannot make a
///   victim's browser finish the attacker's sign-in);
/// - a callback arriving at another provider's route fails (mix-up).
///
/// ```no_run
/// use axum::extract::{Path, State};
/// use axum::http::HeaderMap;
/// use axum::response::{IntoResponse, Response};
/// use axum::{Router, routing::get};
/// use std::sync::Arc;
/// use warden::oauth_client::{Callback, Provider, SignIn, SignInError};
///
/// async fn login(State(sign_in): State<Arc<SignIn>>, Path(provider): Path<String>, headers: HeaderMap) -> Result<Response, SignInError> {
///     sign_in.start(&provider, &headers, Some("/".into())).await
/// }
///
/// async fn callback(State(sign_in): State<Arc<SignIn>>, Path(provider): Path<String>, headers: HeaderMap, callback: Callback) -> Result<String, SignInError> {
///     let who = sign_in.finish(&provider, &headers, &callback).await?;
///     // Find or create the local account by (who.provider, who.subject), then log in.
///     Ok(format!("hello {}", who.subject))
/// }
///
/// # fn run() -> Result<(), SignInError> {
/// let github = Provider::github("github")
///     .client_id("Iv1.0123")
///     .client_secret("secret")
///     .redirect_uri("https://app.example.com/auth/github/callback")
///     .build()?;
/// let sign_in = Arc::new(SignIn::new().provider(github));
/// let app: Router = Router::new()
///     .route("/auth/{provider}", get(login))
///     .route("/auth/{provider}/callback", get(callback))
///     .with_state(sign_in);
/// # Ok(()) }
/// ```
pub struct SignIn<S = MemoryPendingStore> {
    providers: HashMap<String, Provider>,
    store: Arc<S>,
    secure: bool,
}

impl<S> std::fmt::Debug for SignIn<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for SignIn<MemoryPendingStore> {
    fn default() -> Self {
        Self::new()
    }
}

impl SignIn<MemoryPendingStore> {
    /// No provider yet, pending sign-ins in this process's memory.
    pub fn new() -> Self {
        Self::with_store(MemoryPendingStore::default())
    }
}

/// The binding cookie's name over HTTPS (the `__Host-` prefix: no `Domain`, `Path=/`,
/// `Secure`, so a sibling subdomain cannot plant one).
pub const BINDING_COOKIE: &str = "__Host-warden-sign-in";
/// Its name with [`SignIn::insecure_http`].
pub const INSECURE_BINDING_COOKIE: &str = "warden-sign-in";

impl<S: PendingStore> SignIn<S> {
    /// No provider yet, pending sign-ins in `store`.
    pub fn with_store(store: S) -> Self {
        Self {
            providers: HashMap::new(),
            store: Arc::new(store),
            secure: true,
        }
    }

    /// Adds a provider (replacing one with the same id).
    pub fn provider(mut self, provider: Provider) -> Self {
        self.providers.insert(provider.id().to_owned(), provider);
        self
    }

    /// For development on `http://localhost` only: the binding cookie without the
    /// `__Host-` prefix and `Secure`, which browsers refuse over plain HTTP.
    pub fn insecure_http(mut self) -> Self {
        self.secure = false;
        self
    }

    /// The configured providers (to render "Sign in with …" buttons).
    pub fn providers(&self) -> impl Iterator<Item = &Provider> {
        self.providers.values()
    }

    fn cookie_name(&self) -> &'static str {
        if self.secure {
            BINDING_COOKIE
        } else {
            INSECURE_BINDING_COOKIE
        }
    }

    /// Starts a sign-in with `provider`: a `303 See Other` to the provider, setting the
    /// binding cookie (the browser's existing one is kept, so sign-ins in two tabs both
    /// work). `return_to` comes back in the identity; validate it before redirecting to it.
    pub async fn start(
        &self,
        provider: &str,
        headers: &HeaderMap,
        return_to: Option<String>,
    ) -> Result<Response, SignInError> {
        let provider = self
            .providers
            .get(provider)
            .ok_or(SignInError::UnknownProvider)?;
        let (url, pending) = provider.begin(return_to).await?;
        let binding = match binding_cookie(headers, self.cookie_name()) {
            Some(existing) => existing,
            None => random_value()?,
        };
        let bound = BoundSignIn {
            browser: digest_hex(&binding),
            pending,
        };
        self.store
            .put(&bound.pending.state_key(), bound, SIGN_IN_LIFETIME)
            .await?;
        let cookie = Cookie::build((self.cookie_name(), binding))
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .path("/")
            .max_age(cookie::time::Duration::seconds(
                SIGN_IN_LIFETIME.as_secs() as i64
            ))
            .build();
        let location = HeaderValue::try_from(url).map_err(|_| {
            SignInError::Configuration("authorization URL is not a header value".into())
        })?;
        let set_cookie = HeaderValue::try_from(cookie.to_string())
            .map_err(|_| SignInError::Configuration("cookie is not a header value".into()))?;
        Ok((
            StatusCode::SEE_OTHER,
            [
                (LOCATION, location),
                (SET_COOKIE, set_cookie),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response())
    }

    /// Finishes a sign-in at `provider`'s callback route: takes the pending sign-in of the
    /// callback's `state` (once), checks it was started by this browser and with this
    /// provider, then [`Provider::complete`].
    pub async fn finish(
        &self,
        provider: &str,
        headers: &HeaderMap,
        callback: &Callback,
    ) -> Result<UpstreamIdentity, SignInError> {
        let provider = self
            .providers
            .get(provider)
            .ok_or(SignInError::UnknownProvider)?;
        let state = callback
            .state()
            .ok_or(SignInError::MalformedCallback("no state"))?;
        let bound = self
            .store
            .take(&state_key(state))
            .await?
            .ok_or(SignInError::UnknownState)?;
        let browser = binding_cookie(headers, self.cookie_name())
            .map(|value| digest_hex(&value))
            .ok_or(SignInError::OtherBrowser)?;
        if !constant_time_eq(browser.as_bytes(), bound.browser.as_bytes()) {
            return Err(SignInError::OtherBrowser);
        }
        if bound.pending.provider() != provider.id() {
            return Err(SignInError::WrongProvider);
        }
        provider.complete(bound.pending, callback).await
    }
}

/// The SHA-256 (hex) of a binding cookie value: what is stored and compared.
pub(crate) fn digest_hex(value: &str) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes()).as_ref())
}

/// The binding cookie's value: exactly one well-formed value (43 base64url characters), or
/// none — two cookies of the name mean one was planted, and neither is trusted.
pub fn binding_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        let header = header.to_str().ok()?;
        for pair in header.split(';') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            if key.trim() != name {
                continue;
            }
            let value = value.trim();
            let well_formed = value.len() == 43
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if found.is_some() || !well_formed {
                return None;
            }
            found = Some(value.to_owned());
        }
    }
    found
}
