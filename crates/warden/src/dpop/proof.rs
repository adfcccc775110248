//! Checking a DPoP proof: RFC 9449 §4.3, one check after another, in the RFC's numbering.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::htu::{self, MAX_HTU_BYTES};
use super::{MemoryReplayStore, Nonces, ProofAlgorithms, ReplayStore, ReplayStoreError};
use crate::jwt::{Algorithm, Jwk, VerifyingKey};
use crate::secret::constant_time_eq;

/// The longest proof accepted by default: an RSA key with its claims fits in 4 KiB.
pub const DEFAULT_MAX_PROOF_BYTES: usize = 4096;

/// How old a proof may be by default (its `iat`), and so how long its `jti` is remembered.
pub const DEFAULT_PROOF_MAX_AGE: Duration = Duration::from_secs(300);

/// How far in the future a proof's `iat` may be by default: the clients' clock skew.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// The longest `jti` accepted; it is only ever hashed.
const MAX_JTI_BYTES: usize = 256;

/// The JWK members that hold private key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC
/// 8037 §2). A proof carrying any of them is refused (RFC 9449 §4.3, check 7).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Why a proof was refused. The client learns only the error code
/// ([`code`](Self::code)); the variant is logged at debug level.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Longer than the configured bound.
    #[error("proof too long")]
    TooLong,
    /// Not a JWS of JSON with the claims of §4.2.
    #[error("malformed proof: {0}")]
    Malformed(&'static str),
    /// `typ` is not `dpop+jwt` (check 4).
    #[error("wrong proof type")]
    WrongType,
    /// `alg` is not one the route accepts, or does not match the key (check 5).
    #[error("algorithm not accepted")]
    Algorithm,
    /// The `jwk` holds private key material (check 7).
    #[error("the proof's key is private")]
    PrivateKey,
    /// The `jwk` is not a usable public key.
    #[error("unusable proof key")]
    BadKey,
    /// The signature does not verify with the `jwk` (check 6).
    #[error("bad proof signature")]
    BadSignature,
    /// A required claim is missing (check 3).
    #[error("missing claim `{0}`")]
    MissingClaim(&'static str),
    /// `htm` is not the request's method (check 8).
    #[error("wrong method")]
    WrongMethod,
    /// `htu` is not the request's URI (check 9).
    #[error("wrong URI")]
    WrongUri,
    /// `iat` is older than the accepted window (check 11).
    #[error("proof too old")]
    TooOld,
    /// `iat` is further in the future than the clock skew allows (check 11).
    #[error("proof issued in the future")]
    IssuedInFuture,
    /// `ath` is not the hash of the access token sent with it (check 12).
    #[error("proof for another access token")]
    WrongAccessToken,
    /// The proof's key is not the key the token is bound to (check 12).
    #[error("proof key is not the token's key")]
    WrongKey,
    /// The proof lacks the current server nonce (check 10): the client retries with
    /// `nonce`.
    #[error("a fresh server nonce is required")]
    UseNonce {
        /// The nonce to send back in `DPoP-Nonce`.
        nonce: String,
    },
    /// This proof was already accepted once (§11.1).
    #[error("proof replayed")]
    Replayed,
    /// The replay store could not answer; the proof is refused.
    #[error(transparent)]
    Store(#[from] ReplayStoreError),
}

impl ProofError {
    /// The OAuth error code for the client: `use_dpop_nonce` (RFC 9449 §8, §9),
    /// `invalid_token` when the token is not bound to the proof's key (§7.1), and
    /// `invalid_dpop_proof` for everything else (§5, §7.1).
    pub fn code(&self) -> &'static str {
        match self {
            Self::UseNonce { .. } => "use_dpop_nonce",
            Self::WrongKey => "invalid_token",
            _ => "invalid_dpop_proof",
        }
    }
}

/// What a proof proved: the key the client holds.
#[derive(Debug, Clone)]
pub struct Proof {
    /// The RFC 7638 thumbprint of the proof's key: what a token is bound to (`cnf.jkt`,
    /// RFC 9449 §6.1).
    pub jkt: String,
    /// The proof's public key.
    pub jwk: Jwk,
    /// The algorithm it signed with.
    pub algorithm: Algorithm,
    /// When the client made the proof, seconds since the epoch.
    pub iat: u64,
}

/// The request a proof must match.
///
/// ```
/// use http::Method;
/// use warden::dpop::{ProofAlgorithms, ProofRequest};
///
/// let proof = "eyJ…"; // the `DPoP` header
/// let request = ProofRequest::new(proof, &Method::GET, "/items")
///     .access_token("eyJhbGciOi…") // at a resource: `ath` must be its hash
///     .bound_to("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I") // the token's `cnf.jkt`
///     .algorithms(ProofAlgorithms::ES256);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    proof: &'a str,
    method: &'a Method,
    path: &'a str,
    access_token: Option<&'a str>,
    jkt: Option<&'a str>,
    algorithms: ProofAlgorithms,
}

