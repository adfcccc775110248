//! The OpenAPI document, derived from the handlers.
//!
//! A handler documented with [`routes!`](crate::routes) gets its `security` from the types of
//! its arguments ([`DescribeSecurity`]), and the schemes they use go into
//! `components.securitySchemes`. Nothing is written twice, so nothing can drift: the type
//! that checks the credentials is the type that documents them.
//!
//! Parameters, request bodies and responses come from utoipa's `#[utoipa::path]` attribute.
//!
//! ```
//! use warden::openapi::ApiRouter;
//! use warden::{ApiKeyHeader, ApiKeyScheme, Either, HttpBearer, routes};
//!
//! struct Key;
//! impl ApiKeyScheme for Key {
//!     const SCHEME_NAME: &'static str = "ApiKey";
//!     const NAME: &'static str = "X-API-Key";
//! }
//!
//! /// Items, for a bearer token or an API key.
//! #[utoipa::path(get, path = "/items", responses((status = 200, description = "Items")))]
//! async fn items(_: Either<HttpBearer, ApiKeyHeader<Key>>) {}
//!
//! let (router, openapi) = ApiRouter::<()>::new().routes(routes!(items)).split_for_parts();
//! let json = serde_json::to_value(&openapi).unwrap();
//! assert_eq!(json["paths"]["/items"]["get"]["security"], serde_json::json!([{"HTTPBearer": []}, {"ApiKey": []}]));
//! # #[cfg(any(feature = "swagger-ui", feature = "redoc"))]
//! let app: axum::Router = router.merge(warden::openapi::Docs::default().router(openapi));
//! // /openapi.json, and /docs and /redoc with the features `swagger-ui` and `redoc`
//! ```

mod describe;
#[cfg(any(feature = "swagger-ui", feature = "redoc"))]
mod docs;
mod document;
mod prune;
#[cfg(feature = "redoc")]
mod redoc;
mod registry;
mod require;
mod requirement;
mod router;

pub use describe::{DescribeSecurity, HandlerSecurity, Undocumented};
#[cfg(any(feature = "swagger-ui", feature = "redoc"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "swagger-ui", feature = "redoc"))))]
pub use docs::Docs;
pub use document::{HTTP_SCHEME_EXTENSION, to_json};
pub use prune::remove_scheme;
pub use registry::SchemeRegistry;
pub use requirement::Alternatives;
pub use router::{ApiRouter, Routes};
