//! The domain layer: what Warden does, independent of HTTP and of the database.
//!
//! [`Warden`] holds the storage, the hashing pool and the signing keys; handlers and CLI
//! commands call its methods and map [`DomainError`] to their own answers.

mod accounts;
mod administration;
mod api_keys;
mod audit;
mod clients;
mod error;
mod import;
mod introspection;
pub mod keys;
mod revocation;
mod secrets;
mod throttle;
mod tokens;

use std::sync::Arc;

use warden::jwt::{Issuer, KeyRing, Validation, Verifier};
use warden::password::{HashingPool, Params, PasswordHasher, PoolConfig};

pub use accounts::{
    LOGIN_OUTCOMES, LOGINS_METRIC, NewAccount, ProfileUpdate, validate_email, validate_password,
    validate_username,
};
pub use administration::{MAX_AUDIT_EVENTS, MAX_USERS_PAGE, UserUpdate};
pub use api_keys::{
    API_KEY_PREFIX, ApiKeyPrincipal, CreatedApiKey, KeyRevoker, MAX_KEY_LIFETIME_SECS,
    MIN_KEY_LIFETIME_SECS, NewApiKey,
};
pub use clients::{DOCS_CLIENT_ID, NewClient};
pub use error::DomainError;
pub use import::{ImportReport, ImportedUser, parse_import};
pub use introspection::Introspection;
pub use revocation::TokenTypeHint;
pub use tokens::{ClientAuth, TokenSet};

use crate::config::Config;
use crate::storage::Storage;

/// The authorization server's domain. Cheap to clone.
#[derive(Clone)]
pub struct Warden<S: Storage> {
    inner: Arc<Inner<S>>,
}

struct Inner<S> {
    storage: S,
    config: Config,
    passwords: HashingPool,
    ring: KeyRing,
    issuer: Issuer,
    verifier: Verifier,
    /// The API key format (`wdn_…`) and hashing, built once.
    api_keys: warden::api_keys::ApiKeys,
    throttle: throttle::LoginThrottle,
}

impl<S: Storage> Warden<S> {
    /// Loads (or, on first start, creates) the signing keys and ensures the built-in docs client.
    pub async fn start(
        storage: S,
        config: Config,
        master: &keys::MasterKey,
    ) -> Result<Self, DomainError> {
        let ring = keys::load_or_create_ring(&storage, master, now()).await?;
        let hasher = PasswordHasher::new(Params::default())
            .map_err(|_| DomainError::Internal("password parameters"))?;
        let passwords = HashingPool::new(hasher, PoolConfig::default())
            .map_err(|_| DomainError::Internal("cannot start the hashing threads"))?;
        let throttle = throttle::LoginThrottle::new(&config)
            .map_err(|_| DomainError::Internal("cannot set up login throttling"))?;
        let api_keys = api_keys::api_key_format()?;
        let issuer = Issuer::new(ring.clone(), config.issuer.clone());
        let verifier = Verifier::with_ring(
            ring.clone(),
            Validation::new()
                .issuer(config.issuer.clone())
                .audience(config.issuer.clone())
                .access_tokens(),
        );
        let warden = Self {
            inner: Arc::new(Inner {
                storage,
                config,
                passwords,
                ring,
                issuer,
                verifier,
                api_keys,
                throttle,
            }),
        };
        warden.ensure_docs_client().await?;
        Ok(warden)
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.inner.storage
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The signing keys (for JWKS).
    pub fn ring(&self) -> &KeyRing {
        &self.inner.ring
    }

    /// Verifies this server's access tokens.
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The password hashing pool (its queue depth is a metric).
    pub fn passwords(&self) -> &HashingPool {
        &self.inner.passwords
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
