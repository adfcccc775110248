//! Upstream identity providers: validated settings, administration (audited), and the client
//! secret Warden holds at each, sealed at rest.
//!
//! The secret is sealed with AES-256-GCM under a key derived (HKDF) from the master key for
//! this job alone, bound to the provider's id (associated data), so a sealed secret copied
//! to another provider's row does not open. It is never returned by the API or the CLI, nor
//! logged: they say whether one is set.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::domain::api_keys::is_scope_token;
use crate::domain::{DomainError, Warden, now};
use crate::storage::{Storage, StorageError, UpstreamProvider, User};

/// GitHub's authorization endpoint, unless the provider names another.
pub const GITHUB_AUTHORIZATION_ENDPOINT: &str = "https://github.com/login/oauth/authorize";
/// GitHub's token endpoint, unless the provider names another.
pub const GITHUB_TOKEN_ENDPOINT: &str = "https://github.com/login/oauth/access_token";
/// GitHub's API, unless the provider names another (GitHub Enterprise).
pub const GITHUB_API_BASE: &str = "https://api.github.com";

/// The most scopes asked of a provider.
pub const MAX_PROVIDER_SCOPES: usize = 32;
/// The most entries of a provider's role map.
pub const MAX_ROLE_MAP_ENTRIES: usize = 64;
/// The longest client secret accepted, in bytes.
pub const MAX_CLIENT_SECRET_BYTES: usize = 1024;
const MAX_URL_BYTES: usize = 2000;
const MAX_DISPLAY_NAME_CHARS: usize = 100;
const MAX_CLIENT_ID_BYTES: usize = 256;
const MAX_CLAIM_BYTES: usize = 64;
const MAX_ROLE_VALUE_BYTES: usize = 256;
const MAX_SLUG_BYTES: usize = 32;

/// What kind of provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// An OpenID Connect provider, found by discovery from its issuer.
    Oidc,
    /// GitHub (OAuth 2.0 and its REST API; no ID tokens).
    GitHub,
}

impl ProviderKind {
    /// As stored and shown: `oidc` or `github`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oidc => "oidc",
            Self::GitHub => "github",
        }
    }

    /// From its stored name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "oidc" => Some(Self::Oidc),
            "github" => Some(Self::GitHub),
            _ => None,
        }
    }

    /// The scopes asked for when the settings name none.
    pub fn default_scopes(self) -> &'static [&'static str] {
        match self {
            Self::Oidc => &["openid", "email", "profile"],
            Self::GitHub => &["read:user", "user:email"],
        }
    }
}

/// A provider's settings, as an administrator (API, CLI) or the configuration file gives
/// them; checked by [`Warden::create_provider`] and [`Warden::update_provider`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSettings {
    /// A slug: `[a-z0-9][a-z0-9-]{0,31}`, used in URLs.
    pub id: String,
    /// 1 to 100 characters, shown on the login page.
    pub display_name: String,
    pub kind: ProviderKind,
    /// OpenID Connect (required): the exact issuer; discovery starts from it.
    pub issuer: Option<String>,
    /// Explicit endpoints, overriding discovery or GitHub's defaults.
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    /// GitHub only: the API base (default [`GITHUB_API_BASE`]).
    pub api_base: Option<String>,
    /// Our client id at the provider (1 to 256 bytes).
    pub client_id: String,
    /// The scopes to ask for; empty: the kind's defaults. OpenID Connect needs `openid`.
    pub scopes: Vec<String>,
    /// A first login creates an account.
    pub allow_signup: bool,
    /// The provider's verified email addresses are believed.
    pub trust_email: bool,
    /// The provider's `amr`/`acr` may satisfy the second-factor policy.
    pub trust_mfa: bool,
    /// The claim holding upstream groups or roles (e.g. `groups`).
    pub roles_claim: Option<String>,
    /// Upstream value → an existing local role; needs `roles_claim`.
    pub role_map: BTreeMap<String, String>,
    pub enabled: bool,
}

