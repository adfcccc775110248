use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};
use warden::jwt::SigningKey;

use crate::support::{Example, answer, secret, security};

struct Setup {
    ex: Example,
    password: String,
    alice: String,
    /// The example's Ed25519 signing key, PKCS#8 PEM.
    key_pem: String,
}

fn start() -> Setup {
    let password = secret();
    let key_pem = SigningKey::generate(warden::jwt::Algorithm::EdDSA)
        .unwrap()
        .to_pkcs8_pem()
        .unwrap();
    let alice = secret();
    let ex = Example::start(
        "oauth2_password_jwt",
        &[
            ("DEMO_PASSWORD", &password),
            ("ALICE_PASSWORD", &alice),
            ("JWT_PRIVATE_KEY", &key_pem),
        ],
    );
    Setup {
        ex,
        password,
        alice,
        key_pem,
    }
}

async fn login(ex: &Example, form: &[(&str, &str)]) -> crate::support::Answer {
    answer(ex.post("/token").form(form).send().await).await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn password_flow_then_protected_routes() {
    let s = start();
    let a = login(&s.ex, &[("username", "johndoe"), ("password", &s.password)]).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.headers["cache-control"], "no-store");
    assert_eq!(a.body["token_type"], "bearer");
    assert_eq!(a.body["expires_in"], 900);
    let token = a.body["access_token"].as_str().unwrap().to_owned();

    let me = answer(s.ex.get("/users/me").bearer_auth(&token).send().await).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["username"], "johndoe");
    let items = answer(s.ex.get("/users/me/items").bearer_auth(&token).send().await).await;
    assert_eq!(items.body, json!([{"item_id": "Foo", "owner": "johndoe"}]));

    // grant_type=password, as RFC 6749 and Swagger UI send it, is accepted too.
    let a = login(
        &s.ex,
        &[
            ("grant_type", "password"),
            ("username", "johndoe"),
            ("password", &s.password),
        ],
    )
    .await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn failed_logins_look_alike() {
    let s = start();
    // A wrong password, an unknown user, and a disabled user with her right password.
    let cases = [
        ("johndoe", "wrong password"),
        ("nobody", s.password.as_str()),
        ("alice", s.alice.as_str()),
    ];
    for (user, password) in cases {
        let a = login(&s.ex, &[("username", user), ("password", password)]).await;
        assert_eq!(a.status, 400, "{user}");
        assert_eq!(
            a.body,
            json!({"error": "invalid_grant", "error_description": "Incorrect username or password"})
        );
        assert_eq!(a.headers["cache-control"], "no-store");
    }
}

#[tokio::test]
async fn malformed_token_requests_are_4xx() {
    let s = start();
    let a = login(&s.ex, &[("username", "johndoe")]).await;
    assert_eq!(a.status, 422);
    assert_eq!(
        a.body,
        json!({"detail": [{"loc": ["body", "password"], "msg": "Field required", "type": "missing"}]})
    );
    let a = login(
        &s.ex,
        &[
            ("username", "johndoe"),
            ("username", "x"),
            ("password", "p"),
        ],
    )
    .await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["detail"][0]["type"], "duplicate_parameter");
    let a = login(
        &s.ex,
        &[
            ("grant_type", "client_credentials"),
            ("username", "a"),
            ("password", "b"),
        ],
    )
    .await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["detail"][0]["loc"], json!(["body", "grant_type"]));
    let a = answer(
        s.ex.post("/token")
            .json(&json!({"username": "johndoe", "password": s.password}))
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 415);
    let huge = "a".repeat(20 * 1024);
    let a = login(&s.ex, &[("username", "johndoe"), ("password", &huge)]).await;
    assert_eq!(a.status, 413);
    // Nothing sent is echoed back.
    let a = login(
        &s.ex,
        &[
            ("username", "johndoe"),
            ("password", "hunter2-leak-check"),
            ("grant_type", "x"),
        ],
    )
    .await;
    assert!(!a.body.to_string().contains("hunter2"));
}

const ISSUER: &str = "urn:warden:example";

