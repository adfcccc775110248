//! An API key accepted in a header, a query parameter or a cookie: the seed's combination,
//! fixed. In FastAPI, with `auto_error=True` on the query scheme, a request carrying only the
//! header failed before the combining function ran; here the alternatives are one type,
//! tried in order, and a request with none gets 401 with every challenge. The OpenAPI
//! document lists the three as alternatives, each under its own scheme name.
//!
//! ```sh
//! API_KEY=my-key cargo run -p warden --features full --example api_key_combined
//! curl -H 'X-API-Key: my-key' http://127.0.0.1:8000/protected
//! curl 'http://127.0.0.1:8000/protected?api_key=my-key'
//! curl --cookie 'api_key=my-key' http://127.0.0.1:8000/protected
//! ```

mod common;

use std::sync::Arc;

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use warden::openapi::{ApiRouter, Docs};
use warden::{
    ApiKeyCookie, ApiKeyHeader, ApiKeyQuery, ApiKeyScheme, Auth, Denied, Either, Principal,
    SecurityScopes, routes,
};

struct HeaderKey;
impl ApiKeyScheme for HeaderKey {
    const SCHEME_NAME: &'static str = "APIKeyHeader";
    const NAME: &'static str = "X-API-Key";
}

struct QueryKey;
impl ApiKeyScheme for QueryKey {
    const SCHEME_NAME: &'static str = "APIKeyQuery";
    const NAME: &'static str = "api_key";
}

struct CookieKey;
impl ApiKeyScheme for CookieKey {
    const SCHEME_NAME: &'static str = "APIKeyCookie";
    const NAME: &'static str = "api_key";
}

/// The key in any of the three places, tried in this order.
type AnyKey =
    Either<ApiKeyHeader<HeaderKey>, Either<ApiKeyQuery<QueryKey>, ApiKeyCookie<CookieKey>>>;

#[derive(Clone)]
struct Keys {
    key: Arc<str>,
}

/// The caller holding the key, and where it came from.
struct Client {
    via: &'static str,
}

impl Principal<Keys> for Client {
    type Credentials = AnyKey;

    async fn authenticate(
        credentials: AnyKey,
        _: &SecurityScopes,
        keys: &Keys,
    ) -> Result<Self, Denied> {
        let (sent, via) = match &credentials {
            Either::Left(header) => (&header.key, "header"),
            Either::Right(Either::Left(query)) => (&query.key, "query"),
            Either::Right(Either::Right(cookie)) => (&cookie.key, "cookie"),
        };
        if warden::constant_time_eq(sent.as_bytes(), keys.key.as_bytes()) {
            Ok(Client { via })
        } else {
            Err(Denied::InvalidCredentials)
        }
    }

    fn has_scope(&self, _: &str) -> bool {
        false
    }
}

#[derive(Serialize, ToSchema)]
struct Access {
    message: String,
    /// `header`, `query` or `cookie`.
    via: String,
}

/// A route reached with the key in a header, the query or a cookie.
#[utoipa::path(get, path = "/protected", responses((status = 200, description = "Access granted", body = Access)))]
async fn protected(client: Auth<Client>) -> Json<Access> {
    Json(Access {
        message: "You have access to this protected route".into(),
        via: client.via.into(),
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = Keys {
        key: common::secret("API_KEY").into(),
    };
    let app = ApiRouter::new()
        .info("API key: header, query or cookie", "1.0.0")
        .routes(routes!(protected))
        .with_state(keys)
        .with_docs(Docs::default());
    common::serve(app).await
}
