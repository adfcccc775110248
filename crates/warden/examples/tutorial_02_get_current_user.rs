//! Security tutorial, chapter 2: get the current user (FastAPI's "Get Current User").
//!
//! The token becomes a user before the handler runs: `User` implements [`Principal`] (the
//! `get_current_user` dependency), and a handler taking `Auth<User>` receives an
//! authenticated user or never runs. FastAPI's chapter "decodes" any string into a user; this
//! one accepts exactly one token, `DEMO_TOKEN` (generated and printed at start-up when
//! unset), compared in constant time — chapter 3 issues real ones.
//!
//! ```sh
//! DEMO_TOKEN=let-me-in cargo run -p warden --features full --example tutorial_02_get_current_user
//! curl -H 'Authorization: Bearer let-me-in' http://127.0.0.1:8000/users/me
//! ```
//!
//! Walk-through: `docs/tutorial/02-get-current-user.md`.

use std::sync::Arc;

use axum::Json;
use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;
use warden::openapi::{ApiRouter, Docs};
use warden::{
    Auth, Denied, OAuth2Bearer, OAuth2Flow, OAuth2Scheme, Principal, SecurityScopes, routes,
};

struct Oauth2;

impl OAuth2Scheme for Oauth2 {
    const SCHEME_NAME: &'static str = "OAuth2PasswordBearer";
    const FLOWS: &'static [OAuth2Flow] = &[OAuth2Flow::password("/token")];
}

/// The application's state: here, the one token it accepts.
#[derive(Clone)]
struct App {
    token: Arc<str>,
}

/// The user model (FastAPI's pydantic `User`).
#[derive(Serialize, ToSchema)]
struct User {
    username: String,
    email: Option<String>,
    full_name: Option<String>,
    disabled: Option<bool>,
}

/// FastAPI's `get_current_user`: the scheme extracts the token (401 when there is none),
/// `authenticate` turns it into a user (401 `invalid_token` when it cannot).
impl Principal<App> for User {
    type Credentials = OAuth2Bearer<Oauth2>;

    async fn authenticate(
        bearer: OAuth2Bearer<Oauth2>,
        _: &SecurityScopes,
        app: &App,
    ) -> Result<Self, Denied> {
        decode_token(&bearer.token, app).ok_or(Denied::InvalidCredentials)
    }

    fn has_scope(&self, _: &str) -> bool {
        false
    }
}

/// The user a token stands for. A stand-in for real token decoding (chapter 4 verifies
/// JWTs); unlike FastAPI's `fake_decode_token`, it refuses every token it does not know.
fn decode_token(token: &str, app: &App) -> Option<User> {
    warden::constant_time_eq(token.as_bytes(), app.token.as_bytes()).then(|| User {
        username: "johndoe".into(),
        email: Some("john@example.com".into()),
        full_name: Some("John Doe".into()),
        disabled: None,
    })
}

/// The current user.
#[utoipa::path(get, path = "/users/me", responses((status = 200, description = "The current user", body = User)))]
async fn read_users_me(current_user: Auth<User>) -> Json<User> {
    Json(current_user.into_inner())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = App {
        token: secret("DEMO_TOKEN").into(),
    };
    let router = ApiRouter::new()
        .info("Security tutorial 2: get the current user", "1.0.0")
        .routes(routes!(read_users_me))
        .with_state(app)
        .with_docs(Docs::default());
    serve(router).await
}

/// The secret in environment variable `name`, or a random one printed once on stderr.
fn secret(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => {
            let value =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
            eprintln!("{name} not set; generated one for this run: {value}");
            value
        }
    }
}

/// Serves `app` on `WARDEN_BIND` (default `127.0.0.1:8000`) and prints where.
async fn serve(app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
    let bind = std::env::var("WARDEN_BIND").unwrap_or_else(|_| "127.0.0.1:8000".into());
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
