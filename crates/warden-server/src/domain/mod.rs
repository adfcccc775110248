//! The domain layer: what Warden does, independent of HTTP and of the database.
//!
//! [`Warden`] holds the storage, the hashing pool and the signing keys; handlers and CLI
//! commands call its methods and map [`DomainError`] to their own answers.

mod accounts;
mod administration;
mod api_keys;
mod audit;
mod authentication;
mod authorization;
mod client_assertions;
mod clients;
mod dpop;
mod error;
mod id_tokens;
mod import;
mod introspection;
pub mod keys;
mod passkeys;
mod pushed_requests;
mod recovery_codes;
mod registration;
mod revocation;
mod secrets;
mod sessions;
mod throttle;
mod token_exchange;
mod tokens;
mod totp;
pub mod upstream;
mod userinfo;

use std::sync::Arc;

use warden::jwt::{Algorithm, Issuer, KeyRing, Validation, Verifier};
use warden::password::{HashingPool, Params, PasswordHasher, PoolConfig};

pub use accounts::{
    LOGIN_OUTCOMES, LOGINS_METRIC, NO_PASSWORD, NewAccount, ProfileUpdate, has_usable_password,
    validate_email, validate_password, validate_username,
};
pub use administration::{FactorReset, MAX_AUDIT_EVENTS, MAX_USERS_PAGE, UserUpdate};
pub use api_keys::{
    API_KEY_PREFIX, ApiKeyPrincipal, CreatedApiKey, KeyRevoker, MAX_KEY_LIFETIME_SECS,
    MIN_KEY_LIFETIME_SECS, NewApiKey,
};
pub use authentication::{
    ACR_MFA, ACR_PASSWORD, ACR_PHR, ACR_PHRH, ACR_VALUES, AMR_HWK, AMR_MFA, AMR_OTP, AMR_PASSWORD,
    AMR_PIN, AMR_SWK, AMR_USER, Authentication, RECENT_AUTHENTICATION_SECS, passkey_methods,
};
pub use authorization::Just;
pub use authorization::{AuthorizationRequest, AuthorizeError, Step, with_params};
pub use client_assertions::CLIENT_ASSERTION_TYPE;
pub use clients::{DOCS_CLIENT_ID, GRANT_TYPES, NewClient, OIDC_SCOPES};
pub use dpop::DPOP_ALGORITHMS;
pub use error::DomainError;
pub use id_tokens::IdTokenHint;
pub use import::{ImportReport, ImportedUser, parse_import};
pub use introspection::Introspection;
pub use passkeys::{
    CEREMONY_TTL_SECS, Expect, MAX_PASSKEY_NAME_CHARS, MAX_PASSKEYS_PER_USER, PasskeyAssertion,
    PasskeyInfo, Registered, Started, relying_party,
};
pub use pushed_requests::{PUSHED_REQUEST_TTL, Pushed, REQUEST_URI_PREFIX};
pub use recovery_codes::RECOVERY_CODES;
pub use registration::{
    ClientMetadata, REGISTER_SCOPE, RegisteredClient, RegistrationError, RegistrationUpdate,
};
pub use revocation::TokenTypeHint;
pub use sessions::{SessionCookie, new_csrf_cookie};
pub use token_exchange::{ACCESS_TOKEN_TYPE_URI, ExchangeRequest, TOKEN_EXCHANGE};
pub use tokens::{ClientAuth, CodeRedemption, PasswordCredentials, TokenSet};
pub use totp::{SecondFactor, TotpEnrolment};
pub use upstream::{
    AMR_FEDERATED, GITHUB_API_BASE, GITHUB_AUTHORIZATION_ENDPOINT, GITHUB_TOKEN_ENDPOINT,
    LoginButton, MAX_CLIENT_SECRET_BYTES, MAX_PROVIDER_SCOPES, MAX_ROLE_MAP_ENTRIES,
    PENDING_UPSTREAM_SECS, ProviderKind, ProviderSettings, SecretChange, UpstreamFailure,
    UpstreamOutcome, valid_provider_url, valid_slug,
};
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
    /// The signing keys and what is built on them; `None` in a CLI command that signs
    /// nothing (see [`Warden::without_signing`]).
    signing: Option<Signing>,
    /// Signs the anti-CSRF tokens of the login and consent forms.
    form_key: aws_lc_rs::hmac::Key,
    /// Derives each refresh token's successor.
    refresh_successors: secrets::RefreshSuccessors,
    /// Encrypts TOTP secrets at rest; `None` without the master key (CLI commands).
    factor_sealer: Option<secrets::Sealer>,
    /// Encrypts the client secrets of upstream identity providers at rest; `None` without
    /// the master key (CLI commands that do not need it).
    upstream_sealer: Option<secrets::Sealer>,
    /// The clients of the upstream providers, built once per version of their settings.
    upstream_clients: upstream::UpstreamClients,
    /// The key of recovery-code digests.
    recovery_key: aws_lc_rs::hmac::Key,
    /// Stores audit events in the background.
    audit: audit::AuditWriter,
    /// The API key format (`wdn_…`) and hashing, built once.
    api_keys: warden::api_keys::ApiKeys,
    throttle: throttle::LoginThrottle,
    /// The WebAuthn relying party (the issuer); `None` when passkeys are off.
    webauthn: Option<webauthn_rs::Webauthn>,
    /// Checks DPoP proofs (RFC 9449) against the issuer URL; its `jti`s in Redis when
    /// instances share one, in memory otherwise.
    dpop: warden::dpop::DPoPVerifier,
    /// The `jti`s of client assertions already used (`private_key_jwt`).
    assertion_replay: std::sync::Arc<dyn warden::dpop::ReplayStore>,
}

