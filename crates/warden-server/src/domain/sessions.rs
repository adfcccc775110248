//! Browser sessions at the authorization endpoint and the anti-CSRF tokens of its forms.
//!
//! A session is a random 256-bit cookie value, stored as its SHA-256 (like refresh tokens),
//! so a copy of the database does not log anyone in. Forms carry an HMAC of a second random
//! cookie (OWASP's signed double-submit cookie): a cross-site page can neither read that
//! cookie nor compute the HMAC, whose key is derived from the master key, so every instance
//! agrees on it.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::authentication::Authentication;
use super::{DomainError, Warden, now, secrets};
use crate::storage::{BrowserSession, Storage, User};

/// A new session's cookie value (shown once, to the browser).
#[derive(Debug)]
pub struct SessionCookie(pub String);

/// A fresh value for the anti-CSRF cookie (256 random bits).
pub fn new_csrf_cookie() -> Result<String, DomainError> {
    secrets::random(32)
}

/// The longest cookie value looked up.
const MAX_COOKIE_BYTES: usize = 128;

impl<S: Storage> Warden<S> {
    /// Starts a browser session for `user`, who has just authenticated as `how`.
    pub async fn start_session(
        &self,
        user: &User,
        how: &Authentication,
    ) -> Result<(SessionCookie, BrowserSession), DomainError> {
        let value = secrets::random(32)?;
        let at = now();
        let session = BrowserSession {
            id_hash: secrets::digest(&value),
            user_id: user.id.clone(),
            auth_time: how.auth_time,
            expires_at: at
                .saturating_add(i64::try_from(self.config().session_ttl).unwrap_or(i64::MAX)),
            amr: how.stored_amr(),
        };
        self.storage().insert_session(&session).await?;
        Ok((SessionCookie(value), session))
    }

    /// Raises a session after a second factor that earned `methods` (RFC 8176 values): a new
    /// session (a new cookie value, OWASP's rule for a change of privilege level) replaces
    /// `old`.
    pub async fn raise_session(
        &self,
        old: &BrowserSession,
        user: &User,
        methods: &[&str],
    ) -> Result<(SessionCookie, BrowserSession), DomainError> {
        let how =
            Authentication::stored(old.auth_time, &old.amr).with_second_factors(methods, now());
        let raised = self.start_session(user, &how).await?;
        self.storage().delete_session(&old.id_hash).await?;
        Ok(raised)
    }

    /// The live session a cookie names, with its (enabled) user.
    pub async fn session(
        &self,
        value: &str,
    ) -> Result<Option<(BrowserSession, User)>, DomainError> {
        if value.is_empty() || value.len() > MAX_COOKIE_BYTES {
            return Ok(None);
        }
        let Some(session) = self
            .storage()
            .session_by_hash(&secrets::digest(value))
            .await?
        else {
            return Ok(None);
        };
        if session.expires_at <= now() {
            return Ok(None);
        }
        let user = self.storage().user_by_id(&session.user_id).await?;
        Ok(user.filter(|u| !u.disabled).map(|user| (session, user)))
    }

    /// Ends the session a cookie names (logout).
    pub async fn end_session(&self, value: &str) -> Result<(), DomainError> {
        if !value.is_empty() && value.len() <= MAX_COOKIE_BYTES {
            self.storage()
                .delete_session(&secrets::digest(value))
                .await?;
        }
        Ok(())
    }

    /// The form token for the anti-CSRF cookie value `cookie`.
    pub fn form_token(&self, cookie: &str) -> String {
        let tag = hmac::sign(&self.inner.form_key, cookie.as_bytes());
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// Whether a form's token belongs to the browser's anti-CSRF cookie (constant time).
    pub fn form_token_valid(&self, cookie: Option<&str>, token: Option<&str>) -> bool {
        let (Some(cookie), Some(token)) = (cookie, token) else {
            return false;
        };
        if cookie.is_empty() || cookie.len() > MAX_COOKIE_BYTES {
            return false;
        }
        let Ok(tag) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        hmac::verify(&self.inner.form_key, cookie.as_bytes(), &tag).is_ok()
    }
}
