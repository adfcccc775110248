//! From credentials to the application's user, with the route's scopes checked centrally.

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::credentials::{Credentials, require};
use crate::error::AuthError;
use crate::openapi::{Alternatives, DescribeSecurity, SchemeRegistry};
use crate::scopes::{ScopeSet, SecurityScopes};
use crate::step_up::{self, AuthContext, StepUp};

/// Why an authenticator refused a principal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denied {
    /// Wrong password, unknown key, invalid or expired token: 401 with the scheme's
    /// challenge (`error="invalid_token"` for bearer schemes). Deliberately says no more, so
    /// an unknown user and a wrong password look alike.
    InvalidCredentials,
    /// Authenticated, but not allowed at all (a disabled account): 403 with this detail.
    Forbidden(&'static str),
    /// A DPoP proof (RFC 9449) was refused: 401 `invalid_dpop_proof`, or `use_dpop_nonce`
    /// with the fresh `nonce` in `DPoP-Nonce`.
    InvalidDPoPProof {
        /// A nonce the client must put in its next proof.
        nonce: Option<String>,
    },
    /// Cannot decide now (hashing pool saturated, key server down): 503 with `Retry-After`.
    Unavailable {
        /// Seconds after which a retry makes sense.
        retry_after: u32,
    },
}

/// The application's user, authenticated from credentials: FastAPI's `get_current_user`.
///
/// Implement it once for the user type; then any handler takes [`Auth<User, Scopes>`](Auth)
/// and gets a user that is authenticated and holds the scopes.
///
/// ```
/// use warden::{Denied, HttpBearer, Principal, SecurityScopes};
///
/// #[derive(Clone)]
/// struct AppState { admin_token: String }
///
/// struct User { name: String, scopes: Vec<String> }
///
/// impl Principal<AppState> for User {
///     type Credentials = HttpBearer;
///
///     async fn authenticate(bearer: HttpBearer, _: &SecurityScopes, state: &AppState) -> Result<Self, Denied> {
///         if warden::constant_time_eq(bearer.token.as_bytes(), state.admin_token.as_bytes()) {
///             Ok(User { name: "admin".into(), scopes: vec!["admin".into()] })
///         } else {
///             Err(Denied::InvalidCredentials)
///         }
///     }
///
///     fn has_scope(&self, scope: &str) -> bool {
///         self.scopes.iter().any(|s| s == scope)
///     }
/// }
/// ```
pub trait Principal<S>: Sized + Send + Sync {
    /// The scheme(s) this principal authenticates with.
    type Credentials: Credentials;

    /// Turns credentials into a principal, or refuses them. `scopes` are the scopes the route
    /// requires (checked afterwards by [`Auth`] through [`has_scope`](Self::has_scope)).
    fn authenticate(
        credentials: Self::Credentials,
        scopes: &SecurityScopes,
        state: &S,
    ) -> impl Future<Output = Result<Self, Denied>> + Send;

    /// Whether the principal was granted `scope`.
    fn has_scope(&self, scope: &str) -> bool;

    /// How the principal authenticated (`acr`, `amr`, `auth_time`), checked by [`Auth`]
    /// against the route's step-up markers ([`Mfa`](crate::Mfa),
    /// [`MaxAge`](crate::MaxAge), [`acr!`](crate::acr)).
    ///
    /// `None` by default: a principal that does not say how it authenticated fails every
    /// step-up requirement, so forgetting this method cannot let a weak login through.
    /// [`Jwt`](crate::jwt::Jwt) answers from its token's claims.
    ///
    /// ```
    /// use warden::{AuthContext, Denied, HttpBearer, Principal, SecurityScopes};
    ///
    /// struct User { amr: Vec<String>, auth_time: u64 }
    ///
    /// impl Principal<()> for User {
    ///     type Credentials = HttpBearer;
    ///     async fn authenticate(_: HttpBearer, _: &SecurityScopes, _: &()) -> Result<Self, Denied> {
    ///         Err(Denied::InvalidCredentials) // a real one looks the session up
    ///     }
    ///     fn has_scope(&self, _: &str) -> bool { false }
    ///     fn authentication_context(&self) -> Option<AuthContext<'_>> {
    ///         Some(AuthContext { acr: None, amr: &self.amr, auth_time: Some(self.auth_time) })
    ///     }
    /// }
    /// ```
    fn authentication_context(&self) -> Option<AuthContext<'_>> {
        None
    }
}