impl<'a> ProofRequest<'a> {
    /// `proof` (the `DPoP` header) for a request with `method` to `path`: the path the
    /// server received, which the verifier appends to its public URL to get the `htu`.
    pub fn new(proof: &'a str, method: &'a Method, path: &'a str) -> Self {
        Self {
            proof,
            method,
            path,
            access_token: None,
            jkt: None,
            algorithms: ProofAlgorithms::DEFAULT,
        }
    }

    /// The access token sent with the proof: the proof must carry its hash in `ath`.
    pub fn access_token(mut self, token: &'a str) -> Self {
        self.access_token = Some(token);
        self
    }

    /// The key thumbprint the token is bound to: the proof must be signed with that key.
    pub fn bound_to(mut self, jkt: &'a str) -> Self {
        self.jkt = Some(jkt);
        self
    }

    /// The algorithms accepted (default [`ProofAlgorithms::DEFAULT`]).
    pub fn algorithms(mut self, algorithms: ProofAlgorithms) -> Self {
        self.algorithms = algorithms;
        self
    }
}

/// Why a verifier could not be configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DPoPConfigError {
    /// The public URL is not an absolute `http`/`https` URL without query or fragment.
    #[error("the public URL must be an absolute http(s) URL without query or fragment")]
    PublicUrl,
}

enum Replay {
    Memory(MemoryReplayStore),
    Shared(Arc<dyn ReplayStore>),
}

struct Inner {
    /// The normalised public URL, without a trailing slash.
    base: String,
    max_age: u64,
    clock_skew: u64,
    max_proof_bytes: usize,
    replay: Replay,
    nonces: Option<Nonces>,
}

/// Checks DPoP proofs (RFC 9449 §4.3) for one public URL: what a resource server and an
/// authorization server share. Cheap to clone; keep one in the application state.
///
/// The `htu` of a proof is compared with the configured public URL followed by the path the
/// server received — never with a URL built from `Host` or `X-Forwarded-*` headers, which
/// the client or a proxy chooses. Behind a proxy that strips a prefix, put the prefix in the
/// public URL.
///
/// ```
/// use std::time::Duration;
/// use warden::dpop::{DPoPVerifier, Nonces};
///
/// let verifier = DPoPVerifier::new("https://api.example.com")
///     .unwrap()
///     .max_age(Duration::from_secs(120))
///     .nonces(Nonces::random()); // require server nonces (RFC 9449 §9)
/// assert_eq!(verifier.htu("/items"), "https://api.example.com/items");
/// ```
#[derive(Clone)]
pub struct DPoPVerifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DPoPVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DPoPVerifier")
            .field("base", &self.inner.base)
            .field("max_age", &self.inner.max_age)
            .field("nonces", &self.inner.nonces.is_some())
            .finish_non_exhaustive()
    }
}

/// The claims of a proof (§4.2).
#[derive(Deserialize)]
struct ProofClaims {
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    htm: Option<String>,
    #[serde(default)]
    htu: Option<String>,
    #[serde(default)]
    iat: Option<serde_json::Number>,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// The protected header of a proof; `jwk` is read as raw JSON first, to see private members
/// that [`Jwk`] would drop.
#[derive(Deserialize)]
struct ProofHeader {
    #[serde(default)]
    typ: Option<String>,
    alg: String,
    #[serde(default)]
    jwk: Option<Map<String, Value>>,
    #[serde(default)]
    crit: Option<Value>,
    #[serde(default)]
    b64: Option<Value>,
}

impl DPoPVerifier {
    /// A verifier for requests to `public_url` (`https://api.example.com`, or with the
    /// prefix a proxy strips: `https://example.com/api`), with the defaults: proofs up to
    /// five minutes old ([`DEFAULT_PROOF_MAX_AGE`]), a minute of clock skew, an in-memory
    /// replay store, no server nonces.
    pub fn new(public_url: &str) -> Result<Self, DPoPConfigError> {
        if public_url.contains(['?', '#']) {
            return Err(DPoPConfigError::PublicUrl);
        }
        let mut base = htu::normalize(public_url).ok_or(DPoPConfigError::PublicUrl)?;
        while base.ends_with('/') {
            base.pop();
        }
        Ok(Self {
            inner: Arc::new(Inner {
                base,
                max_age: DEFAULT_PROOF_MAX_AGE.as_secs(),
                clock_skew: DEFAULT_CLOCK_SKEW.as_secs(),
                max_proof_bytes: DEFAULT_MAX_PROOF_BYTES,
                replay: Replay::Memory(MemoryReplayStore::default()),
                nonces: None,
            }),
        })
    }

