//! Cookie sessions for a browser application: a login form (or a JSON login) checked on the
//! password hashing pool, a protected page, logout. The session id lives only in an
//! `HttpOnly` cookie and server-side; the CSRF checks run in the session layer, so no
//! handler below contains any.
//!
//! ```sh
//! DEMO_PASSWORD='correct horse battery staple' cargo run -p warden --features full --example cookie_session
//! # open http://127.0.0.1:8000/ and log in as johndoe, or:
//! curl -i -c jar -H 'Content-Type: application/json' \
//!      -d '{"username":"johndoe","password":"correct horse battery staple"}' \
//!      http://127.0.0.1:8000/api/login
//! curl -b jar http://127.0.0.1:8000/me
//! ```

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warden::openapi::{ApiRouter, Docs};
use warden::password::{HashingPool, Params, PasswordHasher, PoolConfig};
use warden::routes;
use warden::session::{LoginError, MemoryStore, Session, SessionConfig, SessionError, Sessions};

/// A user as the database holds it.
struct StoredUser {
    full_name: String,
    hashed_password: String,
}

#[derive(Clone)]
struct AppState {
    users: Arc<HashMap<String, StoredUser>>,
    pool: Arc<HashingPool>,
}

/// What the session holds: who logged in. The rest is looked up when needed.
#[derive(Serialize, Deserialize)]
struct SessionUser {
    username: String,
}

/// The login form's and the JSON login's fields.
#[derive(Deserialize, ToSchema)]
struct Credentials {
    username: String,
    password: String,
}

impl AppState {
    /// Checks the password (one argon2id verification whether or not the user exists) and
    /// starts a session under a fresh id, destroying the one the request came with.
    async fn login(
        &self,
        sessions: &Sessions,
        headers: &HeaderMap,
        credentials: &Credentials,
    ) -> Result<warden::session::PasswordLogin, LoginError> {
        let user = self.users.get(&credentials.username);
        let data = SessionUser {
            username: credentials.username.clone(),
        };
        let account = user.map(|u| (u.hashed_password.as_str(), &data));
        // A real application stores `pool.hash(password)` when `needs_rehash` says so.
        sessions
            .login_with_password(headers, &self.pool, &credentials.password, account)
            .await
    }
}

/// Text for HTML: the five characters that matter escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// The home page: a login form, or a greeting and a logout button.
#[utoipa::path(get, path = "/", responses((status = 200, description = "The page", content_type = "text/html")))]
async fn home(State(state): State<AppState>, user: Option<Session<SessionUser>>) -> Html<String> {
    let body = match user.as_ref().and_then(|u| state.users.get(&u.username)) {
        Some(stored) => format!(
            "<p>Hello {}.</p><p><a href=\"/me\">/me</a></p>\
             <form method=\"post\" action=\"/logout\"><button>Log out</button></form>",
            escape(&stored.full_name)
        ),
        None => "<form method=\"post\" action=\"/login\">\
                 <label>Username <input name=\"username\" autocomplete=\"username\"></label>\
                 <label>Password <input name=\"password\" type=\"password\" \
                 autocomplete=\"current-password\"></label><button>Log in</button></form>"
            .to_owned(),
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sessions</title></head>\
         <body>{body}</body></html>"
    ))
}

/// Logs in from the HTML form; on success, to `/me`.
#[utoipa::path(
    post,
    path = "/login",
    request_body(content = Credentials, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Logged in: the session cookie is set"),
        (status = 401, description = "Incorrect username or password"),
        (status = 403, description = "Cross-site request refused"),
    )
)]
async fn login_form(
    State(state): State<AppState>,
    sessions: Sessions,
    headers: HeaderMap,
    Form(credentials): Form<Credentials>,
) -> Result<impl IntoResponse, LoginError> {
    let login = state.login(&sessions, &headers, &credentials).await?;
    Ok((login, Redirect::to("/me")))
}

#[derive(Serialize, ToSchema)]
struct LoggedIn {
    username: String,
    /// For `X-CSRF-Token`, for clients that send neither `Sec-Fetch-Site` nor `Origin`.
    csrf_token: String,
}

/// Logs in from a script (JSON), for single-page applications.
#[utoipa::path(
    post,
    path = "/api/login",
    request_body = Credentials,
    responses(
        (status = 200, description = "Logged in: the session cookie is set", body = LoggedIn),
        (status = 401, description = "Incorrect username or password"),
    )
)]
async fn login_json(
    State(state): State<AppState>,
    sessions: Sessions,
    headers: HeaderMap,
    Json(credentials): Json<Credentials>,
) -> Result<impl IntoResponse, LoginError> {
    let login = state.login(&sessions, &headers, &credentials).await?;
    let body = LoggedIn {
        username: credentials.username,
        csrf_token: login.session.csrf_token().to_owned(),
    };
    Ok((login, Json(body)))
}

#[derive(Serialize, ToSchema)]
struct Me {
    username: String,
    full_name: String,
}

/// The current user: the protected page.
#[utoipa::path(get, path = "/me", responses((status = 200, description = "The current user", body = Me)))]
async fn me(State(state): State<AppState>, user: Session<SessionUser>) -> Json<Me> {
    let full_name = state
        .users
        .get(&user.username)
        .map(|u| u.full_name.clone())
        .unwrap_or_default();
    Json(Me {
        username: user.into_data().username,
        full_name,
    })
}

/// Logs out: the session is deleted server-side and its cookie cleared.
#[utoipa::path(post, path = "/logout", responses((status = 303, description = "Logged out")))]
async fn logout(sessions: Sessions, headers: HeaderMap) -> Result<impl IntoResponse, SessionError> {
    Ok((sessions.logout(&headers).await?, Redirect::to("/")))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = HashingPool::new(
        PasswordHasher::new(Params::default())?,
        PoolConfig::default(),
    )?;
    let john = StoredUser {
        full_name: "John Doe".into(),
        hashed_password: pool.hash(&common::secret("DEMO_PASSWORD")).await?,
    };
    let state = AppState {
        users: Arc::new(HashMap::from([("johndoe".to_owned(), john)])),
        pool: Arc::new(pool),
    };
    // This example serves plain HTTP on loopback, where browsers refuse `Secure` and
    // `__Host-` cookies. Behind HTTPS, drop `insecure_http()`: the cookie is then
    // `__Host-session`, `Secure`.
    let sessions: Sessions =
        Sessions::new(MemoryStore::new(), SessionConfig::new().insecure_http())?;
    let app = ApiRouter::new()
        .info("Cookie session example", "1.0.0")
        .routes(routes!(home))
        .routes(routes!(login_form))
        .routes(routes!(login_json))
        .routes(routes!(me))
        .routes(routes!(logout))
        .layer(sessions.layer())
        .with_state(state)
        .with_docs(Docs::default());
    common::serve(app).await
}
