//! What the examples share: where they listen, where their secrets come from, and (for the
//! OAuth2 ones) a demo user table and a minimal JWT helper.
#![allow(dead_code)] // each example uses a part

pub mod tokens;
pub mod users;

use std::io::Write;

use base64::Engine;

/// Serves `app` on `WARDEN_BIND` (default `127.0.0.1:8000`; port 0 picks a free one) and
/// prints `listening on http://ADDR` first, which the tests wait for.
pub async fn serve(app: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
    let bind = std::env::var("WARDEN_BIND").unwrap_or_else(|_| "127.0.0.1:8000".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    println!("docs at http://{addr}/docs");
    std::io::stdout().flush()?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The secret in environment variable `name`, or a fresh random one. A generated secret is
/// printed once so a person trying the example can use it; nothing is hard-coded.
pub fn secret(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => {
            let value = random_token();
            eprintln!("{name} not set; generated one for this run: {value}");
            value
        }
    }
}

/// The answer when the hashing pool is saturated: 503 with `Retry-After`.
pub fn overloaded(error: warden::password::PoolError) -> axum::response::Response {
    use axum::response::IntoResponse;
    let retry_after = match error {
        warden::password::PoolError::Busy { retry_after_secs } => retry_after_secs,
        _ => 1,
    };
    warden::AuthError::Unavailable { retry_after }.into_response()
}

/// 256 random bits, base64url.
pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}
