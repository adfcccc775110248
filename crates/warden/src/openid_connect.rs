//! OpenID Connect: a bearer token from a provider described by its discovery document.

use std::fmt;
use std::marker::PhantomData;

use http::request::Parts;
use utoipa::openapi::security::{OpenIdConnect as OpenIdConnectModel, SecurityScheme};

use crate::challenge::{Challenge, ChallengeScheme};
use crate::credentials::{Credentials, credentials_extractor};
use crate::error::AuthError;
use crate::http_bearer::bearer_token;
use crate::openapi::{Alternatives, SchemeRegistry};

/// How an [`OpenIdConnect`] scheme is named and where its discovery document is.
///
/// ```
/// use warden::{OpenIdConnect, OpenIdConnectScheme};
///
/// struct Corporate;
/// impl OpenIdConnectScheme for Corporate {
///     const SCHEME_NAME: &'static str = "Corporate";
///     const URL: &'static str = "https://id.example.com/.well-known/openid-configuration";
/// }
///
/// async fn handler(token: OpenIdConnect<Corporate>) -> usize {
///     token.token.len()
/// }
/// ```
pub trait OpenIdConnectScheme: Send + Sync + 'static {
    /// The name under `components.securitySchemes`.
    const SCHEME_NAME: &'static str;
    /// The OpenID Connect discovery URL (`openIdConnectUrl`).
    const URL: &'static str;
    /// The scheme's description in the OpenAPI document.
    const DESCRIPTION: Option<&'static str> = None;
}

/// A bearer token issued by an OpenID provider. FastAPI's `OpenIdConnect`.
///
/// FastAPI hands over the raw `Authorization` header; this extracts the bearer token with the
/// checks of [`HttpBearer`](crate::HttpBearer). Verifying it against the provider's keys is a
/// [`Principal`](crate::Principal)'s job.
pub struct OpenIdConnect<S: OpenIdConnectScheme> {
    /// The token.
    pub token: String,
    scheme: PhantomData<fn() -> S>,
}

impl<S: OpenIdConnectScheme> fmt::Debug for OpenIdConnect<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenIdConnect")
            .field("token", &"[redacted]")
            .finish()
    }
}

const BEARER: Challenge = Challenge::new(ChallengeScheme::Bearer);

impl<S: OpenIdConnectScheme> Credentials for OpenIdConnect<S> {
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
        let scheme = match S::DESCRIPTION {
            Some(description) => OpenIdConnectModel::with_description(S::URL, description),
            None => OpenIdConnectModel::new(S::URL),
        };
        registry.register(S::SCHEME_NAME, SecurityScheme::OpenIdConnect(scheme));
        Alternatives::scheme(S::SCHEME_NAME)
    }
}

credentials_extractor!(OpenIdConnect<S: OpenIdConnectScheme>);
