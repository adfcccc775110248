//! The tower layer: sessions for the extractors, CSRF checks for unsafe requests.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use http::Request;
use http::request::Parts;
use tower::{Layer, Service};

use super::cookie::session_id;
use super::csrf::{Verdict, check_headers, header_token, is_safe};
use super::{SessionScheme, Sessions};
use crate::error::AuthError;
use crate::secret::constant_time_eq;

/// Puts [`Sessions`] in front of routes: every request gets them (for
/// [`Session`](super::Session), [`SessionCookie`](super::SessionCookie) and handlers taking
/// `Sessions`), and every unsafe request (not `GET`, `HEAD` or `OPTIONS`) must pass the
/// CSRF check described in [the module documentation](super#csrf-protection), or is
/// answered `403 {"detail": "CSRF check failed"}` before reaching a handler.
///
/// Made by [`Sessions::layer`]. Apply it with `Router::layer` (every route, including the
/// login form: login CSRF) or `route_layer`. The session extractors refuse to work without
/// it, so CSRF protection cannot be forgotten on a route that reads the session.
///
/// ```
/// use axum::{Router, routing::post};
/// use warden::session::{MemoryStore, SessionConfig, Sessions};
///
/// # fn app() -> Result<Router, warden::session::SessionError> {
/// let sessions: Sessions = Sessions::new(MemoryStore::new(), SessionConfig::new())?;
/// let app: Router = Router::new()
///     .route("/transfer", post(|| async { "done" }))
///     .layer(sessions.layer());
/// # Ok(app) }
/// ```
pub struct SessionLayer<K: SessionScheme> {
    sessions: Sessions<K>,
}

impl<K: SessionScheme> SessionLayer<K> {
    pub(crate) fn new(sessions: Sessions<K>) -> Self {
        Self { sessions }
    }
}

impl<K: SessionScheme> Clone for SessionLayer<K> {
    fn clone(&self) -> Self {
        Self {
            sessions: self.sessions.clone(),
        }
    }
}

impl<K: SessionScheme> fmt::Debug for SessionLayer<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionLayer")
            .field("sessions", &self.sessions)
            .finish()
    }
}

impl<I, K: SessionScheme> Layer<I> for SessionLayer<K> {
    type Service = SessionService<I, K>;

    fn layer(&self, inner: I) -> Self::Service {
        SessionService {
            inner,
            sessions: self.sessions.clone(),
        }
    }
}

/// The service of a [`SessionLayer`].
pub struct SessionService<I, K: SessionScheme> {
    inner: I,
    sessions: Sessions<K>,
}

impl<I: Clone, K: SessionScheme> Clone for SessionService<I, K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            sessions: self.sessions.clone(),
        }
    }
}

impl<I: fmt::Debug, K: SessionScheme> fmt::Debug for SessionService<I, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("inner", &self.inner)
            .field("sessions", &self.sessions)
            .finish()
    }
}

fn refused(reason: &'static str) -> Response {
    tracing::debug!(reason, "CSRF check failed");
    AuthError::Forbidden {
        detail: "CSRF check failed".into(),
    }
    .into_response()
}

/// Step 4 of the CSRF check: a request without `Sec-Fetch-Site` and `Origin` that carries a
/// live session must carry that session's token. `Err` is the response to answer.
async fn check_token<K: SessionScheme>(
    parts: &Parts,
    sessions: &Sessions<K>,
) -> Result<(), Response> {
    // No session cookie, or one that is no id: nothing to forge with (and the extractor
    // refuses a malformed cookie anyway).
    let Ok(Some(id)) = session_id(&parts.headers, sessions.cookie_name()) else {
        return Ok(());
    };
    let record = match sessions.load_active(&id.key()).await {
        Ok(Some(record)) => record,
        // Unknown or expired: the request has no session to act with.
        Ok(None) => return Ok(()),
        Err(error) => {
            tracing::error!(%error, "session store unavailable during the CSRF check");
            return Err(AuthError::Unavailable { retry_after: 1 }.into_response());
        }
    };
    match header_token(&parts.headers) {
        Some(token) if constant_time_eq(token.as_bytes(), record.csrf_token.as_bytes()) => Ok(()),
        Some(_) => Err(refused("wrong anti-CSRF token")),
        None => Err(refused("no Sec-Fetch-Site, Origin or anti-CSRF token")),
    }
}

impl<I, B, K> Service<Request<B>> for SessionService<I, K>
where
    I: Service<Request<B>> + Clone + Send + 'static,
    I::Response: IntoResponse,
    I::Error: Send + 'static,
    I::Future: Send + 'static,
    B: Send + 'static,
    K: SessionScheme,
{
    type Response = Response;
    type Error = I::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, I::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), I::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is not ready; the ready original serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let sessions = self.sessions.clone();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(sessions.clone());
        let verdict = if is_safe(&parts.method) {
            Verdict::Allow
        } else {
            let config = sessions.config();
            check_headers(&parts, &config.allowed_origins, !config.insecure_http)
        };
        Box::pin(async move {
            match verdict {
                Verdict::Allow => {}
                Verdict::Refuse(reason) => return Ok(refused(reason)),
                Verdict::NeedToken => {
                    if let Err(response) = check_token(&parts, &sessions).await {
                        return Ok(response);
                    }
                }
            }
            let request = Request::from_parts(parts, body);
            inner.call(request).await.map(IntoResponse::into_response)
        })
    }
}