impl ProviderSettings {
    /// The settings of a stored provider (to change some and update it); `None` if its kind
    /// is unknown.
    pub fn of(provider: &UpstreamProvider) -> Option<Self> {
        Some(Self {
            id: provider.id.clone(),
            display_name: provider.display_name.clone(),
            kind: ProviderKind::parse(&provider.kind)?,
            issuer: provider.issuer.clone(),
            authorization_endpoint: provider.authorization_endpoint.clone(),
            token_endpoint: provider.token_endpoint.clone(),
            userinfo_endpoint: provider.userinfo_endpoint.clone(),
            jwks_uri: provider.jwks_uri.clone(),
            api_base: provider.api_base.clone(),
            client_id: provider.client_id.clone(),
            scopes: provider.scopes.clone(),
            allow_signup: provider.allow_signup,
            trust_email: provider.trust_email,
            trust_mfa: provider.trust_mfa,
            roles_claim: provider.roles_claim.clone(),
            role_map: provider.role_map.clone(),
            enabled: provider.enabled,
        })
    }

    /// Checks everything but the roles' existence; the message names the field.
    fn check(&self) -> Result<(), DomainError> {
        if !valid_slug(&self.id) {
            return Err(DomainError::InvalidRequest(
                "id must be 1 to 32 lowercase letters, digits or '-', not starting with '-'",
            ));
        }
        let name_chars = self.display_name.chars().count();
        if name_chars == 0
            || name_chars > MAX_DISPLAY_NAME_CHARS
            || self.display_name.chars().any(char::is_control)
        {
            return Err(DomainError::InvalidRequest(
                "display_name must be 1 to 100 characters, no control characters",
            ));
        }
        if self.client_id.is_empty()
            || self.client_id.len() > MAX_CLIENT_ID_BYTES
            || self
                .client_id
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(DomainError::InvalidRequest(
                "client_id must be 1 to 256 bytes without spaces or control characters",
            ));
        }
        match self.kind {
            ProviderKind::Oidc => {
                let Some(issuer) = &self.issuer else {
                    return Err(DomainError::InvalidRequest(
                        "issuer is required for an oidc provider",
                    ));
                };
                if !valid_provider_url(issuer) || issuer.contains('?') {
                    return Err(DomainError::InvalidRequest(
                        "issuer must be an https URL without query or fragment (http only for \
                         localhost)",
                    ));
                }
                if self.api_base.is_some() {
                    return Err(DomainError::InvalidRequest(
                        "api_base is for github providers only",
                    ));
                }
            }
            ProviderKind::GitHub => {
                if self.issuer.is_some() {
                    return Err(DomainError::InvalidRequest(
                        "issuer is for oidc providers only",
                    ));
                }
            }
        }
        for (field, url) in [
            ("authorization_endpoint", &self.authorization_endpoint),
            ("token_endpoint", &self.token_endpoint),
            ("userinfo_endpoint", &self.userinfo_endpoint),
            ("jwks_uri", &self.jwks_uri),
            ("api_base", &self.api_base),
        ] {
            if url.as_deref().is_some_and(|u| !valid_provider_url(u)) {
                return Err(DomainError::InvalidRequest(match field {
                    "authorization_endpoint" => {
                        "authorization_endpoint must be an https URL (http only for localhost)"
                    }
                    "token_endpoint" => {
                        "token_endpoint must be an https URL (http only for localhost)"
                    }
                    "userinfo_endpoint" => {
                        "userinfo_endpoint must be an https URL (http only for localhost)"
                    }
                    "jwks_uri" => "jwks_uri must be an https URL (http only for localhost)",
                    _ => "api_base must be an https URL (http only for localhost)",
                }));
            }
        }
        if self.scopes.len() > MAX_PROVIDER_SCOPES || !self.scopes.iter().all(|s| is_scope_token(s))
        {
            return Err(DomainError::InvalidRequest(
                "scopes must be at most 32 RFC 6749 scope tokens",
            ));
        }
        if self.kind == ProviderKind::Oidc
            && !self.scopes.is_empty()
            && !self.scopes.iter().any(|s| s == "openid")
        {
            return Err(DomainError::InvalidRequest(
                "scopes of an oidc provider must include openid",
            ));
        }
        if let Some(claim) = &self.roles_claim
            && (claim.is_empty()
                || claim.len() > MAX_CLAIM_BYTES
                || !claim
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b)))
        {
            return Err(DomainError::InvalidRequest(
                "roles_claim must be 1 to 64 letters, digits, '_', '-', '.', ':' or '/'",
            ));
        }
        if self.role_map.len() > MAX_ROLE_MAP_ENTRIES {
            return Err(DomainError::InvalidRequest(
                "role_map has at most 64 entries",
            ));
        }
        if !self.role_map.is_empty() && self.roles_claim.is_none() {
            return Err(DomainError::InvalidRequest("role_map needs roles_claim"));
        }
        if self
            .role_map
            .values()
            .any(|role| role.is_empty() || role.chars().count() > 64)
        {
            return Err(DomainError::InvalidRequest(
                "role_map values must be role names (1 to 64 characters)",
            ));
        }
        if self.role_map.keys().any(|k| {
            k.is_empty() || k.len() > MAX_ROLE_VALUE_BYTES || k.chars().any(char::is_control)
        }) {
            return Err(DomainError::InvalidRequest(
                "role_map keys must be 1 to 256 bytes without control characters",
            ));
        }
        Ok(())
    }
}