/// The keys derived from the master key.
struct DerivedKeys {
    form_key: aws_lc_rs::hmac::Key,
    refresh_successors: aws_lc_rs::hmac::Key,
    factor_sealer: Option<secrets::Sealer>,
    upstream_sealer: Option<secrets::Sealer>,
    recovery_key: aws_lc_rs::hmac::Key,
    /// The server's DPoP nonces; `None` without the master key (CLI commands).
    dpop_nonces: Option<warden::dpop::Nonces>,
}

/// The signing rings and the issuers and verifiers over them.
struct Signing {
    ring: KeyRing,
    issuer: Issuer,
    verifier: Verifier,
    /// The RS256 ring: ID tokens of clients that take the OpenID Connect default.
    rs256_ring: KeyRing,
    rs256_issuer: Issuer,
    /// Checks `id_token_hint` at logout: this server's ID tokens, by either ring.
    id_token_verifiers: [Verifier; 2],
}

impl Signing {
    fn new(ring: KeyRing, rs256_ring: KeyRing, config: &Config) -> Self {
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
        Self {
            ring,
            issuer,
            verifier,
            rs256_ring,
            rs256_issuer,
            id_token_verifiers,
        }
    }
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
        let signing = Signing::new(ring, rs256_ring, &config);
        if let Err(reason) = passkeys::relying_party(&config.issuer) {
            tracing::warn!(issuer = %config.issuer, reason, "passkeys are off");
        }
        let keys = DerivedKeys {
            form_key: master.form_token_key(),
            refresh_successors: master.refresh_successor_key(),
            factor_sealer: Some(master.factor_sealer()?),
            upstream_sealer: Some(master.upstream_sealer()?),
            recovery_key: master.recovery_code_key(),
            dpop_nonces: Some(master.dpop_nonces()),
        };
        Self::assemble(storage, config, Some(signing), keys).await
    }

    /// The domain without signing keys, for CLI commands that sign nothing (users, roles,
    /// clients, API keys, the audit log): they neither need the master key nor read the
    /// stored keys. Anything that would sign answers [`DomainError::Internal`].
    pub async fn without_signing(storage: S, config: Config) -> Result<Self, DomainError> {
        Self::without_signing_keys(storage, config, None).await
    }

    /// [`without_signing`](Self::without_signing), able to seal and unseal the client
    /// secrets of upstream identity providers with the key derived from `master`: for the
    /// CLI commands that set one.
    pub async fn without_signing_with_master_key(
        storage: S,
        config: Config,
        master: &keys::MasterKey,
    ) -> Result<Self, DomainError> {
        Self::without_signing_keys(storage, config, Some(master)).await
    }

    async fn without_signing_keys(
        storage: S,
        config: Config,
        master: Option<&keys::MasterKey>,
    ) -> Result<Self, DomainError> {
        // Form tokens and refresh grants are only the HTTP server's: throw-away keys will do.
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let throw_away = || {
            aws_lc_rs::hmac::Key::generate(aws_lc_rs::hmac::HMAC_SHA256, &rng)
                .map_err(|_| DomainError::Internal("random source failed"))
        };
        // Without the master key no second factor can be enrolled or checked; removing one
        // (an administrator's reset) needs neither key.
        let keys = DerivedKeys {
            form_key: throw_away()?,
            refresh_successors: throw_away()?,
            factor_sealer: None,
            upstream_sealer: master.map(keys::MasterKey::upstream_sealer).transpose()?,
            recovery_key: throw_away()?,
            dpop_nonces: None,
        };
        Self::assemble(storage, config, None, keys).await
    }

    async fn assemble(
        storage: S,
        config: Config,
        signing: Option<Signing>,
        keys: DerivedKeys,
    ) -> Result<Self, DomainError> {
        let hasher = PasswordHasher::new(Params::default())
            .map_err(|_| DomainError::Internal("password parameters"))?;
        let passwords = HashingPool::new(hasher, PoolConfig::default())
            .map_err(|_| DomainError::Internal("cannot start the hashing threads"))?;
        let throttle = throttle::LoginThrottle::new(&config)
            .map_err(|_| DomainError::Internal("cannot set up login throttling"))?;
        let api_keys = api_keys::api_key_format()?;
        let audit = audit::AuditWriter::start(storage.clone());
        let webauthn = passkeys::relying_party(&config.issuer).ok();
        let dpop = dpop::verifier(&config, keys.dpop_nonces)?;
        let assertion_replay = client_assertions::replay_store(&config)?;
        let warden = Self {
            inner: Arc::new(Inner {
                storage,
                config,
                passwords,
                signing,
                form_key: keys.form_key,
                refresh_successors: secrets::RefreshSuccessors::new(keys.refresh_successors),
                factor_sealer: keys.factor_sealer,
                upstream_sealer: keys.upstream_sealer,
                upstream_clients: upstream::UpstreamClients::default(),
                recovery_key: keys.recovery_key,
                api_keys,
                throttle,
                audit,
                webauthn,
                dpop,
                assertion_replay,
            }),
        };
        warden.ensure_docs_client().await?;
        Ok(warden)
    }

    fn signing(&self) -> Result<&Signing, DomainError> {
        self.inner
            .signing
            .as_ref()
            .ok_or(DomainError::Internal("the signing keys are not loaded"))
    }

    fn factor_sealer(&self) -> Result<&secrets::Sealer, DomainError> {
        self.inner
            .factor_sealer
            .as_ref()
            .ok_or(DomainError::Internal("the master key is not loaded"))
    }

    fn upstream_sealer(&self) -> Result<&secrets::Sealer, DomainError> {
        self.inner
            .upstream_sealer
            .as_ref()
            .ok_or(DomainError::Internal("the master key is not loaded"))
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.inner.storage
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The EdDSA ring, which signs access tokens; `None` without signing keys.
    pub fn ring(&self) -> Option<&KeyRing> {
        self.inner.signing.as_ref().map(|s| &s.ring)
    }

    /// Every signing ring with its algorithm (for reloading after a rotation elsewhere); none
    /// without signing keys.
    pub fn rings(&self) -> Vec<(Algorithm, &KeyRing)> {
        self.inner.signing.as_ref().map_or_else(Vec::new, |s| {
            vec![
                (Algorithm::EdDSA, &s.ring),
                (Algorithm::RS256, &s.rs256_ring),
            ]
        })
    }

    /// The published keys of every ring at `now` (the JWKS document).
    pub fn jwks(&self, now: u64) -> warden::jwt::JwkSet {
        let mut set = warden::jwt::JwkSet::default();
        for (_, ring) in self.rings() {
            set.keys.extend(ring.jwks(now).keys);
        }
        set
    }

    /// Verifies this server's access tokens; `None` without signing keys.
    pub fn verifier(&self) -> Option<&Verifier> {
        self.inner.signing.as_ref().map(|s| &s.verifier)
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
