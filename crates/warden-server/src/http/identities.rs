//! Linked upstream identities: the current user's (`/users/me/identities`) and, for
//! administrators, any user's (`/admin/users/{username}/identities`). Unlinking the
//! account's last way to sign in is refused with 409.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use warden::Auth;

use super::admin::AdminUser;
use super::error::ApiError;
use super::{AppState, CurrentUser};
use crate::storage::LinkedIdentity;

/// An upstream account linked to the user.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityOut {
    /// The upstream provider's id.
    pub provider_id: String,
    /// The account's id at the provider.
    pub subject: String,
    /// The address the provider last gave, and whether it said it was verified.
    pub email: Option<String>,
    pub email_verified: bool,
    /// Unix seconds.
    pub linked_at: i64,
    pub last_login_at: Option<i64>,
}

impl From<LinkedIdentity> for IdentityOut {
    fn from(i: LinkedIdentity) -> Self {
        Self {
            provider_id: i.provider_id,
            subject: i.subject,
            email: i.email,
            email_verified: i.email_verified,
            linked_at: i.linked_at,
            last_login_at: i.last_login_at,
        }
    }
}

/// The current user's linked identities.
#[utoipa::path(get, path = "/users/me/identities",
    responses((status = 200, description = "By provider id", body = Vec<IdentityOut>)),
    tag = "users")]
pub async fn list_mine(
    State(state): State<AppState>,
    user: Auth<CurrentUser>,
) -> Result<Json<Vec<IdentityOut>>, ApiError> {
    let identities = state.warden.identities(&user.user).await?;
    Ok(Json(
        identities.into_iter().map(IdentityOut::from).collect(),
    ))
}

/// Unlinks the current user's identity at a provider.
#[utoipa::path(delete, path = "/users/me/identities/{provider}",
    params(("provider" = String, Path, description = "The provider's id")),
    responses((status = 204, description = "Unlinked"),
        (status = 404, description = "No identity at this provider"),
        (status = 409, description = "It is the account's only way to sign in")),
    tag = "users")]
pub async fn unlink_mine(
    State(state): State<AppState>,
    user: Auth<CurrentUser>,
    Path(provider): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .warden
        .unlink_identity(&user.user, &provider, None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's linked identities.
#[utoipa::path(get, path = "/admin/users/{username}/identities",
    params(("username" = String, Path, description = "The username")),
    responses((status = 200, description = "By provider id", body = Vec<IdentityOut>),
        (status = 404, description = "No such user")),
    tag = "admin")]
pub async fn list_of_user(
    State(state): State<AppState>,
    _: AdminUser,
    Path(username): Path<String>,
) -> Result<Json<Vec<IdentityOut>>, ApiError> {
    let user = state.warden.user(&username).await?;
    let identities = state.warden.identities(&user).await?;
    Ok(Json(
        identities.into_iter().map(IdentityOut::from).collect(),
    ))
}

/// Unlinks a user's identity at a provider; audited.
#[utoipa::path(delete, path = "/admin/users/{username}/identities/{provider}",
    params(("username" = String, Path, description = "The username"),
        ("provider" = String, Path, description = "The provider's id")),
    responses((status = 204, description = "Unlinked"),
        (status = 404, description = "No such user, or no identity at this provider"),
        (status = 409, description = "It is the account's only way to sign in")),
    tag = "admin")]
pub async fn unlink_of_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Path((username, provider)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let user = state.warden.user(&username).await?;
    state
        .warden
        .unlink_identity(&user, &provider, Some(&admin.user))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
