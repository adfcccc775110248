//! `POST /revoke` (RFC 7009): a client revokes a refresh or access token issued to it.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::AppState;
use super::client_auth::{self, Form, WithoutCredentials};
use super::error::TokenEndpointError;
use crate::domain::TokenTypeHint;

/// A revocation request (RFC 7009 §2.1), plus the client's credentials (Basic or
/// `client_id`/`client_secret`).
#[derive(Debug, utoipa::ToSchema)]
pub struct RevocationRequest {
    /// The token to revoke: a refresh token or an access token.
    pub token: String,
    /// `refresh_token` or `access_token`; only decides which kind is looked up first.
    pub token_type_hint: Option<String>,
}

/// The revocation endpoint (RFC 7009 §2). Requires client authentication: a confidential
/// client's secret (Basic or in the body), or a public client's `client_id`. A refresh token
/// revokes its whole family. Answers 200 with an empty body whether or not the token was
/// known or belonged to the client (§2.2).
#[utoipa::path(
    post,
    path = "/revoke",
    request_body(content = RevocationRequest, content_type = "application/x-www-form-urlencoded",
        description = "RFC 7009 §2.1 revocation request"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke (RFC 7009 §2.2)"),
        (status = 400, description = "RFC 6749 §5.2 `invalid_request`: malformed, repeated or missing parameter"),
        (status = 401, description = "`invalid_client`: missing or wrong client credentials"),
    ),
    tag = "oauth2"
)]
pub async fn revoke(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    match handle(state, peer, request).await {
        Ok(()) => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: AppState,
    peer: SocketAddr,
    request: Request,
) -> Result<(), TokenEndpointError> {
    let (headers, form) = Form::read(request).await?;
    let warden = &state.warden;
    let (client, _) = client_auth::authenticate(
        warden,
        &headers,
        &form,
        WithoutCredentials::Refuse,
        "/revoke",
    )
    .await?;
    let request = RevocationRequest {
        token: form.require("token")?.to_owned(),
        token_type_hint: form.get("token_type_hint").map(str::to_owned),
    };
    let hint = TokenTypeHint::parse(request.token_type_hint.as_deref());
    let ip = state.client_ip(peer, &headers);
    warden
        .revoke(&client, &request.token, hint, Some(&ip))
        .await?;
    Ok(())
}
