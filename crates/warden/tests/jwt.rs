//! The JWT module against RFC vectors, an independent implementation (the `jsonwebtoken`
//! crate), the RFC 8725 attack catalogue, key rotation, and a real JWKS server on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lc_rs::signature::Ed25519KeyPair;
use axum::extract::FromRef;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};
use warden::jwt::{
    Algorithm, Claims, Issuer, Jwt, JwtError, KeyRing, RemoteJwks, RemoteJwksConfig, SigningKey,
    Validation, Verifier, VerifyingKey,
};
use warden::{Auth, scope};

const NOW: u64 = 1_800_000_000;
const ISS: &str = "https://auth.example.com";

type Extra = Map<String, Value>;

fn b64json(v: &Value) -> String {
    B64.encode(serde_json::to_vec(v).unwrap())
}

/// A token with any header and payload, signed by `sign` over the JWS signing input.
fn forge(header: Value, payload: Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!("{}.{}", b64json(&header), b64json(&payload));
    let signature = sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature))
}

/// An Ed25519 key we hold privately, as a warden key and as a raw signer for forging.
struct Ed {
    key: SigningKey,
    pair: Ed25519KeyPair,
}

fn ed() -> Ed {
    let pair = Ed25519KeyPair::generate().unwrap();
    let key = SigningKey::from_pkcs8(Algorithm::EdDSA, pair.to_pkcs8().unwrap().as_ref()).unwrap();
    Ed { key, pair }
}

fn claims() -> Value {
    json!({"iss": ISS, "sub": "alice", "aud": "api", "exp": NOW + 600, "iat": NOW, "scope": "me items"})
}

fn verifier_for(key: &SigningKey, validation: Validation) -> Verifier {
    Verifier::with_ring(
        KeyRing::new(SigningKey::from_pem(key.algorithm(), &key.to_pkcs8_pem().unwrap()).unwrap()),
        validation,
    )
}

async fn check(verifier: &Verifier, token: &str) -> Result<Claims<Extra>, JwtError> {
    verifier.verify_at::<Extra>(token, NOW).await
}

// ---------------------------------------------------------------- RFC vectors

#[tokio::test]
async fn rfc7515_a1_hs256_example() {
    // RFC 7515 Appendix A.1: the key, and the JWS it produces.
    let key = B64
        .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
        .unwrap();
    let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let verifier = Verifier::with_keys(
        vec![VerifyingKey::hs256(&key).unwrap()],
        Validation::new().issuer("joe"),
    );
    let claims: Claims<Extra> = verifier.verify_at(token, 1_300_819_000).await.unwrap();
    assert_eq!(claims.iss.as_deref(), Some("joe"));
    assert_eq!(claims.extra["http://example.com/is_root"], json!(true));
    assert_eq!(
        verifier
            .verify_at::<Extra>(token, 1_300_819_380 + 61)
            .await
            .unwrap_err(),
        JwtError::Expired
    );
    let mut other = key.clone();
    other[0] ^= 1;
    let wrong = Verifier::with_keys(
        vec![VerifyingKey::hs256(&other).unwrap()],
        Validation::new(),
    );
    assert_eq!(
        wrong
            .verify_at::<Extra>(token, 1_300_819_000)
            .await
            .unwrap_err(),
        JwtError::BadSignature
    );
}

// ------------------------------------------------------ interop with jsonwebtoken

#[tokio::test]
async fn tokens_interoperate_with_the_jsonwebtoken_crate_both_ways() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
        let key = SigningKey::generate(alg).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(serde_json::to_value(key.public_jwk().unwrap()).unwrap())
                .unwrap();
        let (jalg, encoding) = match alg {
            Algorithm::EdDSA => (
                jsonwebtoken::Algorithm::EdDSA,
                jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
            ),
            Algorithm::ES256 => (
                jsonwebtoken::Algorithm::ES256,
                jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            ),
            _ => (
                jsonwebtoken::Algorithm::RS256,
                jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
            ),
        };
        // Theirs → ours.
        let mut header = jsonwebtoken::Header::new(jalg);
        header.kid = Some(key.kid().to_owned());
        let theirs = jsonwebtoken::encode(&header, &claims(), &encoding).unwrap();
        let verifier = Verifier::with_keys(
            vec![VerifyingKey::from_jwk(key.public_jwk().unwrap()).unwrap()],
            Validation::new(),
        );
        assert_eq!(
            check(&verifier, &theirs).await.unwrap().sub.as_deref(),
            Some("alice"),
            "{alg}"
        );
        // Ours → theirs.
        let issuer = Issuer::new(KeyRing::new(key), ISS);
        let ours = issuer
            .sign_with(
                &Claims::<Extra> {
                    sub: Some("bob".into()),
                    ..Claims::default()
                },
                "at+jwt",
                jsonwebtoken::get_current_timestamp(),
                600,
            )
            .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jalg);
        validation.set_issuer(&[ISS]);
        let decoded = jsonwebtoken::decode::<Value>(
            &ours,
            &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims["sub"], "bob", "{alg}");
        assert_eq!(decoded.header.typ.as_deref(), Some("at+jwt"));
    }
}

