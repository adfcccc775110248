//! The HTTP API: thin handlers over the domain layer.

mod admin;
mod admin_clients;
mod admin_providers;
mod api_keys;
mod authorize;
mod browser;
mod client_auth;
mod cors;
mod error;
mod factors;
mod health;
mod identities;
mod introspection;
mod logout;
mod metadata;
mod metrics;
mod pages;
mod passkeys;
mod pushed_requests;
mod registration;
mod revocation;
mod token;
mod upstream;
mod userinfo;
mod users;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use http::{HeaderName, HeaderValue, header};
use tower::ServiceBuilder;
use warden::openapi::{ApiRouter, Docs, remove_scheme};
use warden::{
    ApiKeyCookie, ApiKeyHeader, ApiKeyQuery, ApiKeyScheme, Denied, Either, OAuth2Bearer,
    OAuth2Flow, OAuth2Scheme, Principal, SecurityScopes, routes,
};

pub use admin::Admin;
pub use error::{ApiError, TokenEndpointError};

use crate::domain::{Authentication, DomainError, Warden};
use crate::storage::{AnyStorage, Storage, User};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The domain.
    pub warden: Warden<AnyStorage>,
    /// Proxies whose forwarding headers are believed (`trusted_proxies`).
    trusted_proxies: std::sync::Arc<warden::rate_limit::TrustedProxies>,
}

impl AppState {
    /// The state for `warden`, with its configured trusted proxies.
    pub fn new(warden: Warden<AnyStorage>) -> Result<Self, String> {
        let trusted_proxies =
            warden::rate_limit::TrustedProxies::new(&warden.config().trusted_proxies)
                .map_err(|e| format!("trusted_proxies: {e}"))?;
        Ok(Self {
            warden,
            trusted_proxies: std::sync::Arc::new(trusted_proxies),
        })
    }

    /// The client's address: the peer, or — when the peer is a trusted proxy — the right-most
    /// untrusted hop of `X-Forwarded-For`. Used for login throttling and the audit log.
    pub fn client_ip(&self, peer: std::net::SocketAddr, headers: &http::HeaderMap) -> String {
        self.trusted_proxies
            .client_ip(peer.ip(), headers)
            .to_string()
    }
}

/// The server's own bearer scheme: tokens from the password flow at `/token`, the flow
/// Swagger UI's Authorize dialog uses.
pub struct WardenOAuth2;

impl OAuth2Scheme for WardenOAuth2 {
    const SCHEME_NAME: &'static str = "OAuth2PasswordBearer";
    const FLOWS: &'static [OAuth2Flow] = &[OAuth2Flow::password("/token")];
}

/// DPoP-bound access tokens (RFC 9449) from `/token` with a `DPoP` proof header: sent as
/// `Authorization: DPoP <token>` with a fresh proof per request.
pub struct WardenDPoP;

impl warden::dpop::DPoPScheme for WardenDPoP {
    const SCHEME_NAME: &'static str = "DPoP";
    const ALGORITHMS: warden::dpop::ProofAlgorithms = crate::domain::DPOP_ALGORITHMS;
    const DESCRIPTION: Option<&'static str> = Some(
        "A DPoP-bound access token (RFC 9449) from `/token` with a `DPoP` proof: `Authorization: DPoP <token>` and a fresh `DPoP` proof signed by the token's key on every request.",
    );
}

/// An access token as sent: DPoP-bound with its proof, or a bearer token.
pub type AccessToken = Either<warden::dpop::DPoP<WardenDPoP>, OAuth2Bearer<WardenOAuth2>>;

/// The server's own API-key scheme: a `wdn_…` key (created at `/users/me/api-keys`) in the
/// `X-API-Key` header. The query parameter and cookie forms below are taken only where the
/// configuration says so (`api_key_in_query`, `api_key_in_cookie`), and the OpenAPI document
/// lists only the forms that are on.
pub struct WardenApiKey;

impl ApiKeyScheme for WardenApiKey {
    const SCHEME_NAME: &'static str = "APIKeyHeader";
    const NAME: &'static str = "X-API-Key";
    const DESCRIPTION: Option<&'static str> =
        Some("An API key (`wdn_…`) created at `/users/me/api-keys`; it grants its own scopes.");
}

/// An API key in the `api_key` query parameter (when `api_key_in_query` is on).
pub struct WardenApiKeyQuery;

impl ApiKeyScheme for WardenApiKeyQuery {
    const SCHEME_NAME: &'static str = "APIKeyQuery";
    const NAME: &'static str = "api_key";
}

/// An API key in the `api_key` cookie (when `api_key_in_cookie` is on).
pub struct WardenApiKeyCookie;

impl ApiKeyScheme for WardenApiKeyCookie {
    const SCHEME_NAME: &'static str = "APIKeyCookie";
    const NAME: &'static str = "api_key";
}

/// A user authenticated by one of this server's access tokens or by one of their API keys,
/// still enabled. Its scopes are the token's, or the key's that the user's roles still grant.
pub struct CurrentUser {
    /// The user.
    pub user: User,
    scope: String,
    /// The id of the API key the request was authenticated with; `None` for an access token.
    pub api_key_id: Option<String>,
    /// How the user authenticated for the access token (its `auth_time` and `amr`); `None`
    /// for an API key, or a token that does not say.
    pub authentication: Option<Authentication>,
}

