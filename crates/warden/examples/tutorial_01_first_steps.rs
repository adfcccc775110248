//! Security tutorial, chapter 1: first steps (FastAPI's "Security - First Steps").
//!
//! One route that needs a bearer token, and the scheme that says where tokens come from: the
//! OAuth2 password flow at `/token`. That is enough for `/docs` to show an **Authorize**
//! button and for a request without a token to get 401 with `WWW-Authenticate: Bearer`.
//! Nothing checks the token yet, and `/token` does not exist yet (chapter 3 adds it), so
//! Authorize fails for now, as it does at this point of FastAPI's tutorial.
//!
//! ```sh
//! cargo run -p warden --features full --example tutorial_01_first_steps
//! curl -i http://127.0.0.1:8000/items                          # 401, WWW-Authenticate: Bearer
//! curl -H 'Authorization: Bearer abc' http://127.0.0.1:8000/items   # {"token":"abc"}
//! ```
//!
//! Walk-through: `docs/tutorial/01-first-steps.md`.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use warden::openapi::{ApiRouter, Docs};
use warden::{OAuth2Bearer, OAuth2Flow, OAuth2Scheme, routes};

/// The scheme, FastAPI's `OAuth2PasswordBearer(tokenUrl="token")`: a bearer token, obtained
/// with the password flow at `/token`.
struct Oauth2;

impl OAuth2Scheme for Oauth2 {
    const SCHEME_NAME: &'static str = "OAuth2PasswordBearer";
    const FLOWS: &'static [OAuth2Flow] = &[OAuth2Flow::password("/token")];
}

#[derive(Serialize, ToSchema)]
struct TokenEcho {
    /// The bearer token the request carried.
    token: String,
}

/// The token the request carried, unchecked: chapter 2 turns it into a user.
#[utoipa::path(get, path = "/items", responses((status = 200, description = "The token sent", body = TokenEcho)))]
async fn read_items(bearer: OAuth2Bearer<Oauth2>) -> Json<TokenEcho> {
    Json(TokenEcho {
        token: bearer.token,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = ApiRouter::new()
        .info("Security tutorial 1: first steps", "1.0.0")
        .routes(routes!(read_items))
        .with_docs(Docs::default());
    serve(app).await
}

/// Serves `app` on `WARDEN_BIND` (default `127.0.0.1:8000`) and prints where.
async fn serve(app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
    let bind = std::env::var("WARDEN_BIND").unwrap_or_else(|_| "127.0.0.1:8000".into());
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