    fn inner_mut(&mut self) -> &mut Inner {
        // Configured before the verifier is shared; a clone taken earlier keeps its settings.
        if Arc::get_mut(&mut self.inner).is_none() {
            let inner = &self.inner;
            self.inner = Arc::new(Inner {
                base: inner.base.clone(),
                max_age: inner.max_age,
                clock_skew: inner.clock_skew,
                max_proof_bytes: inner.max_proof_bytes,
                replay: match &inner.replay {
                    Replay::Memory(_) => Replay::Memory(MemoryReplayStore::default()),
                    Replay::Shared(store) => Replay::Shared(Arc::clone(store)),
                },
                nonces: inner.nonces.clone(),
            });
        }
        Arc::get_mut(&mut self.inner).expect("just made unique")
    }

    /// How old a proof may be (at most an hour); its `jti` is remembered as long.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.inner_mut().max_age = max_age.as_secs().clamp(1, 3600);
        self
    }

    /// How far ahead of this server's clock a client's may be (at most five minutes).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.inner_mut().clock_skew = skew.as_secs().min(300);
        self
    }

    /// The longest proof accepted.
    pub fn max_proof_bytes(mut self, bytes: usize) -> Self {
        self.inner_mut().max_proof_bytes = bytes;
        self
    }

    /// Where proof identifiers are remembered (default: a [`MemoryReplayStore`]). Several
    /// instances behind one URL share one, e.g. a `RedisReplayStore`.
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        self.inner_mut().replay = Replay::Shared(Arc::new(store));
        self
    }

    /// Requires proofs to carry a nonce from `nonces` (RFC 9449 §8, §9).
    pub fn nonces(mut self, nonces: Nonces) -> Self {
        self.inner_mut().nonces = Some(nonces);
        self
    }

    /// A fresh nonce, when nonces are required.
    pub fn issue_nonce(&self) -> Option<String> {
        self.inner.nonces.as_ref().map(Nonces::issue)
    }

    /// The `htu` a proof for `path` must carry: the public URL followed by `path`.
    pub fn htu(&self, path: &str) -> String {
        let mut htu = String::with_capacity(self.inner.base.len() + path.len() + 1);
        htu.push_str(&self.inner.base);
        if !path.starts_with('/') {
            htu.push('/');
        }
        htu.push_str(path);
        htu
    }

    /// Checks `request`'s proof now.
    pub async fn verify(&self, request: ProofRequest<'_>) -> Result<Proof, ProofError> {
        self.verify_at(request, crate::jwt::now_secs()).await
    }

    /// Checks `request`'s proof as of `now` (seconds since the epoch).
    pub async fn verify_at(
        &self,
        request: ProofRequest<'_>,
        now: u64,
    ) -> Result<Proof, ProofError> {
        let inner = &*self.inner;
        // Checks 1 and 2: one header (the extractor's job), one well-formed JWT.
        let proof = request.proof;
        if proof.len() > inner.max_proof_bytes {
            return Err(ProofError::TooLong);
        }
        let (signing_input, signature) = proof
            .rsplit_once('.')
            .ok_or(ProofError::Malformed("not a JWS"))?;
        let (header, payload) = signing_input
            .split_once('.')
            .ok_or(ProofError::Malformed("not a JWS"))?;
        if payload.contains('.') {
            return Err(ProofError::Malformed("not a JWS"));
        }
        let header: ProofHeader = decode_json(header, "header")?;
        if header.crit.is_some() || header.b64.is_some() {
            return Err(ProofError::Malformed("unsupported header parameters"));
        }
        // Check 4: `typ` (RFC 7515 §4.1.9: the `application/` prefix may be omitted).
        let typ = header.typ.as_deref().unwrap_or("");
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !typ.eq_ignore_ascii_case("dpop+jwt") {
            return Err(ProofError::WrongType);
        }
        // Check 5: an asymmetric algorithm the route accepts (never `none`, never HMAC).
        let algorithm = request
            .algorithms
            .accepts(&header.alg)
            .ok_or(ProofError::Algorithm)?;
        // Check 7: the key is public.
        let jwk = header.jwk.ok_or(ProofError::MissingClaim("jwk"))?;
        if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
            return Err(ProofError::PrivateKey);
        }
        let jwk: Jwk =
            serde_json::from_value(Value::Object(jwk)).map_err(|_| ProofError::BadKey)?;
        let key = VerifyingKey::from_jwk(&jwk).map_err(|_| ProofError::BadKey)?;
        if key.algorithm() != algorithm {
            // The key fixes the algorithm (RFC 8725 §3.1): an ES256 header on an RSA key fails.
            return Err(ProofError::Algorithm);
        }
        // Check 6: the signature, with the key in the header.
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| ProofError::Malformed("signature is not base64url"))?;
        if !key.verify(signing_input.as_bytes(), &signature) {
            return Err(ProofError::BadSignature);
        }
        // Check 3: the claims.
        let claims: ProofClaims = decode_json(payload, "claims")?;
        let jti = claims.jti.ok_or(ProofError::MissingClaim("jti"))?;
        if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
            return Err(ProofError::Malformed("jti"));
        }
        // Check 8: `htm`, compared exactly (methods are case-sensitive, RFC 9110 §9.1).
        let htm = claims.htm.ok_or(ProofError::MissingClaim("htm"))?;
        if htm != request.method.as_str() {
            return Err(ProofError::WrongMethod);
        }
        // Check 9: `htu`, after normalisation, without query and fragment.
        let claimed = claims.htu.ok_or(ProofError::MissingClaim("htu"))?;
        if claimed.len() > MAX_HTU_BYTES {
            return Err(ProofError::WrongUri);
        }
        let target = self.htu(request.path);
        let expected = htu::normalize(&target).ok_or(ProofError::WrongUri)?;
        if htu::normalize(&claimed).as_deref() != Some(expected.as_str()) {
            return Err(ProofError::WrongUri);
        }
        // Check 11: `iat` inside the window.
        let iat = claims.iat.ok_or(ProofError::MissingClaim("iat"))?;
        let iat = iat
            .as_u64()
            .or_else(|| iat.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .ok_or(ProofError::Malformed("iat"))?;
        if iat > now.saturating_add(inner.clock_skew) {
            return Err(ProofError::IssuedInFuture);
        }
        if iat.saturating_add(inner.max_age) < now {
            return Err(ProofError::TooOld);
        }
        // Check 12: at a resource, the proof is for this token and the token for this key.
        if let Some(token) = request.access_token {
            let ath = claims.ath.ok_or(ProofError::MissingClaim("ath"))?;
            let hash = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, token.as_bytes()));
            if !constant_time_eq(ath.as_bytes(), hash.as_bytes()) {
                return Err(ProofError::WrongAccessToken);
            }
        }
        let jkt = jwk.thumbprint().ok_or(ProofError::BadKey)?;
        if let Some(bound) = request.jkt
            && !constant_time_eq(bound.as_bytes(), jkt.as_bytes())
        {
            return Err(ProofError::WrongKey);
        }
        // Check 10: the server's nonce, when it requires one.
        if let Some(nonces) = &inner.nonces
            && !claims
                .nonce
                .as_deref()
                .is_some_and(|nonce| nonces.accepts_at(nonce, now))
        {
            return Err(ProofError::UseNonce {
                nonce: nonces.issue_at(now),
            });
        }
        // §11.1: each proof once. Last, so only a proof that passed everything is remembered
        // (a forged one cannot fill the store). Keyed by the key, the target and the `jti`.
        let mut context = digest::Context::new(&digest::SHA256);
        for part in [jkt.as_bytes(), expected.as_bytes(), jti.as_bytes()] {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        let mut key_hash = [0u8; 32];
        key_hash.copy_from_slice(context.finish().as_ref());
        let ttl = Duration::from_secs(inner.max_age + inner.clock_skew);
        let first = match &inner.replay {
            Replay::Memory(store) => store.first_use(key_hash, ttl).await?,
            Replay::Shared(store) => store.first_use(key_hash, ttl).await?,
        };
        if !first {
            return Err(ProofError::Replayed);
        }
        Ok(Proof {
            jkt,
            jwk,
            algorithm,
            iat,
        })
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(
    segment: &str,
    what: &'static str,
) -> Result<T, ProofError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| ProofError::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| ProofError::Malformed(what))
}
