//! Cookie sessions for browser applications: an opaque id in a `__Host-` cookie, the
//! session server-side, idle and absolute timeouts, id rotation at login, and CSRF
//! protection that handlers do not have to think about.
//!
//! - [`Sessions`] holds a [`SessionStore`] ([`MemoryStore`], `RedisStore` with feature
//!   `redis`, or a database of yours) and a [`SessionConfig`]. Its
//!   [`layer`](Sessions::layer) goes in front of the routes.
//! - [`Sessions::login`] (or `login_with_password` with
//!   feature `password`) starts a session holding the application's data, always under a
//!   fresh id; [`Sessions::logout`] ends it. Both return the cookies for the response.
//! - [`Session<T>`] is the extractor for routes that need the session's data (401
//!   without a live session); [`SessionCookie`] is the same cookie as the `Credentials` of a
//!   [`Principal`](crate::Principal), for [`Auth<User, Scopes>`](crate::Auth) and
//!   [`Either`](crate::Either). Both document themselves in OpenAPI as an `apiKey` in a
//!   `cookie`, so Swagger UI lists them.
//!
//! ```
//! use axum::http::HeaderMap;
//! use axum::response::{IntoResponse, Redirect};
//! use serde::{Deserialize, Serialize};
//! use warden::openapi::ApiRouter;
//! use warden::routes;
//! use warden::session::{MemoryStore, Session, SessionConfig, SessionError, Sessions};
//!
//! #[derive(Serialize, Deserialize)]
//! struct User { name: String }
//!
//! /// The current user.
//! #[utoipa::path(get, path = "/me", responses((status = 200, body = String)))]
//! async fn me(user: Session<User>) -> String {
//!     user.name.clone()
//! }
//!
//! /// Ends the session.
//! #[utoipa::path(post, path = "/logout", responses((status = 303)))]
//! async fn logout(sessions: Sessions, headers: HeaderMap) -> Result<impl IntoResponse, SessionError> {
//!     Ok((sessions.logout(&headers).await?, Redirect::to("/")))
//! }
//!
//! # fn main() -> Result<(), SessionError> {
//! let sessions: Sessions = Sessions::new(MemoryStore::new(), SessionConfig::new())?;
//! let (app, openapi) = ApiRouter::<()>::new()
//!     .routes(routes!(me))
//!     .routes(routes!(logout))
//!     .layer(sessions.layer())
//!     .split_for_parts();
//! let json = serde_json::to_value(&openapi).unwrap();
//! assert_eq!(json["paths"]["/me"]["get"]["security"], serde_json::json!([{"SessionCookie": []}]));
//! assert_eq!(json["components"]["securitySchemes"]["SessionCookie"]["in"], "cookie");
//! # Ok(()) }
//! ```
//!
//! ## The cookie and the id
//!
//! The id is 256 bits from the system's generator (aws-lc-rs `SystemRandom`), base64url, in
//! a cookie named `__Host-session` ([`DefaultSession`]; other names through a
//! [`SessionScheme`]) with `HttpOnly` (no script reads it), `Secure`, `SameSite=Lax` and
//! `Path=/`, without `Domain` and, by default, without `Max-Age` (it ends with the browser
//! session). The `__Host-` prefix makes browsers accept the cookie only from this origin
//! over HTTPS (RFC 6265bis §4.1.3.2). For `http://localhost` during development,
//! [`SessionConfig::insecure_http`] drops `Secure` and the prefix. The cookie is checked
//! before any store is asked: exactly 43 base64url characters, sent once; anything else
//! is a 401.
//!
//! Stores never see the id, only its SHA-256 digest ([`SessionKey`]), so a dump of the
//! store or its keys yields no cookie that works. The data given at login is stored as
//! JSON next to the creation time, the last activity and the session's anti-CSRF token
//! ([`SessionRecord`]).
//!
//! ## Timeouts
//!
//! Both are enforced on every load, from the record's times, whatever the store's own
//! expiry does: a session is over [`idle_timeout`](SessionConfig::idle_timeout) after its
//! last activity (30 minutes by default) and
//! [`absolute_timeout`](SessionConfig::absolute_timeout) after its login (8 hours),
//! however active. An ended session is deleted, and its cookie answers 401. Activity
//! extends the idle timeout, written back at most once per
//! [`touch_interval`](SessionConfig::touch_interval) (a tenth of the idle timeout) so that
//! reads stay reads; the extension never undoes a concurrent logout
//! ([`SessionStore::touch`] only updates an existing entry).
//!
//! ## Login and logout
//!
//! A login always issues a new id and deletes every session id the request came with, so
//! an id planted before the login (session fixation) is worthless afterwards. A logout
//! deletes the session server-side (a replayed cookie is refused) and expires both cookies.
//!
//! ## CSRF protection
//!
//! [`SessionLayer`] checks every request with an unsafe method before any handler runs: a
//! request whose `Origin` is [allowed](SessionConfig::allow_origin) passes; otherwise
//! `Sec-Fetch-Site` decides when present (`same-origin` and `none` pass), then `Origin`
//! (it must be the request's own origin), and a request with neither header that carries
//! a live session must send the session's token in `X-CSRF-Token` ([`CSRF_HEADER`]; the
//! token is in the readable `__Host-csrf` cookie, [`LoggedIn::csrf_token`] and
//! [`Session::csrf_token`]). Refusals are `403 {"detail": "CSRF check failed"}`. The
//! reasoning and references are in the source of `csrf.rs`.
//!
//! Put the layer in front of every route of the application (login included): the CSRF
//! check applies to unsafe requests whatever authenticates them, so routes called from
//! another origin with a bearer token need that origin in
//! [`allow_origin`](SessionConfig::allow_origin), or a router of their own.

mod config;
mod cookie;
mod csrf;
mod error;
mod extractor;
mod id;
mod layer;
#[cfg(feature = "password")]
mod login;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod scheme;
mod sessions;
mod store;

pub use config::{
    DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_DATA_BYTES, SessionConfig,
};
pub use cookie::{LoggedIn, LoggedOut};
pub use csrf::CSRF_HEADER;
pub use error::{SessionError, StoreError};
pub use extractor::{Session, SessionCookie};
pub use id::{SESSION_ID_LEN, SessionId, SessionKey};
pub use layer::{SessionLayer, SessionService};
#[cfg(feature = "password")]
#[cfg_attr(docsrs, doc(cfg(feature = "password")))]
pub use login::{LoginError, PasswordLogin};
pub use memory::{DEFAULT_MEMORY_CAPACITY, MemoryStore};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{DEFAULT_SESSION_REDIS_TIMEOUT, RedisStore};
pub use scheme::{DefaultSession, SessionScheme};
pub use sessions::Sessions;
pub use store::{SessionRecord, SessionStore};
