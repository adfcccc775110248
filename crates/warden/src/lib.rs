//! # warden
//!
//! FastAPI's security toolkit for axum. A handler names what it needs — [`HttpBasic`], a
//! bearer token, an API key, a user with scopes — and that type does the checking, answers
//! 401/403 with the right `WWW-Authenticate`, and puts the scheme and its scopes into the
//! OpenAPI document by itself. Nothing is declared twice, so the docs cannot drift from the
//! code.
//!
//! ```no_run
//! # #[cfg(any(feature = "swagger-ui", feature = "redoc"))]
//! use warden::openapi::{ApiRouter, Docs};
//! use warden::{HttpBasic, routes};
//!
//! /// The current user.
//! #[utoipa::path(get, path = "/users/me", responses((status = 200, body = String)))]
//! async fn me(credentials: HttpBasic) -> String {
//!     credentials.username // a real app checks the password, see `Principal`
//! }
//!
//! # #[cfg(any(feature = "swagger-ui", feature = "redoc"))]
//! # async fn run() {
//! let app = ApiRouter::new().routes(routes!(me)).with_docs(Docs::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
//!
//! ## The pieces
//! - **Scheme extractors**, one per OpenAPI scheme type: [`HttpBasic`], [`HttpBearer`],
//!   [`HttpDigest`] (declared only), [`OAuth2Bearer`] (password, authorization-code and
//!   client-credentials flows), [`ApiKeyHeader`], [`ApiKeyQuery`], [`ApiKeyCookie`],
//!   [`OpenIdConnect`]; [`Either`] for alternatives; `Option<T>` for optional credentials.
//!   Each is configured by a marker type ([`BasicScheme`], [`ApiKeyScheme`]…).
//! - **Principals**: [`Principal`] turns credentials into the application's user, and
//!   [`Auth<User, Scopes>`](Auth) requires it, with scopes declared in the type
//!   ([`scope!`], [`ScopeSet`]), and step-up authentication (RFC 9470) declared beside them
//!   ([`Mfa`], [`MaxAge`], [`acr!`]): `Auth<User, (Items, Mfa)>`.
//! - **Errors**: [`AuthError`] (401/403/503 with challenges) and [`ValidationError`]
//!   (422 with FastAPI's `detail` list), each mapped to a response in one place.
//! - **Forms and bodies**: [`OAuth2PasswordRequestForm`], [`TokenResponse`], [`TokenError`];
//!   validated input from every part of a request: [`ValidJson`], [`ValidForm`],
//!   [`ValidQuery`], [`ValidPath`], [`ValidHeaders`].
//! - **OpenAPI**: [`openapi::ApiRouter`] and [`routes!`] build the document from handler
//!   signatures, and [`ApiRouter::require`](openapi::ApiRouter::require) adds security to a
//!   whole router; `openapi::Docs` serves Swagger UI (feature
//!   `swagger-ui`) and ReDoc (feature `redoc`) from compiled-in assets.
//! - **TOTP** (feature `totp`): `totp::Totp`, RFC 6238 codes for authenticator apps, with
//!   the otpauth URI and its QR code as inline-safe SVG.
//! - **Cookie sessions** (feature `session`): `session::Sessions`, the `Session<T>`
//!   extractor, id rotation at login, idle and absolute timeouts, CSRF checks in a layer.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod api_key;
#[cfg(feature = "api-keys")]
#[cfg_attr(docsrs, doc(cfg(feature = "api-keys")))]
pub mod api_keys;
mod challenge;
mod credentials;
#[cfg(feature = "dpop")]
#[cfg_attr(docsrs, doc(cfg(feature = "dpop")))]
pub mod dpop;
mod either;
mod error;
mod http_basic;
mod http_bearer;
mod http_digest;
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub mod jwt;
mod oauth2;
#[cfg(feature = "oauth-client")]
#[cfg_attr(docsrs, doc(cfg(feature = "oauth-client")))]
pub mod oauth_client;
pub mod openapi;
mod openid_connect;
mod parse;
#[cfg(feature = "password")]
#[cfg_attr(docsrs, doc(cfg(feature = "password")))]
pub mod password;
mod password_form;
mod principal;
#[cfg(feature = "rate-limit")]
#[cfg_attr(docsrs, doc(cfg(feature = "rate-limit")))]
pub mod rate_limit;
#[cfg(all(feature = "redis", any(feature = "rate-limit", feature = "session")))]
mod redis_connection;
mod scopes;
mod secret;
#[cfg(feature = "session")]
#[cfg_attr(docsrs, doc(cfg(feature = "session")))]
pub mod session;
mod step_up;
mod token_error;
#[cfg(feature = "totp")]
#[cfg_attr(docsrs, doc(cfg(feature = "totp")))]
pub mod totp;
mod validation;

