//! Authentication failures, and the one place they become HTTP responses.

use std::borrow::Cow;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::challenge::{BearerError, Challenge, ChallengeScheme};
use crate::step_up::StepUp;

/// Why a request was not let through.
///
/// Every security extractor of this crate rejects with an `AuthError`, and
/// [`IntoResponse`] below is the only code that turns one into a response. Bodies are
/// FastAPI's `{"detail": "…"}` and never contain anything the client sent, nor internals.
///
/// | variant | status | `WWW-Authenticate` |
/// |---|---|---|
/// | [`NotAuthenticated`](Self::NotAuthenticated) | 401 | each scheme's challenge |
/// | [`MalformedCredentials`](Self::MalformedCredentials) | 401 for Basic and API keys, 400 for Bearer | the scheme's challenge; `error="invalid_request"` for Bearer |
/// | [`InvalidCredentials`](Self::InvalidCredentials) | 401 | the scheme's challenge; `error="invalid_token"` for Bearer |
/// | [`InsufficientUserAuthentication`](Self::InsufficientUserAuthentication) | 401 | `Bearer error="insufficient_user_authentication", error_description="…", acr_values="…", max_age="…"` for Bearer; the scheme's challenge otherwise |
/// | [`InvalidDPoPProof`](Self::InvalidDPoPProof) | 401 (+ `DPoP-Nonce` when a nonce is required) | `DPoP error="invalid_dpop_proof"` or `error="use_dpop_nonce"`, with `algs` |
/// | [`InsufficientScope`](Self::InsufficientScope) | 403 | `Bearer error="insufficient_scope", scope="…"` for Bearer |
/// | [`Forbidden`](Self::Forbidden) | 403 | — |
/// | [`Unavailable`](Self::Unavailable) | 503 + `Retry-After` | — |
///
/// FastAPI's tutorial answers a missing scope with 401; RFC 6750 §3.1 says 403
/// (`insufficient_scope`), which is what a client can act on: re-authenticating with the same
/// grant would not help.
///
/// An application that wants other codes (FastAPI's pre-0.122 403, say) takes
/// `Result<Extractor, AuthError>` in its handler and answers as it likes.
///
/// ```
/// use axum::response::IntoResponse;
/// use warden::{AuthError, Challenge, ChallengeScheme};
///
/// let response = AuthError::not_authenticated(Challenge::new(ChallengeScheme::Bearer)).into_response();
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["www-authenticate"], "Bearer");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credentials were sent for any accepted scheme.
    #[error("not authenticated")]
    NotAuthenticated {
        /// One challenge per accepted scheme.
        challenges: Vec<Challenge>,
    },
    /// Credentials were sent but cannot be parsed (bad base64, no colon, bad characters,
    /// too long, repeated header…).
    #[error("malformed credentials: {reason}")]
    MalformedCredentials {
        /// The challenge of the scheme whose credentials were malformed.
        challenge: Challenge,
        /// A fixed description of the defect; never contains request data.
        reason: &'static str,
    },
    /// Credentials were well formed but refused: wrong password, unknown key, invalid,
    /// expired or forged token.
    #[error("invalid credentials")]
    InvalidCredentials {
        /// The challenge of the scheme whose credentials were refused.
        challenge: Challenge,
    },
    /// The principal is authenticated, but not strongly or recently enough for the route's
    /// step-up markers (RFC 9470): the client should get a new token by a new authorization
    /// request with these `acr_values` and `max_age`.
    ///
    /// The challenge parameters exist only for `Bearer`; any other scheme (a principal from
    /// HTTP Basic or an API key, which has no [`AuthContext`](crate::AuthContext) unless
    /// it provides one) answers 401 with its plain challenge and the same `detail`.
    #[error("insufficient user authentication")]
    InsufficientUserAuthentication {
        /// The challenge of the scheme the principal authenticated with.
        challenge: Challenge,
        /// The acceptable `acr` values, space-separated, most preferred first.
        acr_values: Option<String>,
        /// The longest acceptable time since the user authenticated, in seconds.
        max_age: Option<u64>,
    },
    /// A DPoP proof (RFC 9449) is missing, malformed, replayed, or does not match the
    /// request; or it lacks the server nonce, which is then sent in `DPoP-Nonce` for the
    /// client to retry with.
    #[error("invalid DPoP proof")]
    InvalidDPoPProof {
        /// The `DPoP` challenge of the route.
        challenge: Challenge,
        /// A fresh server nonce when the refusal is `use_dpop_nonce` (RFC 9449 §9).
        nonce: Option<String>,
    },
    /// The principal is authenticated but lacks a required scope.
    #[error("insufficient scope")]
    InsufficientScope {
        /// The challenge of the scheme the principal authenticated with.
        challenge: Challenge,
        /// The scopes the operation requires, space-separated.
        scope: String,
    },
    /// The principal is authenticated but not allowed (a disabled account, say).
    #[error("forbidden: {detail}")]
    Forbidden {
        /// Shown to the client as `detail`.
        detail: Cow<'static, str>,
    },
    /// Authentication cannot be done now (the hashing pool is saturated, a key server is
    /// unreachable); the client may retry.
    #[error("authentication temporarily unavailable")]
    Unavailable {
        /// Seconds after which a retry makes sense.
        retry_after: u32,
    },
}

