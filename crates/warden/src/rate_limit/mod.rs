//! Rate limiting: a tower layer over a GCRA limiter, in memory or shared through Redis.
//!
//! - A [`Quota`] says how many requests a key may make: `Quota::per_minute(100)`, or a
//!   sustained rate with a separate burst, `Quota::per_second(5).with_burst(20)`.
//! - A [`RateLimitStore`] keeps each key's GCRA state and decides atomically:
//!   [`MemoryStore`] (this process) or `RedisStore` (every instance, one Lua script and one
//!   round trip per check; feature `redis`, on by default). Both can also
//!   [`refund`](RateLimitStore::refund) a counted request, for quotas that meter only some
//!   outcomes (failed logins: count before checking the password, give back on success).
//! - A [`RateLimiter`] puts a store, an advertised [`Policy`] and a [`FailureMode`]
//!   together. `limiter.check(&key).await?` works in any handler (throttling logins per
//!   account, say) and refuses with a [`RateLimitError`] that answers 429 or 503 by itself.
//! - A [`RateLimitLayer`] rate-limits whole routes by a [`KeyExtractor`]: the client
//!   address ([`ClientIpKey`], with [`TrustedProxies`] for `X-Forwarded-For` or
//!   `Forwarded`), credentials ([`CredentialKey`], hashed), the route ([`RouteKey`]), a
//!   closure ([`key_fn`]), and any of them per route ([`KeyExtractor::per_route`]).
//!
//! Refused requests get 429, `{"detail": "Too Many Requests"}`, `Retry-After` (RFC 9110
//! §10.2.3) and the `RateLimit-Policy`/`RateLimit` fields of
//! draft-ietf-httpapi-ratelimit-headers-11; let-through requests get the two fields too
//! (see [`Policy`] for how GCRA maps onto them).
//!
//! ```
//! use std::net::SocketAddr;
//! use axum::{Router, routing::get};
//! use warden::rate_limit::{ClientIpKey, MemoryStore, Quota, RateLimitLayer, RateLimiter, TrustedProxies};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let limiter = RateLimiter::new(MemoryStore::new(Quota::per_minute(100)));
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     .layer(RateLimitLayer::new(limiter, ClientIpKey::new(TrustedProxies::none())));
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(()) }
//! ```

mod client_ip;
mod headers;
mod key;
mod layer;
mod limiter;
mod memory;
mod quota;
#[cfg(feature = "redis")]
mod redis;
mod store;

pub use client_ip::{InvalidCidr, ProxyHeader, TrustedProxies};
pub use headers::{InvalidPolicyName, Policy, RATELIMIT, RATELIMIT_POLICY};
pub use key::{
    ClientIpKey, CredentialKey, KeyError, KeyExtractor, KeyFn, PerRoute, RouteKey, UNMATCHED_ROUTE,
    key_fn,
};
pub use layer::{RateLimitLayer, RateLimitService};
pub use limiter::{FailureMode, Permit, RateLimitError, RateLimiter, UNAVAILABLE_RETRY_AFTER};
pub use memory::{DEFAULT_PRUNE_EVERY, MemoryStore};
pub use quota::Quota;
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_REDIS_TIMEOUT, RedisStore};
pub use store::{Decision, RateLimitStore, StoreError};
