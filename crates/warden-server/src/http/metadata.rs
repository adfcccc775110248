//! Discovery: authorization server metadata (RFC 8414) and the JWKS (RFC 7517 §5).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use serde_json::{Value, json};

use super::AppState;
use crate::domain::now;

/// `GET /.well-known/oauth-authorization-server`.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server",
    responses((status = 200, description = "RFC 8414 metadata")), tag = "discovery")]
pub async fn authorization_server(State(state): State<AppState>) -> Json<Value> {
    let issuer = &state.warden.config().issuer;
    let mut grants = vec!["client_credentials", "refresh_token"];
    if state.warden.config().password_grant {
        grants.insert(0, "password");
    }
    Json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "grant_types_supported": grants,
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        // Public clients may revoke their own tokens by `client_id` (RFC 7009 §2.1); only
        // confidential clients may introspect.
        "revocation_endpoint": format!("{issuer}/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": format!("{issuer}/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": [],
        "service_documentation": format!("{issuer}/docs"),
    }))
}

/// `GET /.well-known/jwks.json`: the public signing keys (next, current and retired ones
/// still verifying). Cacheable for a few minutes: rotation publishes the next key ahead.
#[utoipa::path(get, path = "/.well-known/jwks.json",
    responses((status = 200, description = "The JSON Web Key Set")), tag = "discovery")]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let set = state.warden.ring().jwks(u64::try_from(now()).unwrap_or(0));
    let mut response = Json(set).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