impl AuthError {
    /// `NotAuthenticated` with a single challenge.
    pub fn not_authenticated(challenge: Challenge) -> Self {
        Self::NotAuthenticated {
            challenges: vec![challenge],
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotAuthenticated { .. }
            | Self::InvalidCredentials { .. }
            | Self::InvalidDPoPProof { .. }
            | Self::InsufficientUserAuthentication { .. } => StatusCode::UNAUTHORIZED,
            Self::MalformedCredentials { challenge, .. } => {
                if challenge.scheme().has_error_codes() {
                    // RFC 6750 §3.1: invalid_request "SHOULD respond with HTTP 400".
                    StatusCode::BAD_REQUEST
                } else {
                    // Basic and API keys: 401 with the challenge, so a browser prompts again.
                    StatusCode::UNAUTHORIZED
                }
            }
            Self::InsufficientScope { .. } | Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn detail(&self) -> Cow<'static, str> {
        match self {
            Self::NotAuthenticated { .. } => "Not authenticated".into(),
            Self::MalformedCredentials { .. } => "Invalid authentication credentials".into(),
            Self::InvalidDPoPProof { .. } => "Invalid DPoP proof".into(),
            Self::InvalidCredentials { challenge } => match challenge.scheme() {
                ChallengeScheme::Basic => "Incorrect username or password".into(),
                _ => "Could not validate credentials".into(),
            },
            Self::InsufficientUserAuthentication {
                acr_values,
                max_age,
                ..
            } => StepUp::refusal_text(acr_values.as_deref(), *max_age).into(),
            Self::InsufficientScope { .. } => "Not enough permissions".into(),
            Self::Forbidden { detail } => detail.clone(),
            Self::Unavailable { .. } => "Authentication temporarily unavailable".into(),
        }
    }
}

/// `DPoP-Nonce` (RFC 9449 §8.1).
const DPOP_NONCE: header::HeaderName = header::HeaderName::from_static("dpop-nonce");

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(json!({ "detail": self.detail() }))).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::NotAuthenticated { challenges } => {
                // Alternatives of one scheme (an API key in a header, the query or a cookie)
                // share a challenge: send each distinct challenge once.
                for (i, challenge) in challenges.iter().enumerate() {
                    if !challenges[..i].contains(challenge) {
                        headers
                            .append(header::WWW_AUTHENTICATE, challenge.header_value(None, None));
                    }
                }
            }
            Self::MalformedCredentials { challenge, reason } => {
                tracing::debug!(reason, "malformed credentials");
                headers.append(
                    header::WWW_AUTHENTICATE,
                    challenge.header_value(Some(BearerError::InvalidRequest), None),
                );
            }
            Self::InvalidCredentials { challenge } => {
                headers.append(
                    header::WWW_AUTHENTICATE,
                    challenge.header_value(Some(BearerError::InvalidToken), None),
                );
            }
            Self::InsufficientUserAuthentication {
                challenge,
                acr_values,
                max_age,
            } => {
                let description = StepUp::refusal_text(acr_values.as_deref(), *max_age);
                let max_age = max_age.map(|secs| secs.to_string());
                let mut params = vec![("error_description", description)];
                if let Some(acr_values) = acr_values {
                    params.push(("acr_values", acr_values));
                }
                if let Some(max_age) = &max_age {
                    params.push(("max_age", max_age));
                }
                headers.append(
                    header::WWW_AUTHENTICATE,
                    challenge.header_value_with(
                        Some(BearerError::InsufficientUserAuthentication),
                        &params,
                    ),
                );
            }
            Self::InvalidDPoPProof { challenge, nonce } => {
                let error = match nonce {
                    Some(_) => BearerError::UseDPoPNonce,
                    None => BearerError::InvalidDPoPProof,
                };
                headers.append(
                    header::WWW_AUTHENTICATE,
                    challenge.header_value(Some(error), None),
                );
                // A nonce is ours (base64url), so always a valid header value.
                if let Some(value) = nonce.as_deref().and_then(|n| HeaderValue::from_str(n).ok()) {
                    headers.insert(DPOP_NONCE, value);
                }
            }
            Self::InsufficientScope { challenge, scope } => {
                if challenge.scheme().has_error_codes() {
                    headers.append(
                        header::WWW_AUTHENTICATE,
                        challenge.header_value(Some(BearerError::InsufficientScope), Some(scope)),
                    );
                }
            }
            Self::Forbidden { .. } => {}
            Self::Unavailable { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn www(r: &Response) -> Vec<&str> {
        r.headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    #[test]
    fn missing_credentials_list_every_challenge() {
        let r = AuthError::NotAuthenticated {
            challenges: vec![
                Challenge::new(ChallengeScheme::Bearer),
                Challenge::new(ChallengeScheme::ApiKey),
                Challenge::new(ChallengeScheme::ApiKey),
            ],
        }
        .into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(
            www(&r),
            ["Bearer", "APIKey"],
            "distinct challenges, each once"
        );
    }

    #[test]
    fn malformed_bearer_is_400_invalid_request() {
        let r = AuthError::MalformedCredentials {
            challenge: Challenge::new(ChallengeScheme::Bearer),
            reason: "x",
        }
        .into_response();
        assert_eq!(r.status(), 400);
        assert_eq!(www(&r), [r#"Bearer error="invalid_request""#]);
    }

    #[test]
    fn malformed_basic_is_401_with_challenge() {
        let r = AuthError::MalformedCredentials {
            challenge: Challenge::new(ChallengeScheme::Basic).with_realm("r"),
            reason: "x",
        }
        .into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(www(&r), [r#"Basic realm="r", charset="UTF-8""#]);
    }

    #[test]
    fn insufficient_scope_is_403_with_scope() {
        let r = AuthError::InsufficientScope {
            challenge: Challenge::new(ChallengeScheme::Bearer),
            scope: "me items".into(),
        }
        .into_response();
        assert_eq!(r.status(), 403);
        assert_eq!(
            www(&r),
            [r#"Bearer error="insufficient_scope", scope="me items""#]
        );
    }

    #[test]
    fn insufficient_user_authentication_is_401_with_rfc_9470_parameters() {
        let r = AuthError::InsufficientUserAuthentication {
            challenge: Challenge::new(ChallengeScheme::Bearer),
            acr_values: Some("phr phrh".into()),
            max_age: None,
        }
        .into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(
            www(&r),
            [
                r#"Bearer error="insufficient_user_authentication", error_description="Stronger authentication required", acr_values="phr phrh""#
            ]
        );
        let r = AuthError::InsufficientUserAuthentication {
            challenge: Challenge::new(ChallengeScheme::Bearer),
            acr_values: None,
            max_age: Some(300),
        }
        .into_response();
        assert_eq!(
            www(&r),
            [
                r#"Bearer error="insufficient_user_authentication", error_description="More recent authentication required", max_age="300""#
            ]
        );
        // Other schemes: their own challenge, the same status and detail.
        let r = AuthError::InsufficientUserAuthentication {
            challenge: Challenge::new(ChallengeScheme::Basic).with_realm("r"),
            acr_values: Some("phr".into()),
            max_age: Some(5),
        }
        .into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(www(&r), [r#"Basic realm="r", charset="UTF-8""#]);
    }

    #[test]
    fn unavailable_sets_retry_after() {
        let r = AuthError::Unavailable { retry_after: 3 }.into_response();
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[header::RETRY_AFTER], "3");
    }
}
