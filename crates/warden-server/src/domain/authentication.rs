//! How a user authenticated: the RFC 8176 `amr` values of a login, the `acr` level they
//! reach, and the policy that decides when a second factor is required.
//!
//! A browser session, an authorization code and a refresh-token family each record their
//! `amr` (space-separated) and `auth_time`; tokens carry them as claims (OpenID Connect
//! Core §2), so a resource server can demand more (RFC 9470).
//!
//! | `amr` | after |
//! |---|---|
//! | `pwd` | the password alone |
//! | `pwd otp mfa` | the password and a TOTP code, or a recovery code |
//!
//! | `acr` | meaning |
//! |---|---|
//! | [`ACR_PASSWORD`] | one factor: the password |
//! | [`ACR_MFA`] | two factors (RFC 8176 `mfa`) |

use super::{DomainError, Warden};
use crate::storage::{Client, Storage, User};

/// RFC 8176 §2: password.
pub const AMR_PASSWORD: &str = "pwd";
/// RFC 8176 §2: one-time password (a TOTP code, or a single-use recovery code).
pub const AMR_OTP: &str = "otp";
/// RFC 8176 §2: multiple-factor authentication.
pub const AMR_MFA: &str = "mfa";

/// The `acr` of a login with the password alone.
pub const ACR_PASSWORD: &str = "urn:warden:acr:pwd";
/// The `acr` of a login with two factors: OpenID PAPE's multi-factor policy URI, the value
/// other providers (Auth0) and the `warden` library's `Mfa` step-up marker use, so a
/// resource server's RFC 9470 challenge can be passed on to `/authorize` unchanged.
pub const ACR_MFA: &str = warden::MFA_ACR;
/// Every `acr` this server emits, weakest first (discovery's `acr_values_supported`).
pub const ACR_VALUES: &[&str] = &[ACR_PASSWORD, ACR_MFA];

/// How long a login that passed the password but still owes a second factor may wait for
/// it: after that, the password is asked again.
pub const PENDING_SECOND_FACTOR_SECS: i64 = 600;

/// How recent a second factor must be to change the account's factors (ASVS 4.0.3 V2.5.x:
/// re-authentication before a change of authenticator).
pub const RECENT_AUTHENTICATION_SECS: i64 = 300;

/// How and when a user authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// When the user last authenticated interactively (Unix seconds).
    pub auth_time: i64,
    /// RFC 8176 values, in the order they were earned.
    pub amr: Vec<String>,
}

impl Authentication {
    /// After the password alone, at `at`.
    pub fn password(at: i64) -> Self {
        Self {
            auth_time: at,
            amr: vec![AMR_PASSWORD.to_owned()],
        }
    }

    /// From what storage keeps: the time and the space-separated values.
    pub fn stored(auth_time: i64, amr: &str) -> Self {
        Self {
            auth_time,
            amr: amr
                .split(' ')
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// The space-separated values, as stored.
    pub fn stored_amr(&self) -> String {
        self.amr.join(" ")
    }

    /// With a second factor `method` (an RFC 8176 value) just passed at `at`: `mfa` is added
    /// and `auth_time` moves to `at` (the last interactive authentication).
    pub fn with_second_factor(&self, method: &str, at: i64) -> Self {
        let mut amr = self.amr.clone();
        for value in [method, AMR_MFA] {
            if !amr.iter().any(|v| v == value) {
                amr.push(value.to_owned());
            }
        }
        Self { auth_time: at, amr }
    }

    /// Whether two factors were used.
    pub fn is_multi_factor(&self) -> bool {
        self.amr.iter().any(|v| v == AMR_MFA)
    }

    /// The level reached.
    pub fn acr(&self) -> &'static str {
        if self.is_multi_factor() {
            ACR_MFA
        } else {
            ACR_PASSWORD
        }
    }

    /// Whether a second factor was passed within [`RECENT_AUTHENTICATION_SECS`] of `now`.
    pub fn recent_second_factor(&self, now: i64) -> bool {
        self.is_multi_factor() && now.saturating_sub(self.auth_time) <= RECENT_AUTHENTICATION_SECS
    }
}

/// Whether an `acr_values` request (space-separated, in order of preference) can only be
/// met by two factors: every value it names that this server knows is [`ACR_MFA`]. Values
/// this server does not know are ignored (OpenID Connect Core §3.1.2.1: `acr_values` is a
/// voluntary claim); a request naming only unknown values asks for nothing.
pub fn acr_values_require_mfa(acr_values: &str) -> bool {
    let mut known = acr_values
        .split(' ')
        .filter(|v| ACR_VALUES.contains(v))
        .peekable();
    known.peek().is_some() && known.all(|v| v == ACR_MFA)
}

impl<S: Storage> Warden<S> {
    /// Whether `user` must sign in with a second factor: a role of theirs or the `client`
    /// requires it, or they have enrolled one.
    pub async fn second_factor_required(
        &self,
        user: &User,
        client: Option<&Client>,
    ) -> Result<bool, DomainError> {
        if self.policy_requires_mfa(user, client).await? {
            return Ok(true);
        }
        self.has_second_factor(&user.id).await
    }

