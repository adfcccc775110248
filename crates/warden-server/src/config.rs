//! Configuration: defaults, then a TOML file, then `WARDEN_*` environment variables.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything `warden` can be told. Each field is also `WARDEN_<FIELD>` in the environment
/// (e.g. `WARDEN_DATABASE_URL`), which wins over the file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// The issuer identifier: the `iss` of tokens and the base of every URL in metadata.
    pub issuer: String,
    /// `sqlite://path?mode=rwc` (default `./warden.db`) or `postgres://…`.
    pub database_url: String,
    /// Access token lifetime, seconds.
    pub access_token_ttl: u64,
    /// Refresh token lifetime, seconds.
    pub refresh_token_ttl: u64,
    /// Refresh tokens rotate strictly by default (0): a second use of a rotated token is
    /// taken for theft and revokes its family (RFC 9700 §4.14.2). Above 0, a confidential
    /// client's retry of the same token within this many seconds — a response lost on the
    /// network — gets the same token pair again (never a new one) while its successor is
    /// unused. Seconds, at most 120.
    pub refresh_reuse_grace: u64,
    /// Whether `refresh_reuse_grace` applies to public clients too (off: a public client
    /// cannot keep a secret, so a replay of its token is never excused).
    pub refresh_reuse_grace_public: bool,
    /// Whether `grant_type=password` is served (FastAPI's flow; RFC 9700 §2.4 discourages it).
    pub password_grant: bool,
    /// How long a browser stays logged in at the authorization endpoint, seconds.
    pub session_ttl: u64,
    /// Whether every client's authorization requests must be pushed to `/par` first (RFC
    /// 9126 §5); a client can also require it for itself (`--require-par`).
    pub require_pushed_authorization_requests: bool,
    /// Whether clients may register themselves without an initial access token (RFC 7591
    /// §3, open registration). Off: registering needs a token or API key with the scope
    /// `client:register`.
    pub open_client_registration: bool,
    /// Whether anyone may register.
    pub open_registration: bool,
    /// Whether API keys are also taken from the `api_key` query parameter (off: URLs end up
    /// in logs and browser history).
    pub api_key_in_query: bool,
    /// Whether API keys are also taken from the `api_key` cookie (off: a cookie is sent by
    /// browsers on their own, so state-changing calls would need CSRF protection).
    pub api_key_in_cookie: bool,
    /// Whether DPoP proofs at the token endpoint and at this server's resources must carry a
    /// server nonce (RFC 9449 §8, §9): a proof then cannot be made ahead of time. Clients
    /// get `use_dpop_nonce` with a `DPoP-Nonce` header and retry; off by default, since it
    /// costs each client one extra round trip per nonce lifetime.
    pub dpop_nonce: bool,
    /// Redis for limits shared across instances (`redis://127.0.0.1:6379`).
    pub redis_url: Option<String>,
    /// Prefix of every Redis key Warden writes (instances sharing limits share it).
    pub redis_prefix: String,
    /// Failed logins per account and client address: this many at once, then one per
    /// `600 / n` seconds (so at most `n` per ten minutes in the long run); 0 turns the limit
    /// off. The tight budget, against one guesser. Successful logins are not counted.
    pub login_attempts_per_account_ip: u32,
    /// Failed logins per account from any address: this many at once, then one per
    /// `600 / n` seconds; 0 turns the limit off. The loose budget, against guessing from
    /// many addresses; well above `login_attempts_per_account_ip`, so one address alone
    /// cannot spend it and lock the user out.
    pub login_attempts_per_account: u32,
    /// Failed logins per client address (IPv6: per /64) for any accounts: this many at
    /// once, then one per `60 / n` seconds; 0 turns the limit off. Sized for many users
    /// behind one NAT address.
    pub login_attempts_per_ip: u32,
    /// Proxies whose `X-Forwarded-For`/`Forwarded` are believed (IPs or CIDRs).
    pub trusted_proxies: Vec<String>,
    /// File holding the key that encrypts signing keys at rest, created (mode 0600) when
    /// missing. `WARDEN_MASTER_KEY` (base64url, 32 bytes) takes precedence.
    pub master_key_file: PathBuf,
    /// `text` or `json`.
    pub log_format: String,
    /// PEM certificate chain (leaf first) to serve HTTPS with; set together with `tls_key`.
    /// Without both, `warden serve` speaks plain HTTP (behind a TLS-terminating proxy).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// How often the files of `tls_cert` and `tls_key` are checked for a change, seconds
    /// (also on SIGHUP); a changed pair is loaded without a restart.
    pub tls_reload_interval: u64,
    /// Upstream identity providers (`[[upstream_providers]]` tables), created or updated at
    /// each `warden serve` start-up; the same on every restart and instance.
    pub upstream_providers: Vec<UpstreamProviderConfig>,
}

