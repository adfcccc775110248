//! The verified-token cache behind `Verifier::verify_shared` (and so `Auth<Jwt, _>`): a token
//! presented again is answered from the cache, and the cache never accepts what a full
//! verification would refuse at that moment — expired or not-yet-valid tokens, tokens of a
//! key that was removed or whose retirement window ended, altered tokens.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Deserialize;
use serde_json::{Map, Value};
use warden::jwt::{
    Algorithm, Claims, Issuer, JwtError, KeyRing, KeyState, RemoteJwks, RemoteJwksConfig,
    SigningKey, Validation, Verifier,
};

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://auth.example.com";

type Extra = Map<String, Value>;

fn subject(sub: &str) -> Claims<Extra> {
    Claims {
        sub: Some(sub.into()),
        scope: Some("items".into()),
        ..Claims::default()
    }
}

fn eddsa() -> SigningKey {
    SigningKey::generate(Algorithm::EdDSA).unwrap()
}

fn no_leeway() -> Validation {
    Validation::new().issuer(ISS).leeway(Duration::ZERO)
}

/// A ring, alice's token signed at `NOW` for 10 minutes, and a verifier on the ring.
fn alice() -> (KeyRing, String, Verifier) {
    let ring = KeyRing::new(eddsa());
    let token = Issuer::new(ring.clone(), ISS)
        .sign_with(&subject("alice"), "at+jwt", NOW, 600)
        .unwrap();
    let verifier = Verifier::with_ring(ring.clone(), no_leeway());
    (ring, token, verifier)
}

#[tokio::test]
async fn a_token_presented_again_is_answered_from_the_cache() {
    let (_, token, verifier) = alice();

    let first = verifier
        .verify_shared_at::<Extra>(&token, NOW)
        .await
        .unwrap();
    let again = verifier
        .verify_shared_at::<Extra>(&token, NOW + 1)
        .await
        .unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "the second answer is the cached one"
    );
    assert_eq!(again.sub.as_deref(), Some("alice"));

    // A clone of the verifier shares the cache (the state of every route holds a clone).
    let clone = verifier.clone();
    let third = clone
        .verify_shared_at::<Extra>(&token, NOW + 2)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&first, &third));

    // Without a cache every answer is a fresh verification.
    let uncached = verifier.clone().cache_capacity(0);
    let a = uncached
        .verify_shared_at::<Extra>(&token, NOW)
        .await
        .unwrap();
    let b = uncached
        .verify_shared_at::<Extra>(&token, NOW)
        .await
        .unwrap();
    assert!(!Arc::ptr_eq(&a, &b));
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_cached_token_still_expires_and_still_waits_for_nbf() {
    let ring = KeyRing::new(eddsa());
    let issuer = Issuer::new(ring.clone(), ISS);
    let verifier = Verifier::with_ring(ring, no_leeway());
    let token = issuer
        .sign_with(&subject("alice"), "at+jwt", NOW, 600)
        .unwrap();
    verifier
        .verify_shared_at::<Extra>(&token, NOW)
        .await
        .unwrap();
    assert_eq!(
        verifier
            .verify_shared_at::<Extra>(&token, NOW + 600)
            .await
            .unwrap_err(),
        JwtError::Expired,
        "RFC 7519 §4.1.4: at exp the token is refused, cached or not"
    );

    let later = Claims {
        nbf: Some(NOW + 100),
        ..subject("bob")
    };
    let token = issuer.sign_with(&later, "at+jwt", NOW, 600).unwrap();
    verifier
        .verify_shared_at::<Extra>(&token, NOW + 100)
        .await
        .unwrap();
    assert_eq!(
        verifier
            .verify_shared_at::<Extra>(&token, NOW + 99)
            .await
            .unwrap_err(),
        JwtError::NotYetValid
    );
}

#[tokio::test]
async fn a_removed_key_is_not_honoured_from_the_cache() {
    let (ring, token, verifier) = alice();
    verifier
        .verify_shared_at::<Extra>(&token, NOW)
        .await
        .unwrap();

    // The key is compromised and dropped from the ring at once.
    ring.replace(vec![(eddsa(), KeyState::Current)]);
    assert_eq!(
        verifier
            .verify_shared_at::<Extra>(&token, NOW + 1)
            .await
            .unwrap_err(),
        JwtError::UnknownKey
    );
}