// ------------------------------------------------------------ RFC 8725 catalogue

#[tokio::test]
async fn alg_none_is_refused_in_any_spelling() {
    let e = ed();
    let verifier = verifier_for(&e.key, Validation::new());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "kid": e.key.kid()});
        let unsigned = format!("{}.{}.", b64json(&header), b64json(&claims()));
        assert!(
            check(&verifier, &unsigned).await.is_err(),
            "{alg} without signature"
        );
        let garbage = forge(header, claims(), |_| b"x".to_vec());
        assert_eq!(
            check(&verifier, &garbage).await.unwrap_err(),
            JwtError::UnknownKey,
            "{alg}"
        );
    }
}

#[tokio::test]
async fn hs256_keyed_with_the_public_key_is_refused() {
    for alg in [Algorithm::EdDSA, Algorithm::RS256, Algorithm::ES256] {
        let key = SigningKey::generate(alg).unwrap();
        let verifier = verifier_for(&key, Validation::new());
        let jwk = key.public_jwk().unwrap();
        // Whatever bytes of the public key an attacker would try as the HMAC secret.
        let candidates: Vec<Vec<u8>> = vec![
            serde_json::to_vec(jwk).unwrap(),
            jwk.x
                .as_deref()
                .or(jwk.n.as_deref())
                .unwrap()
                .as_bytes()
                .to_vec(),
            B64.decode(jwk.x.as_deref().or(jwk.n.as_deref()).unwrap())
                .unwrap(),
        ];
        for secret in candidates {
            let hmac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
            let token = forge(json!({"alg": "HS256", "kid": key.kid()}), claims(), |m| {
                aws_lc_rs::hmac::sign(&hmac, m).as_ref().to_vec()
            });
            assert_eq!(
                check(&verifier, &token).await.unwrap_err(),
                JwtError::UnknownKey,
                "{alg}"
            );
        }
    }
}

#[tokio::test]
async fn stripped_or_altered_signatures_are_refused() {
    let e = ed();
    let verifier = verifier_for(&e.key, Validation::new());
    let good = forge(json!({"alg": "EdDSA", "kid": e.key.kid()}), claims(), |m| {
        e.pair.sign(m).as_ref().to_vec()
    });
    assert!(
        check(&verifier, &good).await.is_ok(),
        "control: the honest token passes"
    );

    let (input, signature) = good.rsplit_once('.').unwrap();
    assert!(matches!(
        check(&verifier, &format!("{input}.")).await,
        Err(JwtError::Malformed(_))
    ));
    let mut sig = B64.decode(signature).unwrap();
    sig[10] ^= 0x01;
    assert_eq!(
        check(&verifier, &format!("{input}.{}", B64.encode(&sig)))
            .await
            .unwrap_err(),
        JwtError::BadSignature
    );
    let truncated = &signature[..signature.len() - 4];
    assert!(
        check(&verifier, &format!("{input}.{truncated}"))
            .await
            .is_err()
    );
    let mut forged_claims = claims();
    forged_claims["sub"] = json!("admin");
    let (header, _) = input.split_once('.').unwrap();
    let swapped = format!("{header}.{}.{signature}", b64json(&forged_claims));
    assert_eq!(
        check(&verifier, &swapped).await.unwrap_err(),
        JwtError::BadSignature
    );
}

#[tokio::test]
async fn unknown_critical_headers_are_refused() {
    let e = ed();
    let verifier = verifier_for(&e.key, Validation::new());
    for crit in [json!(["exp"]), json!(["x-custom"]), json!([]), json!("b64")] {
        let token = forge(
            json!({"alg": "EdDSA", "kid": e.key.kid(), "crit": crit, "x-custom": 1}),
            claims(),
            |m| e.pair.sign(m).as_ref().to_vec(),
        );
        assert_eq!(
            check(&verifier, &token).await.unwrap_err(),
            JwtError::CriticalHeader,
            "{crit}"
        );
    }
}

