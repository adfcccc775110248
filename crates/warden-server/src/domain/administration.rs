//! What only administrators do: list, change and delete users, define roles, read the audit
//! log. Over HTTP these need the `admin` scope; the CLI's operator does them too.
//!
//! Events of an administrator's action name the administrator as `actor` (the operator at
//! the CLI is no user: then the user acted upon is named, as `set_disabled` does) and the
//! user acted upon in `detail`.

use super::api_keys::is_scope_token;
use super::{DomainError, Warden, validate_username};
use crate::storage::{AuditEvent, AuditFilter, Role, Storage, User};

/// The most users one page lists.
pub const MAX_USERS_PAGE: u32 = 200;
/// The most audit events one query returns.
pub const MAX_AUDIT_EVENTS: u32 = 1000;
/// The most scopes one role grants.
pub const MAX_ROLE_SCOPES: usize = 64;

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// Disable (refused everywhere, refresh tokens revoked) or re-enable.
    pub disabled: Option<bool>,
    /// Replace the roles; each must exist.
    pub roles: Option<Vec<String>>,
    /// Mark the user's address verified or not (until email verification exists, only an
    /// administrator or an upstream login trusted for it says so).
    pub email_verified: Option<bool>,
}

/// What an administrator's reset of a user's second factors removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FactorReset {
    /// Whether a TOTP authenticator (confirmed or pending) was removed.
    pub totp: bool,
    /// How many passkeys were removed.
    pub passkeys: u64,
    pub recovery_codes: u64,
    pub sessions: u64,
    pub refresh_tokens: u64,
}

impl<S: Storage> Warden<S> {
    /// Removes every second factor of `username` (TOTP, passkeys and recovery codes) for a user who
    /// lost them, ends their browser sessions and revokes their refresh tokens, so nothing
    /// obtained with the old factors outlives the reset; audited. Their next login enrols
    /// a factor again where one is required.
    pub async fn reset_second_factors(
        &self,
        username: &str,
        by: Option<&User>,
    ) -> Result<FactorReset, DomainError> {
        let user = self
            .storage()
            .user_by_username(username)
            .await?
            .ok_or(DomainError::NotFound)?;
        let at = super::now();
        let reset = FactorReset {
            totp: self.storage().delete_totp(&user.id).await?,
            passkeys: self.storage().delete_passkeys(&user.id).await?,
            recovery_codes: self.storage().delete_recovery_codes(&user.id).await?,
            sessions: self.storage().delete_user_sessions(&user.id).await?,
            refresh_tokens: self
                .storage()
                .revoke_user_refresh_tokens(&user.id, at)
                .await?,
        };
        let actor = by.map_or_else(|| user.id.clone(), |admin| admin.id.clone());
        let detail = format!(
            "second factors of {} reset: totp {}, {} passkeys, {} recovery codes, {} sessions, \
             {} refresh tokens",
            user.username,
            reset.totp,
            reset.passkeys,
            reset.recovery_codes,
            reset.sessions,
            reset.refresh_tokens
        );
        self.audit(
            "mfa.reset",
            "success",
            Some(&actor),
            None,
            None,
            Some(&detail),
        )
        .await;
        Ok(reset)
    }

