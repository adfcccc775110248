//! The current user's passkeys, `/users/me/factors/passkeys…`: register (start, then finish
//! with the browser's credential), list, rename, remove. Thin over the domain.
//!
//! Registering needs what setting up TOTP needs (a recent second factor, or a recent login
//! before the account has a factor); removing needs a recent second factor. The start
//! answers `PublicKeyCredentialCreationOptions` as JSON (`options.publicKey`, ready for
//! `PublicKeyCredential.parseCreationOptionsFromJSON`) and a `ceremony` id; the finish sends
//! that id back with the credential's `toJSON()`. The ceremony's state stays on the server.
//! Bodies are at most 16 KiB. When passkeys are off (the issuer is an IP address), every
//! route answers 404.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use warden::{Auth, ValidJson};
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::error::ApiError;
use super::{AppState, CurrentUser};
use crate::domain::{DomainError, PasskeyInfo};

/// The largest body of a passkey route.
pub const MAX_PASSKEY_BODY: usize = 16 * 1024;

/// A registered passkey (nothing of the key itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyOut {
    pub id: String,
    pub name: String,
    /// Synced between devices (the backup-eligible flag the authenticator signed), rather
    /// than bound to one device.
    pub synced: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<PasskeyInfo> for PasskeyOut {
    fn from(p: PasskeyInfo) -> Self {
        Self {
            id: p.id,
            name: p.name,
            synced: p.backup_eligible,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// A started registration.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationStartOut {
    /// Sent back with the credential; valid for five minutes, once.
    pub ceremony: String,
    /// `{"publicKey": PublicKeyCredentialCreationOptions}` in the WebAuthn JSON form.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// Starts registering a passkey.
#[utoipa::path(post, path = "/users/me/factors/passkeys/registration",
    responses((status = 200, description = "The creation options", body = RegistrationStartOut),
        (status = 401, description = "Not a recent enough login (RFC 9470 challenge)"),
        (status = 404, description = "Passkeys are off on this server"),
        (status = 422, description = "The account has as many passkeys as it may keep")),
    tag = "users")]
pub async fn start_registration(
    State(state): State<AppState>,
    user: Auth<CurrentUser>,
) -> Result<Json<RegistrationStartOut>, ApiError> {
    state
        .warden
        .check_recent_authentication(&user.user, user.authentication.as_ref())
        .await?;
    let started = state.warden.start_passkey_registration(&user.user).await?;
    let options = serde_json::to_value(&started.options)
        .map_err(|_| DomainError::Internal("creation options did not serialise"))?;
    Ok(Json(RegistrationStartOut {
        ceremony: started.ceremony,
        options,
    }))
}

/// The browser's new credential.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationIn {
    /// The `ceremony` of the start.
    #[validate(length(min = 1, max = 128))]
    pub ceremony: String,
    /// What to call it (1 to 64 characters).
    #[validate(length(min = 1, max = 256))]
    pub name: String,
    /// `PublicKeyCredential.toJSON()` of `navigator.credentials.create()`.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// A registered passkey, and recovery codes when it is the account's first factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredOut {
    pub passkey: PasskeyOut,
    /// Single-use codes, shown only now; `null` when the account had a factor already.
    pub recovery_codes: Option<Vec<String>>,
}

/// Finishes registering a passkey with the browser's credential.
#[utoipa::path(post, path = "/users/me/factors/passkeys", request_body = RegistrationIn,
    responses((status = 201, description = "Registered", body = RegisteredOut),
        (status = 400, description = "The credential does not verify, or the ceremony is unknown, used or expired"),
        (status = 401, description = "Not a recent enough login (RFC 9470 challenge)"),
        (status = 404, description = "Passkeys are off on this server"),
        (status = 413, description = "The body is over 16 KiB"),
        (status = 422, description = "Invalid input")),
    tag = "users")]
pub async fn finish_registration(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    user: Auth<CurrentUser>,
    ValidJson(body): ValidJson<RegistrationIn>,
) -> Result<(StatusCode, Json<RegisteredOut>), ApiError> {
    state
        .warden
        .check_recent_authentication(&user.user, user.authentication.as_ref())
        .await?;
    let credential: RegisterPublicKeyCredential = serde_json::from_value(body.credential)
        .map_err(|_| DomainError::InvalidPasskey("The credential is not a WebAuthn credential."))?;
    let ip = state.client_ip(peer, &headers);
    let registered = state
        .warden
        .finish_passkey_registration(
            &user.user,
            &body.ceremony,
            &credential,
            &body.name,
            Some(&ip),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisteredOut {
            passkey: registered.passkey.into(),
            recovery_codes: registered.recovery_codes,
        }),
    ))
}

/// Lists the current user's passkeys.
#[utoipa::path(get, path = "/users/me/factors/passkeys",
    responses((status = 200, description = "The passkeys, oldest first", body = Vec<PasskeyOut>)),
    tag = "users")]
pub async fn list(
    State(state): State<AppState>,
    user: Auth<CurrentUser>,
) -> Result<Json<Vec<PasskeyOut>>, ApiError> {
    let passkeys = state.warden.list_passkeys(&user.user).await?;
    Ok(Json(passkeys.into_iter().map(PasskeyOut::from).collect()))
}

/// A new name.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameIn {
    #[validate(length(min = 1, max = 256))]
    pub name: String,
}

/// Renames one of the current user's passkeys.
#[utoipa::path(patch, path = "/users/me/factors/passkeys/{id}", request_body = RenameIn,
    params(("id" = String, Path, description = "The passkey's id")),
    responses((status = 200, description = "Renamed", body = PasskeyOut),
        (status = 404, description = "No such passkey of this user"),
        (status = 422, description = "Invalid name")),
    tag = "users")]
pub async fn rename(
    State(state): State<AppState>,
    user: Auth<CurrentUser>,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<RenameIn>,
) -> Result<Json<PasskeyOut>, ApiError> {
    let renamed = state
        .warden
        .rename_passkey(&user.user, &id, &body.name)
        .await?;
    Ok(Json(renamed.into()))
}

/// Removes one of the current user's passkeys. Needs a recent second factor.
#[utoipa::path(delete, path = "/users/me/factors/passkeys/{id}",
    params(("id" = String, Path, description = "The passkey's id")),
    responses((status = 204, description = "Removed"),
        (status = 401, description = "No recent second factor (RFC 9470 challenge)"),
        (status = 404, description = "No such passkey of this user")),
    tag = "users")]
pub async fn remove(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    user: Auth<CurrentUser>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .warden
        .check_recent_authentication(&user.user, user.authentication.as_ref())
        .await?;
    let ip = state.client_ip(peer, &headers);
    state
        .warden
        .remove_passkey(&user.user, &id, Some(&ip))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
