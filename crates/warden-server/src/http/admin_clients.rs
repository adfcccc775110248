//! The administrator API for OAuth clients, `/admin/clients` (scope `admin`): what
//! `warden client create/list` does, over HTTP.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use warden::ValidJson;

use super::AppState;
use super::admin::AdminUser;
use super::error::ApiError;
use crate::domain::{DomainError, NewClient};
use crate::storage::Client;

/// A client as the API shows it (never its secret's hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientOut {
    pub client_id: String,
    pub name: String,
    /// A public client has no secret (SPAs, native apps) and must use PKCE.
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// The scopes it may get; empty: any the user's roles allow.
    pub scopes: Vec<String>,
    /// Its users are not asked for consent.
    pub first_party: bool,
    /// `RS256` or `EdDSA`.
    pub id_token_alg: String,
    /// Its users must sign in with a second factor.
    pub require_mfa: bool,
    /// Its authorization requests must be pushed to `/par` first (RFC 9126 §6).
    pub require_pushed_authorization_requests: bool,
    /// How it authenticates at `/token`: `none` (public), `client_secret_basic` (or
    /// `_post`), or `private_key_jwt` (it registered keys).
    pub token_endpoint_auth_method: &'static str,
    /// Its access tokens are always DPoP-bound (RFC 9449 §5.2).
    pub dpop_bound_access_tokens: bool,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<Client> for ClientOut {
    fn from(c: Client) -> Self {
        Self {
            client_id: c.client_id,
            name: c.name,
            public: c.public,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            grant_types: c.grant_types,
            scopes: c.scopes,
            first_party: c.first_party,
            id_token_alg: c.id_token_alg,
            require_mfa: c.require_mfa,
            require_pushed_authorization_requests: c.require_par,
            dpop_bound_access_tokens: c.dpop_bound,
            token_endpoint_auth_method: if c.public {
                "none"
            } else if c.jwks.is_some() {
                "private_key_jwt"
            } else {
                "client_secret_basic"
            },
            created_at: c.created_at,
        }
    }
}

/// A client to register.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientIn {
    /// 1 to 200 bytes.
    #[validate(length(min = 1, max = 200))]
    pub name: String,
    #[serde(default)]
    pub public: bool,
    /// Matched exactly (RFC 9700 §2.1); `http` only on loopback addresses.
    #[serde(default)]
    #[validate(length(max = 16))]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    #[validate(length(max = 16))]
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`, `password`
    /// (default: `client_credentials`).
    #[serde(default)]
    #[validate(length(max = 4))]
    pub grant_types: Vec<String>,
    #[serde(default)]
    #[validate(length(max = 64))]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub first_party: bool,
    /// Its users must sign in with a second factor (enrolling one at their next login).
    #[serde(default)]
    pub require_mfa: bool,
    /// Its authorization requests must be pushed to `/par` first (RFC 9126 §6).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Its public keys (a JWK Set): it then authenticates with `private_key_jwt` and gets
    /// no secret.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<warden::jwt::JwkSet>,
    /// Its access tokens must be DPoP-bound: token requests without a proof are refused.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// `RS256` (default) or `EdDSA`.
    pub id_token_alg: Option<String>,
}

/// A registered client and, for a confidential one, its secret — shown only now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: ClientOut,
    pub client_secret: Option<String>,
}

/// Lists the registered clients.
#[utoipa::path(get, path = "/admin/clients",
    responses((status = 200, description = "Every client", body = Vec<ClientOut>)), tag = "admin")]
pub async fn list_clients(
    State(state): State<AppState>,
    _: AdminUser,
) -> Result<Json<Vec<ClientOut>>, ApiError> {
    let clients = state.warden.list_clients().await?;
    Ok(Json(clients.into_iter().map(ClientOut::from).collect()))
}

/// Registers a client; a confidential client's secret is in this answer only.
#[utoipa::path(post, path = "/admin/clients", request_body = ClientIn,
    responses((status = 201, description = "Registered", body = CreatedClient),
        (status = 422, description = "Invalid metadata")),
    tag = "admin")]
pub async fn create_client(
    State(state): State<AppState>,
    admin: AdminUser,
    ValidJson(body): ValidJson<ClientIn>,
) -> Result<(StatusCode, Json<CreatedClient>), ApiError> {
    let (client, secret) = state
        .warden
        .register_client(
            NewClient {
                name: body.name,
                public: body.public,
                redirect_uris: body.redirect_uris,
                grant_types: body.grant_types,
                scopes: body.scopes,
                first_party: body.first_party,
                require_mfa: body.require_mfa,
                require_par: body.require_pushed_authorization_requests,
                jwks: body.jwks,
                dpop_bound: body.dpop_bound_access_tokens,
                post_logout_redirect_uris: body.post_logout_redirect_uris,
                id_token_alg: body.id_token_alg,
            },
            Some(&admin.user.id),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedClient {
            client: client.into(),
            client_secret: secret,
        }),
    ))
}

/// One client.
#[utoipa::path(get, path = "/admin/clients/{client_id}",
    params(("client_id" = String, Path, description = "The client's id")),
    responses((status = 200, description = "The client", body = ClientOut),
        (status = 404, description = "No such client")),
    tag = "admin")]
pub async fn get_client(
    State(state): State<AppState>,
    _: AdminUser,
    Path(client_id): Path<String>,
) -> Result<Json<ClientOut>, ApiError> {
    let client = state
        .warden
        .find_client(&client_id)
        .await?
        .ok_or(DomainError::NotFound)?;
    Ok(Json(client.into()))
}

/// Deletes a client: its secret, refresh tokens and codes stop working at once; access
/// tokens it holds run until they expire (revoke them at `/revoke` first if that matters).
#[utoipa::path(delete, path = "/admin/clients/{client_id}",
    params(("client_id" = String, Path, description = "The client's id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such client")),
    tag = "admin")]
pub async fn delete_client(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(client_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state
        .warden
        .remove_client(&client_id, Some(&admin.user.id))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(DomainError::NotFound.into())
    }
}
