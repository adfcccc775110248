//! Security tutorial, chapter 3: simple OAuth2 with password and bearer (FastAPI's "Simple
//! OAuth2 with Password and Bearer").
//!
//! `/token` takes the password form (`OAuth2PasswordRequestForm`, which Swagger UI's
//! Authorize dialog posts) and answers `{"access_token", "token_type": "bearer"}`; the token
//! then opens `/users/me`. Where FastAPI's chapter hands out the username as the token,
//! tokens here are 256 random bits remembered by the server (opaque tokens, like a session
//! store), and passwords are compared in constant time. Passwords are still kept as they
//! are: chapter 4 stores argon2id hashes and signs JWTs instead.
//!
//! ```sh
//! DEMO_PASSWORD='correct horse battery' cargo run -p warden --features full --example tutorial_03_simple_oauth2
//! TOKEN=$(curl -s -d username=johndoe -d 'password=correct horse battery' http://127.0.0.1:8000/token | jq -r .access_token)
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/users/me
//! ```
//! Or open <http://127.0.0.1:8000/docs>, press Authorize and log in as `johndoe`.
//!
//! Walk-through: `docs/tutorial/03-simple-oauth2.md`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;
use warden::openapi::{ApiRouter, Docs};
use warden::{
    Auth, Denied, OAuth2Bearer, OAuth2Flow, OAuth2PasswordRequestForm, OAuth2Scheme, Principal,
    SecurityScopes, TokenError, TokenResponse, routes,
};

struct Oauth2;

impl OAuth2Scheme for Oauth2 {
    const SCHEME_NAME: &'static str = "OAuth2PasswordBearer";
    const FLOWS: &'static [OAuth2Flow] = &[OAuth2Flow::password("/token")];
}

/// A stored user (FastAPI's `UserInDB`).
#[derive(Clone, Serialize, ToSchema)]
struct User {
    username: String,
    email: String,
    full_name: String,
    disabled: bool,
    /// Kept as is in this chapter only; never serialized.
    #[serde(skip)]
    password: String,
}

#[derive(Clone)]
struct App {
    users: Arc<HashMap<String, User>>,
    /// Issued tokens and whose they are.
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

/// FastAPI's `get_current_active_user`: a token we issued (401 `invalid_token` otherwise), of
/// a user who still exists and is enabled (403 "Inactive user" otherwise).
impl Principal<App> for User {
    type Credentials = OAuth2Bearer<Oauth2>;

    async fn authenticate(
        bearer: OAuth2Bearer<Oauth2>,
        _: &SecurityScopes,
        app: &App,
    ) -> Result<Self, Denied> {
        let username = app
            .tokens
            .lock()
            .expect("token store")
            .get(&bearer.token)
            .cloned()
            .ok_or(Denied::InvalidCredentials)?;
        let user = app.users.get(&username).ok_or(Denied::InvalidCredentials)?;
        if user.disabled {
            return Err(Denied::Forbidden("Inactive user"));
        }
        Ok(user.clone())
    }

    fn has_scope(&self, _: &str) -> bool {
        false
    }
}

/// Log in: a username and password for a bearer token.
#[utoipa::path(
    post,
    path = "/token",
    request_body(content = OAuth2PasswordRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse),
        (status = 400, description = "`invalid_grant`: wrong username or password"),
        (status = 422, description = "A required field is missing"),
    )
)]
async fn login(
    State(app): State<App>,
    form: OAuth2PasswordRequestForm,
) -> Result<TokenResponse, TokenError> {
    let user = app.users.get(&form.username);
    // Compare against something even for an unknown user, so both answers take as long.
    let expected = user.map_or("not a password of anyone", |u| u.password.as_str());
    let password_ok = warden::constant_time_eq(form.password.as_bytes(), expected.as_bytes());
    let user = user
        .filter(|_| password_ok)
        .ok_or_else(|| TokenError::invalid_grant("Incorrect username or password"))?;
    let token = random_token();
    app.tokens
        .lock()
        .expect("token store")
        .insert(token.clone(), user.username.clone());
    Ok(TokenResponse::bearer(token))
}

/// The current user.
#[utoipa::path(get, path = "/users/me", responses((status = 200, description = "The current user", body = User)))]
async fn read_users_me(current_user: Auth<User>) -> Json<User> {
    Json(current_user.into_inner())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let users = [
        User {
            username: "johndoe".into(),
            email: "johndoe@example.com".into(),
            full_name: "John Doe".into(),
            disabled: false,
            password: secret("DEMO_PASSWORD"),
        },
        User {
            username: "alice".into(),
            email: "alice@example.com".into(),
            full_name: "Alice Wonderson".into(),
            disabled: true,
            password: secret("ALICE_PASSWORD"),
        },
    ];
    let app = App {
        users: Arc::new(users.into_iter().map(|u| (u.username.clone(), u)).collect()),
        tokens: Arc::default(),
    };
    let router = ApiRouter::new()
        .info("Security tutorial 3: simple OAuth2", "1.0.0")
        .routes(routes!(login))
        .routes(routes!(read_users_me))
        .with_state(app)
        .with_docs(Docs::default());
    serve(router).await
}

/// 256 random bits, base64url: an opaque token or a generated secret.
fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The secret in environment variable `name`, or a random one printed once on stderr.
fn secret(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => {
            let value = random_token();
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