#[tokio::test]
async fn kid_is_only_a_lookup_key() {
    let e = ed();
    let verifier = verifier_for(&e.key, Validation::new());
    for kid in [
        "../../../../../../dev/null",
        "/etc/passwd",
        "' OR '1'='1' --",
        "1; DROP TABLE keys",
        "http://attacker.example/key.pem",
        &"k".repeat(10_000)[..],
    ] {
        let token = forge(json!({"alg": "EdDSA", "kid": kid}), claims(), |m| {
            e.pair.sign(m).as_ref().to_vec()
        });
        let verdict = check(&verifier, &token).await;
        assert!(
            matches!(verdict, Err(JwtError::UnknownKey) | Err(JwtError::TooLong)),
            "{kid:.40}: {verdict:?}"
        );
    }
}

#[tokio::test]
async fn jku_x5u_and_embedded_jwk_are_ignored() {
    let ours = ed();
    let attacker = ed();
    let verifier = verifier_for(&ours.key, Validation::new());
    let attacker_jwk = serde_json::to_value(attacker.key.public_jwk().unwrap()).unwrap();
    let headers = [
        json!({"alg": "EdDSA", "jwk": attacker_jwk}),
        json!({"alg": "EdDSA", "kid": attacker.key.kid(), "jwk": attacker_jwk}),
        json!({"alg": "EdDSA", "jku": "http://127.0.0.1:1/jwks.json", "kid": attacker.key.kid()}),
        json!({"alg": "EdDSA", "x5u": "http://127.0.0.1:1/cert.pem"}),
        json!({"alg": "EdDSA", "kid": ours.key.kid(), "jwk": attacker_jwk, "jku": "http://127.0.0.1:1/"}),
    ];
    for header in headers {
        let token = forge(header.clone(), claims(), |m| {
            attacker.pair.sign(m).as_ref().to_vec()
        });
        let verdict = check(&verifier, &token).await;
        assert!(
            matches!(
                verdict,
                Err(JwtError::UnknownKey) | Err(JwtError::BadSignature)
            ),
            "{header}: {verdict:?}"
        );
    }
}

#[tokio::test]
async fn time_claims_are_enforced_with_bounded_leeway() {
    let e = ed();
    let verifier = verifier_for(&e.key, Validation::new().leeway(Duration::from_secs(3600)));
    let sign = |payload: Value| {
        forge(json!({"alg": "EdDSA", "kid": e.key.kid()}), payload, |m| {
            e.pair.sign(m).as_ref().to_vec()
        })
    };
    let with = |k: &str, v: Value| {
        let mut c = claims();
        c[k] = v;
        sign(c)
    };
    // The leeway asked for was an hour; at most five minutes is granted.
    assert_eq!(
        check(&verifier, &with("exp", json!(NOW - 301)))
            .await
            .unwrap_err(),
        JwtError::Expired
    );
    assert!(
        check(&verifier, &with("exp", json!(NOW - 299)))
            .await
            .is_ok()
    );
    assert_eq!(
        check(&verifier, &with("nbf", json!(NOW + 301)))
            .await
            .unwrap_err(),
        JwtError::NotYetValid
    );
    assert_eq!(
        check(&verifier, &with("iat", json!(NOW + 301)))
            .await
            .unwrap_err(),
        JwtError::IssuedInFuture
    );
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        check(&verifier, &sign(no_exp)).await.unwrap_err(),
        JwtError::MissingClaim("exp")
    );
    assert!(matches!(
        check(&verifier, &with("exp", json!("9999999999"))).await,
        Err(JwtError::Malformed(_))
    ));
}

