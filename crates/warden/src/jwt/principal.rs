//! A principal straight from a verified JWT bearer token.

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use serde::de::DeserializeOwned;

use super::{Claims, JwtError, NoClaims, Verifier};
use crate::BearerScheme;
use crate::{
    AuthContext, Credentials, Denied, HttpBearer, OAuth2Bearer, OAuth2Scheme, OpenIdConnect,
    OpenIdConnectScheme, Principal, SecurityScopes,
};

/// Credentials that carry a bearer token.
pub trait BearerToken: Credentials {
    /// The token.
    fn token(&self) -> &str;
}

impl<S: BearerScheme> BearerToken for HttpBearer<S> {
    fn token(&self) -> &str {
        &self.token
    }
}

impl<S: OAuth2Scheme> BearerToken for OAuth2Bearer<S> {
    fn token(&self) -> &str {
        &self.token
    }
}

impl<S: OpenIdConnectScheme> BearerToken for OpenIdConnect<S> {
    fn token(&self) -> &str {
        &self.token
    }
}

/// A principal whose identity is a verified JWT: subject, scopes and the application's
/// claims `C`, sent with the bearer scheme `B`.
///
/// The state must yield a [`Verifier`] (`Verifier: FromRef<State>`); scopes come from the
/// token's `scope` claim, so `Auth<Jwt, Items>` requires `items` in it, and the step-up
/// markers from its `acr`, `amr` and `auth_time` claims, so `Auth<Jwt, (Items, Mfa)>` also
/// requires `mfa` in `amr`. This is PyJWT's
/// `PyJWKClient` + FastAPI's `get_current_user` in one type.
///
/// ```
/// use axum::extract::FromRef;
/// use warden::jwt::{Jwt, Verifier};
/// use warden::{Auth, scope};
///
/// #[derive(Clone, FromRef)]
/// struct AppState { verifier: Verifier }
///
/// scope!(Items = "items");
///
/// async fn read_items(token: Auth<Jwt, Items>) -> String {
///     token.claims.sub.clone().unwrap_or_default()
/// }
/// # let _ = axum::routing::get(read_items).with_state::<()>(AppState {
/// #     verifier: Verifier::with_keys(vec![], warden::jwt::Validation::new()),
/// # });
/// ```
pub struct Jwt<C = NoClaims, B = HttpBearer> {
    /// The verified claims, shared with the verifier's cache (see
    /// [`Verifier::verify_shared`]).
    pub claims: Arc<Claims<C>>,
    pub(crate) scheme: PhantomData<fn() -> B>,
}

impl<C, B> Deref for Jwt<C, B> {
    type Target = Claims<C>;

    fn deref(&self) -> &Claims<C> {
        &self.claims
    }
}

impl<C: std::fmt::Debug, B> std::fmt::Debug for Jwt<C, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt").field("claims", &self.claims).finish()
    }
}

impl From<JwtError> for Denied {
    fn from(error: JwtError) -> Self {
        tracing::debug!(%error, "token refused");
        match error {
            JwtError::KeysUnavailable => Denied::Unavailable { retry_after: 5 },
            _ => Denied::InvalidCredentials,
        }
    }
}

impl<S, C, B> Principal<S> for Jwt<C, B>
where
    S: Send + Sync,
    Verifier: FromRef<S>,
    C: DeserializeOwned + Send + Sync + 'static,
    B: BearerToken,
{
    type Credentials = B;

    async fn authenticate(credentials: B, _: &SecurityScopes, state: &S) -> Result<Self, Denied> {
        let verifier = Verifier::from_ref(state);
        let claims = verifier.verify_shared::<C>(credentials.token()).await?;
        if claims.is_sender_constrained() {
            // RFC 9449 §7.2: a DPoP-bound token presented as a bearer token is refused — the
            // point of binding is that a stolen token alone is useless.
            tracing::debug!("a sender-constrained token was presented as a bearer token");
            return Err(Denied::InvalidCredentials);
        }
        Ok(Self {
            claims,
            scheme: PhantomData,
        })
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.claims.has_scope(scope)
    }

    /// From the token's `acr`, `amr` and `auth_time` claims (each may be missing, which
    /// fails the markers that need it).
    fn authentication_context(&self) -> Option<AuthContext<'_>> {
        Some(self.claims.authentication_context())
    }
}
