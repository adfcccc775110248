//! The document as served: what utoipa's types cannot say, written into the JSON.

use serde_json::Value;
use utoipa::openapi::OpenApi;

/// The extension on an `http` security scheme that names an HTTP authentication scheme
/// utoipa has no variant for (`DPoP`, RFC 9449 §12.1). [`to_json`] moves it into `scheme`.
pub const HTTP_SCHEME_EXTENSION: &str = "x-warden-http-scheme";

/// `openapi` as JSON, as the [`Docs`](super::Docs) routes serve it: each `http` security
/// scheme carrying [`HTTP_SCHEME_EXTENSION`] gets that name as its `scheme` (so a DPoP route
/// documents `type: http, scheme: DPoP`). Serve this rather than serializing the document
/// yourself.
///
/// ```
/// use warden::openapi::{ApiRouter, to_json};
///
/// let (_, openapi) = ApiRouter::<()>::new().split_for_parts();
/// let json = to_json(&openapi);
/// assert!(json["openapi"].as_str().unwrap().starts_with("3."));
/// ```
pub fn to_json(openapi: &OpenApi) -> Value {
    let mut json = serde_json::to_value(openapi).unwrap_or(Value::Null);
    if let Some(schemes) = json
        .pointer_mut("/components/securitySchemes")
        .and_then(Value::as_object_mut)
    {
        for scheme in schemes.values_mut() {
            let Some(scheme) = scheme.as_object_mut() else {
                continue;
            };
            if let Some(name) = scheme.remove(HTTP_SCHEME_EXTENSION) {
                scheme.insert("scheme".into(), name);
                // `bearerFormat` applies to `bearer` only (OpenAPI 3.1 §4.8.27.1) but a
                // DPoP token is just as much a JWT; tools ignore it elsewhere.
            }
        }
    }
    json
}
