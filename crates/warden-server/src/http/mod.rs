//! The HTTP API: thin handlers over the domain layer.

mod error;
mod health;
mod metadata;
mod token;
mod users;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use http::{HeaderName, HeaderValue, header};
use tower::ServiceBuilder;
use warden::openapi::{ApiRouter, Docs};
use warden::{Denied, OAuth2Bearer, OAuth2Flow, OAuth2Scheme, Principal, SecurityScopes, routes};

pub use error::{ApiError, TokenEndpointError};

use crate::domain::Warden;
use crate::storage::{AnyStorage, Storage, User};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The domain.
    pub warden: Warden<AnyStorage>,
}

/// The server's own bearer scheme: tokens from the password flow at `/token`, the flow
/// Swagger UI's Authorize dialog uses.
pub struct WardenOAuth2;

impl OAuth2Scheme for WardenOAuth2 {
    const SCHEME_NAME: &'static str = "OAuth2PasswordBearer";
    const FLOWS: &'static [OAuth2Flow] = &[OAuth2Flow::password("/token")];
}

/// A user authenticated by one of this server's access tokens, still enabled.
pub struct CurrentUser {
    /// The user.
    pub user: User,
    scope: String,
}

impl Principal<AppState> for CurrentUser {
    type Credentials = OAuth2Bearer<WardenOAuth2>;

    async fn authenticate(
        bearer: Self::Credentials,
        _: &SecurityScopes,
        state: &AppState,
    ) -> Result<Self, Denied> {
        let claims: warden::jwt::Claims = state.warden.verifier().verify(&bearer.token).await?;
        let id = claims.sub.as_deref().ok_or(Denied::InvalidCredentials)?;
        let user = state
            .warden
            .storage()
            .user_by_id(id)
            .await
            .map_err(|_| Denied::Unavailable { retry_after: 1 })?
            .ok_or(Denied::InvalidCredentials)?;
        if user.disabled {
            return Err(Denied::InvalidCredentials);
        }
        Ok(Self {
            user,
            scope: claims.scope.unwrap_or_default(),
        })
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// The whole API, its OpenAPI document at `/openapi.json` and Swagger UI at `/docs`.
pub fn router(state: AppState) -> Router {
    let api = ApiRouter::new()
        .info("Warden", env!("CARGO_PKG_VERSION"))
        .routes(routes!(token::token))
        .routes(routes!(metadata::authorization_server))
        .routes(routes!(metadata::jwks))
        .routes(routes!(users::me))
        .routes(routes!(users::register))
        .routes(routes!(users::change_password))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
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
    api.with_docs(Docs::default()).layer(security_headers)
}
