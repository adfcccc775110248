//! Alternative schemes: one route, several ways to authenticate.

use http::request::Parts;

use crate::challenge::Challenge;
use crate::credentials::Credentials;
use crate::error::AuthError;
use crate::openapi::{Alternatives, DescribeSecurity, SchemeRegistry};

/// Credentials of scheme `L` or, failing that, of scheme `R`.
///
/// `L` is tried first; when it finds no credentials of its own, `R` is tried. With neither,
/// the answer is 401 carrying both challenges. In OpenAPI they are two requirement objects
/// (OR). For more than two, nest: `Either<A, Either<B, C>>`.
///
/// ```
/// use warden::{ApiKeyHeader, ApiKeyScheme, Either, HttpBearer};
///
/// struct Key;
/// impl ApiKeyScheme for Key {
///     const SCHEME_NAME: &'static str = "ApiKey";
///     const NAME: &'static str = "X-API-Key";
/// }
///
/// async fn handler(credentials: Either<ApiKeyHeader<Key>, HttpBearer>) -> &'static str {
///     match credentials {
///         Either::Left(_key) => "api key",
///         Either::Right(_bearer) => "bearer token",
///     }
/// }
/// ```
#[derive(Debug)]
pub enum Either<L, R> {
    /// Credentials of the first scheme.
    Left(L),
    /// Credentials of the second scheme.
    Right(R),
}

impl<L: Credentials, R: Credentials> Credentials for Either<L, R> {
    fn extract(parts: &Parts) -> Result<Option<Self>, AuthError> {
        if let Some(left) = L::extract(parts)? {
            return Ok(Some(Self::Left(left)));
        }
        Ok(R::extract(parts)?.map(Self::Right))
    }

    fn missing_challenges(out: &mut Vec<Challenge>) {
        L::missing_challenges(out);
        R::missing_challenges(out);
    }

    fn challenge(&self) -> Challenge {
        match self {
            Self::Left(left) => left.challenge(),
            Self::Right(right) => right.challenge(),
        }
    }

    fn describe(registry: &mut SchemeRegistry) -> Alternatives {
        L::describe(registry).or(R::describe(registry))
    }
}

impl<St: Send + Sync, L: Credentials, R: Credentials> axum::extract::FromRequestParts<St>
    for Either<L, R>
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        crate::credentials::require(parts)
    }
}

impl<St: Send + Sync, L: Credentials, R: Credentials> axum::extract::OptionalFromRequestParts<St>
    for Either<L, R>
{
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &St,
    ) -> Result<Option<Self>, Self::Rejection> {
        <Self as Credentials>::extract(parts)
    }
}

impl<St, L: Credentials, R: Credentials> DescribeSecurity<St> for Either<L, R> {
    fn describe(registry: &mut SchemeRegistry) -> Option<Alternatives> {
        Some(<Self as Credentials>::describe(registry))
    }
}
