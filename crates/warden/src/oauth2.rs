//! OAuth 2.0 bearer tokens (RFC 6749, RFC 6750), with the flows that obtain them documented.

use std::fmt;
use std::marker::PhantomData;

use http::request::Parts;
use utoipa::openapi::security::{
    AuthorizationCode, ClientCredentials, Flow, OAuth2, Password, Scopes, SecurityScheme,
};

use crate::challenge::{Challenge, ChallengeScheme};
use crate::credentials::{Credentials, credentials_extractor};
use crate::error::AuthError;
use crate::http_bearer::bearer_token;
use crate::openapi::{Alternatives, SchemeRegistry};

/// A way for a client to get a token, as shown in OpenAPI and Swagger UI's Authorize dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuth2Flow {
    /// Resource owner password credentials: the client posts `username` and `password` to
    /// `token_url` (FastAPI's `OAuth2PasswordBearer`). RFC 9700 §2.4 says it MUST NOT be used
    /// except by first-party clients; it is what FastAPI's tutorials and Swagger UI use.
    Password {
        /// The token endpoint.
        token_url: &'static str,
        /// Where tokens are refreshed, if not at `token_url`.
        refresh_url: Option<&'static str>,
    },
    /// Authorization code (FastAPI's `OAuth2AuthorizationCodeBearer`).
    AuthorizationCode {
        /// The authorization endpoint.
        authorization_url: &'static str,
        /// The token endpoint.
        token_url: &'static str,
        /// Where tokens are refreshed, if not at `token_url`.
        refresh_url: Option<&'static str>,
    },
    /// Client credentials, for machine-to-machine calls (asked of FastAPI since 2019,
    /// fastapi#774).
    ClientCredentials {
        /// The token endpoint.
        token_url: &'static str,
        /// Where tokens are refreshed, if not at `token_url`.
        refresh_url: Option<&'static str>,
    },
}

impl OAuth2Flow {
    /// The password flow at `token_url`.
    pub const fn password(token_url: &'static str) -> Self {
        Self::Password {
            token_url,
            refresh_url: None,
        }
    }

    /// The authorization-code flow.
    pub const fn authorization_code(
        authorization_url: &'static str,
        token_url: &'static str,
    ) -> Self {
        Self::AuthorizationCode {
            authorization_url,
            token_url,
            refresh_url: None,
        }
    }

    /// The client-credentials flow at `token_url`.
    pub const fn client_credentials(token_url: &'static str) -> Self {
        Self::ClientCredentials {
            token_url,
            refresh_url: None,
        }
    }

    /// The same flow with a refresh URL.
    pub const fn with_refresh_url(self, url: &'static str) -> Self {
        match self {
            Self::Password { token_url, .. } => Self::Password {
                token_url,
                refresh_url: Some(url),
            },
            Self::AuthorizationCode {
                authorization_url,
                token_url,
                ..
            } => Self::AuthorizationCode {
                authorization_url,
                token_url,
                refresh_url: Some(url),
            },
            Self::ClientCredentials { token_url, .. } => Self::ClientCredentials {
                token_url,
                refresh_url: Some(url),
            },
        }
    }

    fn to_openapi(self, scopes: Scopes) -> Flow {
        match self {
            Self::Password {
                token_url,
                refresh_url: None,
            } => Flow::Password(Password::new(token_url, scopes)),
            Self::Password {
                token_url,
                refresh_url: Some(refresh),
            } => Flow::Password(Password::with_refresh_url(token_url, scopes, refresh)),
            Self::AuthorizationCode {
                authorization_url,
                token_url,
                refresh_url,
            } => Flow::AuthorizationCode(match refresh_url {
                None => AuthorizationCode::new(authorization_url, token_url, scopes),
                Some(refresh) => AuthorizationCode::with_refresh_url(
                    authorization_url,
                    token_url,
                    scopes,
                    refresh,
                ),
            }),
            Self::ClientCredentials {
                token_url,
                refresh_url: None,
            } => Flow::ClientCredentials(ClientCredentials::new(token_url, scopes)),
            Self::ClientCredentials {
                token_url,
                refresh_url: Some(refresh),
            } => Flow::ClientCredentials(ClientCredentials::with_refresh_url(
                token_url, scopes, refresh,
            )),
        }
    }
}

/// How an [`OAuth2Bearer`] scheme is named, which flows obtain its tokens, and which scopes
/// exist (they become checkboxes in Swagger UI's Authorize dialog).
///
/// ```
/// use warden::{OAuth2Bearer, OAuth2Flow, OAuth2Scheme};
///
/// struct Oauth2;
/// impl OAuth2Scheme for Oauth2 {
///     const SCHEME_NAME: &'static str = "OAuth2PasswordBearer";
///     const FLOWS: &'static [OAuth2Flow] = &[OAuth2Flow::password("/token")];
///     const SCOPES: &'static [(&'static str, &'static str)] =
///         &[("me", "Read information about the current user."), ("items", "Read items.")];
/// }
///
/// async fn handler(bearer: OAuth2Bearer<Oauth2>) -> usize {
///     bearer.token.len()
/// }
/// ```
pub trait OAuth2Scheme: Send + Sync + 'static {
    /// The name under `components.securitySchemes`.
    const SCHEME_NAME: &'static str;
    /// The flows that obtain a token (at least one).
    const FLOWS: &'static [OAuth2Flow];
    /// The scopes that exist, with their descriptions.
    const SCOPES: &'static [(&'static str, &'static str)] = &[];
    /// The scheme's description in the OpenAPI document.
    const DESCRIPTION: Option<&'static str> = None;
}

/// An OAuth 2.0 access token sent as `Authorization: Bearer <token>`.
///
/// The counterpart of FastAPI's `OAuth2PasswordBearer`, `OAuth2AuthorizationCodeBearer` and
/// generic `OAuth2`: which flow issues the token is the scheme's [`OAuth2Scheme::FLOWS`], so a
/// single scheme may offer several flows, and client credentials are one of them. Failures
/// are those of [`HttpBearer`](crate::HttpBearer). Scopes are required per route through
/// [`Auth`](crate::Auth).
pub struct OAuth2Bearer<S: OAuth2Scheme> {
    /// The access token.
    pub token: String,
    scheme: PhantomData<fn() -> S>,
}

impl<S: OAuth2Scheme> fmt::Debug for OAuth2Bearer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Bearer")
            .field("token", &"[redacted]")
            .finish()
    }
}

const BEARER: Challenge = Challenge::new(ChallengeScheme::Bearer);

impl<S: OAuth2Scheme> Credentials for OAuth2Bearer<S> {
    fn extract(parts: &Parts) -> Result<Option<Self>, AuthError> {
        Ok(bearer_token(parts, BEARER)?.map(|token| Self {
            token,
            scheme: PhantomData,
        }))
    }

    fn missing_challenges(out: &mut Vec<Challenge>) {
        out.push(BEARER);
    }

    fn challenge(&self) -> Challenge {
        BEARER
    }

    fn describe(registry: &mut SchemeRegistry) -> Alternatives {
        let flows = S::FLOWS
            .iter()
            .map(|flow| flow.to_openapi(S::SCOPES.iter().copied().collect()));
        let scheme = match S::DESCRIPTION {
            Some(description) => OAuth2::with_description(flows, description),
            None => OAuth2::new(flows),
        };
        registry.register(S::SCHEME_NAME, SecurityScheme::OAuth2(scheme));
        Alternatives::scheme(S::SCHEME_NAME)
    }
}

credentials_extractor!(OAuth2Bearer<S: OAuth2Scheme>);