impl CurrentUser {
    /// The scopes granted to this request.
    pub fn scopes(&self) -> std::collections::BTreeSet<String> {
        self.scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    async fn from_access_token(sent: AccessToken, state: &AppState) -> Result<Self, Denied> {
        let (token, dpop) = match &sent {
            Either::Left(dpop) => (dpop.token.as_str(), Some(dpop)),
            Either::Right(bearer) => (bearer.token.as_str(), None),
        };
        // The verifier's cache answers a token presented again without a signature check.
        let claims = state
            .warden
            .verifier()
            .ok_or(Denied::Unavailable { retry_after: 1 })?
            .verify_shared::<warden::jwt::NoClaims>(token)
            .await?;
        // RFC 9449 §7: a bound token only with a proof of its key — never as a bearer token
        // (§7.2) — and the DPoP scheme only with a bound token.
        match (claims.bound_key(), dpop) {
            (Some(jkt), Some(dpop)) => {
                state
                    .warden
                    .dpop()
                    .verify(dpop.proof_request().bound_to(jkt))
                    .await?;
            }
            (None, None) => {}
            _ => return Err(Denied::InvalidCredentials),
        }
        let id = claims.sub.as_deref().ok_or(Denied::InvalidCredentials)?;
        // Revoked at `/revoke` (RFC 7009): denylisted by `jti`, which RFC 9068 §2.2 requires.
        // The user and the denylist are read in one query.
        let jti = claims.jti.as_deref().ok_or(Denied::InvalidCredentials)?;
        let user = state
            .warden
            .storage()
            .user_for_access_token(id, jti)
            .await
            .map_err(|_| Denied::Unavailable { retry_after: 1 })?
            .ok_or(Denied::InvalidCredentials)?;
        if user.disabled {
            return Err(Denied::InvalidCredentials);
        }
        let authentication = match (claims.auth_time, &claims.amr) {
            (Some(at), Some(amr)) => Some(Authentication {
                auth_time: i64::try_from(at).unwrap_or(0),
                amr: amr.clone(),
            }),
            _ => None,
        };
        Ok(Self {
            user,
            scope: claims.scope.clone().unwrap_or_default(),
            api_key_id: None,
            authentication,
        })
    }

    async fn from_api_key(key: &str, state: &AppState) -> Result<Self, Denied> {
        match state.warden.authenticate_api_key(key).await {
            Ok(principal) => Ok(Self {
                user: principal.user,
                scope: principal.scopes.into_iter().collect::<Vec<_>>().join(" "),
                api_key_id: Some(principal.key_id),
                authentication: None,
            }),
            Err(DomainError::InvalidGrant) => Err(Denied::InvalidCredentials),
            Err(error) => {
                tracing::error!(%error, "could not check an API key");
                Err(Denied::Unavailable { retry_after: 1 })
            }
        }
    }
}

impl Principal<AppState> for CurrentUser {
    type Credentials = Either<
        AccessToken,
        Either<
            ApiKeyHeader<WardenApiKey>,
            Either<ApiKeyQuery<WardenApiKeyQuery>, ApiKeyCookie<WardenApiKeyCookie>>,
        >,
    >;

    async fn authenticate(
        credentials: Self::Credentials,
        _: &SecurityScopes,
        state: &AppState,
    ) -> Result<Self, Denied> {
        let config = state.warden.config();
        match credentials {
            Either::Left(token) => Self::from_access_token(token, state).await,
            Either::Right(Either::Left(key)) => Self::from_api_key(&key.key, state).await,
            Either::Right(Either::Right(Either::Left(key))) if config.api_key_in_query => {
                Self::from_api_key(&key.key, state).await
            }
            Either::Right(Either::Right(Either::Right(key))) if config.api_key_in_cookie => {
                Self::from_api_key(&key.key, state).await
            }
            // A form of key this deployment does not take.
            Either::Right(Either::Right(_)) => Err(Denied::InvalidCredentials),
        }
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }

    /// How the user signed in for the access token, so routes of this server can name the
    /// library's step-up markers (`Mfa`, `MaxAge`) too; an API key has none and fails them.
    fn authentication_context(&self) -> Option<warden::AuthContext<'_>> {
        self.authentication.as_ref().map(|how| warden::AuthContext {
            acr: Some(how.acr()),
            amr: &how.amr,
            auth_time: u64::try_from(how.auth_time).ok(),
        })
    }
}