/// What to do with the stored client secret on an update.
#[derive(Clone)]
pub enum SecretChange {
    /// Leave it as it is.
    Keep,
    /// Remove it (a public client, PKCE only).
    Remove,
    /// Replace it.
    Set(Zeroizing<String>),
}

impl std::fmt::Debug for SecretChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret itself.
        match self {
            Self::Keep => f.write_str("Keep"),
            Self::Remove => f.write_str("Remove"),
            Self::Set(_) => f.write_str("Set([redacted])"),
        }
    }
}

/// Whether `id` is a provider slug: `[a-z0-9][a-z0-9-]{0,31}`.
pub fn valid_slug(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_SLUG_BYTES
        && bytes[0] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// Whether `url` may name a provider's endpoint: absolute `https` with a host, or `http`
/// to `localhost`, `127.0.0.1` or `[::1]` (tests, a provider on the same machine); no
/// credentials, no fragment, at most 2000 bytes.
pub fn valid_provider_url(url: &str) -> bool {
    if url.len() > MAX_URL_BYTES || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    if parsed.fragment().is_some()
        || url.contains('#')
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return false;
    }
    match (parsed.scheme(), parsed.host()) {
        ("https", Some(_)) => true,
        ("http", Some(url::Host::Domain(host))) => host == "localhost",
        ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback() && ip.octets() == [127, 0, 0, 1],
        ("http", Some(url::Host::Ipv6(ip))) => ip == std::net::Ipv6Addr::LOCALHOST,
        _ => false,
    }
}

/// Where the login flow sends the browser: the provider's explicit authorization endpoint,
/// else GitHub's; `None` for an OpenID Connect provider that names none (discovery from its
/// issuer gives it).
pub fn authorization_endpoint(provider: &UpstreamProvider) -> Option<&str> {
    provider
        .authorization_endpoint
        .as_deref()
        .or(match ProviderKind::parse(&provider.kind) {
            Some(ProviderKind::GitHub) => Some(GITHUB_AUTHORIZATION_ENDPOINT),
            _ => None,
        })
}

/// Where the login flow redeems the code: the explicit token endpoint, else GitHub's;
/// `None` for an OpenID Connect provider that names none (discovery gives it).
pub fn token_endpoint(provider: &UpstreamProvider) -> Option<&str> {
    provider
        .token_endpoint
        .as_deref()
        .or(match ProviderKind::parse(&provider.kind) {
            Some(ProviderKind::GitHub) => Some(GITHUB_TOKEN_ENDPOINT),
            _ => None,
        })
}

/// GitHub's API base for the provider (its own, else [`GITHUB_API_BASE`]); `None` for an
/// OpenID Connect provider.
pub fn api_base(provider: &UpstreamProvider) -> Option<&str> {
    match ProviderKind::parse(&provider.kind) {
        Some(ProviderKind::GitHub) => Some(provider.api_base.as_deref().unwrap_or(GITHUB_API_BASE)),
        _ => None,
    }
}

/// The checked secret, or why not.
fn check_secret(secret: &str) -> Result<(), DomainError> {
    if secret.is_empty()
        || secret.len() > MAX_CLIENT_SECRET_BYTES
        || secret.chars().any(char::is_control)
    {
        return Err(DomainError::InvalidRequest(
            "client_secret must be 1 to 1024 bytes without control characters",
        ));
    }
    Ok(())
}

