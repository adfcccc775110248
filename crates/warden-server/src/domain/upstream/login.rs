//! Signing in through an upstream provider, and what it means for the local account.
//!
//! The identity is (provider, upstream subject), never an email address. At the callback:
//!
//! 1. an identity already linked signs its user in (a disabled account stays refused);
//! 2. otherwise it is linked to the local account with the same email only when **all**
//!    hold: the provider is marked `trust_email`, the upstream says the email is verified,
//!    exactly one local account has that address and that account's address is verified
//!    (the account pre-hijacking of keycloak#53041 and the nOAuth takeovers need one of
//!    these to be false);
//! 3. otherwise, when the provider allows sign-up and no local account has that address,
//!    an account is created (no password: it signs in through the provider);
//! 4. otherwise the user must prove the account they want the identity linked to: the
//!    verified identity waits (10 minutes, server-side, bound to this browser) and is linked
//!    once the user has signed in to that account the usual way — password, and second
//!    factor when the account has one.
//!
//! The session says how the user authenticated: `amr` `fed` (the value Entra ID uses for a
//! federated sign-in), to which the upstream's own RFC 8176 values are added only when the
//! provider is marked `trust_mfa`. So an upstream sign-in never satisfies our second-factor
//! policy by itself unless an administrator said the upstream's claims may.

use serde::{Deserialize, Serialize};
use warden::oauth_client::{
    Callback, Endpoints, GitHubEndpoints, PendingSignIn, Provider, SignInError, SignInErrorKind,
    UpstreamIdentity, state_key,
};

use super::super::authentication::{AMR_MFA, Authentication};
use super::super::{DomainError, Warden, now, secrets};
use super::{
    GITHUB_API_BASE, GITHUB_AUTHORIZATION_ENDPOINT, GITHUB_TOKEN_ENDPOINT, ProviderKind, api_base,
    authorization_endpoint, token_endpoint,
};
use crate::storage::{
    LinkedIdentity, Storage, StorageError, UpstreamLogin, UpstreamProvider, User,
};

/// RFC 8176 has no value for "signed in at another provider"; Entra ID emits `fed`.
pub const AMR_FEDERATED: &str = "fed";

/// How long a verified identity waits for the user to prove the account it should be linked
/// to, and how long a sign-in may take upstream.
pub const PENDING_UPSTREAM_SECS: i64 = 600;

/// The RFC 8176 values copied from a `trust_mfa` provider's `amr`.
const TRUSTED_AMR: &[&str] = &[
    "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pop", "pwd", "rba",
    "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia",
];

/// `acr` values of a `trust_mfa` provider that stand for two factors.
const MULTI_FACTOR_ACR: &[&str] = &[warden::MFA_ACR, "phr", "phrh"];

/// The purpose column of a pending sign-in (`upstream_logins.purpose`).
const PURPOSE_LOGIN: &str = "login";
/// A verified identity waiting for the user to prove an account.
const PURPOSE_LINK: &str = "link";

/// What the callback led to.
#[derive(Debug)]
pub enum UpstreamOutcome {
    /// The user is signed in: start a session with `how`, then continue the authorization
    /// request `request` (its query string).
    SignedIn {
        user: User,
        how: Authentication,
        request: String,
    },
    /// The user must sign in to the account the identity should be linked to: keep
    /// `link_token` in a cookie, show the login page for `request` with a message.
    ProveAccount {
        link_token: String,
        provider_name: String,
        request: String,
    },
}

/// Why the callback did not sign anyone in.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamFailure {
    /// Nothing to go back to: the sign-in expired, was used, or was started elsewhere.
    #[error("{0}")]
    Lost(SignInError),
    /// The sign-in for `request` failed; show its login page with a message.
    #[error("{error}")]
    Failed {
        error: SignInError,
        request: String,
        provider_name: String,
    },
    /// The account is disabled (whatever the upstream says).
    #[error("account disabled")]
    Disabled { request: String },
    #[error(transparent)]
    Domain(#[from] DomainError),
}

/// What a pending sign-in keeps (sealed) besides the library's record.
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    pending: PendingSignIn,
}

/// A verified identity waiting to be linked (sealed in `upstream_logins`).
#[derive(Serialize, Deserialize)]
struct PendingLink {
    provider: String,
    subject: String,
    email: Option<String>,
    email_verified: bool,
}

