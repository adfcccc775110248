//! `POST /register`: dynamic client registration (RFC 7591).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use warden::{Auth, AuthError, Challenge, ChallengeScheme, HttpBearer, Principal};

use super::{AppState, CurrentUser};
use crate::domain::{
    ClientMetadata, REGISTER_SCOPE, RegisteredClient, RegistrationError, RegistrationUpdate,
};

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
    let result = state
        .warden
        .register_dynamic_client(metadata, by.as_deref())
        .await;
    answer(result.map(|registered| (StatusCode::CREATED, registered)))
}

/// The registration access token of a client configuration request (RFC 7592 §2: a bearer
/// token); a missing one is refused like a wrong one.
fn access_token(bearer: Option<HttpBearer>) -> Result<String, RegistrationError> {
    bearer
        .map(|b| b.token)
        .ok_or(RegistrationError::InvalidToken)
}

/// Reads the client's registration (RFC 7592 §2.1) with its registration access token.
#[utoipa::path(get, path = "/register/{client_id}",
    params(("client_id" = String, Path, description = "The client")),
    responses((status = 200, description = "The registration (never the secret)"),
        (status = 401, description = "`invalid_token`")),
    security(()), tag = "oauth2")]
pub async fn read(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    bearer: Option<HttpBearer>,
) -> Response {
    let result = match access_token(bearer) {
        Ok(token) => state.warden.read_registration(&client_id, &token).await,
        Err(error) => Err(error),
    };
    answer(result.map(|registered| (StatusCode::OK, registered)))
}

/// Replaces the client's metadata (RFC 7592 §2.2); the registration access token rotates.
#[utoipa::path(put, path = "/register/{client_id}",
    params(("client_id" = String, Path, description = "The client")),
    request_body(content = Object, content_type = "application/json",
        description = "The full metadata, with `client_id` (and `client_secret`, if any, unchanged)"),
    responses((status = 200, description = "The registration, with a new registration access token"),
        (status = 400, description = "RFC 7591 §3.2.2 error"),
        (status = 401, description = "`invalid_token`")),
    security(()), tag = "oauth2")]
pub async fn update(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    bearer: Option<HttpBearer>,
    body: Bytes,
) -> Response {
    let token = match access_token(bearer) {
        Ok(token) => token,
        Err(error) => return error.into_response(),
    };
    let update: RegistrationUpdate = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(_) => {
            return RegistrationError::Metadata("the body is not JSON client metadata")
                .into_response();
        }
    };
    let result = state
        .warden
        .update_registration(&client_id, &token, update)
        .await;
    answer(result.map(|registered| (StatusCode::OK, registered)))
}

/// Deletes the client (RFC 7592 §2.3): 204.
#[utoipa::path(delete, path = "/register/{client_id}",
    params(("client_id" = String, Path, description = "The client")),
    responses((status = 204, description = "Deleted"), (status = 401, description = "`invalid_token`")),
    security(()), tag = "oauth2")]
pub async fn delete(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    bearer: Option<HttpBearer>,
) -> Response {
    let result = match access_token(bearer) {
        Ok(token) => state.warden.delete_registration(&client_id, &token).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}

fn answer(result: Result<(StatusCode, RegisteredClient), RegistrationError>) -> Response {
    match result {
        Ok((status, registered)) => {
            let mut response = (status, Json(registered)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}
