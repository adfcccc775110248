//! The administrator API, `/admin/…`: users, roles, every API key, the audit log. Every route
//! needs the `admin` scope, from an access token or an API key.

use axum::Json;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;
use warden::{Auth, ValidJson, scope};

use super::api_keys::ApiKeyOut;
use super::error::ApiError;
use super::users::UserOut;
use super::{AppState, CurrentUser};
use crate::domain::{KeyRevoker, MAX_USERS_PAGE, UserUpdate};
use crate::storage::{AuditEvent, AuditFilter, Role};

scope!(
    /// Administration: users, roles, every API key, the audit log.
    pub Admin = "admin"
);

/// An authenticated user holding the `admin` scope.
pub type AdminUser = Auth<CurrentUser, Admin>;

/// Keyset pagination.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// The last username of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// A page of users, ordered by username.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<UserOut>,
    /// `after` for the next page; `null` on the last one.
    pub next: Option<String>,
}

/// Lists users.
#[utoipa::path(get, path = "/admin/users", params(Page),
    responses((status = 200, description = "A page of users", body = UserPage)), tag = "admin")]
pub async fn list_users(
    State(state): State<AppState>,
    _: AdminUser,
    Query(page): Query<Page>,
) -> Result<Json<UserPage>, ApiError> {
    let limit = page.limit.unwrap_or(50).clamp(1, MAX_USERS_PAGE);
    let users = state
        .warden
        .list_users(page.after.as_deref(), limit)
        .await?;
    let next = (users.len() == limit as usize)
        .then(|| users.last().map(|u| u.username.clone()))
        .flatten();
    Ok(Json(UserPage {
        users: users.into_iter().map(UserOut::from).collect(),
        next,
    }))
}

/// One user.
#[utoipa::path(get, path = "/admin/users/{username}",
    params(("username" = String, Path, description = "The username")),
    responses((status = 200, description = "The user", body = UserOut), (status = 404, description = "No such user")),
    tag = "admin")]
pub async fn get_user(
    State(state): State<AppState>,
    _: AdminUser,
    Path(username): Path<String>,
) -> Result<Json<UserOut>, ApiError> {
    Ok(Json(state.warden.user(&username).await?.into()))
}

/// Changes to a user; omitted fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Disable (refused everywhere, refresh tokens revoked) or re-enable.
    pub disabled: Option<bool>,
    /// Replace the roles; each must exist.
    #[validate(length(max = 64))]
    pub roles: Option<Vec<String>>,
    /// Mark the user's address verified (it must have one) or not.
    pub email_verified: Option<bool>,
}

/// Disables, enables or re-roles a user, or marks their address verified.
#[utoipa::path(patch, path = "/admin/users/{username}", request_body = UserPatch,
    params(("username" = String, Path, description = "The username")),
    responses((status = 200, description = "The user as now stored", body = UserOut),
        (status = 404, description = "No such user"),
        (status = 422, description = "Unknown role, invalid input, or disabling yourself")),
    tag = "admin")]
pub async fn update_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(username): Path<String>,
    ValidJson(patch): ValidJson<UserPatch>,
) -> Result<Json<UserOut>, ApiError> {
    let user = state
        .warden
        .update_user(
            &username,
            UserUpdate {
                disabled: patch.disabled,
                roles: patch.roles,
                email_verified: patch.email_verified,
            },
            Some(&admin.user),
        )
        .await?;
    Ok(Json(user.into()))
}

/// Deletes a user with their refresh tokens and API keys.
#[utoipa::path(delete, path = "/admin/users/{username}",
    params(("username" = String, Path, description = "The username")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such user"),
        (status = 422, description = "Deleting yourself")),
    tag = "admin")]
pub async fn delete_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(username): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .warden
        .delete_user(&username, Some(&admin.user))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a reset of a user's second factors removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorResetOut {
    /// Whether a TOTP authenticator was removed.
    pub totp_removed: bool,
    /// How many passkeys were removed.
    pub passkeys_removed: u64,
    pub recovery_codes_removed: u64,
    pub sessions_ended: u64,
    pub refresh_tokens_revoked: u64,
}

/// Removes a user's second factors (TOTP, passkeys and recovery codes), ends their sessions and
/// revokes their refresh tokens; audited. For a user who lost their authenticator.
#[utoipa::path(post, path = "/admin/users/{username}/factors/reset",
    params(("username" = String, Path, description = "The username")),
    responses((status = 200, description = "What was removed", body = FactorResetOut),
        (status = 404, description = "No such user")),
    tag = "admin")]
