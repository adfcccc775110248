//! Row shapes and their conversion to records, JSON list columns, error mapping and limits,
//! for both backends.
//!
//! Both schemas give a column the same Rust type on both backends (TEXT, 64-bit integers,
//! booleans, bytes), so one `FromRow` derive per row serves SQLite and PostgreSQL.

use sqlx::error::DatabaseError;

use std::collections::BTreeMap;

use super::{
    ApiKey, AuditEvent, AuthorizationCode, BrowserSession, Client, Consent, KeyStatus,
    LinkedIdentity, RefreshToken, Result, StorageError, StoredPasskey, StoredSigningKey,
    TotpFactor, UpstreamLogin, UpstreamProvider, User, WebauthnCeremony,
};

/// The most rows any listing returns, whatever the caller asks for.
pub(super) const MAX_LIMIT: u32 = 1000;

/// `limit` capped at [`MAX_LIMIT`], as a SQL integer.
pub(super) fn cap(limit: u32) -> i64 {
    i64::from(limit.min(MAX_LIMIT))
}

/// Any database failure that has no more specific meaning; text the database cannot store
/// (PostgreSQL refuses NUL characters, SQLSTATE 22021) is [`StorageError::InvalidText`].
pub(super) fn db(e: sqlx::Error) -> StorageError {
    match database_error(&e) {
        Some(d) if d.code().as_deref() == Some("22021") => StorageError::InvalidText,
        _ => StorageError::Database(e),
    }
}

/// Maps a unique violation to `Conflict(entity)`, a foreign-key violation to
/// `NotFound(missing)` when given, anything else as [`db`] does.
pub(super) fn constraint(
    entity: &'static str,
    missing: Option<&'static str>,
) -> impl FnOnce(sqlx::Error) -> StorageError {
    move |e| match database_error(&e) {
        Some(d) if d.code().as_deref() == Some("22021") => StorageError::InvalidText,
        Some(d) if d.is_unique_violation() => StorageError::Conflict(entity),
        Some(d) if d.is_foreign_key_violation() => match missing {
            Some(missing) => StorageError::NotFound(missing),
            None => StorageError::Database(e),
        },
        _ => StorageError::Database(e),
    }
}

/// Inserting a user: a taken username is `Conflict("username")`; any other unique
/// violation (only the primary key is left) is `Conflict("user")`.
pub(super) fn user_insert_error(e: sqlx::Error) -> StorageError {
    match database_error(&e) {
        Some(d) if d.is_unique_violation() => {
            // PostgreSQL names the constraint (`users_username_key`); SQLite only says
            // `UNIQUE constraint failed: users.username` in the message.
            let on_username = d.constraint().is_some_and(|c| c.contains("username"))
                || d.message().contains("users.username");
            StorageError::Conflict(if on_username { "username" } else { "user" })
        }
        _ => StorageError::Database(e),
    }
}

/// Whether `e` is a foreign-key violation (a referenced row is missing).
pub(super) fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    database_error(e).is_some_and(|d| d.is_foreign_key_violation())
}

fn database_error(e: &sqlx::Error) -> Option<&dyn DatabaseError> {
    match e {
        sqlx::Error::Database(d) => Some(&**d),
        _ => None,
    }
}

/// A list as stored: a JSON array of strings.
pub(super) fn to_json(list: &[String]) -> String {
    serde_json::Value::Array(
        list.iter()
            .cloned()
            .map(serde_json::Value::String)
            .collect(),
    )
    .to_string()
}

/// Parses a JSON list column. The error names the column, never its content.
pub(super) fn from_json(column: &str, text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|_| decode_error(column, "not a JSON array of strings"))
}

/// A map as stored: a JSON object of strings.
pub(super) fn map_to_json(map: &BTreeMap<String, String>) -> String {
    serde_json::Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
    .to_string()
}

/// Parses a JSON object column of strings. The error names the column, never its content.
pub(super) fn map_from_json(column: &str, text: &str) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(|_| decode_error(column, "not a JSON object of strings"))
}

fn decode_error(column: &str, what: &'static str) -> StorageError {
    StorageError::Database(sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: what.into(),
    })
}

/// `names` without repetitions, first occurrence kept (a user's roles keep their order).
pub(super) fn unique_roles(names: &[String]) -> Vec<String> {
    let mut unique: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        if !unique.contains(name) {
            unique.push(name.clone());
        }
    }
    unique
}