/// The whole API, its OpenAPI document at `/openapi.json`, Swagger UI at `/docs` and
/// Prometheus metrics at `/metrics`.
pub fn router(state: AppState) -> Router {
    let config = state.warden.config().clone();
    let api = ApiRouter::new()
        .info("Warden", env!("CARGO_PKG_VERSION"))
        .routes(routes!(token::token))
        .routes(routes!(pushed_requests::push))
        .merge(
            ApiRouter::new()
                .routes(routes!(registration::register))
                .routes(routes!(
                    registration::read,
                    registration::update,
                    registration::delete
                ))
                .layer(DefaultBodyLimit::max(16 * 1024)),
        )
        .routes(routes!(revocation::revoke))
        .routes(routes!(introspection::introspect))
        .routes(routes!(metadata::authorization_server))
        .routes(routes!(metadata::jwks))
        .routes(routes!(metadata::openid_configuration))
        .routes(routes!(userinfo::userinfo_get, userinfo::userinfo_post))
        .routes(routes!(users::me, users::update_me))
        .routes(routes!(users::register))
        .routes(routes!(users::change_password))
        .routes(routes!(api_keys::create_api_key, api_keys::list_api_keys))
        .routes(routes!(api_keys::revoke_api_key))
        .routes(routes!(admin::list_users))
        .routes(routes!(
            admin::get_user,
            admin::update_user,
            admin::delete_user
        ))
        .routes(routes!(admin::reset_factors))
        .routes(routes!(factors::list_factors))
        .routes(routes!(factors::start_totp, factors::remove_totp))
        .routes(routes!(factors::confirm_totp))
        .routes(routes!(factors::new_recovery_codes))
        .merge(
            ApiRouter::new()
                .routes(routes!(passkeys::start_registration))
                .routes(routes!(passkeys::finish_registration, passkeys::list))
                .routes(routes!(passkeys::rename, passkeys::remove))
                .layer(DefaultBodyLimit::max(passkeys::MAX_PASSKEY_BODY)),
        )
        .routes(routes!(admin::list_roles))
        .routes(routes!(admin::put_role))
        .routes(routes!(admin::list_api_keys))
        .routes(routes!(admin::revoke_api_key))
        .routes(routes!(admin::list_audit))
        .routes(routes!(
            admin_clients::list_clients,
            admin_clients::create_client
        ))
        .routes(routes!(
            admin_clients::get_client,
            admin_clients::delete_client
        ))
        .routes(routes!(
            admin_providers::list_providers,
            admin_providers::create_provider
        ))
        .routes(routes!(
            admin_providers::get_provider,
            admin_providers::update_provider,
            admin_providers::delete_provider
        ))
        .routes(routes!(identities::list_of_user))
        .routes(routes!(identities::unlink_of_user))
        .routes(routes!(identities::list_mine))
        .routes(routes!(identities::unlink_mine))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        // Undocumented: for the scraper, not for API clients.
        .route("/metrics", axum::routing::get(metrics::render))
        // The browser flows: HTML pages, not API operations.
        .route("/authorize", axum::routing::get(authorize::authorize))
        .route("/authorize/login", axum::routing::post(authorize::login))
        .route(
            "/authorize/second-factor",
            axum::routing::post(authorize::second_factor),
        )
        .route("/authorize/enrol", axum::routing::post(authorize::enrol))
        .route(
            "/authorize/continue",
            axum::routing::post(authorize::proceed),
        )
        .route(
            "/authorize/consent",
            axum::routing::post(authorize::consent),
        )
        .route(
            "/authorize/passkey/start",
            axum::routing::post(authorize::passkey_start),
        )
        .route(
            "/authorize/passkey",
            axum::routing::post(authorize::passkey_finish),
        )
        .route(
            "/authorize/upstream/{provider}",
            axum::routing::post(upstream::start),
        )
        .route(
            "/authorize/upstream/{provider}/callback",
            axum::routing::get(upstream::callback),
        )
        .route(
            pages::WEBAUTHN_SCRIPT,
            axum::routing::get(authorize::webauthn_script),
        )
        .route(
            "/logout",
            axum::routing::get(logout::logout).post(logout::logout),
        )
        .with_state(state);
    let security_headers = ServiceBuilder::new()
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ),
        )
        .layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        )
        .layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static("x-frame-options"),
                HeaderValue::from_static("DENY"),
            ),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ));
    // Before the first request: the recorder must be in place when counters are touched.
    metrics::handle();
    // The document lists only the key forms this deployment takes.
    let (router, mut openapi) = api.split_for_parts();
    if !config.api_key_in_query {
        remove_scheme(&mut openapi, WardenApiKeyQuery::SCHEME_NAME);
    }
    if !config.api_key_in_cookie {
        remove_scheme(&mut openapi, WardenApiKeyCookie::SCHEME_NAME);
    }
    router
        .merge(Docs::default().router(openapi))
        .route_layer(axum::middleware::from_fn(metrics::matched_route))
        .layer(security_headers)
        .layer(axum::middleware::from_fn(cors::cors))
        // Outermost, so timeouts and refused bodies are counted too.
        .layer(axum::middleware::from_fn(metrics::track))
}

/// Adds `Strict-Transport-Security: max-age=31536000` (one year) to every response of `app`.
/// For a server that speaks HTTPS itself: RFC 6797 §7.2 has the header sent over secure
/// transport only, so plain HTTP (behind a proxy, which sets its own) goes without it.
pub fn with_hsts(app: Router) -> Router {
    app.layer(
        tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ),
    )
}
