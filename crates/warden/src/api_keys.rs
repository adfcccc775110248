//! API keys: a recognisable format with a public identifier and a 256-bit secret, stored hashed.
//!
//! A key reads `wdn_<id>_<secret><checksum>`, like GitHub's tokens ("Behind GitHub's new
//! authentication token formats", 2021):
//!
//! - `wdn` is the application's prefix, so a leaked key is recognised by people and by secret
//!   scanners, and keys of different applications are told apart;
//! - `<id>`: 11 base62 characters (65 random bits), public, the database's lookup key;
//! - `<secret>`: 43 base62 characters (256 random bits from the system's generator);
//! - `<checksum>`: CRC32 of everything before it, 6 base62 characters, so a mistyped or
//!   truncated key is refused before any database lookup, and scanners can discard
//!   look-alikes without asking anyone.
//!
//! Base62 and `_` keep the key one word: a double click selects all of it.
//!
//! Only the key's hash is stored: SHA-256, or HMAC-SHA-256 with a server-side pepper kept
//! outside the database (OWASP Password Storage Cheat Sheet, "Peppering"). A slow hash such
//! as argon2 would add nothing: nobody enumerates 2²⁵⁶ secrets, and it would put the cost of
//! a login on every request.
//!
//! ```
//! use warden::api_keys::ApiKeys;
//!
//! let keys = ApiKeys::new("wdn")?;
//!
//! // Creating a key: show `plaintext` to the user once, store `stored`.
//! let (plaintext, stored) = keys.generate()?;
//!
//! // On each request: parse (cheap, no I/O), look up by id, compare in constant time.
//! let parsed = keys.parse(plaintext.as_str())?;
//! assert_eq!(parsed.id(), stored.id); // the database lookup key
//! assert!(keys.verify(&parsed, &stored));
//!
//! assert!(keys.parse("wdn_typo").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use aws_lc_rs::{digest, hmac};

use crate::Denied;
use crate::secret::constant_time_eq;

/// The longest input [`ApiKeys::parse`] looks at, in bytes; anything longer is refused
/// before being read.
pub const MAX_KEY_LEN: usize = 256;

/// The longest prefix, in bytes.
pub const MAX_PREFIX_LEN: usize = 16;

/// Characters of the public identifier: 62¹¹ ≈ 2^65.5.
const ID_CHARS: usize = 11;
/// Characters of the secret: 62⁴³ ≈ 2^256.03, so at least 256 bits.
const SECRET_CHARS: usize = 43;
/// Characters of the CRC32: 62⁶ ≈ 2^35.7 ≥ 2³².
const CHECKSUM_CHARS: usize = 6;
/// `<id>_<secret><checksum>`.
const BODY_LEN: usize = ID_CHARS + 1 + SECRET_CHARS + CHECKSUM_CHARS;
/// The shortest pepper: HMAC-SHA-256's output length (RFC 2104 §3: "less than L bytes
/// … is strongly discouraged").
const MIN_PEPPER_LEN: usize = 32;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a key was refused before any lookup: all of these are typos, truncations or keys of
/// something else. The message never contains the input.
///
/// Converts into [`Denied::InvalidCredentials`] with `?` in a [`Principal`](crate::Principal).
///
/// ```
/// use warden::api_keys::{ApiKeyFormatError, ApiKeys};
///
/// let keys = ApiKeys::new("wdn").unwrap();
/// assert_eq!(keys.parse("ghp_0123").unwrap_err(), ApiKeyFormatError::WrongPrefix);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyFormatError {
    /// Longer than [`MAX_KEY_LEN`].
    #[error("API key too long")]
    TooLong,
    /// Does not start with `<prefix>_`.
    #[error("API key has the wrong prefix")]
    WrongPrefix,
    /// Right prefix, wrong length: truncated or extended.
    #[error("API key has the wrong length")]
    WrongLength,
    /// A character outside base62 where one is expected, or a missing `_`.
    #[error("API key contains an invalid character")]
    InvalidCharacter,
    /// The checksum does not match: a typo.
    #[error("API key checksum mismatch")]
    BadChecksum,
}

impl ApiKeyFormatError {
    /// A fixed description, for [`AuthError::MalformedCredentials`](crate::AuthError)'s
    /// `reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::TooLong => "API key too long",
            Self::WrongPrefix => "API key has the wrong prefix",
            Self::WrongLength => "API key has the wrong length",
            Self::InvalidCharacter => "API key contains an invalid character",
            Self::BadChecksum => "API key checksum mismatch",
        }
    }
}

