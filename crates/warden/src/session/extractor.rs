//! The extractors: `SessionCookie` (the credentials, for a `Principal`) and `Session<T>`
//! (the session's data, directly).

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};

use super::cookie::session_id;
use super::error::unavailable;
use super::{DefaultSession, SessionId, SessionScheme, Sessions};
use crate::challenge::{Challenge, ChallengeScheme};
use crate::credentials::{Credentials, credentials_extractor, require};
use crate::error::AuthError;
use crate::openapi::{Alternatives, DescribeSecurity, SchemeRegistry};
use crate::principal::Denied;

/// A cookie has no standard challenge; like the API-key schemes (and FastAPI since 0.122),
/// a 401 carries `WWW-Authenticate: APIKey`, since RFC 9110 §15.5.2 requires one.
const CHALLENGE: Challenge = Challenge::new(ChallengeScheme::ApiKey);

/// The session cookie of a request, as credentials: the id it carries (well formed, not yet
/// looked up) and the [`Sessions`] it belongs to.
///
/// Use it as the `Credentials` of a [`Principal`](crate::Principal), to turn a session
/// into the application's user (loaded from its database, with roles as scopes) and get
/// [`Auth<User, Scopes>`](crate::Auth), [`Either`](crate::Either) with a bearer token, and
/// the document's `security` for free. A missing cookie answers 401; a malformed, oversized
/// or repeated one 401 as malformed; needs a [`SessionLayer`](super::SessionLayer) (without
/// one: 503, logged as an error).
///
/// In the OpenAPI document it is `{"type": "apiKey", "in": "cookie", "name":
/// K::COOKIE_NAME}` under `K::SCHEME_NAME`.
///
/// ```
/// use serde::Deserialize;
/// use warden::session::{Session, SessionCookie};
/// use warden::{Auth, Denied, Principal, SecurityScopes, scope};
///
/// #[derive(Deserialize)]
/// struct Stored { user_id: u64 }
///
/// #[derive(Clone)]
/// struct AppState; // the database
///
/// struct User { id: u64, roles: Vec<String> }
///
/// impl Principal<AppState> for User {
///     type Credentials = SessionCookie;
///
///     async fn authenticate(cookie: SessionCookie, _: &SecurityScopes, _: &AppState) -> Result<Self, Denied> {
///         let session: Session<Stored> = cookie.load().await?; // 401 when expired or unknown
///         // Look the user up (disabled → Denied::Forbidden).
///         Ok(User { id: session.user_id, roles: vec!["admin".into()] })
///     }
///
///     fn has_scope(&self, scope: &str) -> bool {
///         self.roles.iter().any(|r| r == scope)
///     }
/// }
///
/// scope!(Admin = "admin");
///
/// async fn admin_page(user: Auth<User, Admin>) -> String {
///     user.id.to_string()
/// }
/// ```
pub struct SessionCookie<K: SessionScheme = DefaultSession> {
    id: SessionId,
    sessions: Sessions<K>,
}

impl<K: SessionScheme> SessionCookie<K> {
    /// The session, if live, with its data as `T`.
    ///
    /// Refused ([`Denied::InvalidCredentials`], 401) when the store has no such session, it
    /// is past its idle or absolute timeout, or its data is not a `T`; 503 when the store
    /// fails.
    pub async fn load<T: DeserializeOwned>(&self) -> Result<Session<T, K>, Denied> {
        let record = self
            .sessions
            .load_active(&self.id.key())
            .await
            .map_err(|error| unavailable(&error))?
            .ok_or(Denied::InvalidCredentials)?;
        let data = serde_json::from_str(&record.data).map_err(|error| {
            tracing::warn!(%error, "session data does not match the requested type");
            Denied::InvalidCredentials
        })?;
        Ok(Session {
            data,
            csrf_token: record.csrf_token,
            scheme: PhantomData,
        })
    }

    /// The session id (a secret).
    pub fn id(&self) -> &SessionId {
        &self.id
    }
}

impl<K: SessionScheme> fmt::Debug for SessionCookie<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCookie")
            .field("id", &"[redacted]")
            .finish()
    }
}

impl<K: SessionScheme> Credentials for SessionCookie<K> {
    fn extract(parts: &Parts) -> Result<Option<Self>, AuthError> {
        let Some(sessions) = parts.extensions.get::<Sessions<K>>() else {
            tracing::error!(
                scheme = K::SCHEME_NAME,
                "a session extractor ran without a SessionLayer in front of the route"
            );
            return Err(AuthError::Unavailable { retry_after: 1 });
        };
        match session_id(&parts.headers, sessions.cookie_name()) {
            Ok(Some(id)) => Ok(Some(Self {
                id,
                sessions: sessions.clone(),
            })),
            Ok(None) => Ok(None),
            Err(reason) => Err(AuthError::MalformedCredentials {
                challenge: CHALLENGE,
                reason,
            }),
        }
    }

