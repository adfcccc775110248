//! The domain layer: what Warden does, independent of HTTP and of the database.
//!
//! [`Warden`] holds the storage, the hashing pool and the signing keys; handlers and CLI
//! commands call its methods and map [`DomainError`] to their own answers.

mod accounts;
mod administration;
mod api_keys;
mod audit;
mod authorization;
mod clients;
mod error;
mod id_tokens;
mod import;
mod introspection;
pub mod keys;
mod revocation;
mod secrets;
mod sessions;
mod throttle;
mod tokens;
mod userinfo;

use std::sync::Arc;

use warden::jwt::{Algorithm, Issuer, KeyRing, Validation, Verifier};
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
pub use authorization::Just;
pub use authorization::{AuthorizationRequest, AuthorizeError, Step, with_params};
pub use clients::{DOCS_CLIENT_ID, NewClient, OIDC_SCOPES};
pub use error::DomainError;
pub use id_tokens::IdTokenHint;
pub use import::{ImportReport, ImportedUser, parse_import};
pub use introspection::Introspection;
pub use revocation::TokenTypeHint;
pub use sessions::{SessionCookie, new_csrf_cookie};
pub use tokens::{ClientAuth, CodeRedemption, TokenSet};
pub use userinfo::UserInfo;

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
    /// The RS256 ring: ID tokens of clients that take the OpenID Connect default.
    rs256_ring: KeyRing,
    rs256_issuer: Issuer,
    /// Checks `id_token_hint` at logout: this server's ID tokens, by either ring.
    id_token_verifiers: [Verifier; 2],
    /// Signs the anti-CSRF tokens of the login and consent forms.
    form_key: aws_lc_rs::hmac::Key,
    /// Stores audit events in the background.
    audit: audit::AuditWriter,
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
        let ring = keys::load_or_create_ring(&storage, master, Algorithm::EdDSA, now()).await?;
        let rs256_ring =
            keys::load_or_create_ring(&storage, master, Algorithm::RS256, now()).await?;
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
        let rs256_issuer = Issuer::new(rs256_ring.clone(), config.issuer.clone());
        // No audience: a hint names its client by its `aud`, which is looked up afterwards.
        let id_token_verifiers = [ring.clone(), rs256_ring.clone()]
            .map(|ring| Verifier::with_ring(ring, Validation::new().issuer(config.issuer.clone())));
        let audit = audit::AuditWriter::start(storage.clone());
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
                rs256_ring,
                rs256_issuer,
                id_token_verifiers,
                form_key: master.form_token_key(),
                audit,
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

    /// Every signing ring with its algorithm (for reloading after a rotation elsewhere).
    pub fn rings(&self) -> [(Algorithm, &KeyRing); 2] {
        [
            (Algorithm::EdDSA, &self.inner.ring),
            (Algorithm::RS256, &self.inner.rs256_ring),
        ]
    }

    /// The published keys of every ring at `now` (the JWKS document).
    pub fn jwks(&self, now: u64) -> warden::jwt::JwkSet {
        let mut set = self.inner.ring.jwks(now);
        set.keys.extend(self.inner.rs256_ring.jwks(now).keys);
        set
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