    /// Whether a role of `user` or the `client` requires a second factor (enrolment is then
    /// forced at the next login).
    pub async fn policy_requires_mfa(
        &self,
        user: &User,
        client: Option<&Client>,
    ) -> Result<bool, DomainError> {
        if client.is_some_and(|c| c.require_mfa) {
            return Ok(true);
        }
        if user.roles.is_empty() {
            return Ok(false);
        }
        let roles = self.storage().roles(&user.roles).await?;
        Ok(roles.iter().any(|r| r.require_mfa))
    }

    /// Whether `how` is recent enough to change the user's factors: a second factor within
    /// [`RECENT_AUTHENTICATION_SECS`] or, while the user has none, a login within that time.
    /// `None` (an API key) never is.
    pub async fn check_recent_authentication(
        &self,
        user: &User,
        how: Option<&Authentication>,
    ) -> Result<(), DomainError> {
        let how = how.ok_or(DomainError::RecentAuthenticationRequired)?;
        let at = super::now();
        let recent = if self.has_second_factor(&user.id).await? {
            how.recent_second_factor(at)
        } else {
            at.saturating_sub(how.auth_time) <= RECENT_AUTHENTICATION_SECS
        };
        if recent {
            Ok(())
        } else {
            Err(DomainError::RecentAuthenticationRequired)
        }
    }

    /// Whether the user has a confirmed second factor.
    pub async fn has_second_factor(&self, user_id: &str) -> Result<bool, DomainError> {
        Ok(self
            .storage()
            .totp_factor(user_id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_factor_adds_mfa_and_moves_auth_time() {
        let login = Authentication::password(100);
        assert_eq!(login.acr(), ACR_PASSWORD);
        assert!(!login.is_multi_factor());
        let stepped = login.with_second_factor(AMR_OTP, 160);
        assert_eq!(stepped.amr, ["pwd", "otp", "mfa"]);
        assert_eq!(stepped.auth_time, 160);
        assert_eq!(stepped.acr(), ACR_MFA);
        assert_eq!(Authentication::stored(160, &stepped.stored_amr()), stepped);
        // Twice the same factor lists it once.
        assert_eq!(
            stepped.with_second_factor(AMR_OTP, 170).amr,
            ["pwd", "otp", "mfa"]
        );
    }

    #[test]
    fn recent_means_a_second_factor_within_five_minutes() {
        let stepped = Authentication::password(0).with_second_factor(AMR_OTP, 1000);
        assert!(stepped.recent_second_factor(1000 + RECENT_AUTHENTICATION_SECS));
        assert!(!stepped.recent_second_factor(1001 + RECENT_AUTHENTICATION_SECS));
        assert!(!Authentication::password(1000).recent_second_factor(1000));
    }

    #[test]
    fn acr_values_ask_for_mfa_only_when_nothing_weaker_is_acceptable() {
        assert!(acr_values_require_mfa(ACR_MFA));
        assert!(acr_values_require_mfa(&format!("unknown {ACR_MFA}")));
        assert!(!acr_values_require_mfa(&format!(
            "{ACR_MFA} {ACR_PASSWORD}"
        )));
        assert!(!acr_values_require_mfa(ACR_PASSWORD));
        assert!(!acr_values_require_mfa("urn:other:loa:3"));
        assert!(!acr_values_require_mfa(""));
    }
}