#[tokio::test]
async fn issuer_audience_and_type_are_enforced() {
    let e = ed();
    let strict = verifier_for(
        &e.key,
        Validation::new()
            .issuer(ISS)
            .audience("api")
            .access_tokens(),
    );
    let sign = |header: Value, payload: Value| {
        forge(header, payload, |m| e.pair.sign(m).as_ref().to_vec())
    };
    let at = json!({"alg": "EdDSA", "kid": e.key.kid(), "typ": "at+jwt"});
    assert!(check(&strict, &sign(at.clone(), claims())).await.is_ok());
    let long_typ = json!({"alg": "EdDSA", "kid": e.key.kid(), "typ": "application/at+jwt"});
    assert!(check(&strict, &sign(long_typ, claims())).await.is_ok());

    let id_token = json!({"alg": "EdDSA", "kid": e.key.kid(), "typ": "JWT"});
    assert_eq!(
        check(&strict, &sign(id_token, claims())).await.unwrap_err(),
        JwtError::WrongType
    );
    let untyped = json!({"alg": "EdDSA", "kid": e.key.kid()});
    assert_eq!(
        check(&strict, &sign(untyped, claims())).await.unwrap_err(),
        JwtError::WrongType
    );

    let mut c = claims();
    c["iss"] = json!("https://auth.example.com.evil.test");
    assert_eq!(
        check(&strict, &sign(at.clone(), c)).await.unwrap_err(),
        JwtError::WrongIssuer
    );
    let mut c = claims();
    c.as_object_mut().unwrap().remove("iss");
    assert_eq!(
        check(&strict, &sign(at.clone(), c)).await.unwrap_err(),
        JwtError::MissingClaim("iss")
    );
    let mut c = claims();
    c["aud"] = json!("other-api");
    assert_eq!(
        check(&strict, &sign(at.clone(), c)).await.unwrap_err(),
        JwtError::WrongAudience
    );
    let mut c = claims();
    c["aud"] = json!(["other-api", "api"]);
    assert!(
        check(&strict, &sign(at.clone(), c)).await.is_ok(),
        "aud lists may hold ours"
    );
    let mut c = claims();
    c.as_object_mut().unwrap().remove("aud");
    assert_eq!(
        check(&strict, &sign(at, c)).await.unwrap_err(),
        JwtError::MissingClaim("aud")
    );
}

