//! The authorization response the browser brings back to the redirect URI
//! (RFC 6749 §4.1.2, RFC 9207 §2).

use std::fmt;

use axum::extract::FromRequestParts;
use http::request::Parts;

use super::SignInError;

/// The longest query string read from a callback: 8 KiB.
const MAX_QUERY_BYTES: usize = 8 * 1024;
/// The longest single parameter value.
const MAX_VALUE_BYTES: usize = 4 * 1024;

/// The parameters of an authorization response: `code` and `state` on success, `error` on
/// refusal, and the issuer (`iss`, RFC 9207) when the provider sends it.
///
/// Parsed strictly: each parameter at most once (a repeated one is refused, not
/// "first wins"), each at most 4 KiB, the query at most 8 KiB. It is an axum extractor
/// whose rejection is a [`SignInError`]:
///
/// ```
/// use warden::oauth_client::Callback;
///
/// let callback = Callback::parse("code=abc&state=xyz&iss=https%3A%2F%2Fidp.example").unwrap();
/// assert_eq!(callback.state(), Some("xyz"));
/// assert!(Callback::parse("code=a&code=b&state=x").is_err());
/// ```
#[derive(Clone, Default)]
pub struct Callback {
    pub(crate) code: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) iss: Option<String>,
    pub(crate) error: Option<String>,
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("code", &self.code.as_ref().map(|_| "…"))
            .field("iss", &self.iss)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Callback {
    /// Parses a callback's query string (without the `?`).
    pub fn parse(query: &str) -> Result<Self, SignInError> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(SignInError::MalformedCallback("query too long"));
        }
        let mut callback = Self::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                "code" => &mut callback.code,
                "state" => &mut callback.state,
                "iss" => &mut callback.iss,
                "error" => &mut callback.error,
                _ => continue,
            };
            if slot.is_some() {
                return Err(SignInError::MalformedCallback("repeated parameter"));
            }
            if value.len() > MAX_VALUE_BYTES {
                return Err(SignInError::MalformedCallback("parameter too long"));
            }
            *slot = Some(value.into_owned());
        }
        Ok(callback)
    }

    /// The `state` parameter: the key of the pending sign-in (see
    /// [`state_key`](super::state_key)).
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The `error` parameter, when the provider refused.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Callback {
    type Rejection = SignInError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Self::parse(parts.uri.query().unwrap_or(""))
    }
}
