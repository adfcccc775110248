//! DPoP (RFC 9449) at the server: proofs at `/token` bind the tokens issued (`cnf.jkt`,
//! `token_type: DPoP`), a public client's refresh token to the key, and the server's own
//! resources (`/users/me`, `/userinfo`) take a bound token only with a proof of its key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Method;
use serde_json::{Value, json};
use warden::dpop::ProofKey;
use warden::jwt::Algorithm;

use warden_server::domain::NewClient;

use crate::backend::{Options, Server};

/// POSTs a form to /token with the given `DPoP` headers.
async fn token_with(
    s: &Server,
    form: &[(&str, &str)],
    proofs: &[&str],
) -> (u16, Value, Option<String>) {
    let mut request = s.client.post(s.url("/token")).form(form);
    for proof in proofs {
        request = request.header("dpop", *proof);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let nonce = response
        .headers()
        .get("dpop-nonce")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap_or(Value::Null), nonce)
}

fn token_proof(s: &Server, key: &ProofKey, nonce: Option<&str>) -> String {
    key.proof(&Method::POST, &s.url("/token"), None, nonce)
        .unwrap()
}

/// GET `path` with `Authorization: DPoP` and a proof by `key` (none when `key` is `None`).
async fn get_dpop(
    s: &Server,
    path: &str,
    token: &str,
    key: Option<&ProofKey>,
) -> reqwest::Response {
    let mut request = s
        .client
        .get(s.url(path))
        .header("authorization", format!("DPoP {token}"));
    if let Some(key) = key {
        request = request.header(
            "dpop",
            key.proof(&Method::GET, &s.url(path), Some(token), None)
                .unwrap(),
        );
    }
    request.send().await.unwrap()
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The docs client's password grant (a public client with refresh tokens) with a proof.
async fn bound_login(s: &Server, user: &str, key: &ProofKey) -> Value {
    let password = s.user(user, &[]).await;
    let (status, body, _) = token_with(
        s,
        &[
            ("grant_type", "password"),
            ("username", user),
            ("password", &password),
            ("client_id", "warden-docs"),
        ],
        &[&token_proof(s, key, None)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

pub async fn dpop_binds_tokens_and_resources_require_the_key(s: &Server) {
    let key = ProofKey::generate(Algorithm::ES256).unwrap();
    let body = bound_login(s, "dora", &key).await;
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(claims(access)["cnf"], json!({ "jkt": key.jkt() }));

    // The key holder gets through, with a fresh proof each time.
    for _ in 0..2 {
        let response = get_dpop(s, "/users/me", access, Some(&key)).await;
        assert_eq!(response.status(), 200);
    }
    // Stolen: as a bearer token, without a proof, with the thief's own key.
    assert_eq!(
        s.me(access).await,
        401,
        "a bound token is not a bearer token"
    );
    let response = get_dpop(s, "/users/me", access, None).await;
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("DPoP ") && challenge.contains("invalid_dpop_proof"),
        "{challenge}"
    );
    assert!(
        challenge.contains(r#"algs="ES256 Ed25519 EdDSA RS256""#),
        "{challenge}"
    );
    let thief = ProofKey::generate(Algorithm::ES256).unwrap();
    assert_eq!(
        get_dpop(s, "/users/me", access, Some(&thief))
            .await
            .status(),
        401
    );
    // A captured request replayed as is.
    let proof = key
        .proof(&Method::GET, &s.url("/users/me"), Some(access), None)
        .unwrap();
    let send = || {
        s.client
            .get(s.url("/users/me"))
            .header("authorization", format!("DPoP {access}"))
            .header("dpop", &proof)
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 200);
    assert_eq!(send().await.unwrap().status(), 401, "a proof is good once");
    // A proof made for another of the server's routes.
    let response = s
        .client
        .get(s.url("/users/me"))
        .header("authorization", format!("DPoP {access}"))
        .header(
            "dpop",
            key.proof(&Method::GET, &s.url("/userinfo"), Some(access), None)
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // An unbound token sent with the DPoP scheme proves nothing.
    let password = s.user("bea", &[]).await;
    let (_, plain) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "bea"),
            ("password", &password),
        ])
        .await;
    assert_eq!(plain["token_type"], "bearer");
    let plain = plain["access_token"].as_str().unwrap();
    assert!(claims(plain).get("cnf").is_none());
    assert_eq!(
        get_dpop(s, "/users/me", plain, Some(&key)).await.status(),
        401
    );
    assert_eq!(s.me(plain).await, 200);

    // A 401 without credentials names both schemes.
    let response = s.client.get(s.url("/users/me")).send().await.unwrap();
    let challenges: Vec<&str> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("DPoP")),
        "{challenges:?}"
    );
    assert!(
        challenges.iter().any(|c| c.starts_with("Bearer")),
        "{challenges:?}"
    );

    // Discovery and the OpenAPI document say so.
    let metadata: Value = s.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256", "Ed25519", "EdDSA", "RS256"])
    );
    let openapi: Value = s.get_json("/openapi.json").await;
    assert_eq!(
        openapi["components"]["securitySchemes"]["DPoP"]["scheme"],
        "DPoP"
    );
}

