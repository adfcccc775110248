//! HTTP Basic authentication, the first snippet of FastAPI's security docs, done right: a
//! failed login answers 401 with a `WWW-Authenticate: Basic` challenge (the seed answered 200),
//! and the credentials are compared in constant time (the seed used `==`).
//!
//! ```sh
//! BASIC_USERNAME=stanley BASIC_PASSWORD='correct horse' cargo run -p warden --features full --example basic_auth
//! curl -u 'stanley:correct horse' http://127.0.0.1:8000/users/me
//! ```

mod common;

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use warden::openapi::{ApiRouter, Docs};
use warden::{Auth, BasicScheme, Denied, HttpBasic, Principal, SecurityScopes, routes};

/// The scheme: HTTP Basic with a realm, so browsers show a login prompt.
struct Login;

impl BasicScheme for Login {
    const SCHEME_NAME: &'static str = "HTTPBasic";
    const REALM: Option<&'static str> = Some("warden-example");
}

/// The one account, from the environment.
#[derive(Clone)]
struct Account {
    username: String,
    password: String,
}

/// Who is calling.
struct User {
    username: String,
}

impl Principal<Account> for User {
    type Credentials = HttpBasic<Login>;

    async fn authenticate(
        credentials: HttpBasic<Login>,
        _: &SecurityScopes,
        account: &Account,
    ) -> Result<Self, Denied> {
        // Both parts are compared, in constant time, whatever the first one gave.
        if credentials.matches(&account.username, &account.password) {
            Ok(User {
                username: credentials.username,
            })
        } else {
            Err(Denied::InvalidCredentials)
        }
    }

    fn has_scope(&self, _: &str) -> bool {
        false
    }
}

#[derive(Serialize, ToSchema)]
struct Me {
    username: String,
}

/// The current user.
#[utoipa::path(get, path = "/users/me", responses((status = 200, description = "The current user", body = Me)))]
async fn read_current_user(user: Auth<User>) -> Json<Me> {
    Json(Me {
        username: user.username.clone(),
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let account = Account {
        username: std::env::var("BASIC_USERNAME").unwrap_or_else(|_| "stanley".into()),
        password: common::secret("BASIC_PASSWORD"),
    };
    let app = ApiRouter::new()
        .info("HTTP Basic example", "1.0.0")
        .routes(routes!(read_current_user))
        .with_state(account)
        .with_docs(Docs::default());
    common::serve(app).await
}
