//! Why a sign-in through an upstream provider failed.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::jwt::JwtError;

/// Why a sign-in failed. The `Display` text is for logs: it names the check that failed and
/// never contains a token, a code or a secret. Responses ([`IntoResponse`]) say less.
///
/// Three families, by [`SignInError::kind`]: the browser came back with something that does
/// not belong to a sign-in it started (`Rejected`, 400), the upstream answered something
/// that fails verification (`Forged`, 401 — a misconfiguration or an attack), or the
/// upstream could not be used (`Unavailable`, 502).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// No provider of that id is configured.
    #[error("unknown provider")]
    UnknownProvider,
    /// The upstream answered the authorization request with an error (RFC 6749 §4.1.2.1),
    /// e.g. `access_denied` when the user declined. The code is reduced to printable ASCII.
    #[error("the provider refused: {error}")]
    Denied {
        /// The `error` parameter.
        error: String,
    },
    /// The callback lacks `state` or `code`, or a parameter is oversized or repeated.
    #[error("malformed callback: {0}")]
    MalformedCallback(&'static str),
    /// No sign-in is pending under this `state`: never issued, already used, or expired.
    #[error("unknown, used or expired state")]
    UnknownState,
    /// The sign-in was started in another browser (the binding cookie is missing or
    /// differs): a login-CSRF attempt, or cookies are blocked.
    #[error("the sign-in was started in another browser")]
    OtherBrowser,
    /// The callback arrived at another provider's endpoint than the one the sign-in was
    /// started with (a mix-up attempt).
    #[error("the sign-in was started with another provider")]
    WrongProvider,
    /// The authorization response's `iss` (RFC 9207) is not the provider's issuer, or is
    /// missing although the provider promises to send it.
    #[error("authorization response issuer mismatch")]
    IssuerMismatch,
    /// The token endpoint answered an OAuth error (RFC 6749 §5.2; GitHub sends them with
    /// HTTP 200).
    #[error("token endpoint error: {error}")]
    TokenEndpoint {
        /// The `error` code, reduced to printable ASCII.
        error: String,
    },
    /// The ID token failed verification (signature, algorithm, `iss`, `aud`, `exp`…).
    #[error("ID token refused: {0}")]
    IdToken(JwtError),
    /// The ID token's `aud` names another audience than ours without it being the
    /// authorized party (OpenID Connect Core §3.1.3.7 items 3–5).
    #[error("ID token audience not trusted")]
    UntrustedAudience,
    /// The ID token's `nonce` is missing or is not the one sent.
    #[error("ID token nonce mismatch")]
    NonceMismatch,
    /// The UserInfo `sub` differs from the ID token's (OpenID Connect Core §5.3.4).
    #[error("userinfo subject mismatch")]
    SubjectMismatch,
    /// The provider's discovery document is unusable: not fetched, not JSON, or its
    /// `issuer` is not the configured one (OpenID Connect Discovery §4.3).
    #[error("discovery: {0}")]
    Discovery(String),
    /// An upstream endpoint could not be used: unreachable, timed out, redirected, answered
    /// an unexpected status, too large a body, or not the JSON expected.
    #[error("upstream {endpoint}: {reason}")]
    Upstream {
        /// Which endpoint (`token`, `userinfo`, `user`, `emails`…).
        endpoint: &'static str,
        /// What went wrong, without the body.
        reason: String,
    },
    /// The pending-sign-in store failed.
    #[error("pending sign-in store: {0}")]
    Store(String),
    /// Random values could not be drawn.
    #[error("no randomness available")]
    Random,
    /// The provider's configuration is unusable (a URL that does not parse…).
    #[error("configuration: {0}")]
    Configuration(String),
}

/// The three families of [`SignInError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInErrorKind {
    /// The browser's request does not complete a sign-in it started: 400.
    Rejected,
    /// What the upstream sent does not verify: 401.
    Forged,
    /// The upstream (or our store) could not be used: 502.
    Unavailable,
}

impl SignInError {
    /// The family of this error.
    pub fn kind(&self) -> SignInErrorKind {
        match self {
            Self::UnknownProvider
            | Self::Denied { .. }
            | Self::MalformedCallback(_)
            | Self::UnknownState
            | Self::OtherBrowser
            | Self::WrongProvider => SignInErrorKind::Rejected,
            Self::IssuerMismatch
            | Self::TokenEndpoint { .. }
            | Self::IdToken(JwtError::KeysUnavailable) => SignInErrorKind::Unavailable,
            Self::IdToken(_)
            | Self::UntrustedAudience
            | Self::NonceMismatch
            | Self::SubjectMismatch => SignInErrorKind::Forged,
            Self::Discovery(_)
            | Self::Upstream { .. }
            | Self::Store(_)
            | Self::Random
            | Self::Configuration(_) => SignInErrorKind::Unavailable,
        }
    }

    pub(crate) fn upstream(endpoint: &'static str, reason: impl Into<String>) -> Self {
        Self::Upstream {
            endpoint,
            reason: reason.into(),
        }
    }
}

/// 400, 401 or 502 (by [`SignInError::kind`]) with `{"detail": …}` in a few words; the
/// specific check is logged at `info`, never sent.
impl IntoResponse for SignInError {
    fn into_response(self) -> Response {
        tracing::info!(error = %self, "sign-in failed");
        let (status, detail) = match self.kind() {
            SignInErrorKind::Rejected => {
                (StatusCode::BAD_REQUEST, "Sign-in could not be completed")
            }
            SignInErrorKind::Forged => (StatusCode::UNAUTHORIZED, "Sign-in could not be verified"),
            SignInErrorKind::Unavailable => {
                (StatusCode::BAD_GATEWAY, "Sign-in provider unavailable")
            }
        };
        (status, Json(serde_json::json!({ "detail": detail }))).into_response()
    }
}

/// A protocol string from the upstream reduced to what may be logged or shown: printable
/// ASCII without quotes or backslashes, at most 64 characters.
pub(crate) fn printable(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '<' | '>' | '&' | '\''))
        .take(64)
        .collect()
}