#[tokio::test]
async fn a_retired_key_verifies_from_the_cache_only_inside_its_window() {
    let ring = KeyRing::new(eddsa());
    let issuer = Issuer::new(ring.clone(), ISS);
    let verifier = Verifier::with_ring(ring.clone(), no_leeway());
    // A token that outlives its key's retirement window (signed with a longer lifetime than
    // the ring was told about).
    let token = issuer
        .sign_with(&subject("alice"), "at+jwt", NOW, 3600)
        .unwrap();
    ring.add_next(eddsa());
    ring.rotate(NOW, 600); // the old key verifies until NOW + 600

    verifier
        .verify_shared_at::<Extra>(&token, NOW + 10)
        .await
        .unwrap();
    let hit = verifier.verify_shared_at::<Extra>(&token, NOW + 599).await;
    assert!(hit.is_ok(), "inside the window");
    assert_eq!(
        verifier
            .verify_shared_at::<Extra>(&token, NOW + 600)
            .await
            .unwrap_err(),
        JwtError::UnknownKey,
        "the uncached answer at this time, given by the cache too"
    );
}

#[tokio::test]
async fn an_altered_cached_token_is_verified_and_refused() {
    let (_, token, verifier) = alice();
    verifier
        .verify_shared_at::<Extra>(&token, NOW)
        .await
        .unwrap();

    // Same header and signature, another payload.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims: Value = serde_json::from_slice(&B64.decode(&parts[1]).unwrap()).unwrap();
    claims["sub"] = "admin".into();
    parts[1] = B64.encode(serde_json::to_vec(&claims).unwrap());
    let altered = parts.join(".");
    assert_eq!(
        verifier
            .verify_shared_at::<Extra>(&altered, NOW)
            .await
            .unwrap_err(),
        JwtError::BadSignature
    );
    // A truncated signature differs in bytes too.
    let truncated = &token[..token.len() - 2];
    assert!(
        verifier
            .verify_shared_at::<Extra>(truncated, NOW)
            .await
            .is_err()
    );
}

#[derive(Debug, Deserialize, PartialEq)]
struct Tenant {
    #[serde(default)]
    tenant: Option<String>,
}

#[tokio::test]
async fn one_token_read_as_two_claim_types_gets_each() {
    let (_, token, verifier) = alice();
    let loose = verifier
        .verify_shared_at::<Extra>(&token, NOW)
        .await
        .unwrap();
    let typed = verifier
        .verify_shared_at::<Tenant>(&token, NOW)
        .await
        .unwrap();
    assert_eq!(
        loose.extra.get("scope"),
        None,
        "scope is a registered claim"
    );
    assert_eq!(typed.scope.as_deref(), Some("items"));
    assert_eq!(typed.extra.tenant, None);
    // Both are cached, each under its own type.
    let typed_again = verifier
        .verify_shared_at::<Tenant>(&token, NOW)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&typed, &typed_again));
}

#[tokio::test]
async fn a_refetched_jwks_voids_cached_verifications_of_a_dropped_key() {
    // The remote issuer's JWKS, switchable while the test runs.
    let first = eddsa();
    let ring = KeyRing::new(first);
    let issuer = Issuer::new(ring.clone(), ISS);
    let published = ring.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/jwks.json",
        get(move || {
            let ring = published.clone();
            async move { Json(ring.jwks(0)) }
        }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let config = RemoteJwksConfig {
        min_refetch_interval: Duration::ZERO,
        ..RemoteJwksConfig::default()
    };
    let verifier = Verifier::with_remote(
        RemoteJwks::new(url, config).unwrap(),
        Validation::new().issuer(ISS),
    );

    let old = issuer.access_token(&subject("alice"), 600).unwrap();
    let a = verifier.verify_shared::<Extra>(&old).await.unwrap();
    let b = verifier.verify_shared::<Extra>(&old).await.unwrap();
    assert!(Arc::ptr_eq(&a, &b));

    // The issuer drops the old key outright; a token with the new kid makes the verifier
    // refetch, and the old key's cached verifications go with it.
    ring.replace(vec![(eddsa(), KeyState::Current)]);
    let new = issuer.access_token(&subject("bob"), 600).unwrap();
    verifier.verify_shared::<Extra>(&new).await.unwrap();
    assert_eq!(
        verifier.verify_shared::<Extra>(&old).await.unwrap_err(),
        JwtError::UnknownKey
    );
    server.abort();
}
