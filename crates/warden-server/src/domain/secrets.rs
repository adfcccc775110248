//! Random identifiers and secrets, and their stored digests.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::DomainError;

/// `bytes` random bytes, base64url.
pub fn random(bytes: usize) -> Result<String, DomainError> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| DomainError::Internal("random source failed"))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// Derives each refresh token's successor from the token itself: HMAC-SHA-256 under a key
/// that every instance derives from the master key, base64url like [`random`]. Unpredictable
/// to anyone without that key, and the same on every instance, so a retried refresh is
/// answered with the same successor without storing a token in clear.
pub struct RefreshSuccessors(aws_lc_rs::hmac::Key);

impl RefreshSuccessors {
    /// Successors under `key`.
    pub fn new(key: aws_lc_rs::hmac::Key) -> Self {
        Self(key)
    }

    /// The successor of the refresh token `value`.
    pub fn successor(&self, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&self.0, value.as_bytes()))
    }
}

/// SHA-256 hex: how high-entropy secrets (client secrets, refresh tokens) are stored. A slow
/// hash adds nothing for 256-bit random values.
pub fn digest(secret: &str) -> String {
    let d = digest::digest(&digest::SHA256, secret.as_bytes());
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(d.as_ref());
    to_hex(&bytes)
}

/// Whether `secret` hashes to `stored`, compared in constant time.
pub fn matches(secret: &str, stored: &str) -> bool {
    warden::constant_time_eq(digest(secret).as_bytes(), stored.as_bytes())
}

/// Lowercase hex of a hash, as stored.
pub fn to_hex(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// A stored hex hash back to bytes; `None` if the column is not 64 hex digits.
pub fn from_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_lowercase_sha256_hex() {
        // FIPS 180-2 Appendix B.1: SHA-256("abc"). Stored digests depend on this exact form.
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(matches("abc", &digest("abc")));
        assert!(!matches("abd", &digest("abc")));
    }
}
