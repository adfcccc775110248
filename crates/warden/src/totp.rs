//! Time-based one-time passwords (RFC 6238): the second factor of authenticator apps.
//!
//! A [`Totp`] is one user's shared secret with the issuer and account names an authenticator
//! app shows. Enrolment shows [`Totp::qr_svg`] (or [`Totp::secret_base32`] to type by hand)
//! and stores [`Totp::secret`]; a login checks the code with [`Totp::verify`].
//!
//! The parameters are the ones every authenticator app supports: HMAC-SHA-1, 6 digits,
//! 30-second steps, ±1 step of clock skew (RFC 6238 §5.2). The HMAC and the dynamic
//! truncation are computed by the `totp-rs` crate; the secret is wiped from memory when the
//! `Totp` is dropped.
//!
//! ```
//! use warden::totp::Totp;
//!
//! // Enrolment: a new secret, shown as a QR code; the bytes go to the database.
//! let totp = Totp::generate("Warden", "alice@example.com")?;
//! let svg: String = totp.qr_svg();
//! let stored: Vec<u8> = totp.secret().to_vec();
//!
//! // Login: the stored secret, and the code the user typed.
//! let totp = Totp::from_secret(&stored, "Warden", "alice@example.com")?;
//! let now = 1_700_000_000;
//! let code = totp.code_at(now); // what the user's app shows at `now`
//! let step = totp.verify(&code, now).expect("valid now");
//! // Accept it only if `step` is later than the last step accepted for this user (and store
//! // it, in one conditional update): RFC 6238 §5.2, a code is valid once.
//! # let _ = (svg, step);
//! # Ok::<(), warden::totp::TotpError>(())
//! ```

use std::fmt;

use qrcodegen::{QrCode, QrCodeEcc};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroize;

/// The shortest secret, in bytes: RFC 4226 §4, "The length of the shared secret MUST be at
/// least 128 bits".
pub const MIN_SECRET_BYTES: usize = 16;

/// The longest secret, in bytes (512 bits, HMAC-SHA-1's block size: longer keys are hashed
/// first and gain nothing).
pub const MAX_SECRET_BYTES: usize = 64;

/// The longest issuer or account name, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;

/// The length of a secret [`Totp::generate`] makes: 160 bits, as RFC 4226 §4 recommends.
const GENERATED_SECRET_BYTES: usize = 20;

/// Modules of light border around the QR code (ISO/IEC 18004 asks for 4).
const QUIET_ZONE: i32 = 4;

/// Longer input is refused by [`Totp::verify`] before it is read.
const MAX_CODE_INPUT: usize = 32;

/// Why a [`Totp`] could not be made.
///
/// ```
/// use warden::totp::{Totp, TotpError};
///
/// assert_eq!(
///     Totp::from_secret(&[0; 10], "Warden", "alice").unwrap_err(),
///     TotpError::SecretLength { len: 10 },
/// );
/// assert!(matches!(Totp::generate("War:den", "alice"), Err(TotpError::InvalidIssuer { .. })));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// The secret is not 16 to 64 bytes long.
    #[error("TOTP secret must be 16 to 64 bytes, not {len}")]
    SecretLength {
        /// The length given.
        len: usize,
    },
    /// The system's random generator failed.
    #[error("random generator failed")]
    Random,
    /// The issuer is empty, longer than 256 bytes, or contains `:` or a control character.
    #[error("TOTP issuer {reason}")]
    InvalidIssuer {
        /// A fixed description of the defect.
        reason: &'static str,
    },
    /// The account name is empty, longer than 256 bytes, or contains `:` or a control
    /// character.
    #[error("TOTP account name {reason}")]
    InvalidAccount {
        /// A fixed description of the defect.
        reason: &'static str,
    },
}

