//! Who signed in upstream.

use std::fmt;

use serde_json::{Map, Value};

/// A user the upstream provider authenticated, after every check passed.
///
/// Identify the user by ([`provider`](Self::provider), [`subject`](Self::subject)) — never
/// by email: an email can be reassigned, unverified, or chosen by the user at the provider
/// (the "nOAuth" account takeovers). Use [`email`](Self::email) to link to an existing
/// account only when [`email_verified`](Self::email_verified) is true **and** your own copy
/// of that address is verified.
#[derive(Clone)]
#[non_exhaustive]
pub struct UpstreamIdentity {
    /// The provider's id (as configured).
    pub provider: String,
    /// The provider's issuer (OpenID Connect) or API base URL (GitHub).
    pub issuer: String,
    /// The user's stable id at the provider: `sub`, or GitHub's numeric `id`.
    pub subject: String,
    /// The email address, if the provider gave one (GitHub: the primary one, only if
    /// verified).
    pub email: Option<String>,
    /// Whether the provider says it verified [`email`](Self::email).
    pub email_verified: bool,
    /// The display name.
    pub name: Option<String>,
    /// `preferred_username`, or GitHub's `login`.
    pub username: Option<String>,
    /// How the user authenticated upstream (RFC 8176 `amr`), as the provider claims it.
    pub amr: Vec<String>,
    /// The upstream `acr`, as the provider claims it.
    pub acr: Option<String>,
    /// When the user authenticated upstream (seconds since the epoch), if said.
    pub auth_time: Option<u64>,
    /// Every claim read: the ID token's (beyond the registered ones) and UserInfo's, or
    /// GitHub's `/user` record.
    pub claims: Map<String, Value>,
    /// The provider's tokens, when the provider was built with `keep_tokens()`.
    pub tokens: Option<UpstreamTokens>,
    /// What was given as `return_to` when the sign-in began.
    pub return_to: Option<String>,
}

impl fmt::Debug for UpstreamIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamIdentity")
            .field("provider", &self.provider)
            .field("subject", &self.subject)
            .field("email_verified", &self.email_verified)
            .finish_non_exhaustive()
    }
}

/// The tokens the provider issued at the sign-in. `Debug` shows none of them.
#[derive(Clone)]
#[non_exhaustive]
pub struct UpstreamTokens {
    /// For the provider's APIs.
    pub access_token: String,
    /// If the provider issued one.
    pub refresh_token: Option<String>,
    /// The raw ID token (OpenID Connect), already verified.
    pub id_token: Option<String>,
    /// Seconds, as the provider said.
    pub expires_in: Option<u64>,
    /// The scopes granted, as the provider said.
    pub scope: Option<String>,
}

impl fmt::Debug for UpstreamTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamTokens")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}
