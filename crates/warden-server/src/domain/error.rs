//! What the domain layer can refuse; mapped to HTTP in `http::error` and to exit codes in the CLI.

use crate::storage::StorageError;

/// A domain failure. Messages are safe to show: they never hold a secret or say whether a
/// user exists.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    /// Wrong username or password, unknown or disabled user at login; invalid, expired,
    /// revoked or reused grant.
    #[error("invalid grant")]
    InvalidGrant,
    /// Client authentication failed.
    #[error("invalid client")]
    InvalidClient,
    /// The client may not use this grant type.
    #[error("unauthorized client")]
    UnauthorizedClient,
    /// The grant type is unknown or switched off.
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// A requested scope is unknown or beyond what may be granted.
    #[error("invalid scope")]
    InvalidScope,
    /// The requested audience or resource is refused (RFC 8693 §2.2.2).
    #[error("{0}")]
    InvalidTarget(&'static str),
    /// A DPoP proof (RFC 9449) is malformed, replayed, or does not match the request.
    #[error("invalid DPoP proof")]
    InvalidDPoPProof,
    /// The DPoP proof lacks the current server nonce; the client retries with this one
    /// (RFC 9449 §8).
    #[error("a fresh DPoP nonce is required")]
    UseDPoPNonce {
        /// The nonce for `DPoP-Nonce`.
        nonce: String,
    },
    /// The request is malformed (a message for the client).
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// A password that breaks the policy (ASVS 2.1: 12 to 1024 bytes' worth, any characters).
    #[error("{0}")]
    WeakPassword(&'static str),
    /// The username is taken.
    #[error("username already taken")]
    UsernameTaken,
    /// A second-factor code is wrong, malformed, expired or already used (all alike).
    #[error("invalid code")]
    InvalidCode,
    /// The password was right but the account needs a second factor the request did not
    /// carry (the `password` grant without `otp`).
    #[error("a second factor is required")]
    SecondFactorRequired,
    /// The account must enrol a second factor first (a role or the client requires one).
    #[error("a second factor must be set up first")]
    EnrolmentRequired,
    /// The change needs a recent second factor (or, before any factor exists, a recent
    /// login).
    #[error("recent authentication required")]
    RecentAuthenticationRequired,
    /// Passkeys are off: the issuer's host is no domain name (an IP address), or plain HTTP
    /// other than `localhost`, where browsers refuse WebAuthn.
    #[error("passkeys are not available")]
    PasskeysDisabled,
    /// A passkey ceremony failed: an unknown, used or expired ceremony, a credential that
    /// does not verify or is not this account's, a malformed one (a message for the user).
    #[error("{0}")]
    InvalidPasskey(&'static str),
    /// An upstream identity provider with this id exists already.
    #[error("an upstream provider with this id already exists")]
    ProviderExists,
    /// Unlinking this identity would leave the account with no way to sign in (no usable
    /// password, no passkey, no other linked identity).
    #[error("this is the account's only way to sign in")]
    LastSignInMethod,
    /// The record does not exist.
    #[error("not found")]
    NotFound,
    /// The principal may not do this.
    #[error("forbidden")]
    Forbidden,
    /// Registration is closed.
    #[error("registration is closed")]
    RegistrationClosed,
    /// Too busy to hash passwords now.
    #[error("busy")]
    Busy {
        /// Seconds.
        retry_after: u32,
    },
    /// Too many login attempts for this account or address.
    #[error("throttled")]
    Throttled {
        /// Seconds.
        retry_after: u32,
    },
    /// Storage failed.
    #[error("storage failure")]
    Storage(#[from] StorageError),
    /// Something that should not happen (a key that will not load, a token that will not sign).
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl From<warden::password::PoolError> for DomainError {
    fn from(error: warden::password::PoolError) -> Self {
        match error {
            warden::password::PoolError::Busy { retry_after_secs } => DomainError::Busy {
                retry_after: retry_after_secs,
            },
            warden::password::PoolError::Password(warden::password::PasswordError::TooLong {
                ..
            }) => DomainError::WeakPassword("password too long"),
            _ => DomainError::Internal("password hashing failed"),
        }
    }
}