/// One `[[upstream_providers]]` table: an upstream OpenID Connect provider or GitHub, as the
/// administrator API takes it. The client secret is `client_secret` or, better, read from
/// the environment variable named by `client_secret_env`; neither: a public client (PKCE).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UpstreamProviderConfig {
    /// A slug (`[a-z0-9][a-z0-9-]{0,31}`), used in URLs.
    pub id: String,
    /// Shown on the login page.
    pub display_name: String,
    /// `oidc` or `github`.
    pub kind: String,
    /// `oidc`: the exact issuer (discovery starts from it).
    #[serde(default)]
    pub issuer: Option<String>,
    /// Explicit endpoints, overriding discovery (or GitHub's defaults).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// `github`: the API base (default `https://api.github.com`).
    #[serde(default)]
    pub api_base: Option<String>,
    pub client_id: String,
    /// The client secret itself (prefer `client_secret_env`).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The name of the environment variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Empty: `openid email profile` (oidc), `read:user user:email` (github).
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub allow_signup: bool,
    #[serde(default)]
    pub trust_email: bool,
    #[serde(default)]
    pub trust_mfa: bool,
    #[serde(default)]
    pub roles_claim: Option<String>,
    /// Upstream value → local role name.
    #[serde(default)]
    pub role_map: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl std::fmt::Debug for UpstreamProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret itself.
        f.debug_struct("UpstreamProviderConfig")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("client_secret_env", &self.client_secret_env)
            .finish_non_exhaustive()
    }
}

impl UpstreamProviderConfig {
    /// The client secret: `client_secret`, or the variable `client_secret_env` names (which
    /// must be set and not empty); `None` for neither. The error names the setting.
    pub fn secret(&self) -> Result<Option<zeroize::Zeroizing<String>>, ConfigError> {
        match (&self.client_secret, &self.client_secret_env) {
            (Some(_), Some(_)) => Err(self.invalid(
                "client_secret",
                "set client_secret or client_secret_env, not both",
            )),
            (Some(secret), None) => Ok(Some(zeroize::Zeroizing::new(secret.clone()))),
            (None, Some(var)) => match std::env::var(var) {
                Ok(secret) if !secret.is_empty() => Ok(Some(zeroize::Zeroizing::new(secret))),
                _ => Err(self.invalid(
                    "client_secret_env",
                    &format!("the environment variable {var} is not set"),
                )),
            },
            (None, None) => Ok(None),
        }
    }

