//! Server-provided nonces (RFC 9449 §8, §9): stateless, so every instance sharing the
//! secret accepts the nonces of the others.

use std::time::Duration;

use aws_lc_rs::{hmac, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::secret::constant_time_eq;

/// The default lifetime of a nonce's time step.
pub const DEFAULT_NONCE_STEP: Duration = Duration::from_secs(60);

/// Issues and checks DPoP nonces: a nonce is the time step it was made in, authenticated
/// with HMAC-SHA-256 under a secret, and is accepted during its step and the next one. No
/// state is kept, nothing needs sharing between instances except the secret.
///
/// With nonces on, a proof made without the current nonce is refused with `use_dpop_nonce`
/// and the answer carries a fresh one in `DPoP-Nonce`; a client retries with it (RFC 9449
/// §8.1 at an authorization server, §9 at a resource). A proof then cannot be made in
/// advance and kept for later, whatever its `iat` says.
///
/// ```
/// use warden::dpop::Nonces;
///
/// let nonces = Nonces::new(&[7; 32]);
/// let nonce = nonces.issue();
/// assert!(nonces.accepts(&nonce));
/// assert!(!Nonces::new(&[8; 32]).accepts(&nonce)); // another secret
/// ```
#[derive(Clone)]
pub struct Nonces {
    key: hmac::Key,
    step: u64,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nonces")
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

/// The bytes of a nonce: the step (8) and a truncated tag (16).
const NONCE_BYTES: usize = 24;

impl Nonces {
    /// Nonces authenticated by `secret` (at least 32 bytes: share it between the instances
    /// behind one URL), each valid for [`DEFAULT_NONCE_STEP`] to twice that.
    ///
    /// # Panics
    ///
    /// If `secret` is shorter than 32 bytes: a configuration error, found at start-up.
    pub fn new(secret: &[u8]) -> Self {
        assert!(
            secret.len() >= 32,
            "a DPoP nonce secret needs at least 32 bytes"
        );
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            step: DEFAULT_NONCE_STEP.as_secs(),
        }
    }

    /// Nonces under a fresh random secret: for a single instance.
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        // aws-lc-rs' system random source does not fail on supported platforms; a failure
        // leaves a zero key, which still authenticates but is predictable, so refuse it.
        if rand::fill(&mut secret).is_err() {
            panic!("the system random source failed");
        }
        Self::new(&secret)
    }

    /// Sets how long a time step lasts (at least one second); a nonce lives one to two steps.
    pub fn step(mut self, step: Duration) -> Self {
        self.step = step.as_secs().max(1);
        self
    }

    /// The current nonce.
    pub fn issue(&self) -> String {
        self.issue_at(crate::jwt::now_secs())
    }

    pub(crate) fn issue_at(&self, now: u64) -> String {
        self.nonce_for(now / self.step)
    }

    fn nonce_for(&self, step: u64) -> String {
        let step = step.to_be_bytes();
        let tag = hmac::sign(&self.key, &step);
        let mut bytes = [0u8; NONCE_BYTES];
        bytes[..8].copy_from_slice(&step);
        bytes[8..].copy_from_slice(&tag.as_ref()[..NONCE_BYTES - 8]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Whether `nonce` was issued under this secret in the current or the previous step.
    pub fn accepts(&self, nonce: &str) -> bool {
        self.accepts_at(nonce, crate::jwt::now_secs())
    }

    pub(crate) fn accepts_at(&self, nonce: &str, now: u64) -> bool {
        if nonce.len() != 32 {
            return false;
        }
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let Ok(step) = <[u8; 8]>::try_from(&bytes[..8]) else {
            return false;
        };
        let step = u64::from_be_bytes(step);
        let current = now / self.step;
        if step != current && step.saturating_add(1) != current {
            return false;
        }
        constant_time_eq(self.nonce_for(step).as_bytes(), nonce.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lives_one_to_two_steps() {
        let nonces = Nonces::new(&[1; 32]);
        let nonce = nonces.issue_at(120);
        assert!(nonces.accepts_at(&nonce, 120));
        assert!(nonces.accepts_at(&nonce, 179));
        assert!(nonces.accepts_at(&nonce, 239));
        assert!(!nonces.accepts_at(&nonce, 240), "two steps later");
        assert!(!nonces.accepts_at(&nonce, 60), "before it was issued");
    }

    #[test]
    fn forged_and_malformed_nonces_are_refused() {
        let nonces = Nonces::new(&[1; 32]);
        let nonce = nonces.issue_at(600);
        let mut forged = nonce.clone().into_bytes();
        forged[31] = if forged[31] == b'A' { b'B' } else { b'A' };
        assert!(!nonces.accepts_at(std::str::from_utf8(&forged).unwrap(), 600));
        for bad in [
            "",
            "abc",
            &"A".repeat(32),
            &"!".repeat(32),
            &format!("{nonce}A"),
        ] {
            assert!(!nonces.accepts_at(bad, 600), "{bad:?}");
        }
    }
}
