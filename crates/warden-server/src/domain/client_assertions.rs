//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9):
//! a client proves itself with a short JWT signed by one of its registered keys, so no
//! shared secret exists to leak.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use warden::dpop::{MemoryReplayStore, RedisReplayStore, ReplayStore};
use warden::jwt::{Claims, JwkSet, Validation, Verifier, VerifyingKey};

use super::{DomainError, Warden, now};
use crate::config::Config;
use crate::storage::{Client, Storage};

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The most keys a client registers.
const MAX_KEYS: usize = 8;

/// The longest assertion read.
const MAX_ASSERTION_BYTES: usize = 8 * 1024;

/// How far ahead an assertion's `exp` may be, seconds: its `jti` is remembered that long,
/// so a longer-lived assertion could outlive the memory of its use.
const MAX_ASSERTION_LIFETIME: u64 = 3600;

/// Clock leeway for `exp`, `nbf` and `iat`, seconds.
const LEEWAY: u64 = 60;

/// The registered form of `set`: each key a public, asymmetric signing key Warden can verify
/// with (an `oct` key, a private member, an unknown curve are refused), at most
/// [`MAX_KEYS`]. Stored as JSON; private members never reach it ([`warden::jwt::Jwk`] has
/// none).
pub(super) fn registered_keys(set: &JwkSet) -> Result<String, DomainError> {
    if set.keys.is_empty() || set.keys.len() > MAX_KEYS {
        return Err(DomainError::InvalidRequest("jwks must hold 1 to 8 keys"));
    }
    for key in &set.keys {
        VerifyingKey::from_jwk(key).map_err(|_| {
            DomainError::InvalidRequest(
                "jwks: each key must be a public EC P-256, OKP Ed25519 or RSA signing key",
            )
        })?;
    }
    serde_json::to_string(set).map_err(|_| DomainError::Internal("cannot store a JWK set"))
}

/// The replay store of assertion `jti`s: shared through Redis when instances share one.
pub(super) fn replay_store(config: &Config) -> Result<Arc<dyn ReplayStore>, DomainError> {
    Ok(match &config.redis_url {
        Some(url) => Arc::new(
            RedisReplayStore::open(url, format!("{}client-assertion:", config.redis_prefix))
                .map_err(|_| DomainError::Internal("cannot set up the assertion replay store"))?,
        ),
        None => Arc::new(MemoryReplayStore::default()),
    })
}

/// The `iss` of an assertion, read before verification only to find whose keys verify it.
fn unverified_issuer(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value
        .get("iss")?
        .as_str()
        .filter(|iss| !iss.is_empty() && iss.len() <= 128)
        .map(str::to_owned)
}

impl<S: Storage> Warden<S> {
    /// Authenticates a client by its assertion at this server's `endpoint` (`/token`,
    /// `/par`, `/revoke`, `/introspect`). `client_id`, when the request names one, must be
    /// the assertion's. Every failure is `invalid_client` (RFC 7523 §3.2), whatever the
    /// reason, which is logged at debug level.
    pub async fn authenticate_client_assertion(
        &self,
        client_id: Option<&str>,
        assertion: &str,
        endpoint: &str,
    ) -> Result<Client, DomainError> {
        let refuse = |why: &'static str| {
            tracing::debug!(why, "client assertion refused");
            DomainError::InvalidClient
        };
        if assertion.len() > MAX_ASSERTION_BYTES {
            return Err(refuse("too long"));
        }
        let issuer = unverified_issuer(assertion).ok_or_else(|| refuse("no iss"))?;
        // RFC 7523 §3 (1): `iss` is the client; a `client_id` parameter must agree.
        if client_id.is_some_and(|id| id != issuer) {
            return Err(refuse("client_id is not the assertion's issuer"));
        }
        let client = self
            .storage()
            .client(&issuer)
            .await?
            .ok_or_else(|| refuse("unknown client"))?;
        let set: JwkSet = client
            .jwks
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .ok_or_else(|| refuse("the client has no keys"))?;
        let keys: Vec<VerifyingKey> = set
            .keys
            .iter()
            .filter_map(|key| VerifyingKey::from_jwk(key).ok())
            .collect();
        // RFC 7523 §3 (9): the signature, with the client's keys only; the key decides the
        // algorithm, so `none` and HMAC (with a public key as the secret) find no key.
        let verifier = Verifier::with_keys(
            keys,
            Validation::new()
                .issuer(&issuer)
                .leeway(Duration::from_secs(LEEWAY)),
        )
        .cache_capacity(0);
        let claims: Claims = verifier
            .verify(assertion)
            .await
            .map_err(|_| refuse("signature, iss or time"))?;
        // RFC 7523 §3 (2.B): `sub` is the client too.
        if claims.sub.as_deref() != Some(issuer.as_str()) {
            return Err(refuse("sub is not the client"));
        }
        // RFC 7523 §3 (3) and RFC 9126 §2: our own identity as audience — the issuer, the
        // token endpoint, or the endpoint called. Never built from the request's Host.
        let ours = &self.config().issuer;
        let accepted = [
            ours.clone(),
            format!("{ours}/token"),
            format!("{ours}{endpoint}"),
        ];
        if !claims.aud.0.iter().any(|aud| accepted.contains(aud)) {
            return Err(refuse("aud is not this server"));
        }
        let at = u64::try_from(now()).unwrap_or(0);
        // `exp` is required by the verifier (RFC 7523 §3 (4)); bounded here.
        let exp = claims.exp.ok_or_else(|| refuse("no exp"))?;
        if exp > at + MAX_ASSERTION_LIFETIME {
            return Err(refuse("exp too far ahead"));
        }
        // RFC 7523 §3 (7), OpenID Connect Core §9: `jti` used once.
        let jti = claims
            .jti
            .as_deref()
            .filter(|jti| !jti.is_empty() && jti.len() <= 256)
            .ok_or_else(|| refuse("no usable jti"))?;
        let mut context = digest::Context::new(&digest::SHA256);
        for part in [
            b"client-assertion".as_slice(),
            issuer.as_bytes(),
            jti.as_bytes(),
        ] {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(context.finish().as_ref());
        let ttl = Duration::from_secs(exp.saturating_sub(at) + LEEWAY);
        match self.inner.assertion_replay.first_use(key, ttl).await {
            Ok(true) => Ok(client),
            Ok(false) => Err(refuse("jti replayed")),
            Err(error) => {
                tracing::error!(%error, "the client assertion replay store failed");
                Err(DomainError::Busy { retry_after: 1 })
            }
        }
    }
}