impl From<ApiKeyFormatError> for Denied {
    fn from(_: ApiKeyFormatError) -> Self {
        Denied::InvalidCredentials
    }
}

/// Why [`ApiKeys`] could not be configured, or a key not generated.
///
/// ```
/// use warden::api_keys::{ApiKeyError, ApiKeys};
///
/// assert_eq!(ApiKeys::new("WDN").unwrap_err(), ApiKeyError::InvalidPrefix);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// The prefix is not 1 to 16 lowercase ASCII letters.
    #[error("API key prefix must be 1 to 16 lowercase ASCII letters")]
    InvalidPrefix,
    /// The pepper is shorter than 32 bytes.
    #[error("API key pepper must be at least 32 bytes")]
    ShortPepper,
    /// The system's random generator failed.
    #[error("random generator failed")]
    Random,
}

/// The key format of one application, and how its keys are hashed.
///
/// ```
/// use warden::api_keys::ApiKeys;
///
/// let pepper = [7u8; 32]; // from a secret store, not from the database
/// let keys = ApiKeys::new("acme")?.with_pepper(&pepper)?;
/// let (plaintext, stored) = keys.generate()?;
/// assert!(plaintext.as_str().starts_with("acme_"));
/// assert!(keys.verify(&keys.parse(plaintext.as_str())?, &stored));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ApiKeys {
    prefix: Box<str>,
    pepper: Option<hmac::Key>,
}

impl ApiKeys {
    /// Keys starting with `<prefix>_`, hashed with plain SHA-256. The prefix is 1 to 16
    /// lowercase ASCII letters.
    pub fn new(prefix: &str) -> Result<Self, ApiKeyError> {
        if prefix.is_empty()
            || prefix.len() > MAX_PREFIX_LEN
            || !prefix.bytes().all(|b| b.is_ascii_lowercase())
        {
            return Err(ApiKeyError::InvalidPrefix);
        }
        Ok(Self {
            prefix: prefix.into(),
            pepper: None,
        })
    }

    /// Hashes with HMAC-SHA-256 keyed by `pepper` (at least 32 bytes) instead: a copy of the
    /// database alone then does not even let anyone test a guessed key. Keys stored without
    /// the pepper (or with another) no longer verify.
    pub fn with_pepper(self, pepper: &[u8]) -> Result<Self, ApiKeyError> {
        if pepper.len() < MIN_PEPPER_LEN {
            return Err(ApiKeyError::ShortPepper);
        }
        Ok(Self {
            pepper: Some(hmac::Key::new(hmac::HMAC_SHA256, pepper)),
            ..self
        })
    }

    /// The prefix keys start with (before the `_`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether hashes are keyed with a pepper.
    pub fn is_keyed(&self) -> bool {
        self.pepper.is_some()
    }

    /// A new key: the plaintext, to show once, and what to store.
    ///
    /// ```
    /// # let keys = warden::api_keys::ApiKeys::new("wdn").unwrap();
    /// let (plaintext, stored) = keys.generate().unwrap();
    /// assert_eq!(plaintext.as_str().len(), "wdn_".len() + 11 + 1 + 43 + 6);
    /// assert_eq!(plaintext.id(), stored.id);
    /// ```
    pub fn generate(&self) -> Result<(PlaintextKey, StoredKey), ApiKeyError> {
        let mut key = String::with_capacity(self.prefix.len() + 1 + BODY_LEN);
        key.push_str(&self.prefix);
        key.push('_');
        push_random_base62(&mut key, ID_CHARS)?;
        key.push('_');
        push_random_base62(&mut key, SECRET_CHARS)?;
        let checksum = crc32fast::hash(key.as_bytes());
        push_base62_u32(&mut key, checksum);
        let plaintext = PlaintextKey(key);
        let parsed = self.split(plaintext.as_str());
        let stored = StoredKey {
            id: parsed.id.to_owned(),
            hash: self.hash(&parsed),
        };
        Ok((plaintext, stored))
    }