/// How a [`KeyStatus`] is stored: the `status` column and the `retired_until` column.
pub(super) fn key_status_columns(status: KeyStatus) -> (&'static str, Option<i64>) {
    match status {
        KeyStatus::Next => ("next", None),
        KeyStatus::Current => ("current", None),
        KeyStatus::Retired(until) => ("retired", Some(until)),
    }
}

/// A `users` row with its roles aggregated into a JSON array (in position order).
#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: String,
    username: String,
    email: Option<String>,
    email_verified: bool,
    password_hash: String,
    disabled: bool,
    roles: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StorageError;

    fn try_from(row: UserRow) -> Result<Self> {
        Ok(User {
            roles: from_json("roles", &row.roles)?,
            id: row.id,
            username: row.username,
            email: row.email,
            email_verified: row.email_verified,
            password_hash: row.password_hash,
            disabled: row.disabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A `roles` row.
#[derive(sqlx::FromRow)]
pub(super) struct RoleRow {
    name: String,
    scopes: String,
    require_mfa: bool,
}

impl TryFrom<RoleRow> for super::Role {
    type Error = StorageError;

    fn try_from(row: RoleRow) -> Result<Self> {
        Ok(super::Role {
            scopes: from_json("scopes", &row.scopes)?,
            name: row.name,
            require_mfa: row.require_mfa,
        })
    }
}

/// A `clients` row.
#[derive(sqlx::FromRow)]
pub(super) struct ClientRow {
    client_id: String,
    name: String,
    secret_hash: Option<String>,
    public: bool,
    redirect_uris: String,
    grant_types: String,
    scopes: String,
    created_at: i64,
    first_party: bool,
    post_logout_redirect_uris: String,
    id_token_alg: String,
    require_mfa: bool,
    require_par: bool,
    jwks: Option<String>,
    dpop_bound: bool,
    registration_token_hash: Option<String>,
}

impl TryFrom<ClientRow> for Client {
    type Error = StorageError;

    fn try_from(row: ClientRow) -> Result<Self> {
        Ok(Client {
            redirect_uris: from_json("redirect_uris", &row.redirect_uris)?,
            grant_types: from_json("grant_types", &row.grant_types)?,
            scopes: from_json("scopes", &row.scopes)?,
            post_logout_redirect_uris: from_json(
                "post_logout_redirect_uris",
                &row.post_logout_redirect_uris,
            )?,
            client_id: row.client_id,
            name: row.name,
            secret_hash: row.secret_hash,
            public: row.public,
            created_at: row.created_at,
            first_party: row.first_party,
            id_token_alg: row.id_token_alg,
            require_mfa: row.require_mfa,
            require_par: row.require_par,
            jwks: row.jwks,
            dpop_bound: row.dpop_bound,
            registration_token_hash: row.registration_token_hash,
        })
    }
}

/// A `pushed_requests` row.
#[derive(sqlx::FromRow)]
pub(super) struct PushedRequestRow {
    request_hash: String,
    client_id: String,
    params: String,
    expires_at: i64,
}

impl TryFrom<PushedRequestRow> for super::PushedRequest {
    type Error = StorageError;

    fn try_from(row: PushedRequestRow) -> Result<Self> {
        Ok(super::PushedRequest {
            params: map_from_json("params", &row.params)?,
            request_hash: row.request_hash,
            client_id: row.client_id,
            expires_at: row.expires_at,
        })
    }
}

/// An `authorization_codes` row (no list column: the record is the row).
#[derive(sqlx::FromRow)]
pub(super) struct AuthorizationCodeRow {
    code_hash: String,
    client_id: String,
    user_id: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    auth_time: i64,
    issued_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    refresh_family_id: Option<String>,
    access_jti: Option<String>,
    access_expires_at: Option<i64>,
    replayed_at: Option<i64>,
    amr: String,
    dpop_jkt: Option<String>,
}

impl From<AuthorizationCodeRow> for AuthorizationCode {
    fn from(row: AuthorizationCodeRow) -> Self {
        AuthorizationCode {
            code_hash: row.code_hash,
            client_id: row.client_id,
            user_id: row.user_id,
            redirect_uri: row.redirect_uri,
            scope: row.scope,
            nonce: row.nonce,
            code_challenge: row.code_challenge,
            auth_time: row.auth_time,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            refresh_family_id: row.refresh_family_id,
            access_jti: row.access_jti,
            access_expires_at: row.access_expires_at,
            replayed_at: row.replayed_at,
            amr: row.amr,
            dpop_jkt: row.dpop_jkt,
        }
    }
}

/// A `browser_sessions` row.
#[derive(sqlx::FromRow)]
pub(super) struct BrowserSessionRow {
    id_hash: String,
    user_id: String,
    auth_time: i64,
    expires_at: i64,
    amr: String,
}

impl From<BrowserSessionRow> for BrowserSession {
    fn from(row: BrowserSessionRow) -> Self {
        BrowserSession {
            id_hash: row.id_hash,
            user_id: row.user_id,
            auth_time: row.auth_time,
            expires_at: row.expires_at,
            amr: row.amr,
        }
    }
}

/// A `consents` row.
#[derive(sqlx::FromRow)]
pub(super) struct ConsentRow {
    user_id: String,
    client_id: String,
    scopes: String,
    granted_at: i64,
}

impl TryFrom<ConsentRow> for Consent {
    type Error = StorageError;

    fn try_from(row: ConsentRow) -> Result<Self> {
        Ok(Consent {
            scopes: from_json("scopes", &row.scopes)?,
            user_id: row.user_id,
            client_id: row.client_id,
            granted_at: row.granted_at,
        })
    }
}

/// A `refresh_tokens` row (no list column: the record is the row).
#[derive(sqlx::FromRow)]
pub(super) struct RefreshTokenRow {
    id: String,
    family_id: String,
    token_hash: String,
    user_id: Option<String>,
    client_id: String,
    scope: String,
    issued_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    auth_time: Option<i64>,
    amr: Option<String>,
    dpop_jkt: Option<String>,
}

impl From<RefreshTokenRow> for RefreshToken {
    fn from(row: RefreshTokenRow) -> Self {
        RefreshToken {
            id: row.id,
            family_id: row.family_id,
            token_hash: row.token_hash,
            user_id: row.user_id,
            client_id: row.client_id,
            scope: row.scope,
            issued_at: row.issued_at,
            expires_at: row.expires_at,
            used_at: row.used_at,
            revoked_at: row.revoked_at,
            auth_time: row.auth_time,
            amr: row.amr,
            dpop_jkt: row.dpop_jkt,
        }
    }
}

/// A `passkeys` row (the record is the row).
#[derive(sqlx::FromRow)]
pub(super) struct PasskeyRow {
    id: String,
    credential_id: String,
    user_id: String,
    name: String,
    passkey: String,
    sign_count: i64,
    backup_eligible: bool,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl From<PasskeyRow> for StoredPasskey {
    fn from(row: PasskeyRow) -> Self {
        StoredPasskey {
            id: row.id,
            credential_id: row.credential_id,
            user_id: row.user_id,
            name: row.name,
            passkey: row.passkey,
            sign_count: row.sign_count,
            backup_eligible: row.backup_eligible,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// A `webauthn_ceremonies` row (the record is the row).
#[derive(sqlx::FromRow)]
pub(super) struct WebauthnCeremonyRow {
    id_hash: String,
    user_id: Option<String>,
    kind: String,
    state: String,
    expires_at: i64,
}

impl From<WebauthnCeremonyRow> for WebauthnCeremony {
    fn from(row: WebauthnCeremonyRow) -> Self {
        WebauthnCeremony {
            id_hash: row.id_hash,
            user_id: row.user_id,
            kind: row.kind,
            state: row.state,
            expires_at: row.expires_at,
        }
    }
}

/// An `upstream_providers` row.
#[derive(sqlx::FromRow)]
pub(super) struct UpstreamProviderRow {
    id: String,
    display_name: String,
    kind: String,
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    jwks_uri: Option<String>,
    api_base: Option<String>,
    client_id: String,
    client_secret_sealed: Option<Vec<u8>>,
    scopes: String,
    allow_signup: bool,
    trust_email: bool,
    trust_mfa: bool,
    roles_claim: Option<String>,
    role_map: String,
    enabled: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UpstreamProviderRow> for UpstreamProvider {
    type Error = StorageError;

    fn try_from(row: UpstreamProviderRow) -> Result<Self> {
        Ok(UpstreamProvider {
            scopes: from_json("scopes", &row.scopes)?,
            role_map: map_from_json("role_map", &row.role_map)?,
            id: row.id,
            display_name: row.display_name,
            kind: row.kind,
            issuer: row.issuer,
            authorization_endpoint: row.authorization_endpoint,
            token_endpoint: row.token_endpoint,
            userinfo_endpoint: row.userinfo_endpoint,
            jwks_uri: row.jwks_uri,
            api_base: row.api_base,
            client_id: row.client_id,
            client_secret_sealed: row.client_secret_sealed,
            allow_signup: row.allow_signup,
            trust_email: row.trust_email,
            trust_mfa: row.trust_mfa,
            roles_claim: row.roles_claim,
            enabled: row.enabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A `linked_identities` row (the record is the row).
#[derive(sqlx::FromRow)]
pub(super) struct LinkedIdentityRow {
    provider_id: String,
    subject: String,
    user_id: String,
    email: Option<String>,
    email_verified: bool,
    linked_at: i64,
    last_login_at: Option<i64>,
}

impl From<LinkedIdentityRow> for LinkedIdentity {
    fn from(row: LinkedIdentityRow) -> Self {
        LinkedIdentity {
            provider_id: row.provider_id,
            subject: row.subject,
            user_id: row.user_id,
            email: row.email,
            email_verified: row.email_verified,
            linked_at: row.linked_at,
            last_login_at: row.last_login_at,
        }
    }
}

/// An `upstream_logins` row (the record is the row).
#[derive(sqlx::FromRow)]
pub(super) struct UpstreamLoginRow {
    state_hash: String,
    provider_id: String,
    browser_hash: String,
    sealed_request: Vec<u8>,
    purpose: String,
    user_id: Option<String>,
    return_to: Option<String>,
    expires_at: i64,
}

impl From<UpstreamLoginRow> for UpstreamLogin {
    fn from(row: UpstreamLoginRow) -> Self {
        UpstreamLogin {
            state_hash: row.state_hash,
            provider_id: row.provider_id,
            browser_hash: row.browser_hash,
            sealed_request: row.sealed_request,
            purpose: row.purpose,
            user_id: row.user_id,
            return_to: row.return_to,
            expires_at: row.expires_at,
        }
    }
}

/// A `totp_factors` row (the record is the row).
#[derive(sqlx::FromRow)]
pub(super) struct TotpFactorRow {
    user_id: String,
    encrypted_secret: Vec<u8>,
    created_at: i64,
    confirmed_at: Option<i64>,
    last_used_step: i64,
}

impl From<TotpFactorRow> for TotpFactor {
    fn from(row: TotpFactorRow) -> Self {
        TotpFactor {
            user_id: row.user_id,
            encrypted_secret: row.encrypted_secret,
            created_at: row.created_at,
            confirmed_at: row.confirmed_at,
            last_used_step: row.last_used_step,
        }
    }
}

/// An `api_keys` row.
#[derive(sqlx::FromRow)]
pub(super) struct ApiKeyRow {
    id: String,
    user_id: String,
    name: String,
    hash: String,
    scopes: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StorageError;

    fn try_from(row: ApiKeyRow) -> Result<Self> {
        Ok(ApiKey {
            scopes: from_json("scopes", &row.scopes)?,
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            hash: row.hash,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// A `signing_keys` row.
#[derive(sqlx::FromRow)]
pub(super) struct SigningKeyRow {
    kid: String,
    alg: String,
    encrypted_private_key: Vec<u8>,
    status: String,
    retired_until: Option<i64>,
    created_at: i64,
}

impl TryFrom<SigningKeyRow> for StoredSigningKey {
    type Error = StorageError;

    fn try_from(row: SigningKeyRow) -> Result<Self> {
        let status = match (row.status.as_str(), row.retired_until) {
            ("next", _) => KeyStatus::Next,
            ("current", _) => KeyStatus::Current,
            ("retired", Some(until)) => KeyStatus::Retired(until),
            _ => return Err(decode_error("status", "not a signing key status")),
        };
        Ok(StoredSigningKey {
            kid: row.kid,
            alg: row.alg,
            encrypted_private_key: row.encrypted_private_key,
            status,
            created_at: row.created_at,
        })
    }
}

/// An `audit_events` row.
#[derive(sqlx::FromRow)]
pub(super) struct AuditEventRow {
    id: String,
    at: i64,
    event: String,
    actor: Option<String>,
    client_id: Option<String>,
    ip: Option<String>,
    outcome: String,
    detail: Option<String>,
}

impl From<AuditEventRow> for AuditEvent {
    fn from(row: AuditEventRow) -> Self {
        AuditEvent {
            id: row.id,
            at: row.at,
            event: row.event,
            actor: row.actor,
            client_id: row.client_id,
            ip: row.ip,
            outcome: row.outcome,
            detail: row.detail,
        }
    }
}

/// Converts every row, failing on the first that does not convert.
pub(super) fn convert<R, T>(rows: Vec<R>) -> Result<Vec<T>>
where
    T: TryFrom<R, Error = StorageError>,
{
    rows.into_iter().map(T::try_from).collect()
}