#[tokio::test]
async fn malformed_and_oversized_tokens_are_refused() {
    let e = ed();
    let verifier = verifier_for(&e.key, Validation::new());
    let good = forge(json!({"alg": "EdDSA", "kid": e.key.kid()}), claims(), |m| {
        e.pair.sign(m).as_ref().to_vec()
    });
    let big = forge(
        json!({"alg": "EdDSA", "kid": e.key.kid()}),
        json!({"exp": NOW + 60, "pad": "x".repeat(9000)}),
        |m| e.pair.sign(m).as_ref().to_vec(),
    );
    assert_eq!(check(&verifier, &big).await.unwrap_err(), JwtError::TooLong);
    let dup_alg = format!(
        "{}.{}",
        B64.encode(br#"{"alg":"HS256","alg":"EdDSA"}"#),
        good.split_once('.').unwrap().1
    );
    for bad in [
        "",
        ".",
        "..",
        "a.b",
        "a.b.c.d",
        "!!!.e30.sig",
        "e30.e30.AAAA",
        &format!("{}.{}", good, "extra"),
        &good.replacen('.', "=.", 1),
        &dup_alg,
    ] {
        assert!(check(&verifier, bad).await.is_err(), "{bad:.60}");
    }
}

// ------------------------------------------------------------------ rotation

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_for_their_lifetime_only() {
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let issuer = Issuer::new(ring.clone(), ISS);
    let verifier = Verifier::with_ring(ring.clone(), Validation::new().leeway(Duration::ZERO));
    let c = Claims::<Extra>::default();
    let old = issuer.sign_with(&c, "at+jwt", NOW, 900).unwrap();

    ring.add_next(SigningKey::generate(Algorithm::EdDSA).unwrap());
    assert_eq!(
        ring.jwks(NOW).keys.len(),
        2,
        "the next key is published before use"
    );
    ring.rotate(NOW + 10, 900);
    let new = issuer.sign_with(&c, "at+jwt", NOW + 10, 900).unwrap();
    assert_ne!(kid_of(&old), kid_of(&new));

    assert!(
        verifier.verify_at::<Extra>(&old, NOW + 20).await.is_ok(),
        "overlap window"
    );
    assert!(verifier.verify_at::<Extra>(&new, NOW + 20).await.is_ok());
    // After the retired key's window (rotation time + longest lifetime) it is gone.
    assert_eq!(ring.jwks(NOW + 910).keys.len(), 1);
    assert_eq!(
        verifier
            .verify_at::<Extra>(&old, NOW + 910)
            .await
            .unwrap_err(),
        JwtError::UnknownKey
    );
}

fn kid_of(token: &str) -> String {
    let header: Value =
        serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

// -------------------------------------------------------- remote JWKS server

struct JwksServer {
    base: String,
    fetches: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

async fn jwks_server(ring: KeyRing) -> JwksServer {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fetches);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let discovery = json!({"issuer": base, "jwks_uri": format!("{base}/jwks.json")});
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route(
            "/jwks.json",
            get(move || {
                let ring = ring.clone();
                counter.fetch_add(1, Ordering::SeqCst);
                async move { Json(ring.jwks(warden_now())) }
            }),
        );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    JwksServer {
        base,
        fetches,
        task,
    }
}

fn warden_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn remote_jwks_follows_rotation_and_resists_kid_floods() {
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let issuer = Issuer::new(ring.clone(), ISS);
    let server = jwks_server(ring.clone()).await;
    let config = RemoteJwksConfig {
        min_refetch_interval: Duration::from_millis(200),
        ..RemoteJwksConfig::default()
    };
    let remote = RemoteJwks::discover(&server.base, config).await.unwrap();
    let verifier = Verifier::with_remote(remote, Validation::new().issuer(ISS).access_tokens());
    let c = Claims::<Extra> {
        sub: Some("alice".into()),
        ..Claims::default()
    };

    let first = issuer.access_token(&c, 600).unwrap();
    assert!(verifier.verify::<Extra>(&first).await.is_ok());
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);

    // A flood of tokens naming unknown kids costs at most one fetch per interval.
    let attacker = ed();
    for i in 0..200 {
        let forged = forge(
            json!({"alg": "EdDSA", "typ": "at+jwt", "kid": format!("forged-{i}")}),
            claims(),
            |m| attacker.pair.sign(m).as_ref().to_vec(),
        );
        assert!(verifier.verify::<Extra>(&forged).await.is_err());
    }
    assert!(
        server.fetches.load(Ordering::SeqCst) <= 2,
        "fetches: {}",
        server.fetches.load(Ordering::SeqCst)
    );

    // The issuer rotates; a token with the new kid triggers one refetch, then verifies.
    tokio::time::sleep(Duration::from_millis(250)).await;
    ring.add_next(SigningKey::generate(Algorithm::EdDSA).unwrap());
    ring.rotate(warden_now(), 600);
    let second = issuer.access_token(&c, 600).unwrap();
    assert!(
        verifier.verify::<Extra>(&second).await.is_ok(),
        "new key fetched"
    );
    assert!(
        verifier.verify::<Extra>(&first).await.is_ok(),
        "old key still in its window"
    );

    // The issuer goes away: cached keys keep working.
    server.task.abort();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(verifier.verify::<Extra>(&second).await.is_ok());
}

#[tokio::test]
async fn remote_jwks_unreachable_from_the_start_is_unavailable() {
    let remote =
        RemoteJwks::new("http://127.0.0.1:1/jwks.json", RemoteJwksConfig::default()).unwrap();
    let verifier = Verifier::with_remote(remote, Validation::new());
    let e = ed();
    let token = forge(json!({"alg": "EdDSA", "kid": e.key.kid()}), claims(), |m| {
        e.pair.sign(m).as_ref().to_vec()
    });
    assert_eq!(
        verifier.verify::<Extra>(&token).await.unwrap_err(),
        JwtError::KeysUnavailable
    );
}

// -------------------------------------------------- a route behind Auth<Jwt, _>

scope!(Items = "items");

#[derive(Clone, FromRef)]
struct AppState {
    verifier: Verifier,
}

async fn read_items(token: Auth<Jwt, Items>) -> String {
    token.claims.sub.clone().unwrap_or_default()
}

#[tokio::test]
async fn a_route_takes_a_verified_principal_with_scopes() {
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let issuer = Issuer::new(ring.clone(), ISS);
    let state = AppState {
        verifier: Verifier::with_ring(ring, Validation::new().issuer(ISS).access_tokens()),
    };
    let app = Router::new()
        .route("/items", get(read_items))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    let call = |token: String| {
        client
            .get(format!("{base}/items"))
            .bearer_auth(token)
            .send()
    };

    let with = |scope: &str| {
        issuer
            .access_token(
                &Claims::<Extra> {
                    sub: Some("alice".into()),
                    scope: Some(scope.into()),
                    ..Claims::default()
                },
                600,
            )
            .unwrap()
    };
    let ok = call(with("me items")).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "alice");
    let short = call(with("me")).await.unwrap();
    assert_eq!(short.status(), 403);
    assert_eq!(
        short.headers()["www-authenticate"],
        r#"Bearer error="insufficient_scope", scope="items""#
    );
    let forged = call(format!("{}x", with("items"))).await.unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(
        forged.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
}
