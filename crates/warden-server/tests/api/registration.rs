//! Dynamic client registration (RFC 7591): `POST /register` with an initial access token
//! (scope `client:register`), or open when configured; self-asserted metadata held to the
//! same rules as an administrator's.

use serde_json::{Value, json};
use warden::dpop::ProofKey;
use warden::jwt::Algorithm;

use warden_server::storage::Storage;

use crate::authorization::CB;
use crate::backend::{Options, Server};

async fn register(s: &Server, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = s.client.post(s.url("/register")).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status == 201 {
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    (status, response.json().await.unwrap_or(Value::Null))
}

/// An access token with `scope` for a new user holding a role that grants it.
async fn token_with_scope(s: &Server, user: &str, scope: &str) -> String {
    s.role(&format!("{user}-role"), &[scope]).await;
    let password = s.user(user, &[&format!("{user}-role")]).await;
    let (status, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", &password),
            ("scope", scope),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

pub async fn registration_needs_an_initial_access_token(s: &Server) {
    let body = json!({
        "client_name": "Reports service",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "logo_uri": "https://internal.example/never-fetched.png",
    });
    // No token, or one without the scope.
    let (status, _) = register(s, None, &body).await;
    assert_eq!(status, 401);
    let plain = token_with_scope(s, "plain", "me").await;
    let (status, _) = register(s, Some(&plain), &body).await;
    assert_eq!(status, 403);
    let (status, _) = register(s, Some("forged.token.value"), &body).await;
    assert_eq!(status, 401);

    let registrar = token_with_scope(s, "registrar", "client:register").await;
    let (status, client) = register(s, Some(&registrar), &body).await;
    assert_eq!(status, 201, "{client}");
    assert_eq!(client["client_name"], "Reports service");
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(client["client_secret_expires_at"], 0);
    assert!(
        client.get("logo_uri").is_none(),
        "unknown metadata is ignored"
    );
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    // The client works, and was registered as an ordinary (consent-asking) client.
    let (status, _) = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .await;
    assert_eq!(status, 200);
    let stored = s.warden.storage().client(id).await.unwrap().unwrap();
    assert!(!stored.first_party);
    assert_ne!(stored.secret_hash.as_deref(), Some(secret), "stored hashed");

    // A code-flow client: redirect URIs and response types as registered.
    let (status, client) = register(
        s,
        Some(&registrar),
        &json!({"redirect_uris": [CB], "token_endpoint_auth_method": "none", "scope": "openid profile"}),
    )
    .await;
    assert_eq!(status, 201, "{client}");
    assert_eq!(client["grant_types"], json!(["authorization_code"]));
    assert_eq!(client["response_types"], json!(["code"]));
    assert!(
        client.get("client_secret").is_none(),
        "a public client has no secret"
    );
    assert_eq!(client["scope"], "openid profile");

    // Discovery names the endpoint.
    let metadata = s.get_json("/.well-known/openid-configuration").await;
    assert_eq!(metadata["registration_endpoint"], s.url("/register"));
}

pub async fn registration_refuses_bad_metadata(s: &Server) {
    let registrar = token_with_scope(s, "registrar2", "client:register").await;
    for (case, body, error) in [
        (
            "javascript: redirect",
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
        (
            "data: redirect",
            json!({"redirect_uris": ["data:text/html,hi"]}),
            "invalid_redirect_uri",
        ),
        (
            "plain http elsewhere",
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            "a fragment",
            json!({"redirect_uris": ["https://app.example.com/cb#x"]}),
            "invalid_redirect_uri",
        ),
        (
            "code flow without redirect",
            json!({"grant_types": ["authorization_code"]}),
            "invalid_redirect_uri",
        ),
        (
            "implicit",
            json!({"redirect_uris": [CB], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            "unknown grant",
            json!({"grant_types": ["urn:example:magic"]}),
            "invalid_client_metadata",
        ),
        (
            "unknown auth method",
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "tls_client_auth"}),
            "invalid_client_metadata",
        ),
        (
            "private_key_jwt without keys",
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            "jwks_uri",
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://169.254.169.254/keys"}),
            "invalid_client_metadata",
        ),
        (
            "public client_credentials",
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
        ),
        (
            "software statement",
            json!({"grant_types": ["client_credentials"], "software_statement": "eyJ..."}),
            "invalid_software_statement",
        ),
        (
            "not an object",
            json!(["redirect_uris"]),
            "invalid_client_metadata",
        ),
        (
            "wrong type",
            json!({"redirect_uris": "https://app.example.com/cb"}),
            "invalid_client_metadata",
        ),
    ] {
        let (status, answer) = register(s, Some(&registrar), &body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some(error)),
            "{case}: {answer}"
        );
    }
    // Too large: 413, nothing registered.
    let huge = json!({"client_name": "x".repeat(20_000), "grant_types": ["client_credentials"]});
    let (status, _) = register(s, Some(&registrar), &huge).await;
    assert_eq!(status, 413);
}

pub async fn registration_with_keys_gives_a_private_key_jwt_client(s: &Server) {
    let registrar = token_with_scope(s, "registrar3", "client:register").await;
    let key = ProofKey::generate(Algorithm::EdDSA).unwrap();
    let (status, client) = register(
        s,
        Some(&registrar),
        &json!({
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [key.jwk()]},
            "dpop_bound_access_tokens": true,
        }),
    )
    .await;
    assert_eq!(status, 201, "{client}");
    assert_eq!(client["token_endpoint_auth_method"], "private_key_jwt");
    assert!(client.get("client_secret").is_none());
    assert_eq!(client["dpop_bound_access_tokens"], true);
    let id = client["client_id"].as_str().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let assertion = key
        .sign_jws(
            &json!({"alg": "EdDSA", "typ": "JWT"}),
            &json!({"iss": id, "sub": id, "aud": s.url("/token"), "jti": "j-1", "iat": now, "exp": now + 60}),
        )
        .unwrap();
    let proof = key
        .proof(&http::Method::POST, &s.url("/token"), None, None)
        .unwrap();
    let response = s
        .client
        .post(s.url("/token"))
        .header("dpop", proof)
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
}

pub fn open_registration() -> Options {
    Options {
        open_client_registration: true,
        ..Options::default()
    }
}

pub async fn open_registration_needs_no_token(s: &Server) {
    let (status, client) = register(
        s,
        None,
        &json!({"redirect_uris": [CB], "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(status, 201, "{client}");
    // A token that is sent must still be valid.
    let (status, _) = register(
        s,
        Some("forged.token.value"),
        &json!({"redirect_uris": [CB]}),
    )
    .await;
    assert_eq!(status, 401);
}

/// `method` on `/register/{id}` with `token` as the bearer registration access token.
async fn manage(
    s: &Server,
    method: reqwest::Method,
    id: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = s.client.request(method, s.url(&format!("/register/{id}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn registration_is_managed_with_its_access_token(s: &Server) {
    use reqwest::Method;
    let registrar = token_with_scope(s, "registrar4", "client:register").await;
    let (_, client) = register(
        s,
        Some(&registrar),
        &json!({"redirect_uris": [CB], "client_name": "First name", "token_endpoint_auth_method": "client_secret_basic"}),
    )
    .await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let token = client["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        client["registration_client_uri"],
        s.url(&format!("/register/{id}"))
    );

    // Read: with the token only; never the secret.
    let (status, read) = manage(s, Method::GET, &id, Some(&token), None).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["client_name"], "First name");
    assert!(read.get("client_secret").is_none());
    for wrong in [None, Some("wrong"), Some(registrar.as_str())] {
        let (status, body) = manage(s, Method::GET, &id, wrong, None).await;
        assert_eq!(status, 401, "{wrong:?}: {body}");
    }
    // Another client's token does not open this one.
    let (_, other) = register(s, Some(&registrar), &json!({"redirect_uris": [CB]})).await;
    let other_token = other["registration_access_token"].as_str().unwrap();
    assert_eq!(
        manage(s, Method::GET, &id, Some(other_token), None).await.0,
        401
    );
    // A client registered by an administrator has no configuration endpoint.
    let (admin_made, _) = s.confidential_client(&["client_credentials"], &[]).await;
    assert_eq!(
        manage(s, Method::GET, &admin_made, Some(&token), None)
            .await
            .0,
        401
    );

    // Update: a full replacement, checked as at registration; the token rotates.
    let replacement = json!({
        "client_id": id, "client_secret": secret,
        "redirect_uris": [CB, "https://app.example.com/other"], "client_name": "Second name",
        "token_endpoint_auth_method": "client_secret_basic",
    });
    let (status, updated) = manage(s, Method::PUT, &id, Some(&token), Some(&replacement)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["client_name"], "Second name");
    assert_eq!(updated["redirect_uris"].as_array().unwrap().len(), 2);
    let new_token = updated["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_token, token);
    assert_eq!(
        manage(s, Method::GET, &id, Some(&token), None).await.0,
        401,
        "rotated"
    );
    // The secret still works.
    let stored = s.warden.storage().client(&id).await.unwrap().unwrap();
    assert!(stored.secret_hash.is_some() && !stored.first_party);
    // Bad updates: another id, a wrong secret, a dangerous redirect URI, another auth method.
    for (case, body) in [
        (
            "another client_id",
            json!({"client_id": "x", "redirect_uris": [CB]}),
        ),
        ("no client_id", json!({"redirect_uris": [CB]})),
        (
            "wrong secret",
            json!({"client_id": id, "client_secret": "nope", "redirect_uris": [CB]}),
        ),
        (
            "javascript redirect",
            json!({"client_id": id, "redirect_uris": ["javascript:alert(1)"]}),
        ),
        (
            "becomes public",
            json!({"client_id": id, "redirect_uris": [CB], "token_endpoint_auth_method": "none"}),
        ),
    ] {
        let (status, body) = manage(s, Method::PUT, &id, Some(&new_token), Some(&body)).await;
        assert_eq!(status, 400, "{case}: {body}");
    }
    // Nothing of that changed it.
    let (_, read) = manage(s, Method::GET, &id, Some(&new_token), None).await;
    assert_eq!(read["client_name"], "Second name");

    // Delete: 204, then gone.
    let (status, _) = manage(s, Method::DELETE, &id, Some(&new_token), None).await;
    assert_eq!(status, 204);
    assert!(s.warden.storage().client(&id).await.unwrap().is_none());
    assert_eq!(
        manage(s, Method::GET, &id, Some(&new_token), None).await.0,
        401
    );
}
