//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3): a client registered with
//! its public keys proves itself with a JWT signed by one, at `/token`, `/par`, `/revoke`
//! and `/introspect`; each rule of §3 has its refusal.

use serde_json::{Value, json};
use warden::dpop::ProofKey;
use warden::jwt::{Algorithm, JwkSet};
use warden_server::domain::NewClient;

use crate::backend::Server;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A confidential client with `key`'s public half registered; its id.
async fn keyed_client(s: &Server, key: &ProofKey) -> String {
    let (id, secret) = s
        .register_client(NewClient {
            name: "Keyed service".into(),
            grant_types: vec!["client_credentials".into()],
            jwks: Some(JwkSet {
                keys: vec![key.jwk().clone()],
            }),
            ..NewClient::default()
        })
        .await;
    assert!(secret.is_none(), "a client with keys gets no secret");
    id
}

/// Claims of a good assertion by `client` for `aud`.
fn claims(client: &str, aud: &str) -> Value {
    json!({
        "iss": client, "sub": client, "aud": aud,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": now(), "exp": now() + 60,
    })
}

fn sign(key: &ProofKey, claims: &Value) -> String {
    let alg = key.header()["alg"].clone();
    key.sign_jws(&json!({ "alg": alg, "typ": "JWT" }), claims)
        .unwrap()
}

async fn client_credentials(s: &Server, assertion: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    s.token(&form).await
}

pub async fn private_key_jwt_authenticates_a_client_without_a_secret(s: &Server) {
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
        let key = ProofKey::generate(alg).unwrap();
        let id = keyed_client(s, &key).await;
        // The token endpoint, the issuer, as audience (RFC 7523 §3 (3)).
        for aud in [s.url("/token"), s.warden.config().issuer.clone()] {
            let (status, body) = client_credentials(s, &sign(&key, &claims(&id, &aud)), &[]).await;
            assert_eq!(status, 200, "{alg} aud {aud}: {body}");
            assert_eq!(body["token_type"], "bearer");
        }
        // With client_id too: it must be the assertion's.
        let (status, _) = client_credentials(
            s,
            &sign(&key, &claims(&id, &s.url("/token"))),
            &[("client_id", &id)],
        )
        .await;
        assert_eq!(status, 200);
    }

    // The same key at /introspect and /revoke (each endpoint its own audience), and /par.
    let key = ProofKey::generate(Algorithm::ES256).unwrap();
    let id = keyed_client(s, &key).await;
    let (_, body) = client_credentials(s, &sign(&key, &claims(&id, &s.url("/token"))), &[]).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let introspection: Value = s
        .client
        .post(s.url("/introspect"))
        .form(&[
            ("token", access.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            (
                "client_assertion",
                &sign(&key, &claims(&id, &s.url("/introspect"))),
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspection["active"], true, "{introspection}");
    let revoked = s
        .client
        .post(s.url("/revoke"))
        .form(&[
            ("token", access.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            (
                "client_assertion",
                &sign(&key, &claims(&id, &s.url("/revoke"))),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);

    // Discovery says so.
    let metadata: Value = s.get_json("/.well-known/openid-configuration").await;
    assert!(
        metadata["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("private_key_jwt"))
    );
    assert_eq!(
        metadata["token_endpoint_auth_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256"])
    );
}

pub async fn private_key_jwt_refuses_each_broken_rule(s: &Server) {
    let key = ProofKey::generate(Algorithm::ES256).unwrap();
    let id = keyed_client(s, &key).await;
    let token_url = s.url("/token");
    let good = || claims(&id, &token_url);
    let with = |name: &str, value: Value| {
        let mut c = good();
        c[name] = value;
        c
    };
    let without = |name: &str| {
        let mut c = good();
        c.as_object_mut().unwrap().remove(name);
        c
    };
    let other_key = ProofKey::generate(Algorithm::ES256).unwrap();
    let hs256 = {
        // An HMAC "signature" keyed with the client's public key, the classic confusion.
        let claims = good();
        use base64::Engine;
        let b64 = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
        };
        let input = format!(
            "{}.{}",
            b64(&json!({"alg": "HS256", "typ": "JWT"})),
            b64(&claims)
        );
        let secret = serde_json::to_vec(key.jwk()).unwrap();
        let tag = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret),
            input.as_bytes(),
        );
        format!(
            "{input}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    };
    let none = {
        let signed = sign(&key, &good());
        let mut parts = signed.split('.');
        use base64::Engine;
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"none","typ":"JWT"}"#);
        let _ = parts.next();
        format!("{header}.{}.", parts.next().unwrap())
    };
    let cases: Vec<(&str, String)> = vec![
        ("another key", sign(&other_key, &good())),
        ("HS256 with the public key as secret", hs256),
        ("alg none", none),
        (
            "sub is not the client",
            sign(&key, &with("sub", json!("someone"))),
        ),
        (
            "iss is another client",
            sign(&key, &with("iss", json!("someone"))),
        ),
        (
            "aud another server",
            sign(&key, &with("aud", json!("https://elsewhere.example/token"))),
        ),
        (
            "aud of another endpoint",
            sign(&key, &with("aud", json!(s.url("/revoke")))),
        ),
        ("no aud", sign(&key, &without("aud"))),
        ("no exp", sign(&key, &without("exp"))),
        ("expired", sign(&key, &with("exp", json!(now() - 120)))),
        (
            "exp a day ahead",
            sign(&key, &with("exp", json!(now() + 86_400))),
        ),
        ("no jti", sign(&key, &without("jti"))),
        ("garbage", "not.a.jwt".into()),
        ("oversized", "a".repeat(9000)),
    ];
    for (case, assertion) in cases {
        let (status, body) = client_credentials(s, &assertion, &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{case}: {body}"
        );
    }
    // Replayed (RFC 7523 §3 (7)).
    let once = sign(&key, &good());
    assert_eq!(client_credentials(s, &once, &[]).await.0, 200);
    assert_eq!(
        client_credentials(s, &once, &[]).await.0,
        401,
        "a jti is good once"
    );
    // client_id naming another client; a secret as well; the wrong assertion type.
    let (status, _) =
        client_credentials(s, &sign(&key, &good()), &[("client_id", "someone")]).await;
    assert_eq!(status, 401);
    let (status, _) = client_credentials(s, &sign(&key, &good()), &[("client_secret", "x")]).await;
    assert_eq!(status, 401);
    let (status, _) = s
        .token(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            ),
            ("client_assertion", &sign(&key, &good())),
        ])
        .await;
    assert_eq!(status, 401);
    // A client registered with a secret cannot use an assertion, nor the keyed one a secret.
    let (secret_id, _) = s.confidential_client(&["client_credentials"], &[]).await;
    let (status, _) =
        client_credentials(s, &sign(&key, &claims(&secret_id, &token_url)), &[]).await;
    assert_eq!(status, 401);
    let (status, _) = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", "guess"),
        ])
        .await;
    assert_eq!(status, 401);
    // Registering keys that are not public asymmetric signing keys is refused.
    for jwks in [
        json!({"keys": []}),
        json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}),
        json!({"keys": [{"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}]}),
    ] {
        let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
        let result = s
            .warden
            .create_client(NewClient {
                name: "bad keys".into(),
                grant_types: vec!["client_credentials".into()],
                jwks: Some(set),
                ..NewClient::default()
            })
            .await;
        assert!(result.is_err(), "{jwks}");
    }
}
