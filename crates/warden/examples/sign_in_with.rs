//! "Sign in with …": an application whose users sign in with an OpenID Connect provider
//! (your company's IdP, Google, Keycloak, a Warden server) or GitHub, and then hold a cookie
//! session. The sign-in is `warden::oauth_client::SignIn`: PKCE, a `state` bound to this
//! browser and used once, the ID token verified with the provider's keys.
//!
//! ```sh
//! APP_URL=http://127.0.0.1:8000 \
//! OIDC_ISSUER=https://idp.example.com OIDC_CLIENT_ID=app OIDC_CLIENT_SECRET=… \
//! GITHUB_CLIENT_ID=Iv1.… GITHUB_CLIENT_SECRET=… \
//!   cargo run -p warden --features full --example sign_in_with
//! # register http://127.0.0.1:8000/auth/oidc/callback (and …/auth/github/callback) with
//! # the providers, then open http://127.0.0.1:8000/
//! ```
//!
//! `GITHUB_AUTHORIZE_URL`, `GITHUB_TOKEN_URL` and `GITHUB_API_URL` point the GitHub
//! provider at GitHub Enterprise Server (or a test server).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use warden::oauth_client::{Callback, GitHubEndpoints, Provider, SignIn, SignInError};
use warden::session::{MemoryStore, Session, SessionConfig, SessionError, Sessions};

#[derive(Clone)]
struct AppState {
    sign_in: Arc<SignIn>,
    sessions: Sessions,
}

/// What the session holds: who signed in, where.
#[derive(Serialize, Deserialize)]
struct SignedIn {
    provider: String,
    subject: String,
    name: Option<String>,
    email: Option<String>,
    email_verified: bool,
}

/// Text for HTML: the five characters that matter escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// The home page: a button per provider, or who is signed in.
async fn home(State(state): State<AppState>, user: Option<Session<SignedIn>>) -> Html<String> {
    let body = match user {
        Some(user) => format!(
            "<p>Signed in with {} as {}.</p><form method=\"post\" action=\"/logout\">\
             <button>Sign out</button></form>",
            escape(&user.provider),
            escape(user.name.as_deref().unwrap_or(&user.subject)),
        ),
        None => {
            let mut ids: Vec<&str> = state.sign_in.providers().map(Provider::id).collect();
            ids.sort_unstable();
            ids.iter()
                .map(|id| {
                    format!(
                        "<p><a href=\"/login/{0}\">Sign in with {0}</a></p>",
                        escape(id)
                    )
                })
                .collect()
        }
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in with</title></head>\
         <body>{body}</body></html>"
    ))
}

/// Starts a sign-in: to the provider, with the binding cookie set.
async fn login(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
) -> Result<Response, SignInError> {
    state.sign_in.start(&provider, &headers, None).await
}

/// The provider sends the browser back here: verify, then start a session under a fresh id.
async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    callback: Callback,
) -> Result<Response, Response> {
    let who = state
        .sign_in
        .finish(&provider, &headers, &callback)
        .await
        .map_err(IntoResponse::into_response)?;
    // A real application looks up (or creates) its account by (provider, subject) here —
    // never by email alone.
    let user = SignedIn {
        provider: who.provider,
        subject: who.subject,
        name: who.name,
        email: who.email,
        email_verified: who.email_verified,
    };
    let logged_in = state
        .sessions
        .login(&headers, &user)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((logged_in, Redirect::to("/")).into_response())
}

/// The signed-in user, as JSON.
async fn me(user: Session<SignedIn>) -> Json<SignedIn> {
    Json(user.into_data())
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, SessionError> {
    Ok((state.sessions.logout(&headers).await?, Redirect::to("/")))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The providers whose variables are set.
fn providers(app_url: &str) -> Result<Vec<Provider>, SignInError> {
    let mut providers = Vec::new();
    if let (Some(issuer), Some(client_id)) = (env("OIDC_ISSUER"), env("OIDC_CLIENT_ID")) {
        let mut builder = Provider::openid_connect("oidc", issuer)
            .client_id(client_id)
            .redirect_uri(format!("{app_url}/auth/oidc/callback"));
        if let Some(secret) = env("OIDC_CLIENT_SECRET") {
            builder = builder.client_secret(secret);
        }
        providers.push(builder.build()?);
    }
    if let (Some(client_id), Some(secret)) = (env("GITHUB_CLIENT_ID"), env("GITHUB_CLIENT_SECRET"))
    {
        let defaults = GitHubEndpoints::default();
        let endpoints = GitHubEndpoints {
            authorization: env("GITHUB_AUTHORIZE_URL").unwrap_or(defaults.authorization),
            token: env("GITHUB_TOKEN_URL").unwrap_or(defaults.token),
            api: env("GITHUB_API_URL").unwrap_or(defaults.api),
        };
        providers.push(
            Provider::github("github")
                .client_id(client_id)
                .client_secret(secret)
                .github_endpoints(endpoints)
                .redirect_uri(format!("{app_url}/auth/github/callback"))
                .build()?,
        );
    }
    Ok(providers)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bind = env("WARDEN_BIND").unwrap_or_else(|| "127.0.0.1:8000".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    let addr = listener.local_addr()?;
    let app_url = env("APP_URL").unwrap_or_else(|| format!("http://{addr}"));
    let https = app_url.starts_with("https://");

    let mut sign_in = SignIn::new();
    for provider in providers(&app_url)? {
        sign_in = sign_in.provider(provider);
    }
    let mut config = SessionConfig::new();
    if !https {
        // Plain HTTP on loopback: browsers refuse `Secure` and `__Host-` cookies there.
        sign_in = sign_in.insecure_http();
        config = config.insecure_http();
    }
    let sessions = Sessions::new(MemoryStore::new(), config)?;
    let state = AppState {
        sign_in: Arc::new(sign_in),
        sessions: sessions.clone(),
    };
    let app = Router::new()
        .route("/", get(home))
        .route("/login/{provider}", get(login))
        .route("/auth/{provider}/callback", get(callback))
        .route("/me", get(me))
        .route("/logout", post(logout))
        .layer(sessions.layer())
        .with_state(state);
    println!("listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
