//! What every security scheme extractor has in common.

use http::request::Parts;

use crate::challenge::Challenge;
use crate::error::AuthError;
use crate::openapi::{Alternatives, SchemeRegistry};

/// An extractor of the credentials of one security scheme (or of alternatives, see
/// [`Either`](crate::Either)).
///
/// Each one is an axum extractor in three forms:
/// - `T`: credentials required; missing ones answer 401 with the scheme's challenge;
/// - `Option<T>`: FastAPI's `auto_error=False`; `None` when no credentials for this scheme
///   were sent, so the handler can try another scheme. Credentials that *were* sent but are
///   malformed are still refused: a client that sent a broken header should learn so;
/// - `Result<T, AuthError>`: the handler decides what to answer.
///
/// It is also what a [`Principal`](crate::Principal) is authenticated from.
pub trait Credentials: Sized + Send + 'static {
    /// Reads the credentials; `Ok(None)` when none were sent for this scheme.
    fn extract(parts: &Parts) -> Result<Option<Self>, AuthError>;

    /// The challenges to send when no credentials were sent.
    fn missing_challenges(out: &mut Vec<Challenge>);

    /// The challenge to send when these credentials are refused.
    fn challenge(&self) -> Challenge;

    /// Registers the scheme(s) and returns the alternatives they offer.
    fn describe(registry: &mut SchemeRegistry) -> Alternatives;
}

/// Extracts required credentials.
pub(crate) fn require<C: Credentials>(parts: &Parts) -> Result<C, AuthError> {
    match C::extract(parts)? {
        Some(credentials) => Ok(credentials),
        None => {
            let mut challenges = Vec::new();
            C::missing_challenges(&mut challenges);
            Err(AuthError::NotAuthenticated { challenges })
        }
    }
}

/// Implements the extractor traits and `DescribeSecurity` for a `Credentials` type.
macro_rules! credentials_extractor {
    ($ty:ident < $param:ident : $bound:path >) => {
        impl<St: Send + Sync, $param: $bound> axum::extract::FromRequestParts<St> for $ty<$param> {
            type Rejection = $crate::AuthError;

            async fn from_request_parts(
                parts: &mut http::request::Parts,
                _: &St,
            ) -> Result<Self, Self::Rejection> {
                $crate::credentials::require(parts)
            }
        }

        impl<St: Send + Sync, $param: $bound> axum::extract::OptionalFromRequestParts<St>
            for $ty<$param>
        {
            type Rejection = $crate::AuthError;

            async fn from_request_parts(
                parts: &mut http::request::Parts,
                _: &St,
            ) -> Result<Option<Self>, Self::Rejection> {
                <Self as $crate::Credentials>::extract(parts)
            }
        }

        impl<St, $param: $bound> $crate::openapi::DescribeSecurity<St> for $ty<$param> {
            fn describe(
                registry: &mut $crate::openapi::SchemeRegistry,
            ) -> Option<$crate::openapi::Alternatives> {
                Some(<Self as $crate::Credentials>::describe(registry))
            }
        }
    };
}

pub(crate) use credentials_extractor;
