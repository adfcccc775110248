//! Logging in, the current user, scopes, clients, password change.

use serde_json::json;

use warden_server::storage::Storage;

use crate::backend::Server;

pub async fn password_flow_and_current_user(s: &Server) {
    let password = s.user("alice", &[]).await;
    let (status, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", &password),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert!(body["refresh_token"].is_string());
    let token = body["access_token"].as_str().unwrap();
    let me = s
        .client
        .get(s.url("/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["username"], "alice");
    assert!(
        me.get("password_hash").is_none(),
        "the hash never leaves the server"
    );
    assert_eq!(s.me("forged.token.value").await, 401);
    let missing = s.client.get(s.url("/users/me")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let challenges: Vec<&str> = missing
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        challenges,
        [
            r#"DPoP algs="ES256 Ed25519 EdDSA RS256""#,
            "Bearer",
            "APIKey"
        ]
    );
}

pub async fn failed_logins_look_alike(s: &Server) {
    let password = s.user("bob", &[]).await;
    let wrong = [
        ("grant_type", "password"),
        ("username", "bob"),
        ("password", "not-the-password"),
    ];
    let unknown = [
        ("grant_type", "password"),
        ("username", "nobody-here"),
        ("password", password.as_str()),
    ];
    let (a, body_a) = s.token(&wrong).await;
    let (b, body_b) = s.token(&unknown).await;
    assert_eq!((a, b), (400, 400));
    assert_eq!(
        body_a, body_b,
        "same answer for an unknown user and a wrong password"
    );
    assert_eq!(body_a["error"], "invalid_grant");

    // That both also take the same time is checked alone, in `tests/enumeration_timing.rs`.
}

pub async fn disabled_user_is_refused_everywhere(s: &Server) {
    let password = s.user("carol", &[]).await;
    let (_, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "carol"),
            ("password", &password),
        ])
        .await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    s.warden.set_disabled("carol", true).await.unwrap();
    assert_eq!(
        s.me(&token).await,
        401,
        "an access token of a disabled user stops working"
    );
    let (status, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "carol"),
            ("password", &password),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "warden-docs"),
        ])
        .await;
    assert_eq!(status, 400);
}

pub async fn scopes_are_what_roles_and_clients_allow(s: &Server) {
    s.role("reader", &["me", "items"]).await;
    let password = s.user("dave", &["reader"]).await;
    let login = |scope: &'static str| {
        let password = password.clone();
        async move {
            s.token(&[
                ("grant_type", "password"),
                ("username", "dave"),
                ("password", &password),
                ("scope", scope),
            ])
            .await
        }
    };
    let (_, body) = login("items admin").await;
    assert_eq!(body["scope"], "items", "requested ∩ allowed");
    let (_, body) = login("").await;
    assert_eq!(
        body["scope"], "items me",
        "no request: everything the roles allow"
    );
    let (_, body) = login("admin").await;
    assert_eq!(body["scope"], "");
}