/// A provider the login page offers.
#[derive(Debug, Clone)]
pub struct LoginButton {
    pub id: String,
    pub display_name: String,
}

impl<S: Storage> Warden<S> {
    /// The enabled providers, for the login page's buttons.
    pub async fn login_buttons(&self) -> Result<Vec<LoginButton>, DomainError> {
        Ok(self
            .storage()
            .list_upstream_providers()
            .await?
            .into_iter()
            .filter(|p| p.enabled)
            .map(|p| LoginButton {
                id: p.id,
                display_name: p.display_name,
            })
            .collect())
    }

    /// The redirect URI registered upstream for provider `id`: one per provider (RFC 9700
    /// §4.4 mix-up defence), under this server's issuer.
    pub fn upstream_redirect_uri(&self, id: &str) -> String {
        format!("{}/authorize/upstream/{id}/callback", self.config().issuer)
    }

    /// The library's client for a stored provider, built once per version of its settings.
    async fn upstream_client(&self, stored: &UpstreamProvider) -> Result<Provider, DomainError> {
        if let Some(provider) = self
            .inner
            .upstream_clients
            .get(&stored.id, stored.updated_at)
        {
            return Ok(provider);
        }
        let secret = self.client_secret(stored)?;
        let provider = build_client(
            stored,
            secret.as_deref().map(String::as_str),
            self.upstream_redirect_uri(&stored.id),
        )
        .map_err(|error| {
            tracing::warn!(provider = %stored.id, %error, "upstream provider unusable");
            DomainError::InvalidRequest("this sign-in provider is misconfigured")
        })?;
        self.inner
            .upstream_clients
            .put(&stored.id, stored.updated_at, provider.clone());
        Ok(provider)
    }

    async fn enabled_provider(&self, id: &str) -> Result<UpstreamProvider, DomainError> {
        match self.storage().upstream_provider(id).await? {
            Some(provider) if provider.enabled => Ok(provider),
            _ => Err(DomainError::NotFound),
        }
    }

    /// Starts a sign-in at provider `id` for the authorization request `request` (its query
    /// string), bound to the browser whose anti-CSRF cookie is `binding`: the URL to send the
    /// browser to.
    pub async fn begin_upstream(
        &self,
        id: &str,
        binding: &str,
        request: String,
    ) -> Result<String, UpstreamFailure> {
        let stored = self.enabled_provider(id).await?;
        let provider = self.upstream_client(&stored).await?;
        let (url, pending) = provider
            .begin(Some(request.clone()))
            .await
            .map_err(|error| UpstreamFailure::Failed {
                error,
                request,
                provider_name: stored.display_name.clone(),
            })?;
        let state_hash = pending.state_key();
        let sealed = self.seal_upstream(&state_hash, &PendingLogin { pending })?;
        self.storage()
            .insert_upstream_login(&UpstreamLogin {
                state_hash,
                provider_id: stored.id.clone(),
                browser_hash: secrets::digest(binding),
                sealed_request: sealed,
                purpose: PURPOSE_LOGIN.to_owned(),
                user_id: None,
                return_to: None,
                expires_at: now().saturating_add(PENDING_UPSTREAM_SECS),
            })
            .await
            .map_err(DomainError::from)?;
        Ok(url)
    }

