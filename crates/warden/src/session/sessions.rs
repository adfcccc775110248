//! `Sessions`: the store and the settings together; login, logout, and loading a session
//! with its timeouts enforced.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use http::HeaderMap;
use http::request::Parts;
use serde::Serialize;

use super::cookie::{CookieSettings, all_session_ids};
use super::id::random_token;
use super::scheme::{HOST_PREFIX, is_host_cookie_name};
use super::store::DynStore;
use super::{
    DefaultSession, LoggedIn, LoggedOut, SessionConfig, SessionError, SessionId, SessionKey,
    SessionLayer, SessionRecord, SessionScheme, SessionStore, StoreError,
};
use crate::openapi::{Alternatives, DescribeSecurity, SchemeRegistry};

/// Server-side cookie sessions: a [`SessionStore`] and a [`SessionConfig`], for the scheme
/// `K` (its cookie names and OpenAPI scheme).
///
/// - [`layer`](Self::layer) gives the [`SessionLayer`] to put in front of the routes: it
///   refuses cross-site unsafe requests (see [`csrf`](super#csrf-protection)) and makes
///   these `Sessions` available to the extractors ([`Session`](super::Session),
///   [`SessionCookie`](super::SessionCookie)) and to handlers, which take `Sessions` as an
///   argument.
/// - [`login`](Self::login) starts a session (always under a fresh id, destroying the one
///   the request came with), [`logout`](Self::logout) ends it; both return the cookies to
///   add to the response.
///
/// Cloning is cheap and shares the store.
///
/// ```
/// use axum::http::HeaderMap;
/// use axum::response::IntoResponse;
/// use axum::{Json, Router, routing::{get, post}};
/// use serde::{Deserialize, Serialize};
/// use warden::session::{MemoryStore, Session, SessionConfig, Sessions};
///
/// #[derive(Serialize, Deserialize)]
/// struct User { id: u64 }
///
/// async fn login(sessions: Sessions, headers: HeaderMap) -> Result<impl IntoResponse, warden::session::SessionError> {
///     // … after checking a password (see `login_with_password`):
///     sessions.login(&headers, &User { id: 7 }).await
/// }
///
/// async fn me(session: Session<User>) -> String {
///     session.id.to_string()
/// }
///
/// async fn logout(sessions: Sessions, headers: HeaderMap) -> Result<impl IntoResponse, warden::session::SessionError> {
///     sessions.logout(&headers).await
/// }
///
/// # fn app() -> Result<Router, warden::session::SessionError> {
/// let sessions: Sessions = Sessions::new(MemoryStore::new(), SessionConfig::new())?;
/// let app: Router = Router::new()
///     .route("/login", post(login))
///     .route("/me", get(me))
///     .route("/logout", post(logout))
///     .layer(sessions.layer());
/// # Ok(app) }
/// ```
pub struct Sessions<K: SessionScheme = DefaultSession> {
    inner: Arc<Inner>,
    scheme: PhantomData<fn() -> K>,
}

