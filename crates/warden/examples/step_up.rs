//! Step-up authentication (RFC 9470): routes that need a strong or a recent login, declared in
//! the handler's type beside the scopes.
//!
//! - `GET /items` needs scope `items`, from any login;
//! - `POST /payments` needs scope `payments` and a multi-factor login (`Mfa`: `amr` contains
//!   `mfa`);
//! - `PUT /account/email` needs a login of the last 5 minutes (`MaxAge<300>`: `auth_time`);
//! - `GET /admin` needs scope `admin` and a phishing-resistant login (`acr` `phrh` or `phr`).
//!
//! A token that is valid but not strong or recent enough is refused with 401 and
//! `WWW-Authenticate: Bearer error="insufficient_user_authentication", …, acr_values="…"` or
//! `max_age="…"`: the client gets a new token by sending the user through a new authorization
//! request with those parameters. Tokens are verified with the Ed25519 key in
//! `JWT_PRIVATE_KEY` (PKCS#8 PEM), or a key generated at start-up, with which the example
//! then prints two demo tokens (a real application gets its tokens from its authorization
//! server). The OpenAPI document at `/openapi.json` shows each route's requirement.
//!
//! ```sh
//! cargo run -p warden --features full --example step_up   # prints WEAK and STRONG tokens
//! curl -i -X POST -H "Authorization: Bearer $WEAK" http://127.0.0.1:8000/payments    # 401 insufficient_user_authentication
//! curl -i -X POST -H "Authorization: Bearer $STRONG" http://127.0.0.1:8000/payments  # 200
//! ```

use std::io::Write;

use axum::Json;
use axum::extract::FromRef;
use axum::routing::get;
use warden::jwt::{Algorithm, Claims, Issuer, Jwt, KeyRing, SigningKey, Validation, Verifier};
use warden::openapi::ApiRouter;
use warden::{Auth, MaxAge, Mfa, acr, routes, scope};

/// The `iss` of the tokens this API accepts.
const ISSUER: &str = "urn:warden:example";

scope!(
    /// Read items.
    Items = "items"
);
scope!(
    /// Make payments.
    Payments = "payments"
);
scope!(
    /// Administer the service.
    Admin = "admin"
);
acr!(
    /// A phishing-resistant login: a hardware-bound key first, any passkey next.
    PhishingResistant = "phrh", "phr"
);

#[derive(Clone, FromRef)]
struct App {
    verifier: Verifier,
}

/// The caller's subject.
fn subject(token: &Jwt) -> String {
    token.claims.sub.clone().unwrap_or_default()
}

/// Items: any valid token with scope `items`.
#[utoipa::path(get, path = "/items", responses((status = 200, body = String)))]
async fn items(token: Auth<Jwt, Items>) -> String {
    format!("items of {}", subject(&token))
}

/// A payment: scope `payments`, and a multi-factor login.
#[utoipa::path(post, path = "/payments", responses((status = 200, body = String)))]
async fn pay(token: Auth<Jwt, (Payments, Mfa)>) -> String {
    format!("paid by {}", subject(&token))
}

/// A new e-mail address: a login of the last 5 minutes.
#[utoipa::path(put, path = "/account/email", responses((status = 200, body = String)))]
async fn change_email(token: Auth<Jwt, MaxAge<300>>) -> String {
    format!("e-mail of {} changed", subject(&token))
}

/// Administration: scope `admin`, and a phishing-resistant login.
#[utoipa::path(get, path = "/admin", responses((status = 200, body = String)))]
async fn admin(token: Auth<Jwt, (Admin, PhishingResistant)>) -> String {
    format!("welcome, administrator {}", subject(&token))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Two tokens for a person trying the example: a password-only login and a password + TOTP
/// login, both just now.
fn demo_tokens(ring: &KeyRing) -> Result<(), Box<dyn std::error::Error>> {
    let issuer = Issuer::new(ring.clone(), ISSUER);
    for (name, amr) in [
        ("WEAK", &["pwd"][..]),
        ("STRONG", &["pwd", "otp", "mfa"][..]),
    ] {
        let claims: Claims = Claims {
            sub: Some("johndoe".into()),
            scope: Some("items payments".into()),
            amr: Some(amr.iter().map(|m| (*m).to_owned()).collect()),
            auth_time: Some(now()),
            ..Claims::default()
        };
        eprintln!("{name}={}", issuer.access_token(&claims, 15 * 60)?);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ring = match std::env::var("JWT_PRIVATE_KEY") {
        Ok(pem) if !pem.is_empty() => KeyRing::new(SigningKey::from_pem(Algorithm::EdDSA, &pem)?),
        _ => {
            // Nobody else holds this key: sign two tokens to try the routes with.
            let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
            demo_tokens(&ring)?;
            ring
        }
    };
    let app = App {
        verifier: Verifier::with_ring(ring, Validation::new().issuer(ISSUER).access_tokens()),
    };
    let (router, openapi) = ApiRouter::new()
        .info("Step-up authentication", "1.0.0")
        .routes(routes!(items))
        .routes(routes!(pay))
        .routes(routes!(change_email))
        .routes(routes!(admin))
        .with_state(app)
        .split_for_parts();
    let router = router.route(
        "/openapi.json",
        get(move || std::future::ready(Json(openapi.clone()))),
    );

    let bind = std::env::var("WARDEN_BIND").unwrap_or_else(|_| "127.0.0.1:8000".into());
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
