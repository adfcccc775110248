//! The `DPoP` authentication scheme (RFC 9449 §7.1): `Authorization: DPoP <token>` with a
//! `DPoP: <proof>` header.

use std::fmt;
use std::marker::PhantomData;

use axum::extract::OriginalUri;
use http::request::Parts;
use http::{HeaderMap, HeaderName, Method};
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{ProofAlgorithms, ProofRequest};
use crate::challenge::{Challenge, ChallengeScheme};
use crate::credentials::{Credentials, credentials_extractor};
use crate::error::AuthError;
use crate::openapi::{Alternatives, HTTP_SCHEME_EXTENSION, SchemeRegistry};
use crate::parse;

/// The `DPoP` request header.
pub const DPOP: HeaderName = HeaderName::from_static("dpop");

/// How a [`DPoP`] scheme is named, described, and which proof algorithms it accepts.
///
/// ```
/// use warden::dpop::{DPoPScheme, ProofAlgorithms};
///
/// /// ES256 only, as FAPI 2.0 deployments often require.
/// struct Strict;
/// impl DPoPScheme for Strict {
///     const SCHEME_NAME: &'static str = "DPoP";
///     const ALGORITHMS: ProofAlgorithms = ProofAlgorithms::ES256;
/// }
/// ```
pub trait DPoPScheme: Send + Sync + 'static {
    /// The name under `components.securitySchemes`.
    const SCHEME_NAME: &'static str;
    /// The algorithms a proof may be signed with; the challenge's `algs` lists them.
    const ALGORITHMS: ProofAlgorithms = ProofAlgorithms::DEFAULT;
    /// The `realm` of the `WWW-Authenticate` challenge.
    const REALM: Option<&'static str> = None;
    /// The scheme's description in the OpenAPI document.
    const DESCRIPTION: Option<&'static str> = None;
}

/// The scheme of a plain [`DPoP`]: named `DPoP`, ES256 and EdDSA proofs.
#[derive(Debug, Clone, Copy)]
pub struct DefaultDPoP;

impl DPoPScheme for DefaultDPoP {
    const SCHEME_NAME: &'static str = "DPoP";
    const DESCRIPTION: Option<&'static str> = Some(
        "A DPoP-bound access token (RFC 9449): `Authorization: DPoP <token>` with a `DPoP` proof header signed by the token's key.",
    );
}

/// A DPoP-bound access token with its proof, and what the proof must match: the request's
/// method and path.
///
/// Only the syntax is checked here (one `Authorization: DPoP` token, exactly one `DPoP`
/// header, both bounded); the token and the proof are checked by a
/// [`Principal`](crate::Principal) — [`Jwt<C, DPoP>`](crate::jwt::Jwt) with a
/// [`DPoPVerifier`](super::DPoPVerifier) in the state. The scheme name is
/// case-insensitive (RFC 9110 §11.1).
///
/// ```
/// use warden::dpop::DPoP;
///
/// async fn handler(dpop: DPoP) -> String {
///     format!("{} {}", dpop.method, dpop.path)
/// }
/// ```
pub struct DPoP<S: DPoPScheme = DefaultDPoP> {
    /// The access token.
    pub token: String,
    /// The proof, a compact JWS.
    pub proof: String,
    /// The request's method.
    pub method: Method,
    /// The path the server received (before any nesting stripped a prefix).
    pub path: String,
    scheme: PhantomData<fn() -> S>,
}

impl<S: DPoPScheme> fmt::Debug for DPoP<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DPoP")
            .field("token", &"[redacted]")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl<S: DPoPScheme> DPoP<S> {
    const fn scheme_challenge() -> Challenge {
        let challenge = Challenge::new(ChallengeScheme::DPoP).with_algs(S::ALGORITHMS.names());
        match S::REALM {
            Some(realm) => challenge.with_realm(realm),
            None => challenge,
        }
    }

    /// What the proof must match: this request, this token, the scheme's algorithms.
    pub fn proof_request(&self) -> ProofRequest<'_> {
        ProofRequest::new(&self.proof, &self.method, &self.path)
            .access_token(&self.token)
            .algorithms(S::ALGORITHMS)
    }
}

/// The one `DPoP` header of a request (RFC 9449 §4.3 check 1), within the size bound;
/// `Ok(None)` when there is none. For endpoints that read the proof themselves (an
/// authorization server's token endpoint).
///
/// ```
/// use http::HeaderMap;
/// use warden::dpop::proof_header;
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(proof_header(&headers), Ok(None));
/// headers.append("dpop", "a.b.c".parse().unwrap());
/// assert_eq!(proof_header(&headers), Ok(Some("a.b.c")));
/// headers.append("dpop", "d.e.f".parse().unwrap());
/// assert!(proof_header(&headers).is_err());
/// ```
pub fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let mut values = headers.get_all(DPOP).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("more than one DPoP header");
    }
    if value.len() > super::DEFAULT_MAX_PROOF_BYTES * 2 {
        return Err("DPoP header too long");
    }
    let value = value
        .to_str()
        .map_err(|_| "DPoP header is not visible ASCII")?;
    Ok(Some(value.trim()))
}

impl<S: DPoPScheme> Credentials for DPoP<S> {
    fn extract(parts: &Parts) -> Result<Option<Self>, AuthError> {
        let challenge = Self::scheme_challenge();
        let Some(token) = parse::authorization(parts, "DPoP")
            .map_err(|reason| AuthError::MalformedCredentials { challenge, reason })?
        else {
            return Ok(None);
        };
        if !parse::is_b64token(token) {
            return Err(AuthError::MalformedCredentials {
                challenge,
                reason: "token is not token68 syntax",
            });
        }
        let refused = |reason: &'static str| {
            tracing::debug!(reason, "DPoP proof refused");
            AuthError::InvalidDPoPProof {
                challenge,
                nonce: None,
            }
        };
        let proof = proof_header(&parts.headers)
            .map_err(refused)?
            .filter(|p| !p.is_empty())
            .ok_or_else(|| refused("no DPoP header"))?;
        // The path as received: nesting (`Router::nest`) strips its prefix from `parts.uri`.
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path(), |original| original.0.path());
        Ok(Some(Self {
            token: token.to_owned(),
            proof: proof.to_owned(),
            method: parts.method.clone(),
            path: path.to_owned(),
            scheme: PhantomData,
        }))
    }

    fn missing_challenges(out: &mut Vec<Challenge>) {
        out.push(Self::scheme_challenge());
    }

    fn challenge(&self) -> Challenge {
        Self::scheme_challenge()
    }

    fn describe(registry: &mut SchemeRegistry) -> Alternatives {
        // utoipa knows no `DPoP` HTTP scheme; the extension names it, and the document as
        // served (`openapi::to_json`, the `Docs` routes) carries `scheme: DPoP`, the name
        // IANA registered (RFC 9449 §12.1).
        let extensions = ExtensionsBuilder::new()
            .add(HTTP_SCHEME_EXTENSION, "DPoP")
            .add("x-dpop-algs", S::ALGORITHMS.names())
            .build();
        let mut scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(S::DESCRIPTION)
            .build();
        scheme.extensions = Some(extensions);
        registry.register(S::SCHEME_NAME, SecurityScheme::Http(scheme));
        Alternatives::scheme(S::SCHEME_NAME)
    }
}

credentials_extractor!(DPoP<S: DPoPScheme>);
