//! Users: registration, login, roles, passwords.

use std::collections::BTreeSet;

use warden::password::Verified;

use super::{DomainError, Warden, now};
use crate::storage::{Storage, StorageError, User};

/// Shortest password accepted, in characters (OWASP ASVS 2.1.1).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted, in bytes (ASVS 2.1.2 asks for at least 64 characters; the bound
/// keeps hashing cost fixed).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The password hash of an account without a usable password (one created through an
/// upstream identity provider): no password verifies against it. Any stored hash starting
/// with `!` is unusable alike (as in `/etc/shadow`); no PHC or bcrypt string does.
pub const NO_PASSWORD: &str = "!no-password";

/// Whether `user` can sign in with a password at all (see [`NO_PASSWORD`]).
pub fn has_usable_password(user: &User) -> bool {
    !user.password_hash.starts_with('!')
}

/// The counter of password logins, labelled `outcome`.
pub const LOGINS_METRIC: &str = "warden_logins_total";
/// The values of [`LOGINS_METRIC`]'s `outcome`: right credentials, wrong ones (or an unknown
/// or disabled user, which look the same), and refused before checking by login throttling.
pub const LOGIN_OUTCOMES: &[&str] = &["success", "failure", "throttled"];

/// Counts one login with `outcome`, one of [`LOGIN_OUTCOMES`].
pub(super) fn count_login(outcome: &'static str) {
    metrics::counter!(LOGINS_METRIC, "outcome" => outcome).increment(1);
}

/// Checks the password policy: 12 characters to 1024 bytes, any Unicode, no composition
/// rules (ASVS 2.1.9).
pub fn validate_password(password: &str) -> Result<(), DomainError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(DomainError::WeakPassword(
            "password must have at least 12 characters",
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(DomainError::WeakPassword(
            "password must be at most 1024 bytes",
        ));
    }
    Ok(())
}

/// Usernames: 1 to 64 characters of letters, digits and `.`, `_`, `-`, `@`.
pub fn validate_username(username: &str) -> Result<(), DomainError> {
    let ok = !username.is_empty()
        && username.chars().count() <= 64
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(DomainError::InvalidRequest(
            "username must be 1 to 64 letters, digits, '.', '_', '-' or '@'",
        ))
    }
}

/// Email addresses: at most 254 bytes (RFC 5321 §4.5.3.1.3) and an `@`. The HTTP layer also
/// checks the syntax; this is the rule `create_user` and `update_profile` share.
pub fn validate_email(email: &str) -> Result<(), DomainError> {
    if email.len() > 254 || !email.contains('@') {
        return Err(DomainError::InvalidRequest("email is not an address"));
    }
    Ok(())
}

/// Changes a user makes to their own profile; `None` leaves a field as it is. Username,
/// roles and the disabled flag are an administrator's (see `UserUpdate`).
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    /// A new address, or `Some(None)` to remove it.
    pub email: Option<Option<String>>,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
    pub roles: Vec<String>,
}

