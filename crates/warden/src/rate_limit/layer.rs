//! The tower layer: a key per request, a check, and a 429 or the inner response with
//! `RateLimit` headers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode};
use serde_json::json;
use tower::{Layer, Service};

use super::{KeyExtractor, RateLimitStore, RateLimiter};

/// Rate-limits every request of the routes it wraps.
///
/// Each request is keyed by `K` (client address, credentials, route, a closure), checked
/// against the limiter, and either answered 429 (`{"detail": "Too Many Requests"}`,
/// `Retry-After`, `RateLimit-Policy`, `RateLimit`) or passed on, its response carrying
/// `RateLimit-Policy` and `RateLimit`. A request the extractor gives no key to is passed
/// on unmetered. When the store is down the limiter's
/// [`FailureMode`](super::FailureMode) decides: pass unmetered (default) or 503.
///
/// Limits compose by stacking layers: say one per address and one per credential. Give
/// each limiter its own policy name and, for a shared store, its own prefix.
///
/// ```no_run
/// use std::net::SocketAddr;
/// use axum::{Router, routing::get};
/// use warden::rate_limit::{
///     ClientIpKey, CredentialKey, KeyExtractor, MemoryStore, Quota, RateLimitLayer, RateLimiter,
///     TrustedProxies,
/// };
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let per_ip = RateLimiter::new(MemoryStore::new(Quota::per_second(10).with_burst(50)))
///     .with_policy_name("per-ip")?;
/// let per_credential = RateLimiter::new(MemoryStore::new(Quota::per_minute(600)))
///     .with_policy_name("per-credential")?;
/// let proxies = TrustedProxies::new(["10.0.0.0/8"])?;
///
/// let app = Router::new()
///     .route("/items", get(|| async { "items" }))
///     .layer(RateLimitLayer::new(per_credential, CredentialKey::authorization().per_route()))
///     .layer(RateLimitLayer::new(per_ip, ClientIpKey::new(proxies)));
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
/// # Ok(()) }
/// ```
pub struct RateLimitLayer<S, K> {
    limiter: Arc<RateLimiter<S>>,
    extractor: K,
}

impl<S: RateLimitStore, K: KeyExtractor> RateLimitLayer<S, K> {
    /// Limits by `extractor`'s key with `limiter`.
    pub fn new(limiter: RateLimiter<S>, extractor: K) -> Self {
        Self {
            limiter: Arc::new(limiter),
            extractor,
        }
    }
}

impl<S, K: Clone> Clone for RateLimitLayer<S, K> {
    fn clone(&self) -> Self {
        Self {
            limiter: Arc::clone(&self.limiter),
            extractor: self.extractor.clone(),
        }
    }
}

impl<S: fmt::Debug, K: fmt::Debug> fmt::Debug for RateLimitLayer<S, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("limiter", &self.limiter)
            .field("extractor", &self.extractor)
            .finish()
    }
}

impl<I, S, K: Clone> Layer<I> for RateLimitLayer<S, K> {
    type Service = RateLimitService<I, S, K>;

    fn layer(&self, inner: I) -> Self::Service {
        RateLimitService {
            inner,
            limiter: Arc::clone(&self.limiter),
            extractor: self.extractor.clone(),
        }
    }
}

/// The service of a [`RateLimitLayer`].
///
/// ```
/// use axum::{Router, routing::get};
/// use warden::rate_limit::{MemoryStore, Quota, RateLimitLayer, RateLimiter, RouteKey};
///
/// let limiter = RateLimiter::new(MemoryStore::new(Quota::per_second(100)));
/// let app: Router = Router::new()
///     .route("/report", get(|| async { "expensive" }))
///     .route_layer(RateLimitLayer::new(limiter, RouteKey));
/// ```
pub struct RateLimitService<I, S, K> {
    inner: I,
    limiter: Arc<RateLimiter<S>>,
    extractor: K,
}

impl<I: Clone, S, K: Clone> Clone for RateLimitService<I, S, K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            limiter: Arc::clone(&self.limiter),
            extractor: self.extractor.clone(),
        }
    }
}

impl<I: fmt::Debug, S: fmt::Debug, K: fmt::Debug> fmt::Debug for RateLimitService<I, S, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitService")
            .field("inner", &self.inner)
            .field("limiter", &self.limiter)
            .field("extractor", &self.extractor)
            .finish()
    }
}

impl<I, B, S, K> Service<Request<B>> for RateLimitService<I, S, K>
where
    I: Service<Request<B>> + Clone + Send + 'static,
    I::Response: IntoResponse,
    I::Error: Send + 'static,
    I::Future: Send + 'static,
    B: Send + 'static,
    S: RateLimitStore,
    K: KeyExtractor,
{
    type Response = Response;
    type Error = I::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, I::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), I::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is not ready; the ready original serves this request (tower's usual
        // dance for services that move into a future).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (parts, body) = request.into_parts();
        let key = self.extractor.extract(&parts);
        let request = Request::from_parts(parts, body);
        let limiter = Arc::clone(&self.limiter);
        Box::pin(async move {
            let key = match key {
                Ok(Some(key)) => key,
                Ok(None) => return inner.call(request).await.map(IntoResponse::into_response),
                Err(error) => {
                    tracing::error!(%error, "rate-limit key extraction failed");
                    return Ok(internal_error());
                }
            };
            match limiter.check(&key).await {
                Ok(permit) => {
                    let mut response = inner.call(request).await?.into_response();
                    permit.append_headers(response.headers_mut());
                    Ok(response)
                }
                Err(refused) => Ok(refused.into_response()),
            }
        })
    }
}

fn internal_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "detail": "Internal Server Error" })),
    )
        .into_response()
}