pub async fn client_credentials_with_both_auth_methods(s: &Server) {
    let (id, secret) = s
        .confidential_client(&["client_credentials"], &["reports"])
        .await;
    let basic = s
        .client
        .post(s.url("/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    assert_eq!(basic.headers()["cache-control"], "no-store");
    let body: serde_json::Value = basic.json().await.unwrap();
    assert_eq!(body["scope"], "reports");
    assert!(
        body.get("refresh_token").is_none(),
        "RFC 6749 §4.4.3: no refresh token"
    );

    let (status, _) = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(status, 200, "client_secret_post");

    let wrong = s
        .client
        .post(s.url("/token"))
        .basic_auth(&id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.headers()["www-authenticate"], "Basic");
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let (status, body) = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "unknown"),
            ("client_secret", "x"),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // No client authentication at all is `invalid_client` with a challenge (RFC 6749
    // §5.2): the docs client stands in for the password grant only.
    for grant in ["client_credentials", "refresh_token", "authorization_code"] {
        let response = s
            .client
            .post(s.url("/token"))
            .form(&[("grant_type", grant), ("refresh_token", "x"), ("code", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{grant}");
        assert_eq!(response.headers()["www-authenticate"], "Basic", "{grant}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{grant}");
    }
    // The docs client named explicitly is public: no client credentials grant for it.
    let (status, body) = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "warden-docs"),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

pub async fn password_change_revokes_refresh_tokens(s: &Server) {
    let password = s.user("erin", &[]).await;
    let (_, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "erin"),
            ("password", &password),
        ])
        .await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let change = |current: &str, new: &str| {
        s.client
            .post(s.url("/users/me/password"))
            .bearer_auth(&token)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    assert_eq!(
        change("wrong-password!", "a new long password")
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(change(&password, "short").await.unwrap().status(), 422);
    assert_eq!(
        change(&password, "a new long password")
            .await
            .unwrap()
            .status(),
        204
    );
    let (status, _) = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "warden-docs"),
        ])
        .await;
    assert_eq!(status, 400, "refresh tokens die with the old password");
    let (status, _) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "erin"),
            ("password", "a new long password"),
        ])
        .await;
    assert_eq!(status, 200);
}

