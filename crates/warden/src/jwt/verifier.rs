//! Verifying a token: JWS compact serialization (RFC 7515 §7.1), then the claims (RFC 7519
//! §7.2), with the defences of RFC 8725.

use std::any::TypeId;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::cache::{DEFAULT_CACHE_CAPACITY, Shared, TokenCache};
use super::{Algorithm, Claims, KeyRing, KeyState, VerifyingKey};

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

impl Keys {
    /// Changes whenever the set of keys may have lost a key: what a cached verification is
    /// tied to.
    fn generation(&self) -> u64 {
        match self {
            Keys::Fixed(_) => 0,
            Keys::Ring(ring) => ring.generation(),
            #[cfg(feature = "remote-jwks")]
            Keys::Remote(remote) => remote.generation(),
        }
    }
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
    cache: Option<Arc<TokenCache>>,
}

fn default_cache() -> Option<Arc<TokenCache>> {
    Some(Arc::new(TokenCache::new(DEFAULT_CACHE_CAPACITY)))
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("validation", &self.validation)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Verifies with fixed keys (a resource server configured with its issuer's public keys).
    pub fn with_keys(keys: Vec<VerifyingKey>, validation: Validation) -> Self {
        Self {
            keys: Keys::Fixed(keys.into()),
            validation: Arc::new(validation),
            cache: default_cache(),
        }
    }

    /// Verifies with the keys of a ring, following its rotations.
    pub fn with_ring(ring: KeyRing, validation: Validation) -> Self {
        Self {
            keys: Keys::Ring(ring),
            validation: Arc::new(validation),
            cache: default_cache(),
        }
    }

    /// Verifies with the keys of a remote JWKS.
    #[cfg(feature = "remote-jwks")]
    pub fn with_remote(jwks: super::RemoteJwks, validation: Validation) -> Self {
        Self {
            keys: Keys::Remote(jwks),
            validation: Arc::new(validation),
            cache: default_cache(),
        }
    }

    /// Sets how many verified tokens are remembered (default
    /// [`DEFAULT_CACHE_CAPACITY`](super::DEFAULT_CACHE_CAPACITY)); `0` verifies every token
    /// every time. The cache serves [`verify_shared`](Self::verify_shared), which the [`Jwt`]
    /// principal uses: a client presenting the same token again costs a hash lookup instead of
    /// a signature check, and a hit never accepts what a full verification would refuse now
    /// (same bytes, same key generation, claims re-checked against the clock).
    ///
    /// [`Jwt`]: super::Jwt
    ///
    /// ```
    /// use warden::jwt::{Validation, Verifier};
    ///
    /// let verifier = Verifier::with_keys(vec![], Validation::new()).cache_capacity(0);
    /// ```
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = (capacity > 0).then(|| Arc::new(TokenCache::new(capacity)));
        self
    }

    /// Verifies `token` now. Every call verifies the signature; see
    /// [`verify_shared`](Self::verify_shared) for the cached path.
    pub async fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<Claims<C>, JwtError> {
        self.verify_at(token, now()).await
    }

    /// Verifies `token` now, answering from the verifier's cache of recently verified tokens
    /// when it can: the claims come back shared, so a hit neither parses nor allocates.
    ///
    /// ```
    /// use warden::jwt::{Algorithm, Claims, Issuer, KeyRing, NoClaims, SigningKey, Validation, Verifier};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    /// let claims: Claims = Claims { sub: Some("alice".into()), ..Claims::default() };
    /// let token = Issuer::new(ring.clone(), "iss").access_token(&claims, 60).unwrap();
    /// let verifier = Verifier::with_ring(ring, Validation::new());
    /// let first = verifier.verify_shared::<NoClaims>(&token).await.unwrap();
    /// let again = verifier.verify_shared::<NoClaims>(&token).await.unwrap();
    /// assert!(std::sync::Arc::ptr_eq(&first, &again)); // the second one was a cache hit
    /// # });
    /// ```
    pub async fn verify_shared<C>(&self, token: &str) -> Result<Arc<Claims<C>>, JwtError>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        self.verify_shared_at(token, now()).await
    }

    /// [`verify_shared`](Self::verify_shared) as of `now` (seconds since the epoch).
    pub async fn verify_shared_at<C>(
        &self,
        token: &str,
        now: u64,
    ) -> Result<Arc<Claims<C>>, JwtError>
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        let Some(cache) = &self.cache else {
            return Ok(Arc::new(self.verify_full(token, now).await?.0));
        };
        let type_id = TypeId::of::<Claims<C>>();
        if let Some(hit) = cache.get(type_id, token, self.keys.generation(), now)
            && let Ok(claims) = hit.downcast::<Claims<C>>()
        {
            // The signature stands; time has moved on (RFC 7519 §4.1.4, §4.1.5).
            self.check_claims(&claims, now)?;
            return Ok(claims);
        }
        let (claims, Verified { generation, until }) = self.verify_full::<C>(token, now).await?;
        let claims = Arc::new(claims);
        cache.insert(
            type_id,
            token,
            Arc::clone(&claims) as Shared,
            generation,
            until,
        );
        Ok(claims)
    }

    /// Verifies `token` as of `now` (seconds since the epoch).
    pub async fn verify_at<C: DeserializeOwned>(
        &self,
        token: &str,
        now: u64,
    ) -> Result<Claims<C>, JwtError> {
        Ok(self.verify_full(token, now).await?.0)
    }

    /// The whole verification, and what the cache needs to know of the key that verified.
    async fn verify_full<C: DeserializeOwned>(
        &self,
        token: &str,
        now: u64,
    ) -> Result<(Claims<C>, Verified), JwtError> {
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
            Keys::Fixed(keys) => {
                check(keys.iter().map(|k| (k, None)), kid, alg, &parts)?;
                Verified {
                    generation: 0,
                    until: None,
                }
            }
            Keys::Ring(ring) => ring.with_verifying_keys(now, |generation, keys| {
                check(keys, kid, alg, &parts).map(|state| Verified {
                    generation,
                    until: match state {
                        Some(KeyState::Retired { until }) => Some(until),
                        _ => None,
                    },
                })
            })?,
            #[cfg(feature = "remote-jwks")]
            Keys::Remote(remote) => {
                let (keys, generation) = remote.keys_for(kid).await?;
                check(keys.iter().map(|k| (k, None)), kid, alg, &parts)?;
                Verified {
                    generation,
                    until: None,
                }
            }
        };
        let claims: Claims<C> = parts.claims()?;
        self.check_claims(&claims, now)?;
        Ok((claims, verified))
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

/// What a successful verification tells the cache about its key.
struct Verified {
    /// The generation of the key set the key was taken from.
    generation: u64,
    /// When the key stops verifying (a retired ring key), seconds since the epoch.
    until: Option<u64>,
}

/// Tries the candidate keys, each with its ring state if it has one: those with the token's
/// `kid` (all keys when it has none) whose algorithm is the header's. Answers the ring state
/// of the key that verified.
fn check<'k>(
    keys: impl Iterator<Item = (&'k VerifyingKey, Option<KeyState>)>,
    kid: Option<&str>,
    alg: Algorithm,
    parts: &Parts<'_>,
) -> Result<Option<KeyState>, JwtError> {
    let mut candidates = 0;
    for (key, state) in keys {
        if kid.is_some() && key.kid() != kid {
            continue;
        }
        if key.algorithm() != alg {
            continue;
        }
        candidates += 1;
        if key.verify(parts.signing_input.as_bytes(), &parts.signature) {
            return Ok(state);
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