impl<S: Storage> Warden<S> {
    /// Registers an upstream provider with its client secret (if any), on behalf of `by`
    /// (`None`: the operator or the configuration). [`DomainError::ProviderExists`] when
    /// the id is taken.
    pub async fn create_provider(
        &self,
        settings: ProviderSettings,
        secret: Option<Zeroizing<String>>,
        by: Option<&User>,
    ) -> Result<UpstreamProvider, DomainError> {
        let provider = self
            .checked_provider(settings, secret.as_deref().map(String::as_str), None)
            .await?;
        match self.storage().create_upstream_provider(&provider).await {
            Ok(()) => {}
            Err(StorageError::Conflict(_)) => return Err(DomainError::ProviderExists),
            Err(other) => return Err(other.into()),
        }
        self.audit_provider("provider.created", &provider.id, by)
            .await;
        Ok(provider)
    }

    /// Replaces the settings of provider `id` (its id stays), and its secret as `secret`
    /// says. [`DomainError::NotFound`] when there is no such provider.
    pub async fn update_provider(
        &self,
        id: &str,
        mut settings: ProviderSettings,
        secret: SecretChange,
        by: Option<&User>,
    ) -> Result<UpstreamProvider, DomainError> {
        let current = self.provider(id).await?;
        settings.id = current.id.clone();
        let mut provider = match &secret {
            SecretChange::Set(secret) => {
                self.checked_provider(settings, Some(secret.as_str()), Some(&current))
                    .await?
            }
            SecretChange::Keep | SecretChange::Remove => {
                self.checked_provider(settings, None, Some(&current))
                    .await?
            }
        };
        if matches!(secret, SecretChange::Keep) {
            provider.client_secret_sealed = current.client_secret_sealed;
        }
        match self.storage().update_upstream_provider(&provider).await {
            Ok(()) => {}
            Err(StorageError::NotFound(_)) => return Err(DomainError::NotFound),
            Err(other) => return Err(other.into()),
        }
        self.audit_provider("provider.updated", &provider.id, by)
            .await;
        Ok(provider)
    }

    /// Creates the provider, or replaces the settings and secret of the existing one: how
    /// the configuration file's `[[upstream_providers]]` are applied at start-up, the same
    /// on every restart and on instances starting together. Whether it created it.
    pub async fn put_provider(
        &self,
        settings: ProviderSettings,
        secret: Option<Zeroizing<String>>,
    ) -> Result<(UpstreamProvider, bool), DomainError> {
        let id = settings.id.clone();
        let change = match &secret {
            Some(secret) => SecretChange::Set(secret.clone()),
            None => SecretChange::Remove,
        };
        match self.create_provider(settings.clone(), secret, None).await {
            Ok(provider) => Ok((provider, true)),
            Err(DomainError::ProviderExists) => Ok((
                self.update_provider(&id, settings, change, None).await?,
                false,
            )),
            Err(other) => Err(other),
        }
    }

    /// The provider `id`; [`DomainError::NotFound`] when there is none.
    pub async fn provider(&self, id: &str) -> Result<UpstreamProvider, DomainError> {
        if !valid_slug(id) {
            return Err(DomainError::NotFound);
        }
        self.storage()
            .upstream_provider(id)
            .await?
            .ok_or(DomainError::NotFound)
    }

    /// Every provider, by id.
    pub async fn list_providers(&self) -> Result<Vec<UpstreamProvider>, DomainError> {
        Ok(self.storage().list_upstream_providers().await?)
    }

    /// Deletes provider `id` with its linked identities and pending logins; whether it
    /// existed.
    pub async fn remove_provider(&self, id: &str, by: Option<&User>) -> Result<bool, DomainError> {
        if !valid_slug(id) {
            return Ok(false);
        }
        let existed = self.storage().delete_upstream_provider(id).await?;
        if existed {
            self.audit_provider("provider.deleted", id, by).await;
        }
        Ok(existed)
    }

    /// The client secret Warden holds at `provider`, unsealed, for the login flow; `None`
    /// for a public client. Never log it.
    pub fn client_secret(
        &self,
        provider: &UpstreamProvider,
    ) -> Result<Option<Zeroizing<String>>, DomainError> {
        let Some(sealed) = &provider.client_secret_sealed else {
            return Ok(None);
        };
        let plain = Zeroizing::new(self.upstream_sealer()?.open(&provider.id, sealed).ok_or(
            DomainError::Internal(
                "an upstream client secret does not decrypt with this master key",
            ),
        )?);
        let text = std::str::from_utf8(&plain)
            .map_err(|_| DomainError::Internal("an upstream client secret is not text"))?;
        Ok(Some(Zeroizing::new(text.to_owned())))
    }

