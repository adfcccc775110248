//! An API key in the `X-API-Key` header, compared in constant time (the seed used `==` and
//! answered 200 on failure).
//!
//! ```sh
//! API_KEY=my-key cargo run -p warden --features full --example api_key_header
//! curl -H 'X-API-Key: my-key' http://127.0.0.1:8000/protected
//! ```

mod common;

use std::sync::Arc;

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use warden::openapi::{ApiRouter, Docs};
use warden::{ApiKeyHeader, ApiKeyScheme, Auth, Denied, Principal, SecurityScopes, routes};

/// The scheme: header `X-API-Key`.
struct ApiKey;

impl ApiKeyScheme for ApiKey {
    const SCHEME_NAME: &'static str = "APIKeyHeader";
    const NAME: &'static str = "X-API-Key";
    const DESCRIPTION: Option<&'static str> = Some("The key printed when the example started.");
}

/// The key the example accepts, from the environment.
#[derive(Clone)]
struct Keys {
    key: Arc<str>,
}

/// The caller holding the key.
struct Client;

impl Principal<Keys> for Client {
    type Credentials = ApiKeyHeader<ApiKey>;

    async fn authenticate(
        key: ApiKeyHeader<ApiKey>,
        _: &SecurityScopes,
        keys: &Keys,
    ) -> Result<Self, Denied> {
        if warden::constant_time_eq(key.key.as_bytes(), keys.key.as_bytes()) {
            Ok(Client)
        } else {
            Err(Denied::InvalidCredentials)
        }
    }

    fn has_scope(&self, _: &str) -> bool {
        false
    }
}

#[derive(Serialize, ToSchema)]
struct Message {
    message: String,
}

/// A route only key holders reach.
#[utoipa::path(get, path = "/protected", responses((status = 200, description = "Access granted", body = Message)))]
async fn protected(_: Auth<Client>) -> Json<Message> {
    Json(Message {
        message: "You have access to this protected route".into(),
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let keys = Keys {
        key: common::secret("API_KEY").into(),
    };
    let app = ApiRouter::new()
        .info("API key example", "1.0.0")
        .routes(routes!(protected))
        .with_state(keys)
        .with_docs(Docs::default());
    common::serve(app).await
}