pub async fn reset_factors(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(username): Path<String>,
) -> Result<Json<FactorResetOut>, ApiError> {
    let reset = state
        .warden
        .reset_second_factors(&username, Some(&admin.user))
        .await?;
    Ok(Json(FactorResetOut {
        totp_removed: reset.totp,
        passkeys_removed: reset.passkeys,
        recovery_codes_removed: reset.recovery_codes,
        sessions_ended: reset.sessions,
        refresh_tokens_revoked: reset.refresh_tokens,
    }))
}

/// A role and the scopes it grants.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleOut {
    pub name: String,
    pub scopes: Vec<String>,
    /// Its members must sign in with a second factor.
    pub require_mfa: bool,
}

impl From<Role> for RoleOut {
    fn from(r: Role) -> Self {
        Self {
            name: r.name,
            scopes: r.scopes,
            require_mfa: r.require_mfa,
        }
    }
}

/// Lists roles.
#[utoipa::path(get, path = "/admin/roles",
    responses((status = 200, description = "Every role", body = Vec<RoleOut>)), tag = "admin")]
pub async fn list_roles(
    State(state): State<AppState>,
    _: AdminUser,
) -> Result<Json<Vec<RoleOut>>, ApiError> {
    let roles = state.warden.list_roles().await?;
    Ok(Json(roles.into_iter().map(RoleOut::from).collect()))
}

/// The scopes a role grants.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleScopes {
    /// RFC 6749 scope tokens, at most 64.
    #[validate(length(max = 64))]
    pub scopes: Vec<String>,
    /// Its members must sign in with a second factor (enrolling one at their next login).
    #[serde(default)]
    pub require_mfa: bool,
}

/// Creates or replaces a role.
#[utoipa::path(put, path = "/admin/roles/{name}", request_body = RoleScopes,
    params(("name" = String, Path, description = "The role's name")),
    responses((status = 200, description = "The role as stored", body = RoleOut),
        (status = 422, description = "Invalid name or scopes")),
    tag = "admin")]
pub async fn put_role(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(name): Path<String>,
    ValidJson(body): ValidJson<RoleScopes>,
) -> Result<Json<RoleOut>, ApiError> {
    let role = state
        .warden
        .put_role(&name, body.scopes, body.require_mfa, Some(&admin.user))
        .await?;
    Ok(Json(role.into()))
}

/// How many records to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Limit {
    /// 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// Every user's API keys, newest first (no key material).
#[utoipa::path(get, path = "/admin/api-keys", params(Limit),
    responses((status = 200, description = "The keys", body = Vec<ApiKeyOut>)), tag = "admin")]
pub async fn list_api_keys(
    State(state): State<AppState>,
    _: AdminUser,
    Query(limit): Query<Limit>,
) -> Result<Json<Vec<ApiKeyOut>>, ApiError> {
    let keys = state
        .warden
        .list_all_api_keys(limit.limit.unwrap_or(100).max(1))
        .await?;
    Ok(Json(keys.into_iter().map(ApiKeyOut::from).collect()))
}

/// Revokes any user's API key.
#[utoipa::path(delete, path = "/admin/api-keys/{id}",
    params(("id" = String, Path, description = "The key's id")),
    responses((status = 204, description = "Revoked (or already revoked)"), (status = 404, description = "No such key")),
    tag = "admin")]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .warden
        .revoke_api_key(KeyRevoker::Administrator(Some(&admin.user)), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which audit events to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The acting user's id (for a failed login: the username tried).
    pub actor: Option<String>,
    /// The event, e.g. `login.success`, `apikey.created`.
    pub event: Option<String>,
    /// Only events at or after this time, Unix seconds.
    pub since: Option<i64>,
    /// 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// An audit event. Never holds a secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventOut {
    pub id: String,
    /// Unix seconds.
    pub at: i64,
    pub event: String,
    pub actor: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    pub detail: Option<String>,
}

impl From<AuditEvent> for AuditEventOut {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            at: e.at,
            event: e.event,
            actor: e.actor,
            client_id: e.client_id,
            ip: e.ip,
            outcome: e.outcome,
            detail: e.detail,
        }
    }
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/admin/audit", params(AuditQuery),
    responses((status = 200, description = "Matching events, newest first", body = Vec<AuditEventOut>)),
    tag = "admin")]
pub async fn list_audit(
    State(state): State<AppState>,
    _: AdminUser,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEventOut>>, ApiError> {
    let events = state
        .warden
        .audit_events(AuditFilter {
            actor: query.actor,
            event: query.event,
            since: query.since,
            limit: query.limit.unwrap_or(100).max(1),
        })
        .await?;
    Ok(Json(events.into_iter().map(AuditEventOut::from).collect()))
}
