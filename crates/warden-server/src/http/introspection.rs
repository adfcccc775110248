//! `POST /introspect` (RFC 7662): whether a token is active, for confidential clients.

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use super::AppState;
use super::client_auth::{self, Form, WithoutCredentials};
use super::error::TokenEndpointError;
use crate::domain::{Introspection, TokenTypeHint};

/// An introspection request (RFC 7662 §2.1), plus the client's credentials (Basic or
/// `client_id`/`client_secret`).
#[derive(Debug, utoipa::ToSchema)]
pub struct IntrospectionRequest {
    /// The token: an access token or a refresh token.
    pub token: String,
    /// `access_token` or `refresh_token`; only decides which kind is looked up first.
    pub token_type_hint: Option<String>,
}

/// The introspection endpoint (RFC 7662 §2). Any authenticated confidential client may
/// introspect any token of this server; public clients are refused with `invalid_client`.
/// An active token's answer holds `active`, `scope`, `client_id`, `username`, `sub`, `exp`,
/// `iat` and `token_type` (`Bearer` or `refresh_token`), plus `iss`, `aud` and `jti` for an
/// access token; any other token is exactly `{"active": false}`.
#[utoipa::path(
    post,
    path = "/introspect",
    request_body(content = IntrospectionRequest, content_type = "application/x-www-form-urlencoded",
        description = "RFC 7662 §2.1 introspection request"),
    responses(
        (status = 200, description = "RFC 7662 §2.2 introspection response"),
        (status = 400, description = "RFC 6749 §5.2 `invalid_request`: malformed, repeated or missing parameter"),
        (status = 401, description = "`invalid_client`: missing or wrong credentials, or a public client"),
    ),
    tag = "oauth2"
)]
pub async fn introspect(State(state): State<AppState>, request: Request) -> Response {
    match handle(state, request).await {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn handle(state: AppState, request: Request) -> Result<Introspection, TokenEndpointError> {
    let (headers, form) = Form::read(request).await?;
    let warden = &state.warden;
    let (client, auth) = client_auth::authenticate(
        warden,
        &headers,
        &form,
        WithoutCredentials::Refuse,
        "/introspect",
    )
    .await?;
    let request = IntrospectionRequest {
        token: form.require("token")?.to_owned(),
        token_type_hint: form.get("token_type_hint").map(str::to_owned),
    };
    let hint = TokenTypeHint::parse(request.token_type_hint.as_deref());
    Ok(warden
        .introspect(&client, auth, &request.token, hint)
        .await?)
}
