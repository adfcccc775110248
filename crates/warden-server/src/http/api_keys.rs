//! Self-service API keys: `/users/me/api-keys`.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use warden::{Auth, ValidJson};

use super::error::ApiError;
use super::{AppState, CurrentUser};
use crate::domain::{KeyRevoker, NewApiKey};
use crate::storage::ApiKey;

/// An API key as listed: never any key material, not even its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    /// The public identifier (the part after `wdn_`).
    pub id: String,
    /// The owner's id.
    pub user_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; `null`: until revoked.
    pub expires_at: Option<i64>,
    /// Unix seconds, to the minute; `null`: never used.
    pub last_used_at: Option<i64>,
    /// Unix seconds; `null`: not revoked.
    pub revoked_at: Option<i64>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            user_id: k.user_id,
            name: k.name,
            scopes: k.scopes,
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A key to create.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    /// A label: 1 to 100 bytes.
    #[validate(length(min = 1, max = 100))]
    pub name: String,
    /// Scopes the key grants: each one your roles grant, and that the credential making this
    /// request holds.
    #[serde(default)]
    #[validate(length(max = 64))]
    pub scopes: Vec<String>,
    /// Days until the key expires (1 to 1825); omitted: until revoked.
    #[validate(range(min = 1, max = 1825))]
    pub expires_in_days: Option<u32>,
}

/// A key just created. `key` is shown now and never again.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyCreated {
    pub id: String,
    /// The key: send it as `X-API-Key`. Store it now; only its hash is kept.
    pub key: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// Unix seconds; `null`: until revoked.
    pub expires_at: Option<i64>,
}

/// Creates an API key for the current user; the key is in the answer, once.
#[utoipa::path(post, path = "/users/me/api-keys", request_body = ApiKeyCreate,
    responses((status = 201, description = "Created; `key` is shown only now", body = ApiKeyCreated),
        (status = 400, description = "A scope your roles or this credential do not grant"),
        (status = 422, description = "Invalid input")),
    tag = "api-keys")]
pub async fn create_api_key(
    State(state): State<AppState>,
    user: Auth<CurrentUser>,
    ValidJson(form): ValidJson<ApiKeyCreate>,
) -> Result<Response, ApiError> {
    let ceiling = user.scopes();
    let created = state
        .warden
        .create_api_key(
            &user.user,
            NewApiKey {
                name: form.name,
                scopes: form.scopes,
                expires_in: form.expires_in_days.map(|d| u64::from(d) * 24 * 3600),
            },
            Some(&ceiling),
        )
        .await?;
    let body = ApiKeyCreated {
        key: created.key.as_str().to_owned(),
        id: created.record.id,
        name: created.record.name,
        scopes: created.record.scopes,
        expires_at: created.record.expires_at,
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The current user's API keys, newest first (no key material).
#[utoipa::path(get, path = "/users/me/api-keys",
    responses((status = 200, description = "The keys", body = Vec<ApiKeyOut>)), tag = "api-keys")]
pub async fn list_api_keys(
    State(state): State<AppState>,
    user: Auth<CurrentUser>,
) -> Result<Json<Vec<ApiKeyOut>>, ApiError> {
    let keys = state.warden.list_api_keys(&user.user).await?;
    Ok(Json(keys.into_iter().map(ApiKeyOut::from).collect()))
}

/// Revokes one of the current user's API keys.
#[utoipa::path(delete, path = "/users/me/api-keys/{id}",
    params(("id" = String, Path, description = "The key's id")),
    responses((status = 204, description = "Revoked (or already revoked)"),
        (status = 404, description = "No such key of yours")),
    tag = "api-keys")]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    user: Auth<CurrentUser>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .warden
        .revoke_api_key(KeyRevoker::Owner(&user.user), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