/// One user's TOTP secret, with the issuer and account names an authenticator app shows:
/// HMAC-SHA-1, 6 digits, 30-second steps (RFC 6238).
///
/// The secret is wiped from memory on drop, and never shown by `Debug`.
///
/// ```
/// use warden::totp::Totp;
///
/// // RFC 6238 Appendix B's SHA-1 secret.
/// let totp = Totp::from_secret(b"12345678901234567890", "Warden", "alice@example.com")?;
/// assert_eq!(totp.code_at(59), "287082");
/// assert_eq!(totp.verify("287 082", 59), Some(1)); // spaces are ignored
/// assert_eq!(totp.verify("287082", 59 + 30), Some(1)); // one step late: still accepted
/// assert_eq!(totp.verify("287082", 59 + 60), None); // two steps late: refused
/// assert!(!format!("{totp:?}").contains("12345678901234567890"));
/// # Ok::<(), warden::totp::TotpError>(())
/// ```
#[derive(Clone)]
pub struct Totp {
    inner: totp_rs::Totp,
    issuer: String,
    account: String,
}

impl Totp {
    /// Digits of a code.
    pub const DIGITS: usize = 6;
    /// Seconds of a time step.
    pub const PERIOD: u64 = 30;

    /// A new random 160-bit secret (RFC 4226 §4 recommends 160 bits), from the system's
    /// generator.
    ///
    /// # Errors
    /// [`TotpError::InvalidIssuer`] or [`TotpError::InvalidAccount`] for a name an otpauth
    /// URI cannot carry (see [`from_secret`](Self::from_secret)); [`TotpError::Random`] when
    /// the system's generator fails.
    ///
    /// ```
    /// use warden::totp::Totp;
    ///
    /// let totp = Totp::generate("Warden", "alice@example.com")?;
    /// assert_eq!(totp.secret().len(), 20);
    /// # Ok::<(), warden::totp::TotpError>(())
    /// ```
    pub fn generate(issuer: &str, account: &str) -> Result<Totp, TotpError> {
        // Checked first, so a bad name costs no randomness.
        check_label(issuer).map_err(|reason| TotpError::InvalidIssuer { reason })?;
        check_label(account).map_err(|reason| TotpError::InvalidAccount { reason })?;
        let mut secret = [0u8; GENERATED_SECRET_BYTES];
        let filled = getrandom::fill(&mut secret);
        let totp = filled
            .map_err(|_| TotpError::Random)
            .and_then(|()| Self::from_secret(&secret, issuer, account));
        secret.zeroize();
        totp
    }

