//! A [`Jwt`] principal from a DPoP-bound token: the token verified, then its proof.

use std::marker::PhantomData;

use axum::extract::FromRef;
use serde::de::DeserializeOwned;

use super::{DPoP, DPoPScheme, DPoPVerifier, ProofError};
use crate::jwt::{BearerToken, Jwt, Verifier};
use crate::{AuthContext, Denied, Either, Principal, SecurityScopes};

impl From<ProofError> for Denied {
    fn from(error: ProofError) -> Self {
        tracing::debug!(%error, "DPoP proof refused");
        match error {
            ProofError::UseNonce { nonce } => Denied::InvalidDPoPProof { nonce: Some(nonce) },
            // The token is fine but not this key's: RFC 9449 §7.1 names it `invalid_token`.
            ProofError::WrongKey => Denied::InvalidCredentials,
            ProofError::Store(_) => Denied::Unavailable { retry_after: 1 },
            _ => Denied::InvalidDPoPProof { nonce: None },
        }
    }
}

/// Verifies a DPoP-bound token and its proof: the token as any [`Jwt`] (signature, expiry,
/// issuer, audience, through the verifier's cache), then that it is bound (`cnf.jkt`), then
/// the proof against the request, the token (`ath`) and the bound key (RFC 9449 §7.1).
async fn authenticate<S, C, D>(credentials: &DPoP<D>, state: &S) -> Result<Jwt<C, DPoP<D>>, Denied>
where
    S: Send + Sync,
    Verifier: FromRef<S>,
    DPoPVerifier: FromRef<S>,
    C: DeserializeOwned + Send + Sync + 'static,
    D: DPoPScheme,
{
    let verifier = Verifier::from_ref(state);
    let claims = verifier.verify_shared::<C>(&credentials.token).await?;
    // A bearer token sent with the DPoP scheme is refused: it is not bound to the proof's
    // key, so the proof would prove nothing about it.
    let jkt = claims.bound_key().ok_or(Denied::InvalidCredentials)?;
    DPoPVerifier::from_ref(state)
        .verify(credentials.proof_request().bound_to(jkt))
        .await?;
    Ok(Jwt {
        claims,
        scheme: PhantomData,
    })
}

/// `Auth<Jwt<C, DPoP>, Scopes>`: a route that takes only DPoP-bound tokens. The state must
/// yield a [`Verifier`] and a [`DPoPVerifier`].
///
/// ```
/// use axum::extract::FromRef;
/// use warden::dpop::{DPoP, DPoPVerifier};
/// use warden::jwt::{Jwt, Verifier};
/// use warden::{Auth, scope};
///
/// #[derive(Clone, FromRef)]
/// struct AppState { verifier: Verifier, dpop: DPoPVerifier }
///
/// scope!(Items = "items");
///
/// async fn read_items(token: Auth<Jwt<warden::jwt::NoClaims, DPoP>, Items>) -> String {
///     token.claims.sub.clone().unwrap_or_default()
/// }
/// # let _ = axum::routing::get(read_items).with_state::<()>(AppState {
/// #     verifier: Verifier::with_keys(vec![], warden::jwt::Validation::new()),
/// #     dpop: DPoPVerifier::new("https://api.example.com").unwrap(),
/// # });
/// ```
impl<S, C, D> Principal<S> for Jwt<C, DPoP<D>>
where
    S: Send + Sync,
    Verifier: FromRef<S>,
    DPoPVerifier: FromRef<S>,
    C: DeserializeOwned + Send + Sync + 'static,
    D: DPoPScheme,
{
    type Credentials = DPoP<D>;

    async fn authenticate(
        credentials: DPoP<D>,
        _: &SecurityScopes,
        state: &S,
    ) -> Result<Self, Denied> {
        authenticate(&credentials, state).await
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.claims.has_scope(scope)
    }

    fn authentication_context(&self) -> Option<AuthContext<'_>> {
        Some(self.claims.authentication_context())
    }
}

/// `Auth<Jwt<C, Either<DPoP, HttpBearer>>, Scopes>`: a route that takes DPoP-bound tokens
/// with their proof and plain bearer tokens — but never a DPoP-bound token as a bearer
/// token (RFC 9449 §7.2). A 401 carries both challenges.
///
/// ```
/// use axum::extract::FromRef;
/// use warden::dpop::{DPoP, DPoPVerifier};
/// use warden::jwt::{Jwt, NoClaims, Verifier};
/// use warden::{Auth, Either, HttpBearer};
///
/// #[derive(Clone, FromRef)]
/// struct AppState { verifier: Verifier, dpop: DPoPVerifier }
///
/// type AnyToken = Jwt<NoClaims, Either<DPoP, HttpBearer>>;
///
/// async fn me(token: Auth<AnyToken>) -> String {
///     token.claims.sub.clone().unwrap_or_default()
/// }
/// # let _ = axum::routing::get(me).with_state::<()>(AppState {
/// #     verifier: Verifier::with_keys(vec![], warden::jwt::Validation::new()),
/// #     dpop: DPoPVerifier::new("https://api.example.com").unwrap(),
/// # });
/// ```
impl<S, C, D, B> Principal<S> for Jwt<C, Either<DPoP<D>, B>>
where
    S: Send + Sync,
    Verifier: FromRef<S>,
    DPoPVerifier: FromRef<S>,
    C: DeserializeOwned + Send + Sync + 'static,
    D: DPoPScheme,
    B: BearerToken,
{
    type Credentials = Either<DPoP<D>, B>;

    async fn authenticate(
        credentials: Either<DPoP<D>, B>,
        scopes: &SecurityScopes,
        state: &S,
    ) -> Result<Self, Denied> {
        let claims = match credentials {
            Either::Left(dpop) => authenticate::<S, C, D>(&dpop, state).await?.claims,
            Either::Right(bearer) => {
                <Jwt<C, B> as Principal<S>>::authenticate(bearer, scopes, state)
                    .await?
                    .claims
            }
        };
        Ok(Jwt {
            claims,
            scheme: PhantomData,
        })
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.claims.has_scope(scope)
    }

    fn authentication_context(&self) -> Option<AuthContext<'_>> {
        Some(self.claims.authentication_context())
    }
}