/// An authenticated principal `U` holding every scope of `R`.
///
/// The extractor a handler names to say "this route needs a user with these scopes": it
/// extracts `U::Credentials` (401 when missing), calls [`Principal::authenticate`] (401
/// when refused), checks the step-up markers of `R` against
/// [`Principal::authentication_context`] (401 `insufficient_user_authentication`, RFC
/// 9470), then the scopes (403 `insufficient_scope` when one is missing), and documents
/// `{scheme: [scopes…]}` as the operation's security. Dereferences to `U`.
///
/// The strength of the authentication is checked before the scopes: a token failing both
/// must be replaced through a new login anyway (which may also grant the scopes), and a 401
/// tells the client to do that, where a 403 would tell it to give up.
///
/// `Option<Auth<U, R>>` is `None` when no credentials were sent, and still refuses bad ones.
///
/// ```
/// use warden::{Auth, scope};
/// # use warden::{Denied, HttpBearer, Principal, SecurityScopes};
/// # struct User { name: String }
/// # impl Principal<()> for User {
/// #     type Credentials = HttpBearer;
/// #     async fn authenticate(_: HttpBearer, _: &SecurityScopes, _: &()) -> Result<Self, Denied> { Err(Denied::InvalidCredentials) }
/// #     fn has_scope(&self, _: &str) -> bool { false }
/// # }
/// scope!(Me = "me");
/// scope!(Items = "items");
///
/// /// Requires `me`, like FastAPI's `get_current_active_user`.
/// type ActiveUser<R = ()> = Auth<User, (Me, R)>;
///
/// async fn read_own_items(user: ActiveUser<Items>) -> String {
///     user.name.clone() // the route requires `me` and `items`
/// }
/// ```
pub struct Auth<U, R: ScopeSet = ()> {
    principal: U,
    scopes: PhantomData<fn() -> R>,
}

impl<U, R: ScopeSet> Auth<U, R> {
    /// The principal.
    pub fn into_inner(self) -> U {
        self.principal
    }
}

impl<U, R: ScopeSet> Deref for Auth<U, R> {
    type Target = U;

    fn deref(&self) -> &U {
        &self.principal
    }
}

impl<U: std::fmt::Debug, R: ScopeSet> std::fmt::Debug for Auth<U, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Auth").field(&self.principal).finish()
    }
}

async fn authenticate<S, U, R>(
    credentials: U::Credentials,
    state: &S,
) -> Result<Auth<U, R>, AuthError>
where
    S: Send + Sync,
    U: Principal<S>,
    R: ScopeSet,
{
    let challenge = credentials.challenge();
    let scopes = SecurityScopes::of::<R>();
    let principal = U::authenticate(credentials, &scopes, state)
        .await
        .map_err(|denied| match denied {
            Denied::InvalidCredentials => AuthError::InvalidCredentials { challenge },
            Denied::Forbidden(detail) => AuthError::Forbidden {
                detail: detail.into(),
            },
            Denied::InvalidDPoPProof { nonce } => AuthError::InvalidDPoPProof { challenge, nonce },
            Denied::Unavailable { retry_after } => AuthError::Unavailable { retry_after },
        })?;
    // The success path allocates nothing; only a refusal lists the requirement.
    if !step_up::satisfied::<R>(principal.authentication_context().as_ref(), step_up::now()) {
        let step_up = StepUp::of::<R>();
        return Err(AuthError::InsufficientUserAuthentication {
            challenge,
            acr_values: step_up.acr_values(),
            max_age: step_up.max_age(),
        });
    }
    let mut missing = false;
    scopes.visit(&mut |scope| missing |= !principal.has_scope(scope));
    if missing {
        return Err(AuthError::InsufficientScope {
            challenge,
            scope: scopes.scope_str(),
        });
    }
    Ok(Auth {
        principal,
        scopes: PhantomData,
    })
}

impl<S, U, R> FromRequestParts<S> for Auth<U, R>
where
    S: Send + Sync,
    U: Principal<S>,
    R: ScopeSet,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let credentials = require::<U::Credentials>(parts)?;
        authenticate(credentials, state).await
    }
}

impl<S, U, R> OptionalFromRequestParts<S> for Auth<U, R>
where
    S: Send + Sync,
    U: Principal<S>,
    R: ScopeSet,
{
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match U::Credentials::extract(parts)? {
            Some(credentials) => authenticate(credentials, state).await.map(Some),
            None => Ok(None),
        }
    }
}

/// Documents `U`'s scheme(s) with the scopes of `R` as the operation's security, and the
/// step-up markers of `R` as its step-up requirement.
impl<S, U, R> DescribeSecurity<S> for Auth<U, R>
where
    U: Principal<S>,
    R: ScopeSet,
{
    fn describe(registry: &mut SchemeRegistry) -> Option<Alternatives> {
        let mut alternatives = U::Credentials::describe(registry);
        R::visit(&mut |scope| alternatives = std::mem::take(&mut alternatives).with_scope(scope));
        Some(alternatives)
    }

    fn step_up() -> StepUp {
        StepUp::of::<R>()
    }
}
