//! `POST /par`: pushed authorization requests (RFC 9126).

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::AppState;
use super::client_auth::{self, Form, WithoutCredentials};
use super::error::TokenEndpointError;

/// The pushed authorization request endpoint: the authorization request's parameters in a
/// form, with client authentication as at `/token` (a public client sends its
/// `client_id`). Answers 201 with a single-use `request_uri` for `/authorize`, good for
/// 60 seconds.
#[utoipa::path(
    post,
    path = "/par",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "The authorization request's parameters (`response_type`, `redirect_uri`, `scope`, `state`, `nonce`, `code_challenge`, `code_challenge_method`, `prompt`, `max_age`, `acr_values`) and the client's authentication; never `request_uri`."),
    responses(
        (status = 201, description = "`{\"request_uri\": \"urn:ietf:params:oauth:request_uri:…\", \"expires_in\": 60}` (RFC 9126 §2.2)"),
        (status = 400, description = "RFC 6749 §5.2 error: `invalid_request` (what /authorize would refuse)"),
        (status = 401, description = "`invalid_client`"),
        (status = 413, description = "Body larger than 16 KiB"),
    ),
    tag = "oauth2"
)]
pub async fn push(State(state): State<AppState>, request: Request) -> Response {
    match handle(&state, request).await {
        Ok(pushed) => {
            let mut response = (StatusCode::CREATED, Json(pushed)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    request: Request,
) -> Result<crate::domain::Pushed, TokenEndpointError> {
    let (headers, form) = Form::read(request).await?;
    let (client, _) = client_auth::authenticate(
        &state.warden,
        &headers,
        &form,
        WithoutCredentials::Refuse,
        "/par",
    )
    .await?;
    Ok(state
        .warden
        .push_authorization_request(&client, form.pairs())
        .await?)
}
