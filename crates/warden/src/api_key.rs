//! API keys in a header, a query parameter or a cookie.

use std::fmt;
use std::marker::PhantomData;

use http::request::Parts;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};

use crate::challenge::{Challenge, ChallengeScheme};
use crate::credentials::{Credentials, credentials_extractor};
use crate::error::AuthError;
use crate::openapi::{Alternatives, SchemeRegistry};
use crate::parse;

/// How an API-key scheme is named and where its key is sent.
///
/// Each scheme has its own `SCHEME_NAME`, so an app can accept several keys (FastAPI names
/// every `APIKeyHeader` alike, and the last one wins in the document, fastapi#4635).
///
/// ```
/// use warden::{ApiKeyHeader, ApiKeyScheme};
///
/// struct PartnerKey;
/// impl ApiKeyScheme for PartnerKey {
///     const SCHEME_NAME: &'static str = "PartnerKey";
///     const NAME: &'static str = "X-Partner-Key";
/// }
///
/// async fn handler(key: ApiKeyHeader<PartnerKey>) -> usize {
///     key.key.len()
/// }
/// ```
pub trait ApiKeyScheme: Send + Sync + 'static {
    /// The name under `components.securitySchemes`.
    const SCHEME_NAME: &'static str;
    /// The header, query parameter or cookie that carries the key.
    const NAME: &'static str;
    /// The scheme's description in the OpenAPI document.
    const DESCRIPTION: Option<&'static str> = None;
}

const API_KEY: Challenge = Challenge::new(ChallengeScheme::ApiKey);

fn malformed(reason: parse::Defect) -> AuthError {
    AuthError::MalformedCredentials {
        challenge: API_KEY,
        reason,
    }
}

macro_rules! api_key_extractor {
    ($(#[$doc:meta])* $ty:ident, $location:ident, $read:expr) => {
        $(#[$doc])*
        pub struct $ty<S: ApiKeyScheme> {
            /// The key as sent. Compare it in constant time, or look it up by a hash.
            pub key: String,
            scheme: PhantomData<fn() -> S>,
        }

        impl<S: ApiKeyScheme> fmt::Debug for $ty<S> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).field("key", &"[redacted]").finish()
            }
        }

        impl<S: ApiKeyScheme> Credentials for $ty<S> {
            fn extract(parts: &Parts) -> Result<Option<Self>, AuthError> {
                let read: fn(&Parts, &str) -> Result<Option<String>, parse::Defect> = $read;
                Ok(read(parts, S::NAME).map_err(malformed)?.map(|key| Self {
                    key,
                    scheme: PhantomData,
                }))
            }

            fn missing_challenges(out: &mut Vec<Challenge>) {
                out.push(API_KEY);
            }

            fn challenge(&self) -> Challenge {
                API_KEY
            }

            fn describe(registry: &mut SchemeRegistry) -> Alternatives {
                let value = match S::DESCRIPTION {
                    Some(description) => ApiKeyValue::with_description(S::NAME, description),
                    None => ApiKeyValue::new(S::NAME),
                };
                registry.register(S::SCHEME_NAME, SecurityScheme::ApiKey(ApiKey::$location(value)));
                Alternatives::scheme(S::SCHEME_NAME)
            }
        }

        credentials_extractor!($ty<S: ApiKeyScheme>);
    };
}

api_key_extractor!(
    /// An API key in the request header `S::NAME` (any case). FastAPI's `APIKeyHeader`.
    ///
    /// A missing or empty header answers 401 with `WWW-Authenticate: APIKey`; a repeated,
    /// over-long (more than 1 KiB) or non-ASCII one answers 401 too, as malformed.
    ///
    /// ```
    /// use warden::{ApiKeyHeader, ApiKeyScheme};
    /// struct Key;
    /// impl ApiKeyScheme for Key {
    ///     const SCHEME_NAME: &'static str = "ApiKey";
    ///     const NAME: &'static str = "X-API-Key";
    /// }
    /// async fn handler(key: ApiKeyHeader<Key>) {}
    /// ```
    ApiKeyHeader,
    Header,
    |parts, name| parse::header(parts, name).map(|v| v.map(str::to_owned))
);

api_key_extractor!(
    /// An API key in the query parameter `S::NAME`, percent-decoded. FastAPI's `APIKeyQuery`.
    ///
    /// Keys in URLs end up in logs and browser history: prefer a header where clients allow.
    /// A parameter given twice is refused rather than guessed at.
    ///
    /// ```
    /// use warden::{ApiKeyQuery, ApiKeyScheme};
    /// struct Key;
    /// impl ApiKeyScheme for Key {
    ///     const SCHEME_NAME: &'static str = "ApiKeyQuery";
    ///     const NAME: &'static str = "api_key";
    /// }
    /// async fn handler(key: Option<ApiKeyQuery<Key>>) {}
    /// ```
    ApiKeyQuery,
    Query,
    parse::query
);

api_key_extractor!(
    /// An API key in the cookie `S::NAME`. FastAPI's `APIKeyCookie`.
    ///
    /// Cookies are sent by browsers on their own: a state-changing route authenticated by a
    /// cookie needs CSRF protection as well.
    ///
    /// ```
    /// use warden::{ApiKeyCookie, ApiKeyScheme};
    /// struct Session;
    /// impl ApiKeyScheme for Session {
    ///     const SCHEME_NAME: &'static str = "SessionCookie";
    ///     const NAME: &'static str = "session";
    /// }
    /// async fn handler(session: ApiKeyCookie<Session>) {}
    /// ```
    ApiKeyCookie,
    Cookie,
    parse::cookie
);
