//! HTTP Digest, declared only.

use std::fmt;
use std::marker::PhantomData;

use http::request::Parts;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::challenge::{Challenge, ChallengeScheme};
use crate::credentials::{Credentials, credentials_extractor};
use crate::error::AuthError;
use crate::openapi::{Alternatives, SchemeRegistry};
use crate::parse;

/// How an [`HttpDigest`] scheme is named and described.
pub trait DigestScheme: Send + Sync + 'static {
    /// The name under `components.securitySchemes`.
    const SCHEME_NAME: &'static str;
    /// The scheme's description in the OpenAPI document.
    const DESCRIPTION: Option<&'static str> = None;
}

/// The scheme of a plain `HttpDigest`: named `HTTPDigest`, like FastAPI's.
#[derive(Debug, Clone, Copy)]
pub struct DefaultDigest;

impl DigestScheme for DefaultDigest {
    const SCHEME_NAME: &'static str = "HTTPDigest";
}

/// The raw parameters of `Authorization: Digest …`, declared in OpenAPI but **not verified**.
///
/// Like FastAPI's `HTTPDigest`, this only extracts and documents. RFC 7616 is not
/// implemented: it needs the server to keep a password-equivalent (`H(user:realm:password)`)
/// instead of a slow salted hash, and most clients only speak MD5 for it. Use Basic over TLS,
/// a bearer token or an API key instead; this type exists so an API that must *document* a
/// Digest endpoint (served by a proxy, say) can.
///
/// ```
/// use warden::HttpDigest;
///
/// async fn handler(digest: HttpDigest) -> usize {
///     digest.credentials.len()
/// }
/// ```
pub struct HttpDigest<S: DigestScheme = DefaultDigest> {
    /// Everything after `Digest `, unparsed.
    pub credentials: String,
    scheme: PhantomData<fn() -> S>,
}

impl<S: DigestScheme> fmt::Debug for HttpDigest<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpDigest")
            .field("credentials", &"[redacted]")
            .finish()
    }
}

const DIGEST: Challenge = Challenge::new(ChallengeScheme::Digest);

impl<S: DigestScheme> Credentials for HttpDigest<S> {
    fn extract(parts: &Parts) -> Result<Option<Self>, AuthError> {
        let found = parse::authorization(parts, "Digest").map_err(|reason| {
            AuthError::MalformedCredentials {
                challenge: DIGEST,
                reason,
            }
        })?;
        Ok(found.map(|credentials| Self {
            credentials: credentials.to_owned(),
            scheme: PhantomData,
        }))
    }

    fn missing_challenges(out: &mut Vec<Challenge>) {
        out.push(DIGEST);
    }

    fn challenge(&self) -> Challenge {
        DIGEST
    }

    fn describe(registry: &mut SchemeRegistry) -> Alternatives {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Digest)
            .description(S::DESCRIPTION)
            .build();
        registry.register(S::SCHEME_NAME, SecurityScheme::Http(scheme));
        Alternatives::scheme(S::SCHEME_NAME)
    }
}

credentials_extractor!(HttpDigest<S: DigestScheme>);
