//! Verifying a token: JWS compact serialization (RFC 7515 §7.1), then the claims (RFC 7519
//! §7.2), with the defences of RFC 8725.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Algorithm, Claims, KeyRing, VerifyingKey};

/// The longest token accepted by default, in bytes (8 KiB, the `Authorization` bound).
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The largest clock leeway accepted: five minutes.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// Why a token was refused. Never shown to clients (they get `invalid_token`); logged at
/// debug level by the principal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Longer than the configured bound.
    #[error("token too long")]
    TooLong,
    /// Not three base64url segments of JSON.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header lists critical extensions (RFC 7515 §4.1.11); none are supported.
    #[error("unsupported critical header parameters")]
    CriticalHeader,
    /// No configured key has this `kid`, or none matches the header's `alg`.
    #[error("no key for this token")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The `typ` header is not the required one (RFC 8725 §3.11, RFC 9068 §4).
    #[error("wrong token type")]
    WrongType,
    /// Past `exp`.
    #[error("expired")]
    Expired,
    /// Before `nbf`.
    #[error("not yet valid")]
    NotYetValid,
    /// `iat` is in the future.
    #[error("issued in the future")]
    IssuedInFuture,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("wrong audience")]
    WrongAudience,
    /// A required claim is missing.
    #[error("missing claim `{0}`")]
    MissingClaim(&'static str),
    /// The keys could not be obtained (a JWKS endpoint is down and nothing is cached).
    #[error("keys unavailable")]
    KeysUnavailable,
    /// Signing failed.
    #[error("signing failed")]
    Signing,
}

/// What a verifier checks besides the signature.
///
/// `exp` is always required. `iss` and `aud` are checked when configured, and then required.
///
/// ```
/// use std::time::Duration;
/// use warden::jwt::Validation;
///
/// let validation = Validation::new()
///     .issuer("https://auth.example.com")
///     .audience("https://api.example.com")
///     .access_tokens() // `typ` must be `at+jwt` (RFC 9068): an ID token is refused
///     .leeway(Duration::from_secs(30));
/// ```
#[derive(Debug, Clone)]
pub struct Validation {
    issuer: Option<String>,
    audience: Option<String>,
    leeway: u64,
    typ: Option<&'static str>,
    max_token_bytes: usize,
}

impl Default for Validation {
    fn default() -> Self {
        Self::new()
    }
}

impl Validation {
    /// `exp` required, 60 s leeway, any `typ`, 8 KiB bound.
    pub fn new() -> Self {
        Self {
            issuer: None,
            audience: None,
            leeway: 60,
            typ: None,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }

    /// Requires `iss` to equal `issuer` exactly.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Requires `aud` to contain `audience`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Clock leeway for `exp`, `nbf` and `iat`, at most [`MAX_LEEWAY`].
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.min(MAX_LEEWAY).as_secs();
        self
    }

    /// Requires the `typ` header to be `at+jwt` (or `application/at+jwt`): only access tokens
    /// are accepted (RFC 9068 §4), so an ID token or any other JWT signed by the same keys
    /// cannot be replayed as one.
    pub fn access_tokens(mut self) -> Self {
        self.typ = Some("at+jwt");
        self
    }

    /// Bounds the token length.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }
}

/// The protected header. Only what is needed is read: `jku`, `x5u`, `x5c` and `jwk` are never
/// looked at (RFC 8725 §3.10 — a token must not choose the key that verifies it).
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
    #[serde(default)]
    b64: Option<serde_json::Value>,
}

/// The longest `kid` looked up; a `kid` is only ever a map key, never a path or a query.
const MAX_KID_BYTES: usize = 256;

/// Where a verifier's keys come from.
#[derive(Clone)]
enum Keys {
    Fixed(Arc<[VerifyingKey]>),
    Ring(KeyRing),
    #[cfg(feature = "remote-jwks")]
    Remote(super::RemoteJwks),
}

