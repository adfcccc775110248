//! Session ids (the cookie's value) and the digests stores keep them under.

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::SessionError;

/// Random bytes in a session id: 256 bits, twice OWASP's 128-bit minimum for session ids
/// (Session Management Cheat Sheet, "Session ID Entropy").
const ID_BYTES: usize = 32;

/// The length of an id in its cookie: 32 bytes in unpadded base64url.
pub const SESSION_ID_LEN: usize = 43;

/// An opaque session id: 256 bits from the operating system's generator (aws-lc-rs's
/// `SystemRandom`), sent as 43 characters of unpadded base64url in the session cookie.
///
/// It never leaves the cookie: stores see only its [`SessionKey`] (a SHA-256 digest), and
/// its `Debug` output is redacted.
///
/// ```
/// use warden::session::SessionId;
///
/// let id = SessionId::generate()?;
/// let cookie_value = id.as_str().to_owned();
/// assert_eq!(cookie_value.len(), 43);
/// let parsed = SessionId::parse(&cookie_value).expect("well formed");
/// assert_eq!(parsed.key(), id.key());
/// assert!(SessionId::parse("not an id").is_none());
/// # Ok::<(), warden::session::SessionError>(())
/// ```
#[derive(Clone)]
pub struct SessionId {
    encoded: String,
}

impl SessionId {
    /// A fresh id from the system's secure random generator.
    pub fn generate() -> Result<Self, SessionError> {
        let mut bytes = [0u8; ID_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SessionError::Random)?;
        let encoded = URL_SAFE_NO_PAD.encode(bytes);
        bytes.fill(0);
        Ok(Self { encoded })
    }

    /// Parses a cookie value: exactly [`SESSION_ID_LEN`] characters of unpadded base64url
    /// encoding 32 bytes, canonically. Anything else (longer, shorter, other characters,
    /// padding, non-canonical trailing bits) is `None`, before any store is asked.
    pub fn parse(value: &str) -> Option<Self> {
        if value.len() != SESSION_ID_LEN
            || !value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        let mut bytes = [0u8; ID_BYTES];
        // The engine refuses non-canonical encodings (non-zero trailing bits), so one id
        // has exactly one spelling.
        let decoded = URL_SAFE_NO_PAD.decode_slice(value, &mut bytes);
        bytes.fill(0);
        match decoded {
            Ok(ID_BYTES) => Some(Self {
                encoded: value.to_owned(),
            }),
            _ => None,
        }
    }

    /// The value sent in the cookie. A secret: a bearer credential for the session.
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    /// The key the session is stored under.
    pub fn key(&self) -> SessionKey {
        SessionKey::of(self)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId([redacted])")
    }
}

/// What a store keeps a session under: the SHA-256 digest of its id.
///
/// A dump of the store (a Redis `KEYS`, a database backup, a log line) therefore yields no
/// working cookie: turning a digest back into an id means inverting SHA-256. No key or salt
/// is needed for that, because the id is 256 random bits; salts and slow hashes exist for
/// guessable inputs like passwords. One digest per request costs well under a microsecond.
///
/// The lookup by digest is also what keeps the comparison of the cookie with stored ids
/// free of timing leaks: a store finds the entry by an equality on digests, and learning
/// how many leading bytes of a digest matched says nothing about the id.
///
/// ```
/// use warden::session::SessionId;
///
/// let id = SessionId::generate()?;
/// let key = id.key();
/// assert_eq!(key.to_hex().len(), 64);
/// assert!(!key.to_hex().contains(id.as_str()));
/// # Ok::<(), warden::session::SessionError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    fn of(id: &SessionId) -> Self {
        let digest = digest::digest(&digest::SHA256, id.encoded.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(digest.as_ref());
        Self(key)
    }

    /// The digest's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest in lowercase hexadecimal (64 characters), for key names and text columns.
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not a secret (see above), but a log line needs no more than a prefix.
        write!(
            f,
            "SessionKey({}…)",
            self.to_hex().get(..12).unwrap_or_default()
        )
    }
}

/// A fresh anti-CSRF token: 256 random bits, unpadded base64url.
pub(crate) fn random_token() -> Result<String, SessionError> {
    SessionId::generate().map(|id| id.encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_round_trip() {
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(a.as_str().len(), SESSION_ID_LEN);
        let parsed = SessionId::parse(a.as_str()).unwrap();
        assert_eq!(parsed.key(), a.key());
        assert_ne!(a.key(), b.key());
    }

    #[test]
    fn malformed_ids_are_refused() {
        let good = SessionId::generate().unwrap();
        let s = good.as_str();
        assert!(SessionId::parse("").is_none());
        assert!(SessionId::parse(&s[..42]).is_none());
        assert!(SessionId::parse(&format!("{s}A")).is_none());
        assert!(SessionId::parse(&format!("{}=", &s[..42])).is_none());
        assert!(SessionId::parse(&format!("{}+", &s[..42])).is_none());
        assert!(SessionId::parse(&"é".repeat(21)).is_none());
        // 43 characters carry 258 bits: the last character's two low bits must be zero
        // (canonical encoding); 'B' is index 1, so it is never canonical there.
        let noncanonical = format!("{}B", &s[..42]);
        assert!(SessionId::parse(&noncanonical).is_none());
    }

    #[test]
    fn debug_output_is_redacted() {
        let id = SessionId::generate().unwrap();
        assert!(!format!("{id:?}").contains(id.as_str()));
        let key = id.key();
        assert_eq!(format!("{key:?}").len(), "SessionKey(…)".len() + 12);
    }
}
