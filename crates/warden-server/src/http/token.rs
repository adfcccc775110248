//! `POST /token` (RFC 6749 §3.2): authorization code, password, client credentials and
//! refresh grants.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use super::AppState;
use super::client_auth::{self, Form, WithoutCredentials};
use super::error::TokenEndpointError;
use crate::domain::{
    CodeRedemption, DomainError, ExchangeRequest, GRANT_TYPES, PasswordCredentials, TokenSet,
};

/// The token endpoint.
#[utoipa::path(
    post,
    path = "/token",
    request_body(content = warden::OAuth2PasswordRequestForm, content_type = "application/x-www-form-urlencoded",
        description = "RFC 6749 token request: `grant_type` = `authorization_code`, `password`, `client_credentials` or `refresh_token`. \
            With `password`, an account that has a second factor also sends its code as `otp` (a TOTP code or a recovery code); \
            without it the answer is `invalid_grant` saying so. \
            With a `DPoP` proof header (RFC 9449), the access token is bound to the proof's key (`token_type: DPoP`), and so is a public client's refresh token."),
    responses(
        (status = 200, description = "Tokens (RFC 6749 §5.1)", body = warden::TokenResponse),
        (status = 400, description = "RFC 6749 §5.2 error; `invalid_dpop_proof`, or `use_dpop_nonce` with a `DPoP-Nonce` header (RFC 9449 §5, §8)"),
        (status = 401, description = "`invalid_client`"),
        (status = 413, description = "Body larger than 16 KiB"),
        (status = 503, description = "Too many logins at once; see `Retry-After`"),
    ),
    tag = "oauth2"
)]
pub async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    match handle(state, peer, request).await {
        Ok(tokens) => {
            let mut response = Json(tokens).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: AppState,
    peer: SocketAddr,
    request: Request,
) -> Result<TokenSet, TokenEndpointError> {
    let (headers, form) = Form::read(request).await?;
    let grant = form.require("grant_type")?;
    // An unknown grant is the request's fault whoever sends it (RFC 6749 §5.2).
    if !GRANT_TYPES.contains(&grant) {
        return Err(DomainError::UnsupportedGrantType.into());
    }
    let warden = &state.warden;
    // The docs client stands in only for the password grant Swagger UI sends; any other
    // grant without client authentication is `invalid_client` (RFC 6749 §5.2).
    let without = if grant == "password" {
        WithoutCredentials::DocsClient
    } else {
        WithoutCredentials::Refuse
    };
    let (client, auth) =
        client_auth::authenticate(warden, &headers, &form, without, "/token").await?;
    // RFC 9449 §5: with a proof, the tokens are bound to its key.
    let dpop = match warden::dpop::proof_header(&headers) {
        Ok(Some(proof)) => Some(warden.endpoint_proof(proof, "/token").await?),
        Ok(None) => None,
        Err(_) => return Err(DomainError::InvalidDPoPProof.into()),
    };
    let dpop = dpop.as_deref();
    // RFC 9449 §5.2: a client registered with `dpop_bound_access_tokens` gets no bearer
    // token; without a proof its request is refused.
    if client.dpop_bound && dpop.is_none() {
        return Err(DomainError::InvalidDPoPProof.into());
    }
    let ip = state.client_ip(peer, &headers);
    let scopes = form.scopes();
    let result = match grant {
        "password" => {
            let credentials = PasswordCredentials {
                username: form.require("username")?,
                password: form.require("password")?,
                otp: form.get("otp").filter(|otp| !otp.is_empty()),
            };
            warden
                .password_grant(&client, credentials, &scopes, Some(&ip), dpop)
                .await
        }
        "authorization_code" => {
            let redemption = CodeRedemption {
                code: form.require("code")?,
                redirect_uri: form.get("redirect_uri"),
                code_verifier: form.get("code_verifier"),
            };
            warden
                .authorization_code_grant(&client, auth, redemption, Some(&ip), dpop)
                .await
        }
        "client_credentials" => {
            warden
                .client_credentials_grant(&client, auth, &scopes, Some(&ip), dpop)
                .await
        }
        super::super::domain::TOKEN_EXCHANGE => {
            let request = ExchangeRequest {
                subject_token: form.get("subject_token"),
                subject_token_type: form.get("subject_token_type"),
                actor_token: form.get("actor_token"),
                actor_token_type: form.get("actor_token_type"),
                requested_token_type: form.get("requested_token_type"),
                audience: form.get("audience"),
                resource: form.get("resource"),
            };
            warden
                .token_exchange_grant(&client, auth, request, &scopes, Some(&ip))
                .await
        }
        "refresh_token" => {
            let refresh = form.require("refresh_token")?;
            warden
                .refresh_grant(&client, refresh, &scopes, Some(&ip), dpop)
                .await
        }
        _ => Err(DomainError::UnsupportedGrantType),
    };
    Ok(result?)
}