    /// Finishes a sign-in at provider `id`'s callback, for the browser whose anti-CSRF
    /// cookie is `binding`.
    pub async fn complete_upstream(
        &self,
        id: &str,
        binding: Option<&str>,
        callback: &Callback,
        ip: Option<&str>,
    ) -> Result<UpstreamOutcome, UpstreamFailure> {
        let state =
            callback
                .state()
                .ok_or(UpstreamFailure::Lost(SignInError::MalformedCallback(
                    "no state",
                )))?;
        let state_hash = state_key(state);
        // Taken once, atomically: a replayed or raced callback finds nothing.
        let record = self
            .storage()
            .take_upstream_login(&state_hash, now())
            .await
            .map_err(DomainError::from)?
            .filter(|r| r.purpose == PURPOSE_LOGIN)
            .ok_or(UpstreamFailure::Lost(SignInError::UnknownState))?;
        let same_browser = binding.is_some_and(|b| {
            warden::constant_time_eq(
                secrets::digest(b).as_bytes(),
                record.browser_hash.as_bytes(),
            )
        });
        if !same_browser {
            self.audit(
                "upstream_login",
                "refused",
                None,
                None,
                ip,
                Some("started in another browser"),
            )
            .await;
            return Err(UpstreamFailure::Lost(SignInError::OtherBrowser));
        }
        if record.provider_id != id {
            self.audit(
                "upstream_login",
                "refused",
                None,
                None,
                ip,
                Some("callback at another provider"),
            )
            .await;
            return Err(UpstreamFailure::Lost(SignInError::WrongProvider));
        }
        let PendingLogin { pending } = self
            .open_upstream(&state_hash, &record.sealed_request)
            .ok_or(UpstreamFailure::Lost(SignInError::UnknownState))?;
        let request = pending.return_to().unwrap_or_default().to_owned();
        let stored = self.enabled_provider(id).await?;
        let failed = |error: SignInError| UpstreamFailure::Failed {
            error,
            request: request.clone(),
            provider_name: stored.display_name.clone(),
        };
        let provider = self.upstream_client(&stored).await?;
        let identity = match provider.complete(pending, callback).await {
            Ok(identity) => identity,
            Err(error) => {
                let outcome = match error.kind() {
                    SignInErrorKind::Forged => "forged",
                    SignInErrorKind::Unavailable => "unavailable",
                    _ => "refused",
                };
                let detail = format!("{id}: {error}");
                self.audit("upstream_login", outcome, None, None, ip, Some(&detail))
                    .await;
                return Err(failed(error));
            }
        };
        let binding = binding.unwrap_or_default();
        self.resolve_identity(&stored, identity, request, binding, ip)
            .await
    }

    /// Steps 1–4 of the module documentation.
    async fn resolve_identity(
        &self,
        provider: &UpstreamProvider,
        identity: UpstreamIdentity,
        request: String,
        binding: &str,
        ip: Option<&str>,
    ) -> Result<UpstreamOutcome, UpstreamFailure> {
        let at = now();
        let detail = format!("{}:{}", provider.id, identity.subject);
        let how = self.federated_authentication(provider, &identity, at);
        // 1. Linked already.
        if let Some(link) = self
            .storage()
            .identity(&provider.id, &identity.subject)
            .await
            .map_err(DomainError::from)?
        {
            let user = self
                .storage()
                .user_by_id(&link.user_id)
                .await
                .map_err(DomainError::from)?
                .ok_or(DomainError::NotFound)?;
            if user.disabled {
                self.audit(
                    "upstream_login",
                    "disabled",
                    Some(&user.username),
                    None,
                    ip,
                    Some(&detail),
                )
                .await;
                return Err(UpstreamFailure::Disabled { request });
            }
            self.storage()
                .touch_identity(
                    &provider.id,
                    &identity.subject,
                    identity.email.as_deref(),
                    identity.email_verified,
                    at,
                )
                .await
                .map_err(DomainError::from)?;
            let user = self.sync_mapped_roles(provider, &identity, user).await?;
            self.audit(
                "upstream_login",
                "success",
                Some(&user.username),
                None,
                ip,
                Some(&detail),
            )
            .await;
            return Ok(UpstreamOutcome::SignedIn { user, how, request });
        }
        let same_email = match &identity.email {
            Some(email) => self
                .storage()
                .users_by_email(email)
                .await
                .map_err(DomainError::from)?,
            None => Vec::new(),
        };
        // 2. Linked by a verified email on both sides, with the administrator's consent.
        if provider.trust_email
            && identity.email_verified
            && let [local] = same_email.as_slice()
            && local.email_verified
            && !local.disabled
        {
            let link = new_link(provider, &identity, &local.id, at);
            match self.storage().link_identity(&link).await {
                Ok(()) => {
                    self.audit(
                        "identity_linked",
                        "success",
                        Some(&local.username),
                        None,
                        ip,
                        Some(&format!("{detail} by verified email")),
                    )
                    .await;
                    let user = self
                        .sync_mapped_roles(provider, &identity, local.clone())
                        .await?;
                    return Ok(UpstreamOutcome::SignedIn { user, how, request });
                }
                // Linked meanwhile, or the account already has an identity at this provider:
                // fall through to proving the account.
                Err(StorageError::Conflict(_)) => {}
                Err(other) => return Err(DomainError::from(other).into()),
            }
        }
        // 3. A new account.
        if provider.allow_signup && same_email.is_empty() {
            let user = self.new_upstream_user(provider, &identity, at).await?;
            let link = new_link(provider, &identity, &user.id, at);
            match self.storage().create_user_with_identity(&user, &link).await {
                Ok(()) => {
                    self.audit(
                        "user_created",
                        "success",
                        Some(&user.username),
                        None,
                        ip,
                        Some(&format!("{detail} (sign-up)")),
                    )
                    .await;
                    self.audit(
                        "upstream_login",
                        "success",
                        Some(&user.username),
                        None,
                        ip,
                        Some(&detail),
                    )
                    .await;
                    return Ok(UpstreamOutcome::SignedIn { user, how, request });
                }
                Err(StorageError::Conflict(_)) => {}
                Err(other) => return Err(DomainError::from(other).into()),
            }
        }
        // 4. Prove the account.
        let link_token = secrets::random(32)?;
        let token_hash = state_key(&link_token);
        let sealed = self.seal_upstream(
            &token_hash,
            &PendingLink {
                provider: provider.id.clone(),
                subject: identity.subject.clone(),
                email: identity.email.clone(),
                email_verified: identity.email_verified,
            },
        )?;
        self.storage()
            .insert_upstream_login(&UpstreamLogin {
                state_hash: token_hash,
                provider_id: provider.id.clone(),
                browser_hash: secrets::digest(binding),
                sealed_request: sealed,
                purpose: PURPOSE_LINK.to_owned(),
                user_id: None,
                return_to: None,
                expires_at: at.saturating_add(PENDING_UPSTREAM_SECS),
            })
            .await
            .map_err(DomainError::from)?;
        self.audit(
            "upstream_login",
            "link_required",
            None,
            None,
            ip,
            Some(&detail),
        )
        .await;
        Ok(UpstreamOutcome::ProveAccount {
            link_token,
            provider_name: provider.display_name.clone(),
            request,
        })
    }

