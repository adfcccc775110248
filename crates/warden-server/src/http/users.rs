//! The current user (read and change), registration and password change.

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use warden::{Auth, ValidJson};

use super::error::ApiError;
use super::{AppState, CurrentUser};
use crate::domain::{NewAccount, ProfileUpdate};
use crate::storage::User;

/// A user as the API shows it (never the password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    /// Whether the address is known to be the user's.
    pub email_verified: bool,
    pub disabled: bool,
    pub roles: Vec<String>,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            email: u.email,
            email_verified: u.email_verified,
            disabled: u.disabled,
            roles: u.roles,
        }
    }
}

/// The current user.
#[utoipa::path(get, path = "/users/me", responses((status = 200, description = "The current user", body = UserOut)), tag = "users")]
pub async fn me(user: Auth<CurrentUser>) -> Json<UserOut> {
    Json(user.into_inner().user.into())
}

/// Changes to the current user; an omitted field stays as it is. Username, roles and the
/// disabled flag are not here (an unknown field is refused with 422): administrators change
/// them at `/admin/users/{username}`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    /// A new address, or `null` to remove it.
    #[serde(default, deserialize_with = "present")]
    #[validate(email, length(max = 254))]
    #[schema(value_type = Option<String>, format = Email)]
    pub email: Option<Option<String>>,
}

/// Reads a field that is there, `null` included, as `Some`; with `#[serde(default)]` an
/// absent field stays `None`, as in a JSON Merge Patch (RFC 7396).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Changes the current user's profile.
#[utoipa::path(patch, path = "/users/me", request_body = ProfilePatch,
    responses((status = 200, description = "The user as now stored", body = UserOut),
        (status = 422, description = "Invalid input, or a field only administrators change")),
    tag = "users")]
pub async fn update_me(
    State(state): State<AppState>,
    user: Auth<CurrentUser>,
    ValidJson(patch): ValidJson<ProfilePatch>,
) -> Result<Json<UserOut>, ApiError> {
    let user = state
        .warden
        .update_profile(&user.user.id, ProfileUpdate { email: patch.email })
        .await?;
    Ok(Json(user.into()))
}

/// A registration.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    #[validate(length(min = 1, max = 64))]
    pub username: String,
    /// 12 characters to 1024 bytes.
    #[validate(length(min = 12, max = 1024))]
    pub password: String,
    #[validate(email)]
    pub email: Option<String>,
}

/// Registers a user, when registration is open.
#[utoipa::path(post, path = "/users", request_body = Registration,
    responses((status = 201, description = "Registered", body = UserOut), (status = 403, description = "Registration is closed"),
        (status = 409, description = "Username taken"), (status = 422, description = "Invalid input")),
    tag = "users")]
pub async fn register(
    State(state): State<AppState>,
    ValidJson(form): ValidJson<Registration>,
) -> Result<(StatusCode, Json<UserOut>), ApiError> {
    let user = state
        .warden
        .register(NewAccount {
            username: form.username,
            password: form.password,
            email: form.email,
            roles: Vec::new(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// A password change.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[validate(length(max = 1024))]
    pub current_password: String,
    #[validate(length(min = 12, max = 1024))]
    pub new_password: String,
}

/// Changes the current user's password; every refresh token of the user is revoked.
#[utoipa::path(post, path = "/users/me/password", request_body = PasswordChange,
    responses((status = 204, description = "Changed"), (status = 400, description = "Wrong current password"),
        (status = 422, description = "Invalid input")),
    tag = "users")]
pub async fn change_password(
    State(state): State<AppState>,
    user: Auth<CurrentUser>,
    ValidJson(change): ValidJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    state
        .warden
        .change_password(
            &user.user.id,
            &change.current_password,
            &change.new_password,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
