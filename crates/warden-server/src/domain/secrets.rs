//! Random identifiers and secrets, and their stored digests.

use aws_lc_rs::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
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

/// Authenticated encryption of small secrets at rest (AES-256-GCM, a random 96-bit nonce per
/// message): `nonce ‖ ciphertext ‖ tag`, bound to a label (associated data) so a value
/// cannot be moved to another row.
pub struct Sealer(LessSafeKey);

impl Sealer {
    /// Seals under a 256-bit AES key.
    pub fn new(key: UnboundKey) -> Self {
        Self(LessSafeKey::new(key))
    }

    /// Encrypts `plaintext`, bound to `label`.
    pub fn seal(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, DomainError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| DomainError::Internal("random source failed"))?;
        let mut data = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(label.as_bytes()),
                &mut data,
            )
            .map_err(|_| DomainError::Internal("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Decrypts what [`seal`](Self::seal) made for `label`; `None` if it was made under
    /// another key or label, or altered.
    pub fn open(&self, label: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, data) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = data.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(label.as_bytes()), &mut data)
            .ok()?;
        Some(plain.to_vec())
    }
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
