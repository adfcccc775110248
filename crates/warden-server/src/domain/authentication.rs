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
//! | `hwk user pin mfa` | a device-bound passkey alone (backup-eligible flag off), user verified |
//! | `swk user pin mfa` | a synced passkey alone (backup-eligible flag on), user verified |
//! | `pwd hwk user pin mfa` | the password, then a passkey as the second factor |
//!
//! `hwk`/`swk` come from the BE flag of the authenticator data the passkey signed, never from
//! what the browser says about the authenticator (`authenticatorAttachment`). `pin` stands
//! for the user verification the passkey did (a PIN, or a biometric RFC 8176 cannot tell
//! apart here).
//!
//! The `acr` levels, weakest first ([`ACR_VALUES`] is in this order, and so is discovery's
//! `acr_values_supported`); each level implies the ones above it:
//!
//! | `acr` | meaning |
//! |---|---|
//! | [`ACR_PASSWORD`] | one factor: the password |
//! | [`ACR_MFA`] | two factors (RFC 8176 `mfa`): the password and a code, or a passkey |
//! | [`ACR_PHR`] | phishing-resistant (OpenID EAP ACR Values 1.0 `phr`): a passkey, bound to this origin, with user verification |
//! | [`ACR_PHRH`] | phishing-resistant and hardware-protected (`phrh`): a device-bound passkey (BE off) |
//!
//! An `acr_values` request is met by a login at or above the *weakest* level it names that
//! this server knows ([`weakest_acr_accepted`]): `acr_values=phr` makes a session that used
//! a TOTP code step up with a passkey, `acr_values` naming the multi-factor URI and `phr` does not.

use super::{DomainError, Warden};
use crate::storage::{Client, Storage, User};

/// RFC 8176 §2: password.
pub const AMR_PASSWORD: &str = "pwd";
/// RFC 8176 §2: one-time password (a TOTP code, or a single-use recovery code).
pub const AMR_OTP: &str = "otp";
/// RFC 8176 §2: multiple-factor authentication.
pub const AMR_MFA: &str = "mfa";
/// RFC 8176 §2: proof-of-possession of a hardware-secured key (a device-bound passkey).
pub const AMR_HWK: &str = "hwk";
/// RFC 8176 §2: proof-of-possession of a software-secured key (a synced passkey).
pub const AMR_SWK: &str = "swk";
/// RFC 8176 §2: user presence test.
pub const AMR_USER: &str = "user";
/// RFC 8176 §2: PIN or pattern (here: the passkey's user verification).
pub const AMR_PIN: &str = "pin";

/// The `acr` of a login with the password alone.
pub const ACR_PASSWORD: &str = "urn:warden:acr:pwd";
/// The `acr` of a login with two factors: OpenID PAPE's multi-factor policy URI, the value
/// other providers (Auth0) and the `warden` library's `Mfa` step-up marker use, so a
/// resource server's RFC 9470 challenge can be passed on to `/authorize` unchanged.
pub const ACR_MFA: &str = warden::MFA_ACR;
/// The `acr` of a login with a passkey (OpenID Enterprise Authentication Profile's ACR
/// Values 1.0: phishing-resistant).
pub const ACR_PHR: &str = "phr";
/// The `acr` of a login with a device-bound passkey (phishing-resistant, hardware-protected).
pub const ACR_PHRH: &str = "phrh";
/// Every `acr` this server emits, weakest first (discovery's `acr_values_supported`); a
/// level's index is its strength.
pub const ACR_VALUES: &[&str] = &[ACR_PASSWORD, ACR_MFA, ACR_PHR, ACR_PHRH];

/// The strength of [`ACR_MFA`] in [`ACR_VALUES`].
pub const LEVEL_MFA: usize = 1;
/// The strength of [`ACR_PHR`] in [`ACR_VALUES`].
pub const LEVEL_PHR: usize = 2;

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

    /// After a passkey alone, at `at`: possession (`hwk`, or `swk` when the signed
    /// authenticator data has the backup-eligible flag), presence and verification of the
    /// user, so two factors.
    pub fn passkey(at: i64, backup_eligible: bool) -> Self {
        Self {
            auth_time: at,
            amr: passkey_methods(backup_eligible)
                .iter()
                .chain(&[AMR_MFA])
                .map(|m| (*m).to_owned())
                .collect(),
        }
    }

    /// With a second factor `method` (an RFC 8176 value) just passed at `at`: `mfa` is added
    /// and `auth_time` moves to `at` (the last interactive authentication).
    pub fn with_second_factor(&self, method: &str, at: i64) -> Self {
        self.with_second_factors(&[method], at)
    }

    /// With a second factor that earned `methods` (RFC 8176 values) just passed at `at`.
    pub fn with_second_factors(&self, methods: &[&str], at: i64) -> Self {
        let mut amr = self.amr.clone();
        for value in methods.iter().chain(&[AMR_MFA]) {
            if !amr.iter().any(|v| v == value) {
                amr.push((*value).to_owned());
            }
        }
        Self { auth_time: at, amr }
    }

    /// Whether two factors were used.
    pub fn is_multi_factor(&self) -> bool {
        self.amr.iter().any(|v| v == AMR_MFA)
    }

    /// The level reached, as its index in [`ACR_VALUES`]: a passkey (`hwk`: device-bound,
    /// `swk`: synced) is phishing-resistant, two factors otherwise are `mfa`.
    pub fn acr_level(&self) -> usize {
        let has = |method: &str| self.amr.iter().any(|v| v == method);
        if has(AMR_HWK) && has(AMR_PIN) {
            3
        } else if has(AMR_SWK) && has(AMR_PIN) {
            LEVEL_PHR
        } else if self.is_multi_factor() {
            LEVEL_MFA
        } else {
            0
        }
    }

    /// The level reached.
    pub fn acr(&self) -> &'static str {
        ACR_VALUES[self.acr_level().min(ACR_VALUES.len() - 1)]
    }

    /// Whether a second factor was passed within [`RECENT_AUTHENTICATION_SECS`] of `now`.
    pub fn recent_second_factor(&self, now: i64) -> bool {
        self.is_multi_factor() && now.saturating_sub(self.auth_time) <= RECENT_AUTHENTICATION_SECS
    }
}

