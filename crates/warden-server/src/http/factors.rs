//! The current user's second factors, `/users/me/factors…`: set up and remove TOTP, make a
//! new set of recovery codes. Thin over the domain, which the login pages call too.
//!
//! Only an access token can change factors (an API key proves no person is present), and
//! only a recent one: a second factor within the last five minutes, or — before the account
//! has any factor — a login within the last five minutes. Otherwise the answer is RFC 9470's
//! `401 insufficient_user_authentication` with `acr_values` and `max_age`, which tells an
//! OAuth client to send the user through `/authorize` again with those parameters.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use warden::{Auth, ValidJson};

use super::error::ApiError;
use super::{AppState, CurrentUser};

/// The second factors of the current user.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorsOut {
    /// Whether an authenticator app (TOTP) is set up.
    pub totp: bool,
    /// How many passkeys are registered.
    pub passkeys: u64,
    /// Unused recovery codes.
    pub recovery_codes_left: u64,
}

/// Lists the current user's second factors.
#[utoipa::path(get, path = "/users/me/factors",
    responses((status = 200, description = "The user's second factors", body = FactorsOut)),
    tag = "users")]
pub async fn list_factors(
    State(state): State<AppState>,
    user: Auth<CurrentUser>,
) -> Result<Json<FactorsOut>, ApiError> {
    let (totp, passkeys, recovery_codes_left) = state.warden.second_factors(&user.user).await?;
    Ok(Json(FactorsOut {
        totp,
        passkeys,
        recovery_codes_left,
    }))
}

/// A TOTP setup to scan or type into an authenticator app.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetupOut {
    /// `otpauth://totp/…` (RFC 6238 parameters: SHA-1, 6 digits, 30 s).
    pub otpauth_uri: String,
    /// The secret in base32, to type by hand.
    pub secret: String,
    /// The URI as a QR code (SVG).
    pub qr_svg: String,
}

/// Starts setting up an authenticator app: pending until a first code confirms it.
#[utoipa::path(post, path = "/users/me/factors/totp",
    responses((status = 200, description = "The setup to scan", body = TotpSetupOut),
        (status = 401, description = "Not a recent enough login (RFC 9470 challenge)"),
        (status = 403, description = "An authenticator is already set up: remove it first")),
    tag = "users")]
pub async fn start_totp(
    State(state): State<AppState>,
    user: Auth<CurrentUser>,
) -> Result<Json<TotpSetupOut>, ApiError> {
    state
        .warden
        .check_recent_authentication(&user.user, user.authentication.as_ref())
        .await?;
    let setup = state.warden.start_totp_enrolment(&user.user).await?;
    Ok(Json(TotpSetupOut {
        otpauth_uri: setup.uri,
        secret: setup.secret,
        qr_svg: setup.qr_svg,
    }))
}

/// A code from the authenticator app.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeIn {
    #[validate(length(min = 1, max = 64))]
    pub code: String,
}

/// Recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesOut {
    /// Single-use codes; `null` when the account kept its earlier set.
    pub recovery_codes: Option<Vec<String>>,
}

/// Confirms the pending authenticator with its first code; the account's first factor also
/// gets ten recovery codes, returned only now.
#[utoipa::path(post, path = "/users/me/factors/totp/confirm", request_body = CodeIn,
    responses((status = 200, description = "Set up", body = RecoveryCodesOut),
        (status = 400, description = "Wrong, expired or reused code"),
        (status = 422, description = "No setup was started, or invalid input")),
    tag = "users")]
pub async fn confirm_totp(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    user: Auth<CurrentUser>,
    ValidJson(body): ValidJson<CodeIn>,
) -> Result<Json<RecoveryCodesOut>, ApiError> {
    state
        .warden
        .check_recent_authentication(&user.user, user.authentication.as_ref())
        .await?;
    let ip = state.client_ip(peer, &headers);
    let recovery_codes = state
        .warden
        .confirm_totp(&user.user, &body.code, Some(&ip))
        .await?;
    Ok(Json(RecoveryCodesOut { recovery_codes }))
}

/// Removes the authenticator app and the recovery codes. Needs a recent second factor.
#[utoipa::path(delete, path = "/users/me/factors/totp",
    responses((status = 204, description = "Removed"),
        (status = 401, description = "No recent second factor (RFC 9470 challenge)"),
        (status = 404, description = "No authenticator was set up")),
    tag = "users")]
pub async fn remove_totp(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    user: Auth<CurrentUser>,
) -> Result<StatusCode, ApiError> {
    state
        .warden
        .check_recent_authentication(&user.user, user.authentication.as_ref())
        .await?;
    let ip = state.client_ip(peer, &headers);
    if state.warden.remove_totp(&user.user, Some(&ip)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(crate::domain::DomainError::NotFound.into())
    }
}

/// Replaces the recovery codes with a new set, returned only now. Needs a recent second
/// factor.
#[utoipa::path(post, path = "/users/me/factors/recovery-codes",
    responses((status = 200, description = "The new codes", body = RecoveryCodesOut),
        (status = 401, description = "No recent second factor (RFC 9470 challenge)"),
        (status = 404, description = "No second factor to recover")),
    tag = "users")]
pub async fn new_recovery_codes(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    user: Auth<CurrentUser>,
) -> Result<Json<RecoveryCodesOut>, ApiError> {
    state
        .warden
        .check_recent_authentication(&user.user, user.authentication.as_ref())
        .await?;
    if !state.warden.has_second_factor(&user.user.id).await? {
        return Err(crate::domain::DomainError::NotFound.into());
    }
    let ip = state.client_ip(peer, &headers);
    let codes = state
        .warden
        .new_recovery_codes(&user.user, Some(&ip))
        .await?;
    Ok(Json(RecoveryCodesOut {
        recovery_codes: Some(codes),
    }))
}
