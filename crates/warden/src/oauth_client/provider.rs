//! An upstream provider: its configuration, its endpoints (from discovery or given), and
//! the two halves of a sign-in — the redirect and the callback.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::http::Http;
use super::identity::{UpstreamIdentity, UpstreamTokens};
use super::pending::{PendingSignIn, random_value, s256_challenge};
use super::{Callback, SignInError, github, openid};
use crate::constant_time_eq;
use crate::jwt::{RemoteJwks, RemoteJwksConfig, Validation, Verifier};

/// The longest-lived pending sign-in: 10 minutes from redirect to callback.
pub const SIGN_IN_LIFETIME: Duration = Duration::from_secs(600);

/// The upstream endpoints of an OpenID Connect provider, when they are given rather than
/// discovered.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Where the browser is sent.
    pub authorization: String,
    /// Where the code is redeemed.
    pub token: String,
    /// The UserInfo endpoint, if the provider has one.
    pub userinfo: Option<String>,
    /// The provider's signing keys.
    pub jwks_uri: String,
    /// Whether the provider sends `iss` in authorization responses (RFC 9207): then a
    /// callback without it is refused.
    pub authorization_response_iss: bool,
}

/// GitHub's OAuth App endpoints: the defaults are github.com's; GitHub Enterprise Server and
/// tests use their own.
#[derive(Debug, Clone)]
pub struct GitHubEndpoints {
    /// `https://github.com/login/oauth/authorize`.
    pub authorization: String,
    /// `https://github.com/login/oauth/access_token`.
    pub token: String,
    /// `https://api.github.com` (for `/user` and `/user/emails`).
    pub api: String,
}

impl Default for GitHubEndpoints {
    fn default() -> Self {
        Self {
            authorization: "https://github.com/login/oauth/authorize".into(),
            token: "https://github.com/login/oauth/access_token".into(),
            api: "https://api.github.com".into(),
        }
    }
}

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuthentication {
    /// HTTP Basic with the form-encoded id and secret (the default).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body (what GitHub expects).
    Post,
}

pub(crate) enum Kind {
    OpenIdConnect {
        issuer: String,
        given: Option<Endpoints>,
        metadata: OnceCell<Arc<openid::Metadata>>,
    },
    GitHub(GitHubEndpoints),
}

pub(crate) struct Inner {
    pub(crate) id: String,
    pub(crate) kind: Kind,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) authentication: ClientAuthentication,
    pub(crate) scopes: Vec<String>,
    pub(crate) redirect_uri: String,
    pub(crate) keep_tokens: bool,
    pub(crate) http: Http,
    pub(crate) timeout: Duration,
}