    fn missing_challenges(out: &mut Vec<Challenge>) {
        out.push(CHALLENGE);
    }

    fn challenge(&self) -> Challenge {
        CHALLENGE
    }

    fn describe(registry: &mut SchemeRegistry) -> Alternatives {
        let value = match K::DESCRIPTION {
            Some(description) => ApiKeyValue::with_description(K::COOKIE_NAME, description),
            None => ApiKeyValue::new(K::COOKIE_NAME),
        };
        registry.register(
            K::SCHEME_NAME,
            SecurityScheme::ApiKey(ApiKey::Cookie(value)),
        );
        Alternatives::scheme(K::SCHEME_NAME)
    }
}

credentials_extractor!(SessionCookie<K: SessionScheme>);

/// A live session and its data `T` (what was given to
/// [`Sessions::login`](super::Sessions::login)); dereferences to `T`.
///
/// The extractor for routes that need nothing more than the session's data: 401 when
/// there is no session cookie, or it is malformed, unknown, logged out or expired (both
/// timeouts are checked on every request, server-side); 503 when the store fails. Every
/// extraction may extend the idle timeout (see
/// [`SessionConfig::touch_interval`](super::SessionConfig::touch_interval)).
///
/// `Option<Session<T>>` is `None` without a cookie **and** for an unknown or expired
/// session (a visitor whose session ended is anonymous, not an error), but still refuses
/// malformed cookies.
///
/// Documented like [`SessionCookie`]: `apiKey` in `cookie`.
///
/// ```
/// use serde::Deserialize;
/// use warden::session::Session;
///
/// #[derive(Deserialize)]
/// struct User { name: String }
///
/// async fn me(user: Session<User>) -> String {
///     user.name.clone()
/// }
///
/// async fn home(user: Option<Session<User>>) -> String {
///     match user {
///         Some(user) => format!("Hello {}", user.name),
///         None => "Please log in".into(),
///     }
/// }
/// ```
pub struct Session<T, K: SessionScheme = DefaultSession> {
    data: T,
    csrf_token: String,
    scheme: PhantomData<fn() -> K>,
}

impl<T, K: SessionScheme> Session<T, K> {
    /// The session's data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The session's data, owned.
    pub fn into_data(self) -> T {
        self.data
    }

    /// The session's anti-CSRF token: put it in server-rendered pages (a `<meta>` for
    /// scripts to send as `X-CSRF-Token`) for clients that send neither `Sec-Fetch-Site`
    /// nor `Origin`. It stays the same for the whole session.
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl<T, K: SessionScheme> Deref for Session<T, K> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: fmt::Debug, K: SessionScheme> fmt::Debug for Session<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

fn rejection(denied: Denied) -> AuthError {
    match denied {
        // A session has no proof of possession: a DPoP refusal is a refusal of the session.
        Denied::InvalidCredentials | Denied::InvalidDPoPProof { .. } => {
            AuthError::InvalidCredentials {
                challenge: CHALLENGE,
            }
        }
        Denied::Forbidden(detail) => AuthError::Forbidden {
            detail: detail.into(),
        },
        Denied::Unavailable { retry_after } => AuthError::Unavailable { retry_after },
    }
}

impl<S, T, K> FromRequestParts<S> for Session<T, K>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
    K: SessionScheme,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let cookie = require::<SessionCookie<K>>(parts)?;
        cookie.load().await.map_err(rejection)
    }
}

impl<S, T, K> OptionalFromRequestParts<S> for Session<T, K>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
    K: SessionScheme,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        let Some(cookie) = SessionCookie::<K>::extract(parts)? else {
            return Ok(None);
        };
        match cookie.load().await {
            Ok(session) => Ok(Some(session)),
            Err(Denied::InvalidCredentials) => Ok(None),
            Err(other) => Err(rejection(other)),
        }
    }
}

/// Documents the session cookie as the operation's security.
impl<S, T, K: SessionScheme> DescribeSecurity<S> for Session<T, K> {
    fn describe(registry: &mut SchemeRegistry) -> Option<Alternatives> {
        Some(<SessionCookie<K> as Credentials>::describe(registry))
    }
}