    /// Links the identity waiting under `link_token` to `user`, who has signed in completely
    /// (every factor the account needs) at `authenticated_at`. Returns the provider's display
    /// name, or `None` when nothing was waiting (expired, used, another browser's) or the
    /// sign-in is older than the identity: a session that already existed when the identity
    /// was verified never gets it (someone else may have used the browser meanwhile).
    pub async fn link_pending_identity(
        &self,
        link_token: &str,
        binding: Option<&str>,
        user: &User,
        authenticated_at: i64,
        ip: Option<&str>,
    ) -> Result<Option<String>, DomainError> {
        if link_token.is_empty() || link_token.len() > 128 {
            return Ok(None);
        }
        let token_hash = state_key(link_token);
        let Some(record) = self
            .storage()
            .take_upstream_login(&token_hash, now())
            .await?
        else {
            return Ok(None);
        };
        let same_browser = binding.is_some_and(|b| {
            warden::constant_time_eq(
                secrets::digest(b).as_bytes(),
                record.browser_hash.as_bytes(),
            )
        });
        let verified_at = record.expires_at.saturating_sub(PENDING_UPSTREAM_SECS);
        if record.purpose != PURPOSE_LINK || !same_browser || authenticated_at < verified_at {
            return Ok(None);
        }
        let Some(pending) = self.open_upstream::<PendingLink>(&token_hash, &record.sealed_request)
        else {
            return Ok(None);
        };
        let Some(provider) = self.storage().upstream_provider(&pending.provider).await? else {
            return Ok(None);
        };
        let at = now();
        let link = LinkedIdentity {
            provider_id: pending.provider.clone(),
            subject: pending.subject.clone(),
            user_id: user.id.clone(),
            email: pending.email,
            email_verified: pending.email_verified,
            linked_at: at,
            last_login_at: Some(at),
        };
        let detail = format!("{}:{}", pending.provider, pending.subject);
        match self.storage().link_identity(&link).await {
            Ok(()) => {
                self.audit(
                    "identity_linked",
                    "success",
                    Some(&user.username),
                    None,
                    ip,
                    Some(&format!("{detail} after signing in")),
                )
                .await;
                Ok(Some(provider.display_name))
            }
            Err(StorageError::Conflict(_)) => {
                self.audit(
                    "identity_linked",
                    "conflict",
                    Some(&user.username),
                    None,
                    ip,
                    Some(&detail),
                )
                .await;
                Err(DomainError::InvalidRequest(
                    "this sign-in is already linked, or the account already has one at this provider",
                ))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The session's `amr`: `fed`, plus the upstream's values when the provider is trusted
    /// for them (and `mfa` when its `acr` says two factors).
    fn federated_authentication(
        &self,
        provider: &UpstreamProvider,
        identity: &UpstreamIdentity,
        at: i64,
    ) -> Authentication {
        let mut amr = vec![AMR_FEDERATED.to_owned()];
        if provider.trust_mfa {
            for value in &identity.amr {
                if TRUSTED_AMR.contains(&value.as_str()) && !amr.contains(value) {
                    amr.push(value.clone());
                }
            }
            let two_factors = identity
                .acr
                .as_deref()
                .is_some_and(|acr| MULTI_FACTOR_ACR.contains(&acr));
            if two_factors && !amr.iter().any(|v| v == AMR_MFA) {
                amr.push(AMR_MFA.to_owned());
            }
        }
        Authentication { auth_time: at, amr }
    }

    /// The roles the provider's `roles_claim` maps to, replacing the mapped roles the user
    /// had (roles outside the map are left alone).
    async fn sync_mapped_roles(
        &self,
        provider: &UpstreamProvider,
        identity: &UpstreamIdentity,
        user: User,
    ) -> Result<User, DomainError> {
        let Some(wanted) = mapped_roles(provider, identity) else {
            return Ok(user);
        };
        let governed: Vec<&String> = provider.role_map.values().collect();
        let mut roles: Vec<String> = user
            .roles
            .iter()
            .filter(|r| !governed.contains(r))
            .cloned()
            .collect();
        for role in wanted {
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        if roles == user.roles {
            return Ok(user);
        }
        self.storage().set_user_roles(&user.id, &roles).await?;
        self.audit(
            "roles_changed",
            "success",
            Some(&user.username),
            None,
            None,
            Some(&format!("mapped from {}", provider.id)),
        )
        .await;
        Ok(User { roles, ..user })
    }

    /// A new account for `identity`: a free username from its preferred username, login or
    /// email; its email (verified only if the provider is trusted for email and says so);
    /// the mapped roles; no password.
    async fn new_upstream_user(
        &self,
        provider: &UpstreamProvider,
        identity: &UpstreamIdentity,
        at: i64,
    ) -> Result<User, DomainError> {
        let base = username_base(identity);
        let mut username = base.clone();
        for attempt in 0..8 {
            if self.storage().user_by_username(&username).await?.is_none() {
                break;
            }
            let suffix = secrets::random(3)?.replace(['-', '_'], "x");
            username = format!(
                "{}-{}",
                base.chars().take(58).collect::<String>(),
                &suffix[..4.min(suffix.len())]
            );
            if attempt == 7 {
                return Err(DomainError::UsernameTaken);
            }
        }
        let email = identity
            .email
            .clone()
            .filter(|e| super::super::accounts::validate_email(e).is_ok());
        Ok(User {
            id: uuid::Uuid::new_v4().to_string(),
            username,
            email_verified: email.is_some() && identity.email_verified && provider.trust_email,
            email,
            password_hash: super::super::accounts::NO_PASSWORD.to_owned(),
            disabled: false,
            roles: mapped_roles(provider, identity).unwrap_or_default(),
            created_at: at,
            updated_at: at,
        })
    }

    fn seal_upstream<T: Serialize>(&self, label: &str, value: &T) -> Result<Vec<u8>, DomainError> {
        let json = serde_json::to_vec(value)
            .map_err(|_| DomainError::Internal("pending sign-in not serializable"))?;
        self.upstream_sealer()?
            .seal(&format!("upstream-login:{label}"), &json)
    }

    fn open_upstream<T: for<'de> Deserialize<'de>>(&self, label: &str, sealed: &[u8]) -> Option<T> {
        let sealer = self.upstream_sealer().ok()?;
        let json = sealer.open(&format!("upstream-login:{label}"), sealed)?;
        serde_json::from_slice(&json).ok()
    }
}

/// The library's client for a stored provider: explicit endpoints when the three that matter
/// are given (authorization, token, JWKS), discovery from the issuer otherwise; GitHub's
/// endpoints (or GitHub Enterprise's).
fn build_client(
    stored: &UpstreamProvider,
    secret: Option<&str>,
    redirect_uri: String,
) -> Result<Provider, SignInError> {
    let kind = ProviderKind::parse(&stored.kind)
        .ok_or_else(|| SignInError::Configuration("unknown kind".into()))?;
    let builder = match kind {
        ProviderKind::Oidc => {
            let issuer = stored
                .issuer
                .clone()
                .ok_or_else(|| SignInError::Configuration("no issuer".into()))?;
            let builder = Provider::openid_connect(stored.id.clone(), issuer);
            match (
                &stored.authorization_endpoint,
                &stored.token_endpoint,
                &stored.jwks_uri,
            ) {
                (Some(authorization), Some(token), Some(jwks_uri)) => {
                    builder.endpoints(Endpoints {
                        authorization: authorization.clone(),
                        token: token.clone(),
                        userinfo: stored.userinfo_endpoint.clone(),
                        jwks_uri: jwks_uri.clone(),
                        authorization_response_iss: false,
                    })
                }
                _ => builder,
            }
        }
        ProviderKind::GitHub => {
            Provider::github(stored.id.clone()).github_endpoints(GitHubEndpoints {
                authorization: authorization_endpoint(stored)
                    .unwrap_or(GITHUB_AUTHORIZATION_ENDPOINT)
                    .to_owned(),
                token: token_endpoint(stored)
                    .unwrap_or(GITHUB_TOKEN_ENDPOINT)
                    .to_owned(),
                api: api_base(stored).unwrap_or(GITHUB_API_BASE).to_owned(),
            })
        }
    };
    let mut builder = builder
        .client_id(stored.client_id.clone())
        .redirect_uri(redirect_uri);
    if !stored.scopes.is_empty() {
        builder = builder.scopes(stored.scopes.iter().cloned());
    }
    if let Some(secret) = secret {
        builder = builder.client_secret(secret);
    }
    builder.build()
}

fn new_link(
    provider: &UpstreamProvider,
    identity: &UpstreamIdentity,
    user_id: &str,
    at: i64,
) -> LinkedIdentity {
    LinkedIdentity {
        provider_id: provider.id.clone(),
        subject: identity.subject.clone(),
        user_id: user_id.to_owned(),
        email: identity.email.clone(),
        email_verified: identity.email_verified,
        linked_at: at,
        last_login_at: Some(at),
    }
}

/// The local roles the identity's `roles_claim` maps to; `None` when the provider maps no
/// roles.
fn mapped_roles(provider: &UpstreamProvider, identity: &UpstreamIdentity) -> Option<Vec<String>> {
    let claim = provider.roles_claim.as_deref()?;
    let values: Vec<&str> = match identity.claims.get(claim) {
        Some(serde_json::Value::Array(items)) => {
            items.iter().filter_map(|v| v.as_str()).take(256).collect()
        }
        Some(serde_json::Value::String(one)) => vec![one.as_str()],
        _ => Vec::new(),
    };
    let mut roles = Vec::new();
    for (upstream, local) in &provider.role_map {
        if values.contains(&upstream.as_str()) && !roles.contains(local) {
            roles.push(local.clone());
        }
    }
    Some(roles)
}

/// A username from the identity: letters, digits and `.`, `_`, `-`, `@` kept, at most 64.
fn username_base(identity: &UpstreamIdentity) -> String {
    let candidate = identity
        .username
        .clone()
        .or_else(|| {
            identity
                .email
                .as_ref()
                .and_then(|e| e.split('@').next().map(str::to_owned))
        })
        .unwrap_or_else(|| format!("{}-{}", identity.provider, identity.subject));
    let cleaned: String = candidate
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        .take(64)
        .collect();
    if cleaned.is_empty() {
        format!(
            "{}-user",
            identity.provider.chars().take(32).collect::<String>()
        )
    } else {
        cleaned
    }
}

/// The library clients of the providers, by id, tagged with the settings' `updated_at`.
#[derive(Default)]
pub struct UpstreamClients(std::sync::Mutex<std::collections::HashMap<String, (i64, Provider)>>);

impl UpstreamClients {
    fn get(&self, id: &str, version: i64) -> Option<Provider> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id)
            .filter(|(v, _)| *v == version)
            .map(|(_, p)| p.clone())
    }

    fn put(&self, id: &str, version: i64, provider: Provider) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(id.to_owned(), (version, provider));
    }
}
