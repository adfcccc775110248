//! Discovery: authorization server metadata (RFC 8414) and the JWKS (RFC 7517 §5).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use serde_json::{Value, json};

use super::AppState;
use crate::domain::{OIDC_SCOPES, now};

/// `GET /.well-known/oauth-authorization-server`.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server",
    responses((status = 200, description = "RFC 8414 metadata")), tag = "discovery")]
pub async fn authorization_server(State(state): State<AppState>) -> Json<Value> {
    let issuer = &state.warden.config().issuer;
    let mut grants = vec![
        "authorization_code",
        "client_credentials",
        "refresh_token",
        crate::domain::TOKEN_EXCHANGE,
    ];
    if state.warden.config().password_grant {
        grants.insert(0, "password");
    }
    Json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "grant_types_supported": grants,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        // Public clients may revoke their own tokens by `client_id` (RFC 7009 §2.1); only
        // confidential clients may introspect.
        "revocation_endpoint": format!("{issuer}/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "introspection_endpoint": format!("{issuer}/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "pushed_authorization_request_endpoint": format!("{issuer}/par"),
        "require_pushed_authorization_requests": state.warden.config().require_pushed_authorization_requests,
        "registration_endpoint": format!("{issuer}/register"),
        "scopes_supported": [],
        "dpop_signing_alg_values_supported": dpop_algs(),
        "service_documentation": format!("{issuer}/docs"),
    }))
}

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3): every URL on
/// the issuer's origin.
#[utoipa::path(get, path = "/.well-known/openid-configuration",
    responses((status = 200, description = "OpenID Provider metadata")), tag = "discovery")]
pub async fn openid_configuration(State(state): State<AppState>) -> Json<Value> {
    let config = state.warden.config();
    let issuer = &config.issuer;
    let mut grants = vec![
        "authorization_code",
        "client_credentials",
        "refresh_token",
        crate::domain::TOKEN_EXCHANGE,
    ];
    if config.password_grant {
        grants.push("password");
    }
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "end_session_endpoint": format!("{issuer}/logout"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "pushed_authorization_request_endpoint": format!("{issuer}/par"),
        "require_pushed_authorization_requests": config.require_pushed_authorization_requests,
        "registration_endpoint": format!("{issuer}/register"),
        "scopes_supported": OIDC_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce",
            "at_hash", "azp", "preferred_username", "updated_at", "email"],
        "acr_values_supported": crate::domain::ACR_VALUES,
        "dpop_signing_alg_values_supported": dpop_algs(),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
        "service_documentation": format!("{issuer}/docs"),
    }))
}

/// `GET /.well-known/jwks.json`: the public signing keys (next, current and retired ones
/// still verifying). Cacheable for a few minutes: rotation publishes the next key ahead.
#[utoipa::path(get, path = "/.well-known/jwks.json",
    responses((status = 200, description = "The JSON Web Key Set")), tag = "discovery")]
pub async fn jwks(State(state): State<AppState>) -> Response {
    let set = state.warden.jwks(u64::try_from(now()).unwrap_or(0));
    let mut response = Json(set).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// The proof algorithms accepted (RFC 9449 §5.1).
fn dpop_algs() -> Vec<&'static str> {
    crate::domain::DPOP_ALGORITHMS.values().collect()
}

/// The algorithms of `private_key_jwt` assertions: those of the keys a client may register
/// (RFC 7523 §3 (9): asymmetric only).
const ASSERTION_ALGS: [&str; 3] = ["ES256", "EdDSA", "RS256"];