    /// From stored secret bytes (16..=64 bytes).
    ///
    /// `issuer` (the service, "Warden") and `account` (the user, "alice@example.com") are
    /// what the authenticator app lists the code under. Each must be 1 to 256 bytes, without
    /// `:` (the separator of the URI's label; Google's Key Uri Format forbids it in both) and
    /// without control characters.
    ///
    /// # Errors
    /// [`TotpError::SecretLength`], [`TotpError::InvalidIssuer`],
    /// [`TotpError::InvalidAccount`].
    ///
    /// ```
    /// use warden::totp::Totp;
    ///
    /// let totp = Totp::from_secret(b"12345678901234567890", "Warden", "alice")?;
    /// assert_eq!(totp.secret(), b"12345678901234567890");
    /// # Ok::<(), warden::totp::TotpError>(())
    /// ```
    pub fn from_secret(secret: &[u8], issuer: &str, account: &str) -> Result<Totp, TotpError> {
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&secret.len()) {
            return Err(TotpError::SecretLength { len: secret.len() });
        }
        check_label(issuer).map_err(|reason| TotpError::InvalidIssuer { reason })?;
        check_label(account).map_err(|reason| TotpError::InvalidAccount { reason })?;
        let inner = totp_rs::Builder::new()
            .with_algorithm(totp_rs::Algorithm::SHA1)
            .with_digits(Self::DIGITS as u8)
            .with_step_duration(Self::PERIOD)
            .with_skew(1)
            .with_secret(secret.to_vec())
            .build()
            .map_err(|_| TotpError::SecretLength { len: secret.len() })?;
        Ok(Totp {
            inner,
            issuer: issuer.to_owned(),
            account: account.to_owned(),
        })
    }

    /// The secret bytes, to store (encrypted, ideally) and give back to
    /// [`from_secret`](Self::from_secret).
    ///
    /// ```
    /// # use warden::totp::Totp;
    /// let totp = Totp::generate("Warden", "alice")?;
    /// let again = Totp::from_secret(totp.secret(), "Warden", "alice")?;
    /// assert_eq!(again.code_at(0), totp.code_at(0));
    /// # Ok::<(), warden::totp::TotpError>(())
    /// ```
    pub fn secret(&self) -> &[u8] {
        self.inner.secret().as_bytes()
    }

    /// The secret in RFC 4648 base32 without padding: what a user types into an
    /// authenticator app that cannot scan the QR code.
    ///
    /// ```
    /// # use warden::totp::Totp;
    /// let totp = Totp::from_secret(b"12345678901234567890", "Warden", "alice")?;
    /// assert_eq!(totp.secret_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    /// # Ok::<(), warden::totp::TotpError>(())
    /// ```
    pub fn secret_base32(&self) -> String {
        self.inner.secret().to_base32()
    }

    /// The issuer, as given.
    ///
    /// ```
    /// # use warden::totp::Totp;
    /// let totp = Totp::generate("Warden", "alice")?;
    /// assert_eq!(totp.issuer(), "Warden");
    /// # Ok::<(), warden::totp::TotpError>(())
    /// ```
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The account name, as given.
    ///
    /// ```
    /// # use warden::totp::Totp;
    /// let totp = Totp::generate("Warden", "alice")?;
    /// assert_eq!(totp.account(), "alice");
    /// # Ok::<(), warden::totp::TotpError>(())
    /// ```
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The `otpauth://` URI authenticator apps read from the QR code (Google's Key Uri
    /// Format): `otpauth://totp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA1&digits=6&period=30`.
    ///
    /// Issuer and account are percent-encoded as Python's `pyotp` does (everything but
    /// `A–Z a–z 0–9 - . _ ~`, spaces as `%20`), except that `/` in the label is encoded too
    /// (pyotp leaves it). The URI carries the secret: it is as sensitive as the secret.
    ///
    /// ```
    /// # use warden::totp::Totp;
    /// let totp = Totp::from_secret(b"12345678901234567890", "Warden", "alice@example.com")?;
    /// assert_eq!(
    ///     totp.uri(),
    ///     "otpauth://totp/Warden:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
    ///      &issuer=Warden&algorithm=SHA1&digits=6&period=30",
    /// );
    /// # Ok::<(), warden::totp::TotpError>(())
    /// ```
    pub fn uri(&self) -> String {
        let issuer = percent_encode(&self.issuer);
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
             &algorithm=SHA1&digits={digits}&period={period}",
            account = percent_encode(&self.account),
            secret = self.secret_base32(),
            digits = Self::DIGITS,
            period = Self::PERIOD,
        )
    }

    /// [`uri`](Self::uri) as a QR code: an SVG document, safe to inline in an HTML page.
    ///
    /// One `<path>` of unit squares on a white `<rect>`, a quiet zone of 4 modules, a
    /// `viewBox` and no size (style it: `width: 16rem`), no script, no external reference.
    /// The error correction is the highest that fits the smallest symbol (at least level
    /// L, 7 %). Like the URI, the picture carries the secret.
    ///
    /// ```
    /// # use warden::totp::Totp;
    /// let svg = Totp::generate("Warden", "alice@example.com")?.qr_svg();
    /// assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
    /// assert!(!svg.contains("<script"));
    /// # Ok::<(), warden::totp::TotpError>(())
    /// ```
    pub fn qr_svg(&self) -> String {
        qr_svg(&self.uri())
    }

    /// The time step of `unix_seconds`: `unix_seconds / 30` (RFC 6238 §4.2).
    ///
    /// ```
    /// use warden::totp::Totp;
    /// assert_eq!(Totp::step_at(59), 1);
    /// assert_eq!(Totp::step_at(60), 2);
    /// ```
    pub fn step_at(unix_seconds: u64) -> u64 {
        unix_seconds / Self::PERIOD
    }

    /// The code at `unix_seconds`: 6 digits, zero-padded.
    ///
    /// ```
    /// # use warden::totp::Totp;
    /// let totp = Totp::from_secret(b"12345678901234567890", "Warden", "alice")?;
    /// assert_eq!(totp.code_at(1_234_567_890), "005924"); // RFC 6238 Appendix B
    /// # Ok::<(), warden::totp::TotpError>(())
    /// ```
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.inner.generate(unix_seconds).to_string()
    }

    /// The matched time step when `code` is valid at `unix_seconds` within ±1 step
    /// (RFC 6238 §5.2), compared in constant time; `None` for a wrong or malformed code
    /// (not exactly 6 ASCII digits once surrounding whitespace is trimmed and spaces are
    /// removed: `"123 456"`, as apps display it, is accepted).
    ///
    /// The three steps are always all computed and compared, so the time taken says nothing
    /// about which step matched, or how close a wrong code was.
    ///
    /// **Accepting a step once is the caller's job.** RFC 6238 §5.2: "the verifier MUST NOT
    /// accept the second attempt of the OTP after the successful validation has been issued
    /// for the first OTP". Store the last step accepted for the secret and accept a code
    /// only when its step is *later*, in one conditional update, so that two concurrent
    /// requests cannot both win and an older code of the window is refused too:
    ///
    /// ```sql
    /// UPDATE totp SET last_used_step = :step WHERE id = :id AND last_used_step < :step
    /// -- accepted only if one row changed
    /// ```
    ///
    /// Count failures in the same per-account limiter as passwords: a 6-digit code falls to
    /// guessing otherwise.
    ///
    /// ```
    /// # use warden::totp::Totp;
    /// let totp = Totp::from_secret(b"12345678901234567890", "Warden", "alice")?;
    /// let now = 1_111_111_109;
    /// assert_eq!(totp.verify("081804", now), Some(Totp::step_at(now)));
    /// assert_eq!(totp.verify("081805", now), None);
    /// assert_eq!(totp.verify("81804", now), None);
    /// # Ok::<(), warden::totp::TotpError>(())
    /// ```
    pub fn verify(&self, code: &str, unix_seconds: u64) -> Option<u64> {
        let given = parse_code(code)?;
        let origin = Self::step_at(unix_seconds);
        let mut matched = Choice::from(0);
        let mut step = 0u64;
        for candidate in [origin.checked_sub(1), Some(origin), origin.checked_add(1)]
            .into_iter()
            .flatten()
        {
            let Some(time) = candidate.checked_mul(Self::PERIOD) else {
                continue;
            };
            let expected = self.code_at(time);
            let equal = expected.as_bytes().ct_eq(&given);
            // The earliest matching step, so a later code of the user's stays usable.
            step.conditional_assign(&candidate, equal & !matched);
            matched |= equal;
        }
        bool::from(matched).then_some(step)
    }
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Whether `label` can be an issuer or account name: `Err` with the defect.
fn check_label(label: &str) -> Result<(), &'static str> {
    if label.is_empty() {
        Err("is empty")
    } else if label.len() > MAX_LABEL_BYTES {
        Err("is longer than 256 bytes")
    } else if label.contains(':') {
        Err("contains ':'")
    } else if label.chars().any(char::is_control) {
        Err("contains a control character")
    } else {
        Ok(())
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, as Python's
/// `urllib.parse.quote(s, safe="")` does.
fn percent_encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &byte in value.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
    out
}