pub async fn dpop_binds_a_public_clients_refresh_token(s: &Server) {
    let key = ProofKey::generate(Algorithm::EdDSA).unwrap();
    let body = bound_login(s, "rita", &key).await;
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let form = |token: &str| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", token.to_owned()),
            ("client_id", "warden-docs".to_owned()),
        ]
    };
    let send = |token: String, proofs: Vec<String>| async move {
        let form = form(&token);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        token_with(s, &form, &proofs).await
    };
    // Without a proof, or with another key: refused — and the family is not revoked by it.
    let (status, body, _) = send(refresh.clone(), vec![]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let thief = ProofKey::generate(Algorithm::EdDSA).unwrap();
    let (status, _, _) = send(refresh.clone(), vec![token_proof(s, &thief, None)]).await;
    assert_eq!(status, 400);
    // With the key: rotated, and the new pair is bound again.
    let (status, body, _) = send(refresh.clone(), vec![token_proof(s, &key, None)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.jkt()
    );
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, _, _) = send(next.clone(), vec![]).await;
    assert_eq!(status, 400, "the successor stays bound");
    let (status, _, _) = send(next, vec![token_proof(s, &key, None)]).await;
    assert_eq!(status, 200);

    // A confidential client's tokens: the access token bound, its refresh token bound by the
    // client's own authentication (RFC 9449 §5), so a refresh needs no proof.
    let (id, secret) = s
        .confidential_client(&["client_credentials", "password", "refresh_token"], &[])
        .await;
    let (status, body, _) = token_with(
        s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
        &[&token_proof(s, &key, None)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    // Introspection reports the binding (RFC 9449 §6.2).
    let access = body["access_token"].as_str().unwrap();
    let introspection: Value = s
        .client
        .post(s.url("/introspect"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["token_type"], "DPoP");
    assert_eq!(introspection["cnf"], json!({ "jkt": key.jkt() }));
}

pub async fn dpop_bad_proofs_at_the_token_endpoint_are_400(s: &Server) {
    let (id, secret) = s.confidential_client(&["client_credentials"], &[]).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let key = ProofKey::generate(Algorithm::ES256).unwrap();
    let good = token_proof(s, &key, None);
    let wrong_uri = key
        .proof(&Method::POST, "https://evil.example.com/token", None, None)
        .unwrap();
    let wrong_method = key
        .proof(&Method::GET, &s.url("/token"), None, None)
        .unwrap();
    let mut unsigned = key.header();
    unsigned["alg"] = json!("none");
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(unsigned.to_string()),
        URL_SAFE_NO_PAD.encode(
            json!({"jti": "x", "htm": "POST", "htu": s.url("/token"), "iat": 0}).to_string()
        )
    );
    for (case, proofs) in [
        ("another URI", vec![wrong_uri.as_str()]),
        ("another method", vec![wrong_method.as_str()]),
        ("alg none", vec![none.as_str()]),
        ("garbage", vec!["garbage"]),
        ("two headers", vec![good.as_str(), good.as_str()]),
    ] {
        let (status, body, _) = token_with(s, &form, &proofs).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_dpop_proof")),
            "{case}"
        );
    }
    let (status, body, _) = token_with(s, &form, &[&good]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body, _) = token_with(s, &form, &[&good]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "replayed"
    );
    // Without any proof: a bearer token, as before.
    let (status, body, _) = token_with(s, &form, &[]).await;
    assert_eq!((status, body["token_type"].as_str()), (200, Some("bearer")));

    // A client registered with `dpop_bound_access_tokens` (RFC 9449 §5.2) gets no bearer
    // token: without a proof, refused; with one, bound.
    let (bound_id, bound_secret) = s
        .register_client(NewClient {
            name: "always bound".into(),
            grant_types: vec!["client_credentials".into()],
            dpop_bound: true,
            ..NewClient::default()
        })
        .await;
    let bound_secret = bound_secret.unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", bound_id.as_str()),
        ("client_secret", bound_secret.as_str()),
    ];
    let (status, body, _) = token_with(s, &form, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
    let (status, body, _) = token_with(s, &form, &[&token_proof(s, &key, None)]).await;
    assert_eq!(
        (status, body["token_type"].as_str()),
        (200, Some("DPoP")),
        "{body}"
    );
}

pub fn with_nonces() -> Options {
    Options {
        dpop_nonce: true,
        ..Options::default()
    }
}

pub async fn dpop_nonces_are_required_when_configured(s: &Server) {
    let (id, secret) = s.confidential_client(&["client_credentials"], &[]).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let key = ProofKey::generate(Algorithm::ES256).unwrap();
    let (status, body, nonce) = token_with(s, &form, &[&token_proof(s, &key, None)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("use_dpop_nonce"))
    );
    let nonce = nonce.expect("a DPoP-Nonce header");
    let (status, body, _) = token_with(s, &form, &[&token_proof(s, &key, Some(&nonce))]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");

    // At a resource: 401 use_dpop_nonce with a nonce, then through.
    let password = s.user("nina", &[]).await;
    let (status, body, _) = token_with(
        s,
        &[
            ("grant_type", "password"),
            ("username", "nina"),
            ("password", &password),
            ("client_id", "warden-docs"),
        ],
        &[&token_proof(s, &key, Some(&nonce))],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap();
    let response = get_dpop(s, "/users/me", access, Some(&key)).await;
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("use_dpop_nonce")
    );
    let nonce = response.headers()["dpop-nonce"]
        .to_str()
        .unwrap()
        .to_owned();
    let response = s
        .client
        .get(s.url("/users/me"))
        .header("authorization", format!("DPoP {access}"))
        .header(
            "dpop",
            key.proof(
                &Method::GET,
                &s.url("/users/me"),
                Some(access),
                Some(&nonce),
            )
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Redeems `code` as the public `client_id`, with `proof` as the DPoP header when given.
async fn redeem_with(
    s: &Server,
    client_id: &str,
    code: &str,
    verifier: &str,
    proof: Option<String>,
) -> (u16, Value, Option<String>) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", crate::authorization::CB),
        ("code_verifier", verifier),
        ("client_id", client_id),
    ];
    let proofs: Vec<&str> = proof.iter().map(String::as_str).collect();
    token_with(s, &form, &proofs).await
}

pub async fn dpop_jkt_binds_the_authorization_code(s: &Server) {
    use crate::authorization::{Browser, CB, Req, client, pkce};

    s.role("reader", &["me"]).await;
    let password = s.user("jade", &["reader"]).await;
    let (client_id, _) = client(s, true, true).await;
    let key = ProofKey::generate(Algorithm::ES256).unwrap();
    // A code asked for with `dpop_jkt` (RFC 9449 §10); `signed_in` keeps the session.
    let browser = Browser::new(s);
    let code_for = |verifier_challenge: &(String, String)| {
        Req::new(&client_id, Some(&verifier_challenge.1)).set("dpop_jkt", key.jkt())
    };
    let first = pkce();
    let page = browser.authorize(&code_for(&first)).await;
    let answer = browser.login(&page, "jade", &password).await;
    let code = answer.redirect_to(CB)["code"].clone();
    // Another key's proof: refused (and the code is spent, as with a wrong verifier).
    let thief = ProofKey::generate(Algorithm::ES256).unwrap();
    let (status, body, _) = redeem_with(
        s,
        &client_id,
        &code,
        &first.0,
        Some(token_proof(s, &thief, None)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // Without a proof: refused too.
    let second = pkce();
    let answer = browser.authorize(&code_for(&second)).await;
    let code = answer.redirect_to(CB)["code"].clone();
    let (status, _, _) = redeem_with(s, &client_id, &code, &second.0, None).await;
    assert_eq!(status, 400);
    // With the key: the tokens are bound to it.
    let third = pkce();
    let answer = browser.authorize(&code_for(&third)).await;
    let code = answer.redirect_to(CB)["code"].clone();
    let (status, body, _) = redeem_with(
        s,
        &client_id,
        &code,
        &third.0,
        Some(token_proof(s, &key, None)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["cnf"]["jkt"],
        key.jkt()
    );
    // A malformed dpop_jkt is sent back to the client as invalid_request.
    let answer = browser
        .authorize(&Req::new(&client_id, Some(&pkce().1)).set("dpop_jkt", "not a thumbprint"))
        .await;
    assert_eq!(
        answer.redirect_to(CB).get("error").map(String::as_str),
        Some("invalid_request")
    );
}