/// Verifies tokens against configured keys. Cheap to clone; share one per key source.
///
/// ```
/// use warden::jwt::{Algorithm, Claims, Issuer, KeyRing, SigningKey, Validation, Verifier};
///
/// # tokio_test_block_on(async {
/// let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
/// let issuer = Issuer::new(ring.clone(), "https://auth.example.com");
/// let verifier = Verifier::with_ring(ring, Validation::new().issuer("https://auth.example.com"));
///
/// let claims: Claims = Claims { sub: Some("alice".into()), ..Claims::default() };
/// let token = issuer.access_token(&claims, 900).unwrap();
/// let claims: Claims = verifier.verify(&token).await.unwrap();
/// assert_eq!(claims.sub.as_deref(), Some("alice"));
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone)]
pub struct Verifier {
    keys: Keys,
    validation: Arc<Validation>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("validation", &self.validation)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Verifies with fixed keys (a resource server configured with its issuer's public keys).
    pub fn with_keys(keys: Vec<VerifyingKey>, validation: Validation) -> Self {
        Self {
            keys: Keys::Fixed(keys.into()),
            validation: Arc::new(validation),
        }
    }

    /// Verifies with the keys of a ring, following its rotations.
    pub fn with_ring(ring: KeyRing, validation: Validation) -> Self {
        Self {
            keys: Keys::Ring(ring),
            validation: Arc::new(validation),
        }
    }

    /// Verifies with the keys of a remote JWKS.
    #[cfg(feature = "remote-jwks")]
    pub fn with_remote(jwks: super::RemoteJwks, validation: Validation) -> Self {
        Self {
            keys: Keys::Remote(jwks),
            validation: Arc::new(validation),
        }
    }

    /// Verifies `token` now.
    pub async fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<Claims<C>, JwtError> {
        self.verify_at(token, now()).await
    }

    /// Verifies `token` as of `now` (seconds since the epoch).
    pub async fn verify_at<C: DeserializeOwned>(
        &self,
        token: &str,
        now: u64,
    ) -> Result<Claims<C>, JwtError> {
        let parts = Parts::split(token, self.validation.max_token_bytes)?;
        let header = parts.header()?;
        if header.crit.is_some() {
            // RFC 7515 §4.1.11: unknown critical extensions MUST be rejected; we know none.
            return Err(JwtError::CriticalHeader);
        }
        if header.b64.is_some() {
            // RFC 7797 unencoded payloads are not supported.
            return Err(JwtError::CriticalHeader);
        }
        if let Some(required) = self.validation.typ {
            // RFC 7515 §4.1.9: the "application/" prefix may be omitted; compare ignoring case.
            let typ = header.typ.as_deref().unwrap_or("");
            let typ = typ.strip_prefix("application/").unwrap_or(typ);
            if !typ.eq_ignore_ascii_case(required) {
                return Err(JwtError::WrongType);
            }
        }
        let kid = header.kid.as_deref();
        if kid.is_some_and(|k| k.len() > MAX_KID_BYTES) {
            return Err(JwtError::UnknownKey);
        }
        // The key decides the algorithm: the header's `alg` must name the candidate key's own
        // algorithm, so `none`, HS256-with-a-public-key and any other substitution find no key
        // (RFC 8725 §2.1, §3.1).
        let alg = Algorithm::from_name(&header.alg).ok_or(JwtError::UnknownKey)?;
        let verified = match &self.keys {
            Keys::Fixed(keys) => check(keys.iter(), kid, alg, &parts)?,
            Keys::Ring(ring) => {
                ring.with_verifying_keys(now, |keys| check(keys, kid, alg, &parts))?
            }
            #[cfg(feature = "remote-jwks")]
            Keys::Remote(remote) => {
                let keys = remote.keys_for(kid).await?;
                check(keys.iter(), kid, alg, &parts)?
            }
        };
        debug_assert!(verified);
        let claims: Claims<C> = parts.claims()?;
        self.check_claims(&claims, now)?;
        Ok(claims)
    }

    fn check_claims<C>(&self, claims: &Claims<C>, now: u64) -> Result<(), JwtError> {
        let v = &self.validation;
        let exp = claims.exp.ok_or(JwtError::MissingClaim("exp"))?;
        // RFC 7519 §4.1.4: the current time MUST be before exp.
        if now >= exp.saturating_add(v.leeway) {
            return Err(JwtError::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| now.saturating_add(v.leeway) < nbf)
        {
            return Err(JwtError::NotYetValid);
        }
        if claims
            .iat
            .is_some_and(|iat| iat > now.saturating_add(v.leeway))
        {
            return Err(JwtError::IssuedInFuture);
        }
        if let Some(issuer) = &v.issuer {
            match &claims.iss {
                None => return Err(JwtError::MissingClaim("iss")),
                Some(iss) if iss != issuer => return Err(JwtError::WrongIssuer),
                Some(_) => {}
            }
        }
        if let Some(audience) = &v.audience {
            if claims.aud.is_empty() {
                return Err(JwtError::MissingClaim("aud"));
            }
            if !claims.aud.contains(audience) {
                return Err(JwtError::WrongAudience);
            }
        }
        Ok(())
    }
}

/// Tries the candidate keys: those with the token's `kid` (all keys when it has none) whose
/// algorithm is the header's.
fn check<'k>(
    keys: impl Iterator<Item = &'k VerifyingKey>,
    kid: Option<&str>,
    alg: Algorithm,
    parts: &Parts<'_>,
) -> Result<bool, JwtError> {
    let mut candidates = 0;
    for key in keys {
        if kid.is_some() && key.kid() != kid {
            continue;
        }
        if key.algorithm() != alg {
            continue;
        }
        candidates += 1;
        if key.verify(parts.signing_input.as_bytes(), &parts.signature) {
            return Ok(true);
        }
    }
    Err(if candidates == 0 {
        JwtError::UnknownKey
    } else {
        JwtError::BadSignature
    })
}

struct Parts<'a> {
    header: &'a str,
    payload: &'a str,
    signing_input: &'a str,
    signature: Vec<u8>,
}

impl<'a> Parts<'a> {
    fn split(token: &'a str, max: usize) -> Result<Self, JwtError> {
        if token.len() > max {
            return Err(JwtError::TooLong);
        }
        let mut dots = token.match_indices('.').map(|(i, _)| i);
        let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
            return Err(JwtError::Malformed("not three segments"));
        };
        let signature_b64 = &token[second + 1..];
        if signature_b64.is_empty() {
            // An unsecured JWS (RFC 7515 §A.5) is never accepted.
            return Err(JwtError::Malformed("no signature"));
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| JwtError::Malformed("signature is not base64url"))?;
        Ok(Self {
            header: &token[..first],
            payload: &token[first + 1..second],
            signing_input: &token[..second],
            signature,
        })
    }

    fn header(&self) -> Result<Header, JwtError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(self.header)
            .map_err(|_| JwtError::Malformed("header is not base64url"))?;
        // Duplicate members are refused by serde (RFC 7515 §5.2 allows refusing them).
        serde_json::from_slice(&bytes)
            .map_err(|_| JwtError::Malformed("header is not a JOSE header"))
    }

    fn claims<C: DeserializeOwned>(&self) -> Result<Claims<C>, JwtError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| JwtError::Malformed("payload is not base64url"))?;
        serde_json::from_slice(&bytes)
            .map_err(|_| JwtError::Malformed("payload is not a claims set"))
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
