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

/// SHA-256 hex: how high-entropy secrets (client secrets, refresh tokens) are stored. A slow
/// hash adds nothing for 256-bit random values.
pub fn digest(secret: &str) -> String {
    let d = digest::digest(&digest::SHA256, secret.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in d.as_ref() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Whether `secret` hashes to `stored`, compared in constant time.
pub fn matches(secret: &str, stored: &str) -> bool {
    warden::constant_time_eq(digest(secret).as_bytes(), stored.as_bytes())
}
