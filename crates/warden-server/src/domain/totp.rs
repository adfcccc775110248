//! The TOTP second factor (RFC 6238): enrolment confirmed by a first valid code, codes
//! accepted once, failures throttled like passwords.
//!
//! The secret is stored encrypted (AES-256-GCM under a key derived from the master key,
//! bound to the user id). A code is accepted by one conditional `UPDATE` that raises the
//! last used time step (RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of
//! the same OTP"), so of two racing submissions exactly one wins, and a code older than
//! one already used is refused too.

use warden::totp::Totp;

use super::authentication::AMR_OTP;
use super::{DomainError, Warden, now};
use crate::storage::{Storage, User};

/// The `issuer` shown in authenticator apps.
const ISSUER: &str = "Warden";

/// A pending enrolment: what the user scans or types into an authenticator app.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    /// The `otpauth://` URI.
    pub uri: String,
    /// The secret in base32, to type by hand.
    pub secret: String,
    /// The URI as a QR code (SVG, safe to inline).
    pub qr_svg: String,
}

/// Which second factor a code passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    /// A recovery code; how many are left after it.
    RecoveryCode {
        left: u64,
    },
}

impl SecondFactor {
    /// The RFC 8176 value it earns: `otp` for both (a recovery code is a one-time
    /// password the user wrote down).
    pub fn amr(self) -> &'static str {
        AMR_OTP
    }
}

/// How long a started enrolment is shown again rather than replaced.
const PENDING_ENROLMENT_SECS: i64 = 600;

/// The longest code field read (a TOTP code is 6 digits, a recovery code 29 characters).
const MAX_CODE_BYTES: usize = 64;

impl<S: Storage> Warden<S> {
    fn totp_for(&self, user: &User, secret: &[u8]) -> Result<Totp, DomainError> {
        Totp::from_secret(secret, ISSUER, &user.username)
            .map_err(|_| DomainError::Internal("unusable TOTP secret"))
    }

    /// Starts (or restarts) TOTP enrolment: a new secret, pending until
    /// [`confirm_totp`](Self::confirm_totp). `Conflict`-like [`DomainError::Forbidden`]
    /// when the user already has a confirmed authenticator (remove it first).
    pub async fn start_totp_enrolment(&self, user: &User) -> Result<TotpEnrolment, DomainError> {
        let sealer = self.factor_sealer()?;
        // A pending enrolment started recently is shown again (a mistyped first code does
        // not make the user scan a new one); an older one is replaced.
        if let Some(pending) = self.storage().totp_factor(&user.id).await?
            && pending.confirmed_at.is_none()
            && now().saturating_sub(pending.created_at) <= PENDING_ENROLMENT_SECS
            && let Some(secret) = sealer.open(&user.id, &pending.encrypted_secret)
        {
            let totp = self.totp_for(user, &secret)?;
            return Ok(TotpEnrolment {
                uri: totp.uri(),
                secret: totp.secret_base32(),
                qr_svg: totp.qr_svg(),
            });
        }
        let totp = Totp::generate(ISSUER, &user.username)
            .map_err(|_| DomainError::Internal("could not make a TOTP secret"))?;
        let sealed = sealer.seal(&user.id, totp.secret())?;
        if !self
            .storage()
            .put_pending_totp(&user.id, &sealed, now())
            .await?
        {
            return Err(DomainError::Forbidden);
        }
        Ok(TotpEnrolment {
            uri: totp.uri(),
            secret: totp.secret_base32(),
            qr_svg: totp.qr_svg(),
        })
    }

    /// Confirms a pending enrolment with a first valid code; the first confirmed factor
    /// also gets a set of recovery codes, returned once. Audited.
    pub async fn confirm_totp(
        &self,
        user: &User,
        code: &str,
        ip: Option<&str>,
    ) -> Result<Option<Vec<String>>, DomainError> {
        let Some(factor) = self.storage().totp_factor(&user.id).await? else {
            return Err(DomainError::InvalidRequest("no TOTP enrolment was started"));
        };
        if factor.confirmed_at.is_some() {
            return Err(DomainError::InvalidRequest("TOTP is already set up"));
        }
        self.check_totp_code(user, &factor.encrypted_secret, code, true, ip)
            .await?;
        self.audit(
            "mfa.totp_enrolled",
            "success",
            Some(&user.id),
            None,
            ip,
            None,
        )
        .await;
        if self.storage().recovery_codes_left(&user.id).await? == 0 {
            return Ok(Some(self.new_recovery_codes(user, ip).await?));
        }
        Ok(None)
    }

