//! `POST /register`: dynamic client registration (RFC 7591).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use warden::{Auth, AuthError, Challenge, ChallengeScheme, Principal};

use super::{AppState, CurrentUser};
use crate::domain::{ClientMetadata, REGISTER_SCOPE, RegistrationError};

/// Registers a client from its metadata (RFC 7591 §2): `redirect_uris`,
/// `token_endpoint_auth_method` (`none`, `client_secret_basic`, `client_secret_post`,
/// `private_key_jwt` with `jwks`), `grant_types`, `response_types` (`code`), `client_name`,
/// `scope`, `post_logout_redirect_uris`, `id_token_signed_response_alg`,
/// `dpop_bound_access_tokens`, `require_pushed_authorization_requests`; others are ignored,
/// `jwks_uri` and `software_statement` refused. Needs an initial access token — an access
/// token or API key with the scope `client:register` — unless registration is open.
#[utoipa::path(
    post,
    path = "/register",
    request_body(content = Object, content_type = "application/json",
        description = "RFC 7591 client metadata"),
    responses(
        (status = 201, description = "The registered client (RFC 7591 §3.2.1); a secret, if any, only now"),
        (status = 400, description = "`invalid_client_metadata`, `invalid_redirect_uri`, `invalid_software_statement`"),
        (status = 401, description = "No or an invalid initial access token"),
        (status = 403, description = "The token lacks the scope `client:register`"),
        (status = 413, description = "Body larger than 16 KiB"),
    ),
    tag = "oauth2"
)]
pub async fn register(
    State(state): State<AppState>,
    user: Option<Auth<CurrentUser>>,
    body: Bytes,
) -> Response {
    let by = match &user {
        Some(user) if user.has_scope(REGISTER_SCOPE) => Some(user.user.id.clone()),
        Some(_) => {
            return AuthError::InsufficientScope {
                challenge: Challenge::new(ChallengeScheme::Bearer),
                scope: REGISTER_SCOPE.into(),
            }
            .into_response();
        }
        None if state.warden.config().open_client_registration => None,
        None => {
            return AuthError::not_authenticated(Challenge::new(ChallengeScheme::Bearer))
                .into_response();
        }
    };
    let metadata: ClientMetadata = match serde_json::from_slice(&body) {
        Ok(metadata) => metadata,
        Err(_) => {
            return RegistrationError::Metadata("the body is not JSON client metadata")
                .into_response();
        }
    };
    match state
        .warden
        .register_dynamic_client(metadata, by.as_deref())
        .await
    {
        Ok(registered) => {
            let mut response = (StatusCode::CREATED, Json(registered)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}