    /// Checks the format of `input` — length bound, prefix, length, alphabet, checksum —
    /// without any I/O, and borrows its parts.
    ///
    /// Refusing typos here keeps them away from the database: a mistyped key costs a CRC32.
    pub fn parse<'a>(&self, input: &'a str) -> Result<ParsedKey<'a>, ApiKeyFormatError> {
        if input.len() > MAX_KEY_LEN {
            return Err(ApiKeyFormatError::TooLong);
        }
        let body = input
            .strip_prefix(&*self.prefix)
            .and_then(|rest| rest.strip_prefix('_'))
            .ok_or(ApiKeyFormatError::WrongPrefix)?;
        if body.len() != BODY_LEN {
            return Err(ApiKeyFormatError::WrongLength);
        }
        // Every byte of the body is checked: base62 everywhere but one `_`.
        let separator_ok = body.as_bytes()[ID_CHARS] == b'_';
        let alphabet_ok = body
            .bytes()
            .enumerate()
            .all(|(i, b)| i == ID_CHARS || b.is_ascii_alphanumeric());
        if !separator_ok || !alphabet_ok {
            return Err(ApiKeyFormatError::InvalidCharacter);
        }
        // ASCII from here on, so byte offsets are character boundaries.
        let (signed, checksum) = input.split_at(input.len() - CHECKSUM_CHARS);
        if decode_base62_u32(checksum) != Some(crc32fast::hash(signed.as_bytes())) {
            return Err(ApiKeyFormatError::BadChecksum);
        }
        Ok(self.split(input))
    }

    /// The hash stored for `key`: SHA-256 (or HMAC-SHA-256 with the pepper) of
    /// `<id>_<secret>`. The prefix is left out, so renaming it keeps old keys' hashes valid;
    /// the id is in, so a hash cannot be moved to another row.
    pub fn hash(&self, key: &ParsedKey<'_>) -> [u8; 32] {
        let mut out = [0u8; 32];
        match &self.pepper {
            Some(pepper) => {
                let mut context = hmac::Context::with_key(pepper);
                context.update(key.id.as_bytes());
                context.update(b"_");
                context.update(key.secret.as_bytes());
                out.copy_from_slice(context.sign().as_ref());
            }
            None => {
                let mut context = digest::Context::new(&digest::SHA256);
                context.update(key.id.as_bytes());
                context.update(b"_");
                context.update(key.secret.as_bytes());
                out.copy_from_slice(context.finish().as_ref());
            }
        }
        out
    }

    /// Whether `key` is the one `stored` was made from. The hashes are compared in constant
    /// time ([`constant_time_eq`]); the id is public.
    pub fn verify(&self, key: &ParsedKey<'_>, stored: &StoredKey) -> bool {
        let same_hash = constant_time_eq(&self.hash(key), &stored.hash);
        let same_id = key.id == stored.id;
        same_hash & same_id
    }

    /// Splits a key already known to be well formed.
    fn split<'a>(&self, key: &'a str) -> ParsedKey<'a> {
        let body = &key[self.prefix.len() + 1..];
        ParsedKey {
            id: &body[..ID_CHARS],
            secret: &body[ID_CHARS + 1..ID_CHARS + 1 + SECRET_CHARS],
        }
    }
}

/// The prefix and whether a pepper is set; never the pepper.
impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("prefix", &self.prefix)
            .field("keyed", &self.is_keyed())
            .finish()
    }
}

/// A new key in full: show it to its owner once, then drop it. Debug prints it redacted,
/// and it has no `Display`, so it does not end up in logs by accident.
///
/// ```
/// # let keys = warden::api_keys::ApiKeys::new("wdn").unwrap();
/// let (plaintext, _) = keys.generate().unwrap();
/// assert!(!format!("{plaintext:?}").contains(plaintext.as_str()));
/// ```
pub struct PlaintextKey(String);

impl PlaintextKey {
    /// The key, to show to its owner.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The public identifier part.
    pub fn id(&self) -> &str {
        // `<prefix>_<id>_…`: the id follows the first `_`.
        let start = self.0.find('_').map_or(0, |i| i + 1);
        self.0.get(start..start + ID_CHARS).unwrap_or_default()
    }
}

impl fmt::Debug for PlaintextKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PlaintextKey").field(&"[redacted]").finish()
    }
}

/// Overwrites the key when dropped (best effort, no `zeroize` dependency).
impl Drop for PlaintextKey {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&mut bytes);
    }
}

