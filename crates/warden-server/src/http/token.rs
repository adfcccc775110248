//! `POST /token` (RFC 6749 §3.2): password, client credentials and refresh grants.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderValue, header};
use std::net::SocketAddr;

use super::AppState;
use super::error::TokenEndpointError;
use crate::domain::{ClientAuth, DOCS_CLIENT_ID, DomainError, TokenSet};

/// The largest token request body read.
const MAX_BODY: usize = 16 * 1024;

/// The form, each parameter at most once (RFC 6749 §3.2: "Request and response parameters
/// MUST NOT be included more than once").
struct Form(HashMap<String, String>);

impl Form {
    fn parse(body: &[u8]) -> Result<Self, DomainError> {
        let mut map = HashMap::new();
        for (key, value) in form_urlencoded::parse(body) {
            if map.insert(key.into_owned(), value.into_owned()).is_some() {
                return Err(DomainError::InvalidRequest(
                    "a parameter was sent more than once",
                ));
            }
        }
        Ok(Self(map))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn require(&self, name: &'static str) -> Result<&str, DomainError> {
        self.get(name)
            .ok_or(DomainError::InvalidRequest(match name {
                "grant_type" => "grant_type is required",
                "username" => "username is required",
                "password" => "password is required",
                "refresh_token" => "refresh_token is required",
                _ => "a required parameter is missing",
            }))
    }

    fn scopes(&self) -> Vec<String> {
        self.get("scope")
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Client credentials from `Authorization: Basic` (client_secret_basic, RFC 6749 §2.3.1 —
/// values form-urlencoded before base64) or the body (client_secret_post). Using both is an
/// error; neither means a public client named by `client_id`, or the docs client.
fn client_credentials(
    headers: &http::HeaderMap,
    form: &Form,
) -> Result<(String, Option<String>), DomainError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let value = value.to_str().map_err(|_| DomainError::InvalidClient)?;
            let Some(encoded) = value
                .strip_prefix("Basic ")
                .or_else(|| value.strip_prefix("basic "))
            else {
                return Err(DomainError::InvalidClient);
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| DomainError::InvalidClient)?;
            let decoded = String::from_utf8(decoded).map_err(|_| DomainError::InvalidClient)?;
            let (id, secret) = decoded.split_once(':').ok_or(DomainError::InvalidClient)?;
            let decode = |s: &str| {
                form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            let id = decode(id).unwrap_or_default();
            let secret = decode(secret).unwrap_or_default();
            // Swagger UI sends `Basic Og==` (empty id and secret) when none is configured.
            if id.is_empty() && secret.is_empty() {
                None
            } else {
                Some((id, secret))
            }
        }
    };
    match (basic, form.get("client_id"), form.get("client_secret")) {
        (Some(_), _, Some(_)) => Err(DomainError::InvalidRequest("client credentials sent twice")),
        (Some((id, secret)), body_id, None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(DomainError::InvalidRequest("client_id does not match"));
            }
            Ok((id, Some(secret)))
        }
        (None, Some(id), secret) => Ok((id.to_owned(), secret.map(str::to_owned))),
        (None, None, Some(_)) => Err(DomainError::InvalidRequest(
            "client_secret without client_id",
        )),
        (None, None, None) => Ok((DOCS_CLIENT_ID.to_owned(), None)),
    }
}

/// The token endpoint.
#[utoipa::path(
    post,
    path = "/token",
    request_body(content = warden::OAuth2PasswordRequestForm, content_type = "application/x-www-form-urlencoded",
        description = "RFC 6749 token request: `grant_type` = `password`, `client_credentials` or `refresh_token`"),
    responses(
        (status = 200, description = "Tokens (RFC 6749 §5.1)", body = warden::TokenResponse),
        (status = 400, description = "RFC 6749 §5.2 error"),
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
    let headers = request.headers().clone();
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return Err(DomainError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded",
        )
        .into());
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|_| DomainError::InvalidRequest("the body is too large or unreadable"))?;
    let form = Form::parse(&body)?;
    let grant = form.require("grant_type")?;
    let (client_id, secret) = client_credentials(&headers, &form)?;
    let warden = &state.warden;
    let client = warden
        .authenticate_client(&client_id, secret.as_deref())
        .await?;
    let auth = if secret.is_some() {
        ClientAuth::Secret
    } else {
        ClientAuth::None
    };
    let ip = peer.ip().to_string();
    let scopes = form.scopes();
    let result = match grant {
        "password" => {
            let username = form.require("username")?;
            let password = form.require("password")?;
            warden
                .password_grant(&client, username, password, &scopes, Some(&ip))
                .await
        }
        "client_credentials" => {
            warden
                .client_credentials_grant(&client, auth, &scopes, Some(&ip))
                .await
        }
        "refresh_token" => {
            let refresh = form.require("refresh_token")?;
            warden
                .refresh_grant(&client, refresh, &scopes, Some(&ip))
                .await
        }
        _ => Err(DomainError::UnsupportedGrantType),
    };
    Ok(result?)
}