/// An upstream identity provider: an OpenID Connect provider (Google, Entra ID, Keycloak,
/// another Warden…) or GitHub.
///
/// Every sign-in uses the authorization code flow with PKCE S256, a fresh `state` and (for
/// OpenID Connect) a fresh `nonce`; the ID token is verified with the provider's published
/// keys (the key decides the algorithm: `none` and HMAC are never accepted), its `iss`, `aud`,
/// `azp`, `exp`, `iat` and `nonce` checked, and the UserInfo `sub` must equal the ID token's.
/// Upstream requests follow no redirect, time out, and read at most 64 KiB.
///
/// Cheap to clone. OpenID Connect discovery happens on first use and is kept; a failed
/// discovery is retried by the next sign-in.
///
/// ```no_run
/// use warden::oauth_client::Provider;
///
/// # fn run() -> Result<(), warden::oauth_client::SignInError> {
/// let google = Provider::openid_connect("google", "https://accounts.google.com")
///     .client_id("my-client-id")
///     .client_secret("my-secret")
///     .redirect_uri("https://app.example.com/auth/google/callback")
///     .build()?;
/// let github = Provider::github("github")
///     .client_id("Iv1.0123")
///     .client_secret("gh-secret")
///     .redirect_uri("https://app.example.com/auth/github/callback")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Provider {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("id", &self.inner.id)
            .field("client_id", &self.inner.client_id)
            .field("redirect_uri", &self.inner.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Provider`]; see [`Provider::openid_connect`] and [`Provider::github`].
#[derive(Debug)]
#[must_use]
pub struct ProviderBuilder {
    id: String,
    issuer: Option<String>,
    endpoints: Option<Endpoints>,
    github: Option<GitHubEndpoints>,
    client_id: String,
    client_secret: Option<String>,
    authentication: Option<ClientAuthentication>,
    scopes: Option<Vec<String>>,
    redirect_uri: String,
    keep_tokens: bool,
    timeout: Duration,
}

impl Provider {
    /// An OpenID Connect provider identified by its issuer URL: the endpoints come from
    /// `{issuer}/.well-known/openid-configuration`, whose `issuer` must be exactly this one.
    /// Scopes default to `openid email profile`.
    pub fn openid_connect(id: impl Into<String>, issuer: impl Into<String>) -> ProviderBuilder {
        ProviderBuilder::new(id.into(), Some(issuer.into()), None)
    }

    /// GitHub (an OAuth App or GitHub App): not OpenID Connect; the identity comes from
    /// `/user` (the numeric `id` is the subject) and the email from `/user/emails` — the
    /// primary address, and only if GitHub verified it. Scopes default to
    /// `read:user user:email`; the client authenticates in the form body.
    pub fn github(id: impl Into<String>) -> ProviderBuilder {
        ProviderBuilder::new(id.into(), None, Some(GitHubEndpoints::default()))
    }

    /// The id given at construction (the application's name for the provider).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The redirect URI registered with the provider for this application.
    pub fn redirect_uri(&self) -> &str {
        &self.inner.redirect_uri
    }

    /// The issuer (OpenID Connect) or the API base URL (GitHub): what identities from this
    /// provider are qualified by.
    pub fn issuer(&self) -> &str {
        match &self.inner.kind {
            Kind::OpenIdConnect { issuer, .. } => issuer,
            Kind::GitHub(endpoints) => &endpoints.api,
        }
    }

    /// Starts a sign-in: the URL to send the browser to, and what to keep until the callback
    /// (keep it server-side and take it once; [`SignIn`](super::SignIn) does this).
    /// `return_to` is carried along unchanged — validate it before redirecting to it.
    pub async fn begin(
        &self,
        return_to: Option<String>,
    ) -> Result<(String, PendingSignIn), SignInError> {
        let authorization = match &self.inner.kind {
            Kind::OpenIdConnect { .. } => self.metadata().await?.authorization.clone(),
            Kind::GitHub(endpoints) => endpoints.authorization.clone(),
        };
        let openid = matches!(self.inner.kind, Kind::OpenIdConnect { .. });
        let pending = PendingSignIn {
            provider: self.inner.id.clone(),
            state: random_value()?,
            nonce: if openid { Some(random_value()?) } else { None },
            code_verifier: random_value()?,
            redirect_uri: self.inner.redirect_uri.clone(),
            created_at: now(),
            return_to,
        };
        let mut url = reqwest::Url::parse(&authorization).map_err(|_| {
            SignInError::Configuration("authorization endpoint is not a URL".into())
        })?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.inner.client_id)
                .append_pair("redirect_uri", &self.inner.redirect_uri)
                .append_pair("scope", &self.inner.scopes.join(" "))
                .append_pair("state", &pending.state)
                .append_pair("code_challenge", &s256_challenge(&pending.code_verifier))
                .append_pair("code_challenge_method", "S256");
            if let Some(nonce) = &pending.nonce {
                query.append_pair("nonce", nonce);
            }
        }
        Ok((url.into(), pending))
    }

    /// Finishes a sign-in: checks the callback against `pending`, redeems the code, verifies
    /// what the provider answered, and returns who signed in.
    ///
    /// `pending` must be the record stored under the callback's `state` (looked up by
    /// [`state_key`](super::state_key) and removed in the same step); the `state` values are
    /// compared again here, in constant time.
    pub async fn complete(
        &self,
        pending: PendingSignIn,
        callback: &Callback,
    ) -> Result<UpstreamIdentity, SignInError> {
        if pending.provider != self.inner.id {
            return Err(SignInError::WrongProvider);
        }
        let state = callback
            .state
            .as_deref()
            .ok_or(SignInError::MalformedCallback("no state"))?;
        if !constant_time_eq(state.as_bytes(), pending.state.as_bytes()) {
            return Err(SignInError::UnknownState);
        }
        if now()
            > pending
                .created_at
                .saturating_add(SIGN_IN_LIFETIME.as_secs())
        {
            return Err(SignInError::UnknownState);
        }
        if pending.redirect_uri != self.inner.redirect_uri {
            return Err(SignInError::WrongProvider);
        }
        self.check_issuer(callback).await?;
        if let Some(error) = &callback.error {
            return Err(SignInError::Denied {
                error: super::error::printable(error),
            });
        }
        let code = callback
            .code
            .as_deref()
            .ok_or(SignInError::MalformedCallback("no code"))?;
        let tokens = self.redeem(code, &pending).await?;
        let mut identity = match &self.inner.kind {
            Kind::OpenIdConnect { issuer, .. } => {
                let metadata = self.metadata().await?;
                openid::identify(self, issuer, &metadata, &pending, &tokens).await?
            }
            Kind::GitHub(endpoints) => github::identify(self, endpoints, &tokens).await?,
        };
        identity.return_to = pending.return_to;
        if self.inner.keep_tokens {
            identity.tokens = Some(tokens);
        }
        Ok(identity)
    }

    /// RFC 9207 §2.4: an `iss` in the response must be this provider's issuer, and one that
    /// promises `iss` must send it. GitHub has no issuer: a response carrying one was meant
    /// for another provider.
    async fn check_issuer(&self, callback: &Callback) -> Result<(), SignInError> {
        match &self.inner.kind {
            Kind::OpenIdConnect { issuer, .. } => match &callback.iss {
                Some(iss) if iss == issuer => Ok(()),
                Some(_) => Err(SignInError::IssuerMismatch),
                None if self.metadata().await?.iss_parameter => Err(SignInError::IssuerMismatch),
                None => Ok(()),
            },
            Kind::GitHub(_) => match callback.iss {
                Some(_) => Err(SignInError::IssuerMismatch),
                None => Ok(()),
            },
        }
    }

    /// The token request (RFC 6749 §4.1.3 with the PKCE verifier, RFC 7636 §4.5).
    async fn redeem(
        &self,
        code: &str,
        pending: &PendingSignIn,
    ) -> Result<UpstreamTokens, SignInError> {
        let token_endpoint = match &self.inner.kind {
            Kind::OpenIdConnect { .. } => self.metadata().await?.token.clone(),
            Kind::GitHub(endpoints) => endpoints.token.clone(),
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", pending.redirect_uri.as_str()),
            ("code_verifier", pending.code_verifier.as_str()),
        ];
        let inner = &self.inner;
        let mut basic = None;
        match (inner.authentication, &inner.client_secret) {
            (ClientAuthentication::Basic, Some(secret)) => {
                // RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
                let encode =
                    |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
                let pair = format!("{}:{}", encode(&inner.client_id), encode(secret));
                basic = Some(format!("Basic {}", STANDARD.encode(pair)));
            }
            (ClientAuthentication::Post, Some(secret)) => {
                form.push(("client_id", inner.client_id.as_str()));
                form.push(("client_secret", secret.as_str()));
            }
            (_, None) => form.push(("client_id", inner.client_id.as_str())),
        }
        let mut request = inner.http.post_form(&token_endpoint, &form);
        if let Some(basic) = basic {
            request = request.header(http::header::AUTHORIZATION, basic);
        }
        let (status, body) = inner.http.send("token", request).await?;
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
            SignInError::upstream("token", format!("status {}, not JSON", status.as_u16()))
        })?;
        // An error object is an error whatever the status (GitHub answers them with 200).
        if let Some(error) = answer.error {
            return Err(SignInError::TokenEndpoint {
                error: super::error::printable(&error),
            });
        }
        if !status.is_success() {
            return Err(SignInError::upstream(
                "token",
                format!("status {}", status.as_u16()),
            ));
        }
        let access_token = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| SignInError::upstream("token", "no access_token"))?;
        if !answer
            .token_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
        {
            return Err(SignInError::upstream("token", "token_type is not Bearer"));
        }
        Ok(UpstreamTokens {
            access_token,
            refresh_token: answer.refresh_token,
            id_token: answer.id_token,
            expires_in: answer.expires_in,
            scope: answer.scope,
        })
    }

    /// The provider's metadata, discovered once (a failure is retried by the next call).
    pub(crate) async fn metadata(&self) -> Result<Arc<openid::Metadata>, SignInError> {
        let Kind::OpenIdConnect {
            issuer,
            given,
            metadata,
        } = &self.inner.kind
        else {
            return Err(SignInError::Configuration(
                "not an OpenID Connect provider".into(),
            ));
        };
        metadata
            .get_or_try_init(|| async {
                let endpoints = match given {
                    Some(endpoints) => endpoints.clone(),
                    None => openid::discover(&self.inner.http, issuer).await?,
                };
                let jwks = RemoteJwks::new(
                    endpoints.jwks_uri.clone(),
                    RemoteJwksConfig {
                        timeout: self.inner.timeout,
                        ..RemoteJwksConfig::default()
                    },
                )
                .map_err(|e| SignInError::Configuration(e.to_string()))?;
                let verifier = Verifier::with_remote(
                    jwks,
                    Validation::new()
                        .issuer(issuer.clone())
                        .audience(self.inner.client_id.clone())
                        .leeway(Duration::from_secs(60))
                        .max_token_bytes(16 * 1024),
                );
                Ok(Arc::new(openid::Metadata {
                    authorization: endpoints.authorization,
                    token: endpoints.token,
                    userinfo: endpoints.userinfo,
                    iss_parameter: endpoints.authorization_response_iss,
                    verifier,
                }))
            })
            .await
            .cloned()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

impl ProviderBuilder {
    fn new(id: String, issuer: Option<String>, github: Option<GitHubEndpoints>) -> Self {
        Self {
            id,
            issuer,
            endpoints: None,
            github,
            client_id: String::new(),
            client_secret: None,
            authentication: None,
            scopes: None,
            redirect_uri: String::new(),
            keep_tokens: false,
            timeout: Duration::from_secs(10),
        }
    }

    /// The client id registered with the provider (required).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// The client secret; without one the client is public (PKCE only).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// How the secret is sent (default: HTTP Basic for OpenID Connect, the form for GitHub).
    pub fn client_authentication(mut self, authentication: ClientAuthentication) -> Self {
        self.authentication = Some(authentication);
        self
    }

    /// The redirect URI registered with the provider (required): one per provider, so a
    /// response cannot be replayed at another provider's callback.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = uri.into();
        self
    }

    /// The scopes requested (replacing the defaults). For OpenID Connect `openid` is added
    /// when missing.
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Gives an OpenID Connect provider's endpoints instead of discovering them (the
    /// issuer is still checked in ID tokens).
    pub fn endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = Some(endpoints);
        self
    }

    /// GitHub Enterprise Server's (or a test server's) endpoints instead of github.com's.
    pub fn github_endpoints(mut self, endpoints: GitHubEndpoints) -> Self {
        self.github = Some(endpoints);
        self
    }

    /// Returns the provider's tokens in [`UpstreamIdentity::tokens`] (to call its APIs).
    pub fn keep_tokens(mut self) -> Self {
        self.keep_tokens = true;
        self
    }

    /// The connect and total timeout of each upstream request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the configuration: a client id, absolute `http(s)` URLs.
    pub fn build(self) -> Result<Provider, SignInError> {
        if self.id.is_empty() || self.id.len() > 64 {
            return Err(SignInError::Configuration(
                "the provider id must be 1-64 bytes".into(),
            ));
        }
        if self.client_id.is_empty() {
            return Err(SignInError::Configuration("client_id is required".into()));
        }
        url_setting("redirect_uri", &self.redirect_uri)?;
        let kind = match (self.issuer, self.github) {
            (Some(issuer), _) => {
                url_setting("issuer", &issuer)?;
                if let Some(e) = &self.endpoints {
                    url_setting("authorization endpoint", &e.authorization)?;
                    url_setting("token endpoint", &e.token)?;
                    url_setting("jwks_uri", &e.jwks_uri)?;
                    if let Some(u) = &e.userinfo {
                        url_setting("userinfo endpoint", u)?;
                    }
                }
                Kind::OpenIdConnect {
                    issuer,
                    given: self.endpoints,
                    metadata: OnceCell::new(),
                }
            }
            (None, Some(github)) => {
                url_setting("authorization endpoint", &github.authorization)?;
                url_setting("token endpoint", &github.token)?;
                url_setting("API base", &github.api)?;
                Kind::GitHub(GitHubEndpoints {
                    api: github.api.trim_end_matches('/').to_owned(),
                    ..github
                })
            }
            (None, None) => return Err(SignInError::Configuration("no provider kind".into())),
        };
        let openid = matches!(kind, Kind::OpenIdConnect { .. });
        let mut scopes = self.scopes.unwrap_or_else(|| {
            if openid {
                vec!["openid".into(), "email".into(), "profile".into()]
            } else {
                vec!["read:user".into(), "user:email".into()]
            }
        });
        if openid && !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        let authentication = self.authentication.unwrap_or(if openid {
            ClientAuthentication::Basic
        } else {
            ClientAuthentication::Post
        });
        Ok(Provider {
            inner: Arc::new(Inner {
                http: Http::new(self.timeout)?,
                id: self.id,
                kind,
                client_id: self.client_id,
                client_secret: self.client_secret,
                authentication,
                scopes,
                redirect_uri: self.redirect_uri,
                keep_tokens: self.keep_tokens,
                timeout: self.timeout,
            }),
        })
    }
}

fn url_setting(name: &str, value: &str) -> Result<(), SignInError> {
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => Ok(()),
        _ => Err(SignInError::Configuration(format!(
            "{name} is not an absolute http(s) URL"
        ))),
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