impl<S: Storage> Warden<S> {
    /// Creates a user, hashing the password on the pool.
    pub async fn create_user(&self, account: NewAccount) -> Result<User, DomainError> {
        validate_username(&account.username)?;
        validate_password(&account.password)?;
        if let Some(email) = &account.email {
            validate_email(email)?;
        }
        let hash = self.passwords().hash(&account.password).await?;
        let at = now();
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            username: account.username,
            email: account.email,
            email_verified: false,
            password_hash: hash,
            disabled: false,
            roles: account.roles,
            created_at: at,
            updated_at: at,
        };
        match self.storage().create_user(&user).await {
            Ok(()) => Ok(user),
            Err(StorageError::Conflict(_)) => Err(DomainError::UsernameTaken),
            Err(other) => Err(other.into()),
        }
    }

    /// Self-service registration, when open.
    pub async fn register(&self, account: NewAccount) -> Result<User, DomainError> {
        if !self.config().open_registration {
            return Err(DomainError::RegistrationClosed);
        }
        self.create_user(NewAccount {
            roles: Vec::new(),
            ..account
        })
        .await
    }

    /// Checks a username and password. Exactly one hash verification runs whatever the
    /// outcome, so an unknown user, a wrong password and a disabled account take the same
    /// time and give the same error. A legacy (bcrypt) or outdated hash is replaced by an
    /// argon2id one on success.
    ///
    /// Throttled by failures (see `throttle.rs`): the attempt is counted before the password
    /// is checked and given back unless the check failed, so successes never use up a
    /// budget and parallel guesses never get past one.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client_id: &str,
        ip: Option<&str>,
    ) -> Result<User, DomainError> {
        // Counted before any work, keyed by the name as typed: unknown users alike.
        let attempt = match self.inner.throttle.check(username, ip).await {
            Ok(attempt) => attempt,
            Err(error) => {
                if matches!(error, DomainError::Throttled { .. }) {
                    count_login("throttled");
                }
                return Err(error);
            }
        };
        match self.check_password(username, password, client_id, ip).await {
            // A failed guess (wrong password, unknown or disabled user, all alike): it stays
            // counted, the one outcome the budgets meter (ASVS 2.2.1).
            Ok(None) => Err(DomainError::InvalidGrant),
            // A success, or no verdict at all (storage down, hashing pool full): no guess
            // was answered, so the attempt is given back.
            Ok(Some(user)) => {
                self.inner.throttle.refund(attempt).await;
                Ok(user)
            }
            Err(error) => {
                self.inner.throttle.refund(attempt).await;
                Err(error)
            }
        }
    }

    /// The password check of [`login`](Self::login): the user when the password is right,
    /// `None` when the login fails.
    async fn check_password(
        &self,
        username: &str,
        password: &str,
        client_id: &str,
        ip: Option<&str>,
    ) -> Result<Option<User>, DomainError> {
        let user = if username.len() <= 256 {
            self.storage().user_by_username(username).await?
        } else {
            None
        };
        // An account without a usable password is checked like an unknown user: the dummy
        // hash is verified, so the answer and its time are those of a wrong password.
        let stored = user
            .as_ref()
            .filter(|u| has_usable_password(u))
            .map(|u| u.password_hash.as_str());
        let usable = stored.is_some();
        let verdict = self.passwords().verify_optional(password, stored).await;
        let verdict = match verdict {
            Ok(v) => v,
            // A password over the bound, or an unusable stored hash: a failed login.
            Err(warden::password::PoolError::Password(_)) => Verified::Invalid,
            Err(other) => return Err(other.into()),
        };
        let Some(mut user) = user.filter(|u| usable && verdict.is_valid() && !u.disabled) else {
            count_login("failure");
            self.audit(
                "login.failure",
                "failure",
                Some(username),
                Some(client_id),
                ip,
                None,
            )
            .await;
            return Ok(None);
        };
        if verdict.needs_rehash()
            && let Ok(hash) = self.passwords().hash(password).await
        {
            // Only the hash, and only if it is still the one just verified: a password change
            // or a disable that lands meanwhile is never undone.
            match self
                .storage()
                .replace_password_hash(&user.id, Some(&user.password_hash), &hash, now())
                .await
            {
                Ok(_) => user.password_hash = hash,
                Err(error) => tracing::warn!(%error, "could not store the rehashed password"),
            }
        }
        count_login("success");
        self.audit(
            "login.success",
            "success",
            Some(&user.id),
            Some(client_id),
            ip,
            None,
        )
        .await;
        Ok(Some(user))
    }

    /// The scopes the user's roles grant.
    pub async fn role_scopes(&self, user: &User) -> Result<BTreeSet<String>, DomainError> {
        let roles = self.storage().roles(&user.roles).await?;
        Ok(roles.into_iter().flat_map(|r| r.scopes).collect())
    }

    /// Changes a password after checking the current one, and revokes the user's refresh
    /// tokens (a changed password ends every session).
    pub async fn change_password(
        &self,
        user_id: &str,
        current: &str,
        new: &str,
    ) -> Result<(), DomainError> {
        validate_password(new)?;
        let mut user = self
            .storage()
            .user_by_id(user_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        let ok = self
            .passwords()
            .verify(current, &user.password_hash)
            .await
            .map(Verified::is_valid)
            .unwrap_or(false);
        if !ok {
            return Err(DomainError::InvalidGrant);
        }
        let hash = self.passwords().hash(new).await?;
        // Compare-and-set on the hash just verified: of two concurrent changes one wins, and
        // the disabled flag is never written back.
        if !self
            .storage()
            .replace_password_hash(&user.id, Some(&user.password_hash), &hash, now())
            .await?
        {
            return Err(DomainError::InvalidGrant);
        }
        user.password_hash = hash;
        let revoked = self
            .storage()
            .revoke_user_refresh_tokens(&user.id, now())
            .await?;
        // ASVS 3.3.3: a password change ends the other browser sessions too.
        self.storage().delete_user_sessions(&user.id).await?;
        self.audit(
            "user.password_changed",
            "success",
            Some(&user.id),
            None,
            None,
            Some(&format!("{revoked} refresh tokens revoked")),
        )
        .await;
        Ok(())
    }

    /// Applies `update` to the profile of the user `user_id` (the current user). Returns the
    /// user as now stored.
    pub async fn update_profile(
        &self,
        user_id: &str,
        update: ProfileUpdate,
    ) -> Result<User, DomainError> {
        let user = self
            .storage()
            .user_by_id(user_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        let Some(email) = update.email.filter(|email| *email != user.email) else {
            return Ok(user);
        };
        if let Some(email) = &email {
            validate_email(email)?;
        }
        match self
            .storage()
            .set_user_email(&user.id, email.as_deref(), now())
            .await
        {
            Ok(()) => {}
            Err(StorageError::NotFound(_)) => return Err(DomainError::NotFound),
            Err(other) => return Err(other.into()),
        }
        // The address itself stays out of the audit log, as passwords do.
        let detail = if email.is_some() {
            "email changed"
        } else {
            "email removed"
        };
        self.audit(
            "user.profile_updated",
            "success",
            Some(&user.id),
            None,
            None,
            Some(detail),
        )
        .await;
        self.storage()
            .user_by_id(&user.id)
            .await?
            .ok_or(DomainError::NotFound)
    }

    /// Replaces a user's roles.
    pub async fn set_roles(&self, username: &str, roles: &[String]) -> Result<(), DomainError> {
        let user = self
            .storage()
            .user_by_username(username)
            .await?
            .ok_or(DomainError::NotFound)?;
        self.storage().set_user_roles(&user.id, roles).await?;
        self.audit(
            "user.roles_changed",
            "success",
            Some(&user.id),
            None,
            None,
            Some(&roles.join(" ")),
        )
        .await;
        Ok(())
    }

    /// Disables (or re-enables) a user; disabling revokes their refresh tokens.
    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<(), DomainError> {
        let mut user = self
            .storage()
            .user_by_username(username)
            .await?
            .ok_or(DomainError::NotFound)?;
        let actor = user.id.clone();
        self.apply_disabled(&mut user, disabled, &actor).await
    }

    /// Stores `disabled` on `user`, revokes their refresh tokens when disabling, and records
    /// who did it. The one place an account is switched off or on.
    pub(super) async fn apply_disabled(
        &self,
        user: &mut User,
        disabled: bool,
        actor: &str,
    ) -> Result<(), DomainError> {
        user.disabled = disabled;
        user.updated_at = now();
        self.storage()
            .set_user_disabled(&user.id, disabled, user.updated_at)
            .await?;
        if disabled {
            self.storage()
                .revoke_user_refresh_tokens(&user.id, now())
                .await?;
            self.storage().delete_user_sessions(&user.id).await?;
        }
        let event = if disabled {
            "user.disabled"
        } else {
            "user.enabled"
        };
        let detail = format!("user {}", user.id);
        self.audit(event, "success", Some(actor), None, None, Some(&detail))
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert!(validate_password("short").is_err());
        assert!(validate_password("twelve chars").is_ok());
        assert!(
            validate_password("密码密码密码密码密码密码").is_ok(),
            "any Unicode, counted in characters"
        );
        assert!(validate_password(&"a".repeat(1025)).is_err());
    }

    #[test]
    fn username_rules() {
        assert!(validate_username("john.doe@example.com").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("a b").is_err());
        assert!(validate_username(&"a".repeat(65)).is_err());
    }
}
