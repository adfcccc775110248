//! HTTP Bearer authentication (RFC 6750).

use std::fmt;
use std::marker::PhantomData;

use http::request::Parts;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::challenge::{Challenge, ChallengeScheme};
use crate::credentials::{Credentials, credentials_extractor};
use crate::error::AuthError;
use crate::openapi::{Alternatives, SchemeRegistry};
use crate::parse;

/// How an [`HttpBearer`] scheme is named and described.
///
/// ```
/// use warden::{BearerScheme, HttpBearer};
///
/// struct Jwt;
/// impl BearerScheme for Jwt {
///     const SCHEME_NAME: &'static str = "JWT";
///     const BEARER_FORMAT: Option<&'static str> = Some("JWT");
/// }
///
/// async fn handler(bearer: HttpBearer<Jwt>) -> usize {
///     bearer.token.len()
/// }
/// ```
pub trait BearerScheme: Send + Sync + 'static {
    /// The name under `components.securitySchemes`.
    const SCHEME_NAME: &'static str;
    /// OpenAPI's `bearerFormat`, a hint such as `"JWT"`.
    const BEARER_FORMAT: Option<&'static str> = None;
    /// The `realm` of the `WWW-Authenticate` challenge.
    const REALM: Option<&'static str> = None;
    /// The scheme's description in the OpenAPI document.
    const DESCRIPTION: Option<&'static str> = None;
}

/// The scheme of a plain `HttpBearer`: named `HTTPBearer`, like FastAPI's.
#[derive(Debug, Clone, Copy)]
pub struct DefaultBearer;

impl BearerScheme for DefaultBearer {
    const SCHEME_NAME: &'static str = "HTTPBearer";
}

/// A token from `Authorization: Bearer <token>` (RFC 6750 §2.1). FastAPI's `HTTPBearer`.
///
/// A header naming another scheme counts as no credentials (401 with `Bearer`); a token that
/// is not `b64token` syntax is malformed (400 `error="invalid_request"`, RFC 6750 §3.1).
/// Verifying the token is the job of a [`Principal`](crate::Principal).
///
/// ```
/// use warden::HttpBearer;
///
/// async fn handler(bearer: Option<HttpBearer>) -> &'static str {
///     if bearer.is_some() { "token" } else { "anonymous" }
/// }
/// ```
pub struct HttpBearer<S: BearerScheme = DefaultBearer> {
    /// The token.
    pub token: String,
    scheme: PhantomData<fn() -> S>,
}

impl<S: BearerScheme> fmt::Debug for HttpBearer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpBearer")
            .field("token", &"[redacted]")
            .finish()
    }
}

impl<S: BearerScheme> HttpBearer<S> {
    const fn scheme_challenge() -> Challenge {
        let challenge = Challenge::new(ChallengeScheme::Bearer);
        match S::REALM {
            Some(realm) => challenge.with_realm(realm),
            None => challenge,
        }
    }
}

/// Reads a bearer token, checking its syntax; shared by every bearer-token scheme.
pub(crate) fn bearer_token(
    parts: &Parts,
    challenge: Challenge,
) -> Result<Option<String>, AuthError> {
    let malformed = |reason| AuthError::MalformedCredentials { challenge, reason };
    let Some(token) = parse::authorization(parts, "Bearer").map_err(malformed)? else {
        return Ok(None);
    };
    if !parse::is_b64token(token) {
        return Err(malformed("token is not b64token syntax"));
    }
    Ok(Some(token.to_owned()))
}

impl<S: BearerScheme> Credentials for HttpBearer<S> {
    fn extract(parts: &Parts) -> Result<Option<Self>, AuthError> {
        Ok(
            bearer_token(parts, Self::scheme_challenge())?.map(|token| Self {
                token,
                scheme: PhantomData,
            }),
        )
    }

    fn missing_challenges(out: &mut Vec<Challenge>) {
        out.push(Self::scheme_challenge());
    }

    fn challenge(&self) -> Challenge {
        Self::scheme_challenge()
    }

    fn describe(registry: &mut SchemeRegistry) -> Alternatives {
        let mut scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(S::DESCRIPTION);
        if let Some(format) = S::BEARER_FORMAT {
            scheme = scheme.bearer_format(format);
        }
        registry.register(S::SCHEME_NAME, SecurityScheme::Http(scheme.build()));
        Alternatives::scheme(S::SCHEME_NAME)
    }
}

credentials_extractor!(HttpBearer<S: BearerScheme>);