pub use api_key::{ApiKeyCookie, ApiKeyHeader, ApiKeyQuery, ApiKeyScheme};
pub use challenge::{BearerError, Challenge, ChallengeScheme};
pub use credentials::Credentials;
pub use either::Either;
pub use error::AuthError;
pub use http_basic::{BasicScheme, DefaultBasic, HttpBasic};
pub use http_bearer::{BearerScheme, DefaultBearer, HttpBearer};
pub use http_digest::{DefaultDigest, DigestScheme, HttpDigest};
pub use oauth2::{OAuth2Bearer, OAuth2Flow, OAuth2Scheme};
pub use openid_connect::{OpenIdConnect, OpenIdConnectScheme};
pub use parse::{MAX_API_KEY_LEN, MAX_AUTHORIZATION_LEN};
pub use password_form::{
    MAX_FORM_BYTES, OAuth2PasswordRequestForm, OAuth2PasswordRequestFormStrict, TokenResponse,
};
pub use principal::{Auth, Denied, Principal};
pub use scopes::{ScopeSet, SecurityScopes};
pub use secret::constant_time_eq;
pub use step_up::{AuthContext, MFA_ACR, MaxAge, Mfa, StepUp, StepUpRule};
pub use token_error::{TokenError, TokenErrorCode};
pub use validation::{
    FieldError, Loc, MAX_HEADERS_BYTES, MAX_QUERY_BYTES, ValidForm, ValidHeaders, ValidJson,
    ValidPath, ValidQuery, ValidationError, from_json, validator_errors, validator_errors_in,
};

/// Re-exports the macros and crates the [`routes!`] expansion uses.
#[doc(hidden)]
pub mod __private {
    pub use utoipa_axum;
}

/// Documents and routes handlers: `routes!(read_item, update_item)`.
///
/// Each handler carries utoipa's `#[utoipa::path(...)]` (method, path, parameters, body,
/// responses); its `security` is taken from its argument types. All handlers of one call
/// must share one path. The result goes to [`ApiRouter::routes`](openapi::ApiRouter::routes).
/// The calling crate depends on `axum` and `utoipa`, as utoipa's macros require.
///
/// ```
/// use warden::openapi::ApiRouter;
/// use warden::{HttpBearer, routes};
///
/// #[utoipa::path(get, path = "/items", responses((status = 200)))]
/// async fn list_items(_: HttpBearer) {}
///
/// #[utoipa::path(post, path = "/items", responses((status = 201)))]
/// async fn create_item(_: HttpBearer) {}
///
/// let (_, openapi) = ApiRouter::<()>::new().routes(routes!(list_items, create_item)).split_for_parts();
/// let json = serde_json::to_value(&openapi).unwrap();
/// assert_eq!(json["paths"]["/items"]["post"]["security"], serde_json::json!([{"HTTPBearer": []}]));
/// ```
#[macro_export]
macro_rules! routes {
    ($( $($segment:ident)::+ ),+ $(,)?) => {{
        let routes = $crate::openapi::Routes::default();
        $(
            let routes = routes.add(
                $crate::__private::utoipa_axum::routes!($($segment)::+),
                $($segment)::+,
            );
        )+
        routes
    }};
}
