//! The OpenAPI document, derived from the handlers.
//!
//! A handler documented with [`routes!`](crate::routes) gets its `security` from the types of
//! its arguments ([`DescribeSecurity`]), and the schemes they use go into
//! `components.securitySchemes`. Nothing is written twice, so nothing can drift: the type
//! that checks the credentials is the type that documents them.
//!
//! Parameters, request bodies and responses come from utoipa's `#[utoipa::path]` attribute.

mod describe;
mod docs;
mod prune;
mod registry;
mod requirement;
mod router;

pub use describe::{DescribeSecurity, HandlerSecurity, Undocumented};
pub use docs::Docs;
pub use prune::remove_scheme;
pub use registry::SchemeRegistry;
pub use requirement::Alternatives;
pub use router::{ApiRouter, Routes};