/// The 6 digits of `code`, surrounding whitespace and inner spaces ignored.
fn parse_code(code: &str) -> Option<[u8; Totp::DIGITS]> {
    if code.len() > MAX_CODE_INPUT {
        return None;
    }
    let mut digits = [0u8; Totp::DIGITS];
    let mut count = 0;
    for byte in code.trim().bytes().filter(|&b| b != b' ') {
        if !byte.is_ascii_digit() || count == Totp::DIGITS {
            return None;
        }
        digits[count] = byte;
        count += 1;
    }
    (count == Totp::DIGITS).then_some(digits)
}

/// `text` as a QR code in SVG. Dark modules are one path of horizontal runs, each
/// `M x,y h n v 1 h -n z` in module units.
fn qr_svg(text: &str) -> String {
    // `encode_text` raises the error correction as far as the smallest symbol allows; the
    // longest URI (two 256-byte names, all percent-encoded, and a 64-byte secret) fits at L.
    let code = QrCode::encode_text(text, QrCodeEcc::Medium)
        .or_else(|_| QrCode::encode_text(text, QrCodeEcc::Low));
    let size = code.as_ref().map_or(0, QrCode::size);
    let side = size + 2 * QUIET_ZONE;
    let mut path = String::new();
    if let Ok(code) = &code {
        for y in 0..size {
            let mut x = 0;
            while x < size {
                if !code.get_module(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < size && code.get_module(x, y) {
                    x += 1;
                }
                let run = x - start;
                path.push_str(&format!(
                    "M{},{}h{run}v1h-{run}z",
                    start + QUIET_ZONE,
                    y + QUIET_ZONE
                ));
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#ffffff\"/>\
         <path fill=\"#000000\" d=\"{path}\"/></svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn rfc() -> Totp {
        Totp::from_secret(RFC_SECRET, "Warden", "alice@example.com").unwrap()
    }

    /// RFC 6238 Appendix B, SHA-1: time and the 8-digit value.
    const VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ];

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        let totp = rfc();
        // The same HMAC and truncation with 8 digits, as the RFC prints them.
        let eight = totp_rs::Builder::new()
            .with_digits(8)
            .with_secret(RFC_SECRET.to_vec())
            .build()
            .unwrap();
        for (time, expected) in VECTORS {
            assert_eq!(eight.generate(time).to_string(), expected, "t={time}");
            // 6 digits are the value modulo 10^6: the last six.
            assert_eq!(totp.code_at(time), expected[2..], "t={time}");
            assert_eq!(totp.verify(&expected[2..], time), Some(time / 30));
        }
    }

    #[test]
    fn skew_is_one_step_each_way() {
        let totp = rfc();
        let now = 1_234_567_890;
        let step = Totp::step_at(now);
        for offset in [-1i64, 0, 1] {
            let at = now.wrapping_add_signed(offset * 30);
            assert_eq!(
                totp.verify(&totp.code_at(at), now),
                Some(Totp::step_at(at)),
                "offset {offset}"
            );
        }
        for offset in [-2i64, 2, -3, 3] {
            let at = now.wrapping_add_signed(offset * 30);
            assert_eq!(totp.verify(&totp.code_at(at), now), None, "offset {offset}");
        }
        // The edges of the current step: its first and last second.
        let first = step * 30;
        let code = totp.code_at(first);
        assert_eq!(totp.verify(&code, first + 29), Some(step));
        assert_eq!(totp.verify(&code, first + 30 + 29), Some(step));
        assert_eq!(totp.verify(&code, first + 60), None);
        assert_eq!(totp.verify(&code, first - 30), Some(step));
        assert_eq!(totp.verify(&code, first - 31), None);
    }

    #[test]
    fn the_epoch_has_no_previous_step() {
        let totp = rfc();
        assert_eq!(totp.verify(&totp.code_at(0), 0), Some(0));
        assert_eq!(totp.verify(&totp.code_at(30), 0), Some(1));
        assert_eq!(
            totp.verify(&totp.code_at(u64::MAX), u64::MAX),
            Some(u64::MAX / 30)
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        let totp = rfc();
        let t = 59;
        assert_eq!(totp.verify(" 287082\t", t), Some(1));
        assert_eq!(totp.verify("287 082", t), Some(1));
        for bad in [
            "",
            "28708",
            "2870820",
            "28708a",
            "+87082",
            "-87082",
            "２８７０８２",
            "287_082",
            "94287082",
            "287082\n1",
            "0x1234",
            "      ",
        ] {
            assert_eq!(totp.verify(bad, t), None, "{bad:?}");
        }
        assert_eq!(totp.verify(&"2".repeat(1000), t), None);
        assert_eq!(totp.verify(&format!("{}287082", " ".repeat(40)), t), None);
    }

    #[test]
    fn secrets_and_names_are_checked() {
        assert_eq!(
            Totp::from_secret(&[1; 15], "W", "a").unwrap_err(),
            TotpError::SecretLength { len: 15 }
        );
        assert_eq!(
            Totp::from_secret(&[1; 65], "W", "a").unwrap_err(),
            TotpError::SecretLength { len: 65 }
        );
        assert!(Totp::from_secret(&[1; 16], "W", "a").is_ok());
        assert!(Totp::from_secret(&[1; 64], "W", "a").is_ok());
        for (issuer, account) in [
            ("", "a"),
            ("a:b", "a"),
            (&*"x".repeat(257), "a"),
            ("a\u{7}", "a"),
        ] {
            assert!(matches!(
                Totp::generate(issuer, account),
                Err(TotpError::InvalidIssuer { .. })
            ));
            assert!(matches!(
                Totp::generate(account, issuer),
                Err(TotpError::InvalidAccount { .. })
            ));
        }
        assert!(Totp::generate(&"x".repeat(256), &"é".repeat(128)).is_ok());
    }

    #[test]
    fn generated_secrets_are_160_random_bits() {
        let a = Totp::generate("Warden", "alice").unwrap();
        let b = Totp::generate("Warden", "alice").unwrap();
        assert_eq!(a.secret().len(), 20);
        assert_ne!(a.secret(), b.secret());
        assert_eq!(a.secret_base32().len(), 32);
    }

    #[test]
    fn uri_encodes_label_and_issuer() {
        let totp = Totp::from_secret(RFC_SECRET, "My Co & 100%", "a b/c~d+é").unwrap();
        assert_eq!(
            totp.uri(),
            "otpauth://totp/My%20Co%20%26%20100%25:a%20b%2Fc~d%2B%C3%A9\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=My%20Co%20%26%20100%25\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let debug = format!("{:?}", rfc());
        assert!(debug.contains("alice@example.com"));
        assert!(!debug.contains("GEZDGNBV") && !debug.contains("49, 50"));
    }

    /// Well-formed enough to inline: one svg element holding one rect and one path, the
    /// path only of drawing commands, nothing that loads or runs anything.
    fn assert_safe_svg(svg: &str) -> u32 {
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "));
        assert!(svg.ends_with("\"/></svg>"));
        assert_eq!(svg.matches('<').count(), 4, "svg, rect, path, /svg");
        assert_eq!(svg.matches("<path").count(), 1);
        for forbidden in [
            "<script",
            "href",
            "url(",
            "javascript",
            " on",
            "<!",
            "&",
            "style",
        ] {
            let lower = svg.to_ascii_lowercase();
            let hits = lower.matches(forbidden).count();
            assert_eq!(hits, 0, "{forbidden} in {svg}");
        }
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(!d.is_empty());
        assert!(d.bytes().all(|b| b"Mhvz,-0123456789".contains(&b)));
        let side = svg.split("viewBox=\"0 0 ").nth(1).unwrap();
        side.split(' ').next().unwrap().parse().unwrap()
    }

    #[test]
    fn qr_svg_is_safe_and_grows_with_the_uri() {
        let short = Totp::from_secret(RFC_SECRET, "W", "a").unwrap();
        let long = Totp::from_secret(&[7; 64], &"W".repeat(200), &"a".repeat(200)).unwrap();
        let small = assert_safe_svg(&short.qr_svg());
        let large = assert_safe_svg(&long.qr_svg());
        assert!(large > small, "{large} > {small}");
        // Version 1 is 21 modules, plus the quiet zone on each side.
        assert!(small >= 21 + 8 && (small - 8 - 17).is_multiple_of(4));
        // The longest URI still fits (every byte of both names percent-encoded).
        let longest = Totp::from_secret(&[7; 64], &"é".repeat(128), &"&".repeat(256)).unwrap();
        assert!(assert_safe_svg(&longest.qr_svg()) > large);
    }
}