    /// An error naming `upstream_providers` (and, in the reason, this provider and `field`).
    pub fn invalid(&self, field: &str, reason: &str) -> ConfigError {
        ConfigError::Invalid {
            setting: "upstream_providers",
            reason: format!("provider `{}`: {field}: {reason}", self.id),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !crate::domain::valid_slug(&self.id) {
            return Err(self.invalid(
                "id",
                "must be 1 to 32 lowercase letters, digits or '-', not starting with '-'",
            ));
        }
        if crate::domain::ProviderKind::parse(&self.kind).is_none() {
            return Err(self.invalid("kind", "must be `oidc` or `github`"));
        }
        if self.client_secret.is_some() && self.client_secret_env.is_some() {
            return Err(self.invalid(
                "client_secret",
                "set client_secret or client_secret_env, not both",
            ));
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            issuer: "http://127.0.0.1:8080".into(),
            database_url: "sqlite://./warden.db?mode=rwc".into(),
            access_token_ttl: 15 * 60,
            refresh_token_ttl: 30 * 24 * 3600,
            refresh_reuse_grace: 0,
            refresh_reuse_grace_public: false,
            password_grant: true,
            session_ttl: 8 * 3600,
            open_registration: false,
            api_key_in_query: false,
            api_key_in_cookie: false,
            dpop_nonce: false,
            require_pushed_authorization_requests: false,
            open_client_registration: false,
            redis_url: None,
            redis_prefix: "warden:".into(),
            login_attempts_per_account_ip: 10,
            login_attempts_per_account: 100,
            login_attempts_per_ip: 300,
            trusted_proxies: Vec::new(),
            master_key_file: PathBuf::from("./warden.key"),
            log_format: "text".into(),
            tls_cert: None,
            tls_key: None,
            tls_reload_interval: 30,
            upstream_providers: Vec::new(),
        }
    }
}

/// A setting that cannot be used, named.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or an environment variable could not be read as a setting.
    #[error("{0}")]
    Load(Box<figment::Error>),
    /// A setting was read but its value is not acceptable.
    #[error("invalid setting `{setting}`: {reason}")]
    Invalid {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl Config {
    /// Defaults, then `file` (if given; it must exist), then `WARDEN_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Invalid {
                    setting: "config file",
                    reason: format!("{} does not exist", file.display()),
                });
            }
            figment = figment.merge(Toml::file(file));
        }
        // Only the documented variables: WARDEN_BOOTSTRAP_ADMIN_PASSWORD and WARDEN_MASTER_KEY
        // are secrets read where they are used, never kept in the configuration.
        let env = Env::prefixed("WARDEN_")
            .ignore(&[
                "BOOTSTRAP_ADMIN_PASSWORD",
                "bootstrap_admin_password",
                "MASTER_KEY",
                "master_key",
                "LOG",
                "log",
                "CONFIG",
                "config",
            ])
            // `WARDEN_TEST_*` belong to Warden's own test suites (the PostgreSQL URL, the
            // Python interpreter), never to a server's settings.
            .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("test_"));
        let config: Config = figment
            .merge(env)
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |setting, reason: &str| {
            Err(ConfigError::Invalid {
                setting,
                reason: reason.to_owned(),
            })
        };
        let issuer = self.issuer.as_str();
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            return invalid("issuer", "must be an http(s) URL");
        }
        if issuer.contains(['?', '#']) || issuer.ends_with('/') {
            return invalid(
                "issuer",
                "must have no query, fragment or trailing slash (RFC 8414 §2)",
            );
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return invalid("database_url", "must start with sqlite: or postgres://");
        }
        if !(30..=24 * 3600).contains(&self.access_token_ttl) {
            return invalid("access_token_ttl", "must be between 30 seconds and one day");
        }
        if !(60..=365 * 24 * 3600).contains(&self.refresh_token_ttl) {
            return invalid(
                "refresh_token_ttl",
                "must be between one minute and one year",
            );
        }
        if !(60..=30 * 24 * 3600).contains(&self.session_ttl) {
            return invalid("session_ttl", "must be between one minute and 30 days");
        }
        if self.refresh_reuse_grace > 120 {
            return invalid("refresh_reuse_grace", "must be at most 120 seconds");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return invalid("log_format", "must be `text` or `json`");
        }
        if let Err(e) = warden::rate_limit::TrustedProxies::new(&self.trusted_proxies) {
            return invalid("trusted_proxies", &e.to_string());
        }
        if let Some(url) = &self.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return invalid("redis_url", "must start with redis:// or rediss://");
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return invalid("tls_key", "must be set when tls_cert is"),
            (None, Some(_)) => return invalid("tls_cert", "must be set when tls_key is"),
            _ => {}
        }
        if !(1..=24 * 3600).contains(&self.tls_reload_interval) {
            return invalid(
                "tls_reload_interval",
                "must be between one second and one day",
            );
        }
        for (i, provider) in self.upstream_providers.iter().enumerate() {
            provider.validate()?;
            if self.upstream_providers[..i]
                .iter()
                .any(|other| other.id == provider.id)
            {
                return Err(provider.invalid("id", "appears twice"));
            }
        }
        Ok(())
    }

    /// The certificate and key files when HTTPS is configured (both are, or neither).
    pub fn tls(&self) -> Option<(&Path, &Path)> {
        Some((self.tls_cert.as_deref()?, self.tls_key.as_deref()?))
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        !self.database_url.starts_with("sqlite:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn bad_values_name_their_setting() {
        let c = Config {
            issuer: "auth.example.com".into(),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("`issuer`"));
        let c = Config {
            access_token_ttl: 5,
            ..Config::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("`access_token_ttl`")
        );
    }

    #[test]
    fn tls_needs_both_files() {
        let c = Config {
            tls_cert: Some("cert.pem".into()),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("`tls_key`"));
        let c = Config {
            tls_key: Some("key.pem".into()),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("`tls_cert`"));
        let c = Config {
            tls_cert: Some("cert.pem".into()),
            tls_key: Some("key.pem".into()),
            ..Config::default()
        };
        c.validate().unwrap();
        assert!(c.tls().is_some());
        let c = Config {
            tls_reload_interval: 0,
            ..Config::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("`tls_reload_interval`")
        );
    }
}
