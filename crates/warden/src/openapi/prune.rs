//! Adjusting a finished document to a deployment.

use utoipa::openapi::OpenApi;
use utoipa::openapi::security::SecurityRequirement;

/// Removes scheme `name` from `openapi`: from `components.securitySchemes`, and every
/// requirement object naming it from every operation.
///
/// For schemes a handler's type accepts but a deployment switches off (an API key in a query
/// parameter, say), so the document shows only what the server will take. An operation left
/// with no requirement at all keeps an empty list — it still documents a security it cannot
/// offer — so remove only schemes that are alternatives to others.
///
/// ```
/// use warden::openapi::{ApiRouter, remove_scheme};
/// use warden::{ApiKeyQuery, ApiKeyScheme, Either, HttpBearer, routes};
///
/// struct QueryKey;
/// impl ApiKeyScheme for QueryKey {
///     const SCHEME_NAME: &'static str = "APIKeyQuery";
///     const NAME: &'static str = "api_key";
/// }
///
/// #[utoipa::path(get, path = "/items", responses((status = 200, description = "Items")))]
/// async fn items(_: Either<HttpBearer, ApiKeyQuery<QueryKey>>) {}
///
/// let (_, mut openapi) = ApiRouter::<()>::new().routes(routes!(items)).split_for_parts();
/// remove_scheme(&mut openapi, "APIKeyQuery");
/// let json = serde_json::to_value(&openapi).unwrap();
/// assert_eq!(json["paths"]["/items"]["get"]["security"], serde_json::json!([{"HTTPBearer": []}]));
/// assert!(json["components"]["securitySchemes"].get("APIKeyQuery").is_none());
/// ```
pub fn remove_scheme(openapi: &mut OpenApi, name: &str) {
    if let Some(components) = openapi.components.as_mut() {
        components.security_schemes.remove(name);
    }
    let names = |requirement: &SecurityRequirement| -> bool {
        serde_json::to_value(requirement)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.contains_key(name)))
            .unwrap_or(false)
    };
    for item in openapi.paths.paths.values_mut() {
        for operation in super::router::operations_mut(item) {
            if let Some(security) = operation.security.as_mut() {
                security.retain(|requirement| !names(requirement));
            }
        }
    }
}