struct Inner {
    store: Box<dyn DynStore>,
    config: SessionConfig,
    cookies: CookieSettings,
    touch_ms: u64,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl<K: SessionScheme> Sessions<K> {
    /// Sessions kept in `store`, configured by `config`.
    ///
    /// Refuses ([`SessionError::Config`]) cookie names of `K` that do not start with
    /// `__Host-` or are not cookie-name tokens, zero timeouts, and allowed origins that are
    /// not `http(s)://host[:port]`.
    pub fn new(store: impl SessionStore, config: SessionConfig) -> Result<Self, SessionError> {
        let config = config.validated()?;
        if !is_host_cookie_name(K::COOKIE_NAME) || !is_host_cookie_name(K::CSRF_COOKIE_NAME) {
            return Err(SessionError::Config(
                "SessionScheme cookie names must be `__Host-` followed by a token",
            ));
        }
        if K::COOKIE_NAME == K::CSRF_COOKIE_NAME {
            return Err(SessionError::Config(
                "the session and CSRF cookies need different names",
            ));
        }
        let name = |name: &'static str| {
            if config.insecure_http {
                name.strip_prefix(HOST_PREFIX).unwrap_or(name).to_owned()
            } else {
                name.to_owned()
            }
        };
        if config.insecure_http {
            tracing::warn!(
                "sessions over plain HTTP (SessionConfig::insecure_http): cookies are not \
                 Secure; for development on localhost only"
            );
        }
        let cookies = CookieSettings {
            session_name: name(K::COOKIE_NAME),
            csrf_name: name(K::CSRF_COOKIE_NAME),
            secure: !config.insecure_http,
            max_age: config
                .persistent
                .then(|| config.absolute_timeout.as_secs().max(1)),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                store: Box::new(store),
                touch_ms: millis(config.effective_touch_interval()),
                config,
                cookies,
            }),
            scheme: PhantomData,
        })
    }

    /// The layer that puts these sessions in front of routes, with the CSRF check.
    pub fn layer(&self) -> SessionLayer<K> {
        SessionLayer::new(self.clone())
    }

    /// The session cookie's name (`K::COOKIE_NAME`, without `__Host-` under
    /// [`insecure_http`](SessionConfig::insecure_http)).
    pub fn cookie_name(&self) -> &str {
        &self.inner.cookies.session_name
    }

    /// The anti-CSRF cookie's name.
    pub fn csrf_cookie_name(&self) -> &str {
        &self.inner.cookies.csrf_name
    }

    pub(crate) fn config(&self) -> &SessionConfig {
        &self.inner.config
    }

    /// Starts a session holding `data` (serialized as JSON; the principal, typically a user
    /// id) and returns its cookies.
    ///
    /// The id is always new (256 random bits), and every session id the request carried
    /// is destroyed first: whatever id an attacker may have planted in the browser before
    /// the login is worthless after it (session fixation; OWASP Session Management Cheat
    /// Sheet, "Renew the Session ID After Any Privilege Level Change").
    pub async fn login<T: Serialize + ?Sized>(
        &self,
        headers: &HeaderMap,
        data: &T,
    ) -> Result<LoggedIn, SessionError> {
        let data = serde_json::to_string(data).map_err(SessionError::Serialize)?;
        let max = self.inner.config.max_data_bytes;
        if data.len() > max {
            return Err(SessionError::TooLarge { max });
        }
        self.destroy_all(headers).await?;
        let id = SessionId::generate()?;
        let now = self.inner.config.now_ms();
        let record = SessionRecord {
            data,
            created_at: now,
            last_seen: now,
            csrf_token: random_token()?,
        };
        let ttl = self.remaining(&record, now);
        self.inner.store.save(&id.key(), &record, ttl).await?;
        self.inner.cookies.login(&id, &record.csrf_token)
    }

    /// Ends the session the request carries (deleted from the store, so its cookie is
    /// refused from now on, even if replayed) and returns the cookie deletions. Without a
    /// session, only clears the cookies.
    pub async fn logout(&self, headers: &HeaderMap) -> Result<LoggedOut, SessionError> {
        self.destroy_all(headers).await?;
        self.inner.cookies.logout()
    }

    /// Deletes the session `id` from the store (revoking it), whoever holds the cookie.
    pub async fn destroy(&self, id: &SessionId) -> Result<(), SessionError> {
        self.inner.store.delete(&id.key()).await?;
        Ok(())
    }

    async fn destroy_all(&self, headers: &HeaderMap) -> Result<(), SessionError> {
        for id in all_session_ids(headers, self.cookie_name()) {
            self.destroy(&id).await?;
        }
        Ok(())
    }

    /// The session under `key` if it is live: absent, past its absolute timeout or idle for
    /// too long is `None` (an expired one is deleted). Extends the idle timeout (a write) at
    /// most once per touch interval.
    pub(crate) async fn load_active(
        &self,
        key: &SessionKey,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let store = &self.inner.store;
        let mut record = match store.load(key).await {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(None),
            // Not something a client can cause (it only chooses the key): no session, and
            // the entry goes.
            Err(StoreError::Corrupt(reason)) => {
                tracing::error!(reason, "unreadable session record deleted");
                if let Err(error) = store.delete(key).await {
                    tracing::warn!(%error, "could not delete an unreadable session");
                }
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        let config = &self.inner.config;
        let now = config.now_ms();
        // A record from a clock ahead of ours counts as just written.
        let age = now.saturating_sub(record.created_at);
        let idle = now.saturating_sub(record.last_seen);
        if age >= millis(config.absolute_timeout) || idle >= millis(config.idle_timeout) {
            if let Err(error) = store.delete(key).await {
                tracing::warn!(%error, "could not delete an expired session");
            }
            return Ok(None);
        }
        if idle >= self.inner.touch_ms {
            record.last_seen = now;
            let ttl = self.remaining(&record, now);
            match store.touch(key, &record, ttl).await {
                Ok(true) => {}
                // Deleted since the load (a concurrent logout): the logout wins.
                Ok(false) => return Ok(None),
                // The session is valid; only its extension is lost.
                Err(error) => tracing::warn!(%error, "could not extend a session"),
            }
        }
        Ok(Some(record))
    }

    /// How long `record` has left at `now`: the nearer of its idle and absolute deadlines.
    fn remaining(&self, record: &SessionRecord, now: u64) -> Duration {
        let config = &self.inner.config;
        let idle_end = record.last_seen.saturating_add(millis(config.idle_timeout));
        let absolute_end = record
            .created_at
            .saturating_add(millis(config.absolute_timeout));
        Duration::from_millis(idle_end.min(absolute_end).saturating_sub(now).max(1))
    }
}

impl<K: SessionScheme> Clone for Sessions<K> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            scheme: PhantomData,
        }
    }
}

impl<K: SessionScheme> fmt::Debug for Sessions<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("cookie", &self.inner.cookies.session_name)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// A handler takes `Sessions` to log in or out; they come from the [`SessionLayer`]
/// (without one in front of the route: [`SessionError::MissingLayer`], a 500).
impl<St: Send + Sync, K: SessionScheme> FromRequestParts<St> for Sessions<K> {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or(SessionError::MissingLayer)
    }
}

/// `Sessions` in a handler is not a security requirement of the operation.
impl<St, K: SessionScheme> DescribeSecurity<St> for Sessions<K> {
    fn describe(_: &mut SchemeRegistry) -> Option<Alternatives> {
        None
    }
}
