//! Verifying tokens of another issuer by its published keys: a JWKS URL or an OpenID
//! Connect discovery document (the Rust form of PyJWT's `PyJWKClient`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{JwkSet, JwtError, VerifyingKey};

/// A set of keys and the generation it belongs to (bumped by every successful fetch).
type Generation = (Arc<[VerifyingKey]>, u64);

/// The largest JWKS or discovery document read: 256 KiB.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// How a [`RemoteJwks`] caches and refetches.
#[derive(Debug, Clone)]
pub struct RemoteJwksConfig {
    /// How long fetched keys are used before a refetch (default 10 minutes).
    pub ttl: Duration,
    /// The least time between two fetches, whatever happens (default 30 s): tokens with
    /// made-up `kid`s cannot turn a resource server into a flood against the issuer.
    pub min_refetch_interval: Duration,
    /// Connect and total timeout of one fetch (default 5 s).
    pub timeout: Duration,
}

impl Default for RemoteJwksConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(600),
            min_refetch_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
        }
    }
}

struct Cache {
    keys: Arc<[VerifyingKey]>,
    fetched: Option<Instant>,
    attempted: Option<Instant>,
}

struct Inner {
    url: String,
    client: reqwest::Client,
    config: RemoteJwksConfig,
    cache: Mutex<Cache>,
    /// Serializes fetches: concurrent misses wait for one fetch instead of each making one.
    fetching: tokio::sync::Mutex<()>,
    /// Bumped by every successful fetch; cached verifications are tied to it.
    generation: AtomicU64,
}

/// The keys of a remote issuer, fetched from its JWKS URL and cached.
///
/// Keys are refetched when the cache is older than the TTL, or when a token names a `kid`
/// the cache does not hold — at most once per `min_refetch_interval` either way. If a fetch
/// fails, the keys already held keep being used; with none, verification answers
/// [`JwtError::KeysUnavailable`] (503 to the client, who may retry). Only public signing keys
/// of supported types are taken (`oct` keys never are).
///
/// ```no_run
/// use warden::jwt::{RemoteJwks, Validation, Verifier};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let jwks = RemoteJwks::discover("https://auth.example.com", Default::default()).await?;
/// let verifier = Verifier::with_remote(jwks, Validation::new().issuer("https://auth.example.com").audience("api"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}

/// Why a remote key source could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteJwksError {
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Client(String),
    /// The discovery document could not be fetched or read.
    #[error("discovery failed: {0}")]
    Discovery(String),
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
}

impl RemoteJwks {
    /// Keys from the JWKS at `url`, fetched on first use.
    pub fn new(url: impl Into<String>, config: RemoteJwksConfig) -> Result<Self, RemoteJwksError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RemoteJwksError::Client(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                url: url.into(),
                client,
                config,
                cache: Mutex::new(Cache {
                    keys: Arc::from(Vec::new()),
                    fetched: None,
                    attempted: None,
                }),
                fetching: tokio::sync::Mutex::new(()),
                generation: AtomicU64::new(0),
            }),
        })
    }

    /// Keys from the `jwks_uri` of the OpenID Connect discovery document of `issuer`
    /// (`{issuer}/.well-known/openid-configuration`, OpenID Connect Discovery §4).
    pub async fn discover(issuer: &str, config: RemoteJwksConfig) -> Result<Self, RemoteJwksError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let probe = Self::new(url.clone(), config.clone())?;
        let bytes = probe
            .inner
            .get(&url)
            .await
            .map_err(|e| RemoteJwksError::Discovery(e.to_owned()))?;
        let discovery: Discovery = serde_json::from_slice(&bytes)
            .map_err(|_| RemoteJwksError::Discovery("not a discovery document".into()))?;
        Self::new(discovery.jwks_uri, config)
    }

    /// Changes whenever a fetch replaced the keys.
    pub(crate) fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// The keys that may verify a token with `kid`, refetching when that is due, with the
    /// generation they belong to.
    pub(crate) async fn keys_for(&self, kid: Option<&str>) -> Result<Generation, JwtError> {
        if let Some(answer) = self.inner.cached_answer(kid) {
            return answer;
        }
        let _one_fetch_at_a_time = self.inner.fetching.lock().await;
        // Another task may have fetched while this one waited.
        if let Some(answer) = self.inner.cached_answer(kid) {
            return answer;
        }
        let (keys, _, _, generation) = self.inner.snapshot();
        match self.inner.fetch().await {
            Ok(fetched) => Ok(fetched),
            Err(reason) => {
                tracing::warn!(url = %self.inner.url, reason, "JWKS fetch failed; keeping cached keys");
                if keys.is_empty() {
                    Err(JwtError::KeysUnavailable)
                } else {
                    Ok((keys, generation))
                }
            }
        }
    }
}

impl Inner {
    /// The answer from the cache alone, or `None` when a fetch is due and allowed: the cached
    /// keys hold `kid` (or there is no `kid`) and are fresh, or fetching is not allowed yet.
    fn cached_answer(&self, kid: Option<&str>) -> Option<Result<Generation, JwtError>> {
        let (keys, fresh, may_fetch, generation) = self.snapshot();
        let known = kid.is_none_or(|kid| keys.iter().any(|k| k.kid() == Some(kid)));
        if (known && fresh) || !may_fetch {
            return Some(if keys.is_empty() {
                Err(JwtError::KeysUnavailable)
            } else {
                Ok((keys, generation))
            });
        }
        None
    }

    /// The cached keys, whether they are fresh, whether a fetch is allowed now, and the keys'
    /// generation (read under the same lock as the keys).
    fn snapshot(&self) -> (Arc<[VerifyingKey]>, bool, bool, u64) {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = cache.fetched.is_some_and(|t| t.elapsed() < self.config.ttl);
        let may_fetch = cache
            .attempted
            .is_none_or(|t| t.elapsed() >= self.config.min_refetch_interval);
        let generation = self.generation.load(Ordering::Acquire);
        (Arc::clone(&cache.keys), fresh, may_fetch, generation)
    }

    async fn fetch(&self) -> Result<Generation, &'static str> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .attempted = Some(Instant::now());
        let bytes = self.get(&self.url).await?;
        let set: JwkSet = serde_json::from_slice(&bytes).map_err(|_| "not a JWK set")?;
        let keys: Vec<VerifyingKey> = set
            .keys
            .iter()
            .filter_map(|jwk| VerifyingKey::from_jwk(jwk).ok())
            .collect();
        if keys.is_empty() {
            return Err("no usable key in the set");
        }
        let keys: Arc<[VerifyingKey]> = keys.into();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.keys = Arc::clone(&keys);
        cache.fetched = Some(Instant::now());
        // Bumped under the cache lock, so `snapshot` sees keys and generation together.
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        Ok((keys, generation))
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, &'static str> {
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|_| "request failed")?;
        if !response.status().is_success() {
            return Err("non-success status");
        }
        if response
            .content_length()
            .is_some_and(|n| n as usize > MAX_DOCUMENT_BYTES)
        {
            return Err("document too large");
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| "read failed")? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err("document too large");
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
