//! The signature algorithms Warden signs and verifies with (RFC 7518 §3, RFC 8037 §3.1).

use std::fmt;

/// A JWS algorithm. Each key has exactly one; a token is only ever checked with its key's
/// algorithm, whatever its header says (RFC 8725 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Ed25519 signatures (RFC 8037). The default: small keys, fast, deterministic.
    EdDSA,
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4).
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3); what OpenID Connect requires every
    /// provider to support for ID tokens. Keys of 2048 to 8192 bits.
    RS256,
    /// HMAC with SHA-256 (RFC 7518 §3.2). A shared secret of at least 256 bits: whoever
    /// can verify can also sign, so only for a single service.
    HS256,
}

impl Algorithm {
    /// The `alg` value (RFC 7518 §3.1).
    pub const fn name(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::HS256 => "HS256",
        }
    }

    /// The algorithm named `name`, compared exactly (`alg` values are case-sensitive).
    ///
    /// ```
    /// use warden::jwt::Algorithm;
    /// assert_eq!(Algorithm::from_name("ES256"), Some(Algorithm::ES256));
    /// assert_eq!(Algorithm::from_name("none"), None);
    /// assert_eq!(Algorithm::from_name("hs256"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "EdDSA" => Some(Self::EdDSA),
            "ES256" => Some(Self::ES256),
            "RS256" => Some(Self::RS256),
            "HS256" => Some(Self::HS256),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