    /// Checks a second-factor code at login: a TOTP code (six digits) or a recovery code.
    /// Failures count in the same per-account and per-address budgets as passwords, and
    /// are audited.
    pub async fn verify_second_factor(
        &self,
        user: &User,
        code: &str,
        client_id: Option<&str>,
        ip: Option<&str>,
    ) -> Result<SecondFactor, DomainError> {
        let code = code.trim();
        if code.is_empty() || code.len() > MAX_CODE_BYTES {
            return Err(DomainError::InvalidCode);
        }
        let attempt = self.inner.throttle.check(&user.username, ip).await?;
        let result = if code.bytes().all(|b| b.is_ascii_digit() || b == b' ') {
            match self.storage().totp_factor(&user.id).await? {
                Some(factor) if factor.confirmed_at.is_some() => self
                    .check_totp_code(user, &factor.encrypted_secret, code, false, ip)
                    .await
                    .map(|()| SecondFactor::Totp),
                _ => Err(DomainError::InvalidCode),
            }
        } else {
            self.use_recovery_code(user, code, ip)
                .await
                .map(|left| SecondFactor::RecoveryCode { left })
        };
        match &result {
            Err(DomainError::InvalidCode) => {
                self.audit(
                    "mfa.failure",
                    "failure",
                    Some(&user.id),
                    client_id,
                    ip,
                    None,
                )
                .await;
            }
            _ => self.inner.throttle.refund(attempt).await,
        }
        result
    }

    /// Verifies `code` against the sealed secret and takes its time step.
    async fn check_totp_code(
        &self,
        user: &User,
        sealed: &[u8],
        code: &str,
        confirming: bool,
        ip: Option<&str>,
    ) -> Result<(), DomainError> {
        let secret = self
            .factor_sealer()?
            .open(&user.id, sealed)
            .ok_or(DomainError::Internal(
                "a stored TOTP secret does not decrypt with this master key",
            ))?;
        let totp = self.totp_for(user, &secret)?;
        let at = now();
        let Some(step) = totp.verify(code, u64::try_from(at).unwrap_or(0)) else {
            return Err(DomainError::InvalidCode);
        };
        let step = i64::try_from(step).map_err(|_| DomainError::InvalidCode)?;
        if self
            .storage()
            .use_totp_step(&user.id, step, at, confirming)
            .await?
        {
            Ok(())
        } else {
            // A valid code whose step was already used (a replay, or a race lost): an attack
            // signal worth its own audit line.
            self.audit(
                "mfa.totp_replayed",
                "failure",
                Some(&user.id),
                None,
                ip,
                None,
            )
            .await;
            Err(DomainError::InvalidCode)
        }
    }

    /// Removes the user's TOTP authenticator, and the recovery codes unless a passkey
    /// remains (the caller checked that a recent second factor allows it). Audited.
    pub async fn remove_totp(&self, user: &User, ip: Option<&str>) -> Result<bool, DomainError> {
        let removed = self.storage().delete_totp(&user.id).await?;
        if self.storage().count_passkeys(&user.id).await? == 0 {
            self.storage().delete_recovery_codes(&user.id).await?;
        }
        if removed {
            self.audit(
                "mfa.totp_removed",
                "success",
                Some(&user.id),
                None,
                ip,
                None,
            )
            .await;
        }
        Ok(removed)
    }

    /// Whether the user has a confirmed TOTP authenticator, how many passkeys and how many
    /// recovery codes are left.
    pub async fn second_factors(&self, user: &User) -> Result<(bool, u64, u64), DomainError> {
        let totp = self.has_totp(&user.id).await?;
        let passkeys = self.storage().count_passkeys(&user.id).await?;
        let left = self.storage().recovery_codes_left(&user.id).await?;
        Ok((totp, passkeys, left))
    }
}