pub async fn discovery_and_docs(s: &Server) {
    let metadata: serde_json::Value = s
        .client
        .get(s.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], s.base);
    assert_eq!(metadata["token_endpoint"], s.url("/token"));
    let jwks: serde_json::Value = s
        .client
        .get(s.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    // One EdDSA key (access tokens) and one RS256 key (ID tokens), public members only.
    let mut types: Vec<&str> = keys.iter().map(|k| k["kty"].as_str().unwrap()).collect();
    types.sort_unstable();
    assert_eq!(types, ["OKP", "RSA"]);
    for key in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "public members only: {key}");
        }
    }
    let doc: serde_json::Value = s
        .client
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["paths"]["/users/me"]["get"]["security"],
        json!([{"DPoP": []}, {"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}])
    );
    assert!(doc["paths"]["/token"]["post"]["security"].is_null());
    assert_eq!(
        doc["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"],
        "/token"
    );
    assert_eq!(
        s.client
            .get(s.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

pub async fn logins_are_throttled_per_account(s: &Server) {
    let password = s.user("throttled", &[]).await;
    // Ten failures pass through (the budget per account and address)…
    for _ in 0..10 {
        let (status, _) = s
            .token(&[
                ("grant_type", "password"),
                ("username", "throttled"),
                ("password", "wrong-password"),
            ])
            .await;
        assert_eq!(status, 400);
    }
    // …then even the right password waits.
    let response = s
        .client
        .post(s.url("/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "throttled"),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    // An unknown name is throttled exactly alike, so throttling reveals nothing.
    for _ in 0..10 {
        assert_eq!(
            s.token(&[
                ("grant_type", "password"),
                ("username", "ghost"),
                ("password", "x")
            ])
            .await
            .0,
            400
        );
    }
    assert_eq!(
        s.token(&[
            ("grant_type", "password"),
            ("username", "ghost"),
            ("password", "x")
        ])
        .await
        .0,
        429
    );
    // Other accounts are unaffected.
    let other = s.user("unthrottled", &[]).await;
    assert_eq!(
        s.token(&[
            ("grant_type", "password"),
            ("username", "unthrottled"),
            ("password", &other)
        ])
        .await
        .0,
        200
    );
}

/// A FastAPI app's users arrive with the bcrypt hashes passlib/pwdlib wrote (the fixtures were
/// produced by Python's `bcrypt` and `pwdlib`); they log in unchanged, and their hash is
/// replaced by argon2id on that first success.
pub async fn imported_bcrypt_users_log_in_and_are_rehashed(s: &Server) {
    let fixtures: serde_json::Value = serde_json::from_str(include_str!(
        "../../../warden/tests/fixtures/python_password_hashes.json"
    ))
    .unwrap();
    let mut users = Vec::new();
    let mut passwords = Vec::new();
    for (i, f) in fixtures["fixtures"].as_array().unwrap().iter().enumerate() {
        let hash = f["hash"].as_str().unwrap();
        let password = f["password"].as_str().unwrap();
        if !hash.starts_with("$2") || password.len() > 72 {
            continue;
        }
        let username = format!("legacy{i}");
        users.push(warden_server::domain::ImportedUser {
            username: username.clone(),
            password_hash: hash.to_owned(),
            email: None,
            roles: Vec::new(),
            disabled: false,
        });
        passwords.push((username, password.to_owned()));
    }
    assert!(passwords.len() >= 3, "the fixtures hold bcrypt hashes");
    let report = s.warden.import_users(users).await.unwrap();
    assert_eq!(report.imported, passwords.len());
    for (username, password) in &passwords {
        let before = s
            .warden
            .storage()
            .user_by_username(username)
            .await
            .unwrap()
            .unwrap();
        assert!(before.password_hash.starts_with("$2"));
        let (status, body) = s
            .token(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ])
            .await;
        assert_eq!(status, 200, "{username}: {body}");
        let after = s
            .warden
            .storage()
            .user_by_username(username)
            .await
            .unwrap()
            .unwrap();
        assert!(
            after.password_hash.starts_with("$argon2id$"),
            "{username} rehashed"
        );
        // And the new hash works.
        let (status, _) = s
            .token(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ])
            .await;
        assert_eq!(status, 200);
    }
}

pub async fn current_user_changes_their_email_only(s: &Server) {
    let password = s.user("frank", &[]).await;
    let (_, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "frank"),
            ("password", &password),
        ])
        .await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let patch = |body: serde_json::Value| {
        s.client
            .patch(s.url("/users/me"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let read = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        (status, response.json::<serde_json::Value>().await.unwrap())
    };

    let (status, user) = read(patch(json!({"email": "frank@example.com"})).await.unwrap()).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["username"], "frank");
    assert_eq!(user["email"], "frank@example.com");
    let me: serde_json::Value = s
        .client
        .get(s.url("/users/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "frank@example.com", "stored");

    let (status, user) = read(patch(json!({})).await.unwrap()).await;
    assert_eq!(
        (status, &user["email"]),
        (200, &json!("frank@example.com")),
        "an omitted field stays"
    );

    let (status, body) = read(patch(json!({"email": "not-an-address"})).await.unwrap()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "email"]));
    assert!(
        !body.to_string().contains("not-an-address"),
        "the value is not echoed"
    );

    // What only administrators change is refused, and nothing is applied.
    for forbidden in [
        json!({"username": "root"}),
        json!({"roles": ["admin"]}),
        json!({"disabled": true}),
        json!({"email": "other@example.com", "roles": ["admin"]}),
        json!({"password_hash": "x"}),
    ] {
        let (status, body) = read(patch(forbidden.clone()).await.unwrap()).await;
        assert_eq!(status, 422, "{forbidden} → {body}");
        assert_eq!(body["detail"][0]["type"], "extra_forbidden", "{body}");
    }
    let stored = s
        .warden
        .storage()
        .user_by_username("frank")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.email.as_deref(), Some("frank@example.com"));
    assert!(stored.roles.is_empty());
    assert!(!stored.disabled);

    let (status, user) = read(patch(json!({"email": null})).await.unwrap()).await;
    assert_eq!(
        (status, &user["email"]),
        (200, &serde_json::Value::Null),
        "null removes"
    );
    assert_eq!(s.me(&token).await, 200, "the session goes on");

    let anonymous = s
        .client
        .patch(s.url("/users/me"))
        .json(&json!({"email": "x@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let doc: serde_json::Value = s
        .client
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["paths"]["/users/me"]["patch"]["security"],
        json!([{"DPoP": []}, {"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}])
    );
}