    /// The record for `settings` with `secret` sealed, checked (roles included); times from
    /// `current` when updating.
    async fn checked_provider(
        &self,
        settings: ProviderSettings,
        secret: Option<&str>,
        current: Option<&UpstreamProvider>,
    ) -> Result<UpstreamProvider, DomainError> {
        settings.check()?;
        if !settings.role_map.is_empty() {
            let targets: Vec<String> = settings.role_map.values().cloned().collect();
            let known = self.storage().roles(&targets).await?;
            if !targets.iter().all(|t| known.iter().any(|r| &r.name == t)) {
                return Err(DomainError::InvalidRequest(
                    "role_map names a role that does not exist",
                ));
            }
        }
        let client_secret_sealed = match secret {
            Some(secret) => {
                check_secret(secret)?;
                Some(
                    self.upstream_sealer()?
                        .seal(&settings.id, secret.as_bytes())?,
                )
            }
            None => None,
        };
        let mut scopes: Vec<String> = Vec::with_capacity(settings.scopes.len());
        for scope in settings.scopes {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            scopes = settings
                .kind
                .default_scopes()
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
        }
        let at = now();
        Ok(UpstreamProvider {
            id: settings.id,
            display_name: settings.display_name,
            kind: settings.kind.as_str().to_owned(),
            issuer: settings.issuer,
            authorization_endpoint: settings.authorization_endpoint,
            token_endpoint: settings.token_endpoint,
            userinfo_endpoint: settings.userinfo_endpoint,
            jwks_uri: settings.jwks_uri,
            api_base: settings.api_base,
            client_id: settings.client_id,
            client_secret_sealed,
            scopes,
            allow_signup: settings.allow_signup,
            trust_email: settings.trust_email,
            trust_mfa: settings.trust_mfa,
            roles_claim: settings.roles_claim,
            role_map: settings.role_map,
            enabled: settings.enabled,
            created_at: current.map_or(at, |c| c.created_at),
            updated_at: at,
        })
    }

    async fn audit_provider(&self, event: &str, id: &str, by: Option<&User>) {
        let detail = format!("provider {id}");
        self.audit(
            event,
            "success",
            by.map(|admin| admin.id.as_str()),
            None,
            None,
            Some(&detail),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["github", "corp-sso", "a", "0", &"a".repeat(32)] {
            assert!(valid_slug(good), "{good}");
        }
        for bad in ["", "-a", "A", "a_b", "a b", "é", &"a".repeat(33)] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn github_defaults_and_explicit_endpoints() {
        let mut p = UpstreamProvider {
            id: "gh".into(),
            display_name: "GitHub".into(),
            kind: "github".into(),
            issuer: None,
            authorization_endpoint: None,
            token_endpoint: None,
            userinfo_endpoint: None,
            jwks_uri: None,
            api_base: None,
            client_id: "x".into(),
            client_secret_sealed: None,
            scopes: Vec::new(),
            allow_signup: false,
            trust_email: false,
            trust_mfa: false,
            roles_claim: None,
            role_map: BTreeMap::new(),
            enabled: true,
            created_at: 0,
            updated_at: 0,
        };
        assert_eq!(
            authorization_endpoint(&p),
            Some(GITHUB_AUTHORIZATION_ENDPOINT)
        );
        assert_eq!(token_endpoint(&p), Some(GITHUB_TOKEN_ENDPOINT));
        assert_eq!(api_base(&p), Some(GITHUB_API_BASE));
        p.api_base = Some("https://ghe.example.com/api/v3".into());
        assert_eq!(api_base(&p), Some("https://ghe.example.com/api/v3"));
        p.kind = "oidc".into();
        assert_eq!(
            (authorization_endpoint(&p), token_endpoint(&p), api_base(&p)),
            (None, None, None)
        );
        p.token_endpoint = Some("https://sso.example.com/token".into());
        assert_eq!(token_endpoint(&p), Some("https://sso.example.com/token"));
    }

    #[test]
    fn urls() {
        for good in [
            "https://accounts.example.com",
            "https://example.com/realms/x?y=1",
            "http://localhost:8080/x",
            "http://127.0.0.1:9/x",
            "http://[::1]:9",
        ] {
            assert!(valid_provider_url(good), "{good}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "ftp://example.com",
            "https://user:pw@example.com",
            "https://example.com/#x",
            "example.com",
            "https://exa mple.com",
        ] {
            assert!(!valid_provider_url(bad), "{bad}");
        }
    }
}