/// The RFC 8176 values a passkey earns, `mfa` aside.
pub fn passkey_methods(backup_eligible: bool) -> [&'static str; 3] {
    let key = if backup_eligible { AMR_SWK } else { AMR_HWK };
    [key, AMR_USER, AMR_PIN]
}

/// The weakest level (an index in [`ACR_VALUES`]) an `acr_values` request (space-separated,
/// in order of preference) accepts: any of the levels it names will do, and a stronger one
/// meets a weaker one. Values this server does not know are ignored (OpenID Connect Core
/// §3.1.2.1: `acr_values` is a voluntary claim); `None` when it names none it knows, which
/// asks for nothing.
pub fn weakest_acr_accepted(acr_values: &str) -> Option<usize> {
    acr_values
        .split(' ')
        .filter_map(|v| ACR_VALUES.iter().position(|known| *known == v))
        .min()
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

    /// Whether the user has a confirmed second factor: a confirmed TOTP authenticator, or a
    /// passkey while this server can check passkeys.
    pub async fn has_second_factor(&self, user_id: &str) -> Result<bool, DomainError> {
        Ok(self.has_totp(user_id).await? || self.has_usable_passkey(user_id).await?)
    }

    /// Whether the user has a confirmed TOTP authenticator.
    pub async fn has_totp(&self, user_id: &str) -> Result<bool, DomainError> {
        Ok(self
            .storage()
            .totp_factor(user_id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some()))
    }

    /// Whether the user has a passkey and this server can check it (passkeys are on).
    pub async fn has_usable_passkey(&self, user_id: &str) -> Result<bool, DomainError> {
        Ok(self.passkeys_enabled() && self.storage().count_passkeys(user_id).await? > 0)
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
    fn acr_values_ask_for_the_weakest_level_they_name() {
        assert_eq!(weakest_acr_accepted(ACR_MFA), Some(LEVEL_MFA));
        assert_eq!(
            weakest_acr_accepted(&format!("unknown {ACR_MFA}")),
            Some(LEVEL_MFA)
        );
        assert_eq!(
            weakest_acr_accepted(&format!("{ACR_MFA} {ACR_PASSWORD}")),
            Some(0)
        );
        assert_eq!(weakest_acr_accepted(ACR_PASSWORD), Some(0));
        assert_eq!(weakest_acr_accepted("phrh phr"), Some(LEVEL_PHR));
        assert_eq!(weakest_acr_accepted("phrh"), Some(3));
        assert_eq!(weakest_acr_accepted("urn:other:loa:3"), None);
        assert_eq!(weakest_acr_accepted(""), None);
    }

    #[test]
    fn passkeys_are_phishing_resistant_and_device_bound_ones_more() {
        let synced = Authentication::passkey(10, true);
        assert_eq!(synced.amr, ["swk", "user", "pin", "mfa"]);
        assert_eq!(synced.acr(), ACR_PHR);
        let bound = Authentication::passkey(10, false);
        assert_eq!(bound.amr, ["hwk", "user", "pin", "mfa"]);
        assert_eq!(bound.acr(), ACR_PHRH);
        let second = Authentication::password(5).with_second_factors(&passkey_methods(false), 9);
        assert_eq!(second.amr, ["pwd", "hwk", "user", "pin", "mfa"]);
        assert_eq!(second.acr(), ACR_PHRH);
        // A TOTP session steps up with a passkey: the levels only rise.
        let totp = Authentication::password(5).with_second_factor(AMR_OTP, 6);
        assert_eq!(totp.acr(), ACR_MFA);
        let up = totp.with_second_factors(&passkey_methods(true), 7);
        assert_eq!(up.amr, ["pwd", "otp", "mfa", "swk", "user", "pin"]);
        assert_eq!(up.acr(), ACR_PHR);
        assert_eq!(
            ACR_VALUES.iter().position(|v| *v == ACR_PHR),
            Some(LEVEL_PHR)
        );
    }
}
