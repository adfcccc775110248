//! What is remembered between the redirect to the provider and the callback.

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::SignInError;

/// A sign-in between its redirect and its callback: the values the callback is checked
/// against (`state`, `nonce`, the PKCE verifier) and where the browser goes afterwards.
///
/// It holds secrets (the PKCE verifier, the nonce): keep it server-side, never in a cookie
/// or a URL, and take it **once** — by [`state_key`](Self::state_key), the SHA-256 of the
/// `state` the callback brings back. [`SignIn`](super::SignIn) does all this; applications
/// that keep pending sign-ins in their own database serialize it (serde) and must delete the
/// row in the same statement that reads it.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub(crate) provider: String,
    pub(crate) state: String,
    pub(crate) nonce: Option<String>,
    pub(crate) code_verifier: String,
    pub(crate) redirect_uri: String,
    pub(crate) created_at: u64,
    pub(crate) return_to: Option<String>,
}

impl fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("provider", &self.provider)
            .field("created_at", &self.created_at)
            .field("return_to", &self.return_to)
            .finish_non_exhaustive()
    }
}

impl PendingSignIn {
    /// The provider the sign-in was started with.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Where the application asked to go after the sign-in.
    pub fn return_to(&self) -> Option<&str> {
        self.return_to.as_deref()
    }

    /// When the redirect was made, seconds since the Unix epoch.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The key to store it under: [`state_key`] of its `state`.
    pub fn state_key(&self) -> String {
        state_key(&self.state)
    }
}

/// The SHA-256 (lowercase hex) of a `state` value: what a pending sign-in is stored under,
/// so a leaked store does not hand out usable states.
///
/// ```
/// let key = warden::oauth_client::state_key("abc");
/// assert_eq!(key.len(), 64);
/// ```
pub fn state_key(state: &str) -> String {
    hex(digest::digest(&digest::SHA256, state.as_bytes()).as_ref())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// 32 random bytes in unpadded base64url (43 characters): `state`, `nonce`, PKCE verifiers
/// (RFC 7636 §4.1: 43–128 characters of the unreserved set) and binding cookies.
pub(crate) fn random_value() -> Result<String, SignInError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| SignInError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub(crate) fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    #[test]
    fn s256_matches_the_rfc_7636_example() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_values_are_43_unreserved_characters() {
        let a = random_value().unwrap();
        let b = random_value().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn debug_hides_the_secrets() {
        let pending = PendingSignIn {
            provider: "p".into(),
            state: "STATE-SECRET".into(),
            nonce: Some("NONCE-SECRET".into()),
            code_verifier: "VERIFIER-SECRET".into(),
            redirect_uri: "https://app/cb".into(),
            created_at: 1,
            return_to: None,
        };
        let shown = format!("{pending:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}