/// A key read from a request, well formed and checksummed, borrowed from the input.
///
/// ```
/// # let keys = warden::api_keys::ApiKeys::new("wdn").unwrap();
/// # let (plaintext, _) = keys.generate().unwrap();
/// let parsed = keys.parse(plaintext.as_str()).unwrap();
/// assert_eq!(parsed.id().len(), 11);
/// assert!(format!("{parsed:?}").contains("[redacted]"));
/// ```
#[derive(Clone, Copy)]
pub struct ParsedKey<'a> {
    id: &'a str,
    secret: &'a str,
}

impl<'a> ParsedKey<'a> {
    /// The public identifier: look the stored key up by it.
    pub fn id(&self) -> &'a str {
        self.id
    }
}

impl fmt::Debug for ParsedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedKey")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// What the database keeps of a key: its public id (the lookup key) and its hash.
///
/// ```
/// use warden::api_keys::StoredKey;
///
/// let stored = StoredKey { id: "0123456789A".into(), hash: [0; 32] }; // as read from a row
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The public identifier, unique per key.
    pub id: String,
    /// SHA-256 or HMAC-SHA-256 of `<id>_<secret>` ([`ApiKeys::hash`]).
    pub hash: [u8; 32],
}

/// Appends `count` uniformly random base62 characters.
fn push_random_base62(out: &mut String, count: usize) -> Result<(), ApiKeyError> {
    // Rejection sampling: bytes below 248 = 4·62 map uniformly onto 0..62; the rest (3 %)
    // are drawn again, so no character is likelier than another.
    let mut pushed = 0;
    let mut random = [0u8; 64];
    while pushed < count {
        aws_lc_rs::rand::fill(&mut random).map_err(|_| ApiKeyError::Random)?;
        for &byte in random.iter().filter(|&&b| b < 248) {
            if pushed == count {
                break;
            }
            out.push(char::from(BASE62[usize::from(byte % 62)]));
            pushed += 1;
        }
    }
    random.fill(0);
    Ok(())
}

/// Appends `value` as exactly [`CHECKSUM_CHARS`] base62 digits, most significant first.
fn push_base62_u32(out: &mut String, value: u32) {
    let mut digits = [b'0'; CHECKSUM_CHARS];
    let mut rest = u64::from(value);
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(rest % 62) as usize];
        rest /= 62;
    }
    out.extend(digits.iter().map(|&d| char::from(d)));
}

/// Reads base62 digits; `None` for a non-base62 digit or a value above `u32::MAX`.
fn decode_base62_u32(digits: &str) -> Option<u32> {
    let mut value: u64 = 0;
    for byte in digits.bytes() {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'A'..=b'Z' => byte - b'A' + 10,
            b'a'..=b'z' => byte - b'a' + 36,
            _ => return None,
        };
        value = value * 62 + u64::from(digit);
    }
    u32::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_checksum_round_trips_at_fixed_width() {
        for value in [0, 1, 61, 62, 0xDEAD_BEEF, u32::MAX] {
            let mut s = String::new();
            push_base62_u32(&mut s, value);
            assert_eq!(s.len(), CHECKSUM_CHARS);
            assert_eq!(decode_base62_u32(&s), Some(value));
        }
        assert_eq!(decode_base62_u32("zzzzzz"), None); // 62⁶ − 1 > u32::MAX
        assert_eq!(decode_base62_u32("00000-"), None);
    }

    #[test]
    fn widths_hold_the_promised_entropy() {
        assert!(ID_CHARS as f64 * 62f64.log2() >= 64.0);
        assert!(SECRET_CHARS as f64 * 62f64.log2() >= 256.0);
        assert!(62u64.pow(CHECKSUM_CHARS as u32) > u64::from(u32::MAX));
    }

    #[test]
    fn random_characters_cover_the_alphabet() {
        let mut s = String::new();
        push_random_base62(&mut s, 62 * 50).unwrap();
        for &c in BASE62 {
            assert!(s.contains(char::from(c)), "{}", char::from(c));
        }
    }

    #[test]
    fn prefixes_are_validated() {
        for bad in ["", "Wdn", "wdn_", "w1", "abcdefghijklmnopq", "wdné"] {
            assert_eq!(ApiKeys::new(bad).unwrap_err(), ApiKeyError::InvalidPrefix);
        }
        assert!(ApiKeys::new("abcdefghijklmnop").is_ok());
    }

    #[test]
    fn plaintext_id_matches_stored_id() {
        let keys = ApiKeys::new("wdn").unwrap();
        let (plaintext, stored) = keys.generate().unwrap();
        assert_eq!(plaintext.id(), stored.id);
    }
}