/// A token signed with `pem` by the `jsonwebtoken` crate (an implementation independent of
/// the example's), with header `typ`.
fn sign(claims: &Value, typ: &str, pem: &str) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(typ.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let s = start();
    let at = |claims: Value| sign(&claims, "at+jwt", &s.key_pem);
    let valid = at(json!({"iss": ISSUER, "sub": "johndoe", "exp": now() + 600}));
    let ok = answer(s.ex.get("/users/me").bearer_auth(&valid).send().await).await;
    assert_eq!(
        ok.status, 200,
        "a token signed with the configured key works"
    );

    let other_pem = SigningKey::generate(warden::jwt::Algorithm::EdDSA)
        .unwrap()
        .to_pkcs8_pem()
        .unwrap();
    let (header, payload, signature) = {
        let mut parts = valid.split('.');
        (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        )
    };
    let alg_none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#)
    );
    let forged_payload = URL_SAFE_NO_PAD
        .encode(json!({"iss": ISSUER, "sub": "alice", "exp": now() + 600}).to_string());
    for (case, token) in [
        (
            "expired",
            at(json!({"iss": ISSUER, "sub": "johndoe", "exp": now() - 600})),
        ),
        (
            "other key",
            sign(
                &json!({"iss": ISSUER, "sub": "johndoe", "exp": now() + 600}),
                "at+jwt",
                &other_pem,
            ),
        ),
        (
            "unknown subject",
            at(json!({"iss": ISSUER, "sub": "mallory", "exp": now() + 600})),
        ),
        ("no exp", at(json!({"iss": ISSUER, "sub": "johndoe"}))),
        (
            "wrong issuer",
            at(json!({"iss": "urn:other", "sub": "johndoe", "exp": now() + 600})),
        ),
        (
            "not an access token",
            sign(
                &json!({"iss": ISSUER, "sub": "johndoe", "exp": now() + 600}),
                "JWT",
                &s.key_pem,
            ),
        ),
        ("alg none", alg_none),
        (
            "altered payload",
            format!("{header}.{forged_payload}.{signature}"),
        ),
        ("stripped signature", format!("{header}.{payload}.")),
        ("garbage", "not.a.jwt".to_owned()),
    ] {
        let a = answer(s.ex.get("/users/me").bearer_auth(&token).send().await).await;
        assert_eq!(a.status, 401, "{case}");
        assert_eq!(a.challenges, [r#"Bearer error="invalid_token""#], "{case}");
        assert_eq!(
            a.body,
            json!({"detail": "Could not validate credentials"}),
            "{case}"
        );
    }
}

#[tokio::test]
async fn malformed_authorization_headers_are_4xx() {
    let s = start();
    let missing = answer(s.ex.get("/users/me").send().await).await;
    assert_eq!(
        (missing.status, missing.challenges.clone()),
        (401, vec!["Bearer".to_owned()])
    );
    for (case, value) in [
        (
            "bad token characters",
            HeaderValue::from_static("Bearer abc$%^"),
        ),
        (
            "token with a space",
            HeaderValue::from_static("Bearer abc def"),
        ),
        (
            "oversized",
            HeaderValue::from_str(&format!("Bearer {}", "a".repeat(9000))).unwrap(),
        ),
        (
            "non-ASCII",
            HeaderValue::from_bytes(b"Bearer \xe2\x82\xac").unwrap(),
        ),
    ] {
        let a = answer(
            s.ex.get("/users/me")
                .header(AUTHORIZATION, value)
                .send()
                .await,
        )
        .await;
        assert_eq!(a.status, 400, "{case}");
        assert_eq!(
            a.challenges,
            [r#"Bearer error="invalid_request""#],
            "{case}"
        );
    }
}

#[tokio::test]
async fn openapi_documents_the_password_flow() {
    let s = start();
    let doc = s.ex.openapi().await;
    assert_eq!(
        doc["components"]["securitySchemes"],
        json!({"OAuth2PasswordBearer": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/token", "scopes": {}}}}})
    );
    assert_eq!(
        security(&doc, "/users/me", "get"),
        json!([{"OAuth2PasswordBearer": []}])
    );
    assert_eq!(
        security(&doc, "/users/me/items", "get"),
        json!([{"OAuth2PasswordBearer": []}])
    );
    assert_eq!(security(&doc, "/token", "post"), Value::Null);
    let body = &doc["paths"]["/token"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"];
    assert!(
        body.is_object(),
        "token endpoint documents its form: {body}"
    );
}
