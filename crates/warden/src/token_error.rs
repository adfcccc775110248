//! Token-endpoint errors (RFC 6749 §5.2).

use std::borrow::Cow;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// The error codes of RFC 6749 §5.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenErrorCode {
    /// A parameter is missing, repeated, unsupported or malformed.
    InvalidRequest,
    /// Client authentication failed (answered with 401 and a `Basic` challenge).
    InvalidClient,
    /// The grant (password, code, refresh token) is invalid, expired or revoked.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// A requested scope is invalid, unknown or exceeds what may be granted.
    InvalidScope,
    /// The requested audience or resource is not one the server issues tokens for (RFC 8693
    /// §2.2.2, RFC 8707 §2).
    InvalidTarget,
    /// The DPoP proof is invalid (RFC 9449 §5).
    #[serde(rename = "invalid_dpop_proof")]
    InvalidDPoPProof,
    /// The DPoP proof must carry the server nonce sent in `DPoP-Nonce` (RFC 9449 §8).
    #[serde(rename = "use_dpop_nonce")]
    UseDPoPNonce,
}

/// An error answer of a token endpoint: `{"error": …, "error_description": …}` with
/// `Cache-Control: no-store`; 400, except `invalid_client`, which is 401 with
/// `WWW-Authenticate: Basic` (RFC 6749 §5.2).
///
/// ```
/// use axum::response::IntoResponse;
/// use warden::TokenError;
///
/// let response = TokenError::invalid_grant("Incorrect username or password").into_response();
/// assert_eq!(response.status(), 400);
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error:?}")]
pub struct TokenError {
    /// The code.
    pub error: TokenErrorCode,
    /// A fixed, human-readable explanation; never contains request data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<Cow<'static, str>>,
}

impl TokenError {
    /// An error with `code` and `description`.
    pub fn new(code: TokenErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            error: code,
            error_description: Some(description.into()),
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(TokenErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(TokenErrorCode::InvalidGrant, description)
    }

    /// `invalid_client`.
    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(TokenErrorCode::InvalidClient, description)
    }

    /// `invalid_scope`.
    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(TokenErrorCode::InvalidScope, description)
    }

    /// `unsupported_grant_type`.
    pub fn unsupported_grant_type(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(TokenErrorCode::UnsupportedGrantType, description)
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let status = if self.error == TokenErrorCode::InvalidClient {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        let invalid_client = self.error == TokenErrorCode::InvalidClient;
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if invalid_client {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
        }
        response
    }
}
