//! Why a password could not be hashed or checked.

/// Why a password could not be hashed or checked.
///
/// A wrong password is not an error: it is [`Verified::Invalid`](super::Verified). The
/// messages never contain the password, nor the stored hash.
///
/// ```
/// use warden::password::{PasswordError, MAX_PASSWORD_BYTES};
///
/// let error = PasswordError::TooLong { max: MAX_PASSWORD_BYTES };
/// assert_eq!(error.to_string(), "password longer than 1024 bytes");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password is longer than the accepted bound, so nobody makes the server hash
    /// megabytes. Treat it as a failed login.
    #[error("password longer than {max} bytes")]
    TooLong {
        /// The bound, in bytes ([`MAX_PASSWORD_BYTES`](super::MAX_PASSWORD_BYTES)).
        max: usize,
    },
    /// The stored hash is neither an argon2 PHC string nor a bcrypt `$2a$`/`$2b$`/`$2y$`
    /// hash (a `$2x$` hash, passlib's `$bcrypt-sha256$`, PBKDF2, plaintext…).
    #[error("stored password hash has an unknown format")]
    UnknownFormat,
    /// The stored hash names a known scheme but cannot be parsed.
    #[error("stored password hash is malformed")]
    MalformedHash,
    /// The stored hash asks for more work than the verification ceiling allows (see
    /// [`PasswordHasher::verify`](super::PasswordHasher::verify)), which would hold a worker
    /// or its memory for too long.
    #[error("stored password hash exceeds the verification cost ceiling")]
    ExcessiveCost,
    /// The argon2 parameters are outside argon2's limits.
    #[error("invalid argon2 parameters")]
    InvalidParams,
    /// Hashing failed: the random generator or the allocator failed.
    #[error("password hashing failed: {0}")]
    Internal(&'static str),
}