    /// Users ordered by username, after `after`, at most `limit` (capped at 200).
    pub async fn list_users(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>, DomainError> {
        let limit = limit.clamp(1, MAX_USERS_PAGE);
        Ok(self.storage().list_users(after, limit).await?)
    }

    /// The user named `username`.
    pub async fn user(&self, username: &str) -> Result<User, DomainError> {
        if username.len() > 256 {
            return Err(DomainError::NotFound);
        }
        self.storage()
            .user_by_username(username)
            .await?
            .ok_or(DomainError::NotFound)
    }

    /// Applies `update` to `username`, on behalf of administrator `by` (`None`: the CLI).
    /// An administrator cannot disable themselves (nobody would be left to undo it). Roles
    /// that do not exist are refused. Returns the user as now stored.
    pub async fn update_user(
        &self,
        username: &str,
        update: UserUpdate,
        by: Option<&User>,
    ) -> Result<User, DomainError> {
        let mut user = self.user(username).await?;
        if update.disabled == Some(true) && by.is_some_and(|admin| admin.id == user.id) {
            return Err(DomainError::InvalidRequest(
                "administrators cannot disable themselves",
            ));
        }
        if update.email_verified == Some(true) && user.email.is_none() {
            return Err(DomainError::InvalidRequest(
                "email_verified needs an email address",
            ));
        }
        let actor = by.map_or(user.id.clone(), |admin| admin.id.clone());
        if let Some(roles) = update.roles {
            self.check_roles_exist(&roles).await?;
            self.storage().set_user_roles(&user.id, &roles).await?;
            let detail = format!("user {}: [{}]", user.id, roles.join(" "));
            self.audit(
                "user.roles_changed",
                "success",
                Some(&actor),
                None,
                None,
                Some(&detail),
            )
            .await;
            user.roles = roles;
        }
        if let Some(verified) = update.email_verified.filter(|v| *v != user.email_verified) {
            self.storage()
                .set_user_email_verified(&user.id, verified, super::now())
                .await?;
            let detail = format!("user {}: email_verified {verified}", user.id);
            self.audit(
                "user.email_verified_changed",
                "success",
                Some(&actor),
                None,
                None,
                Some(&detail),
            )
            .await;
            user.email_verified = verified;
        }
        if let Some(disabled) = update.disabled.filter(|d| *d != user.disabled) {
            self.apply_disabled(&mut user, disabled, &actor).await?;
        }
        // As stored: roles are kept in their set order, without repetitions.
        self.user(username).await
    }

    /// Deletes `username` with their refresh tokens and API keys. An administrator cannot
    /// delete themselves.
    pub async fn delete_user(&self, username: &str, by: Option<&User>) -> Result<(), DomainError> {
        let user = self.user(username).await?;
        if by.is_some_and(|admin| admin.id == user.id) {
            return Err(DomainError::InvalidRequest(
                "administrators cannot delete themselves",
            ));
        }
        if !self.storage().delete_user(&user.id).await? {
            return Err(DomainError::NotFound);
        }
        let actor = by.map_or(user.id.clone(), |admin| admin.id.clone());
        let detail = format!("user {} ({})", user.id, user.username);
        self.audit(
            "user.deleted",
            "success",
            Some(&actor),
            None,
            None,
            Some(&detail),
        )
        .await;
        Ok(())
    }

    /// Every role.
    pub async fn list_roles(&self) -> Result<Vec<Role>, DomainError> {
        Ok(self.storage().list_roles().await?)
    }

    /// Creates or replaces role `name` with `scopes` (RFC 6749 scope tokens, at most 64).
    pub async fn put_role(
        &self,
        name: &str,
        scopes: Vec<String>,
        require_mfa: bool,
        by: Option<&User>,
    ) -> Result<Role, DomainError> {
        validate_username(name)
            .map_err(|_| DomainError::InvalidRequest("role names follow the username rules"))?;
        if scopes.len() > MAX_ROLE_SCOPES || !scopes.iter().all(|s| is_scope_token(s)) {
            return Err(DomainError::InvalidRequest(
                "scopes must be at most 64 RFC 6749 scope tokens",
            ));
        }
        let mut unique: Vec<String> = Vec::with_capacity(scopes.len());
        for scope in scopes {
            if !unique.contains(&scope) {
                unique.push(scope);
            }
        }
        let role = Role {
            name: name.to_owned(),
            scopes: unique,
            require_mfa,
        };
        self.storage().put_role(&role).await?;
        let detail = format!("role {}: [{}]", role.name, role.scopes.join(" "));
        self.audit(
            "role.updated",
            "success",
            by.map(|admin| admin.id.as_str()),
            None,
            None,
            Some(&detail),
        )
        .await;
        Ok(role)
    }

    /// Audit events matching `filter`, newest first; the limit is capped at 1000 (0: 100).
    pub async fn audit_events(
        &self,
        mut filter: AuditFilter,
    ) -> Result<Vec<AuditEvent>, DomainError> {
        filter.limit = match filter.limit {
            0 => 100,
            n => n.min(MAX_AUDIT_EVENTS),
        };
        self.flush_audit().await;
        Ok(self.storage().list_audit(&filter).await?)
    }

    async fn check_roles_exist(&self, roles: &[String]) -> Result<(), DomainError> {
        if roles.len() > 64 {
            return Err(DomainError::InvalidRequest("at most 64 roles"));
        }
        let known = self.storage().roles(roles).await?;
        if roles.iter().all(|r| known.iter().any(|k| &k.name == r)) {
            Ok(())
        } else {
            Err(DomainError::InvalidRequest("unknown role"))
        }
    }
}
