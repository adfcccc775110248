//! Upstream identity providers (issue 14): their administration (the client secret never
//! comes out), validation, a user's linked identities and unlinking them (never the last way
//! to sign in), accounts without a usable password at the password grant, the
//! email-verified flag, and providers from the configuration file.
//!
//! The login flow does not exist yet: identities are linked directly through storage.

use serde_json::{Value, json};
use warden_server::domain::{NO_PASSWORD, NewApiKey};
use warden_server::storage::{LinkedIdentity, Storage, User};

use crate::api_keys::{Credential, login};
use crate::backend::Server;

/// An administrator `root`'s token.
async fn admin(s: &Server) -> String {
    s.role("admin", &["admin", "me"]).await;
    let password = s.user("root", &["admin"]).await;
    login(s, "root", &password, None).await
}

/// A request with a bearer token or an API key; (status, JSON body or the text).
async fn call(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    credential: &Credential<'_>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = credential.apply(s.client.request(method, s.url(path)));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn corp(secret: Option<&str>) -> Value {
    let mut body = json!({
        "id": "corp",
        "display_name": "Corporate SSO",
        "kind": "oidc",
        "issuer": "https://sso.example.com/realms/corp",
        "client_id": "warden",
        "roles_claim": "groups",
        "role_map": {"staff": "admin"},
        "trust_email": true,
    });
    if let Some(secret) = secret {
        body["client_secret"] = json!(secret);
    }
    body
}

pub async fn upstream_providers_are_managed_and_their_secret_never_shown(s: &Server) {
    use reqwest::Method;
    let root = admin(s).await;
    let bearer = Credential::Bearer(&root);
    let secret = "s3cr3t-upstream-client-secret-value";

    let (status, created) = call(
        s,
        Method::POST,
        "/admin/providers",
        &bearer,
        Some(corp(Some(secret))),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["client_secret_set"], true);
    assert_eq!(created["scopes"], json!(["openid", "email", "profile"]));
    assert_eq!(created["role_map"], json!({"staff": "admin"}));
    assert_eq!(created["enabled"], true);
    assert!(!created.to_string().contains(secret));
    assert!(created.get("client_secret").is_none());
    // Stored sealed, and unsealed for the login flow.
    let stored = s.warden.provider("corp").await.unwrap();
    let sealed = stored.client_secret_sealed.clone().unwrap();
    assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));
    assert_eq!(
        s.warden
            .client_secret(&stored)
            .unwrap()
            .as_deref()
            .map(String::as_str),
        Some(secret)
    );

    let (status, again) = call(
        s,
        Method::POST,
        "/admin/providers",
        &bearer,
        Some(corp(None)),
    )
    .await;
    assert_eq!(status, 409, "{again}");

    let github =
        json!({"id": "github", "display_name": "GitHub", "kind": "github", "client_id": "Iv1.abc"});
    let (status, gh) = call(s, Method::POST, "/admin/providers", &bearer, Some(github)).await;
    assert_eq!(status, 201, "{gh}");
    assert_eq!(gh["client_secret_set"], false);
    assert_eq!(gh["scopes"], json!(["read:user", "user:email"]));

    let (status, listed) = call(s, Method::GET, "/admin/providers", &bearer, None).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["corp", "github"]);
    assert!(!listed.to_string().contains(secret));

    let (status, one) = call(s, Method::GET, "/admin/providers/corp", &bearer, None).await;
    assert_eq!(status, 200);
    assert_eq!(one["issuer"], "https://sso.example.com/realms/corp");
    assert!(!one.to_string().contains(secret));

    // PUT replaces the settings; without client_secret the stored one is kept.
    let mut changed = corp(None);
    changed["display_name"] = json!("Corp");
    changed["enabled"] = json!(false);
    changed.as_object_mut().unwrap().remove("id");
    let (status, updated) = call(
        s,
        Method::PUT,
        "/admin/providers/corp",
        &bearer,
        Some(changed.clone()),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (
            updated["display_name"].as_str(),
            updated["enabled"].as_bool()
        ),
        (Some("Corp"), Some(false))
    );
    assert_eq!(updated["client_secret_set"], true);
    let stored = s.warden.provider("corp").await.unwrap();
    assert_eq!(
        s.warden
            .client_secret(&stored)
            .unwrap()
            .as_deref()
            .map(String::as_str),
        Some(secret)
    );
    // `null` removes it; another id in the body is refused.
    changed["client_secret"] = Value::Null;
    let (status, updated) = call(
        s,
        Method::PUT,
        "/admin/providers/corp",
        &bearer,
        Some(changed.clone()),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["client_secret_set"], false);
    changed["id"] = json!("other");
    let (status, _) = call(
        s,
        Method::PUT,
        "/admin/providers/corp",
        &bearer,
        Some(changed.clone()),
    )
    .await;
    assert_eq!(status, 422);

    changed.as_object_mut().unwrap().remove("id");
    for (method, path, body) in [
        (Method::GET, "/admin/providers/nope", None),
        (Method::PUT, "/admin/providers/nope", Some(changed.clone())),
        (Method::DELETE, "/admin/providers/nope", None),
        (Method::GET, "/admin/providers/NOT_A_SLUG", None),
    ] {
        let (status, body) = call(s, method.clone(), path, &bearer, body).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }

    let (status, _) = call(s, Method::DELETE, "/admin/providers/corp", &bearer, None).await;
    assert_eq!(status, 204);
    let (status, _) = call(s, Method::GET, "/admin/providers/corp", &bearer, None).await;
    assert_eq!(status, 404);

    s.warden.flush_audit().await;
    let (_, audit) = call(s, Method::GET, "/admin/audit?limit=1000", &bearer, None).await;
    let events: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for event in ["provider.created", "provider.updated", "provider.deleted"] {
        assert!(events.contains(&event), "{event} in {events:?}");
    }
    assert!(
        !audit.to_string().contains(secret),
        "the audit log never holds the secret"
    );
}

pub async fn upstream_provider_settings_are_validated(s: &Server) {
    use reqwest::Method;
    let root = admin(s).await;
    let bearer = Credential::Bearer(&root);
    let with = |field: &str, value: Value| {
        let mut body = corp(Some("secret"));
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = corp(Some("secret"));
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let long = "x".repeat(3000);
    let cases = [
        ("bad slug", with("id", json!("Corp_SSO"))),
        ("slug starting with -", with("id", json!("-corp"))),
        ("slug too long", with("id", json!("a".repeat(33)))),
        ("unknown kind", with("kind", json!("saml"))),
        ("oidc without issuer", without("issuer")),
        (
            "http issuer",
            with("issuer", json!("http://sso.example.com")),
        ),
        (
            "issuer with a fragment",
            with("issuer", json!("https://sso.example.com/#x")),
        ),
        ("not a URL", with("issuer", json!("sso.example.com"))),
        (
            "huge URL",
            with("issuer", json!(format!("https://example.com/{long}"))),
        ),
        (
            "http endpoint",
            with("token_endpoint", json!("http://10.0.0.1/token")),
        ),
        (
            "api_base on oidc",
            with("api_base", json!("https://api.example.com")),
        ),
        ("empty name", with("display_name", json!(""))),
        ("long name", with("display_name", json!("n".repeat(101)))),
        ("long client id", with("client_id", json!("c".repeat(257)))),
        (
            "huge secret",
            with("client_secret", json!("s".repeat(1025))),
        ),
        (
            "control characters",
            with("client_secret", json!("a\u{1}b")),
        ),
        (
            "scope that is no token",
            with("scopes", json!(["openid", "a b"])),
        ),
        ("oidc without openid", with("scopes", json!(["email"]))),
        (
            "too many scopes",
            with(
                "scopes",
                json!((0..33).map(|i| format!("s{i}")).collect::<Vec<_>>()),
            ),
        ),
        (
            "unknown role",
            with("role_map", json!({"staff": "no-such-role"})),
        ),
        ("role map without a claim", without("roles_claim")),
        ("bad claim", with("roles_claim", json!("a b"))),
        ("unknown field", with("client_secret_hash", json!("x"))),
        ("wrong type", with("allow_signup", json!("yes"))),
        ("NUL", with("display_name", json!("a\u{0}b"))),
        ("missing id", without("id")),
    ];
    for (what, body) in cases {
        let (status, answer) = call(s, Method::POST, "/admin/providers", &bearer, Some(body)).await;
        assert_eq!(status, 422, "{what}: {answer}");
        assert!(
            answer["detail"].is_string() || answer["detail"].is_array(),
            "{what}: {answer}"
        );
    }
    // GitHub: no issuer; http only on loopback.
    let gh = |extra: Value| {
        let mut body =
            json!({"id": "gh", "display_name": "GitHub", "kind": "github", "client_id": "x"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let (status, _) = call(
        s,
        Method::POST,
        "/admin/providers",
        &bearer,
        Some(gh(json!({"issuer": "https://github.com"}))),
    )
    .await;
    assert_eq!(status, 422);
    let (status, body) = call(
        s,
        Method::POST,
        "/admin/providers",
        &bearer,
        Some(gh(json!({"api_base": "http://127.0.0.1:9999", "token_endpoint": "http://localhost:9999/t"}))),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // A body over the limit is refused before it is read.
    let huge = json!({"id": "big", "display_name": "x".repeat(100 * 1024)});
    let (status, _) = call(s, Method::POST, "/admin/providers", &bearer, Some(huge)).await;
    assert!(status == 413 || status == 422, "{status}");
    assert!(s.warden.list_providers().await.unwrap().len() == 1);
}

/// A user of `role` with an API key granting `me`, and the key.
async fn member_with_key(s: &Server, user: &User) -> String {
    let created = s
        .warden
        .create_api_key(
            user,
            NewApiKey {
                name: "test".into(),
                scopes: vec!["me".into()],
                expires_in: None,
            },
            None,
        )
        .await
        .unwrap();
    created.key.as_str().to_owned()
}

fn linked(provider: &str, subject: &str, user: &User) -> LinkedIdentity {
    LinkedIdentity {
        provider_id: provider.into(),
        subject: subject.into(),
        user_id: user.id.clone(),
        email: Some(format!("{subject}@upstream.example")),
        email_verified: true,
        linked_at: warden_server::domain::now(),
        last_login_at: None,
    }
}

async fn provider(s: &Server, id: &str) {
    s.warden
        .create_provider(
            warden_server::domain::ProviderSettings {
                id: id.into(),
                display_name: id.into(),
                kind: warden_server::domain::ProviderKind::GitHub,
                issuer: None,
                authorization_endpoint: None,
                token_endpoint: None,
                userinfo_endpoint: None,
                jwks_uri: None,
                api_base: None,
                client_id: "client".into(),
                scopes: vec![],
                allow_signup: true,
                trust_email: false,
                trust_mfa: false,
                roles_claim: None,
                role_map: Default::default(),
                enabled: true,
            },
            None,
            None,
        )
        .await
        .unwrap();
}

pub async fn users_list_and_unlink_identities_but_never_the_last_way_in(s: &Server) {
    use reqwest::Method;
    let root = admin(s).await;
    let admin_bearer = Credential::Bearer(&root);
    s.role("member", &["me"]).await;
    provider(s, "corp").await;
    provider(s, "github").await;

    // A user with a password: every identity may go.
    let password = s.user("pat", &["member"]).await;
    let pat = s.warden.user("pat").await.unwrap();
    s.warden
        .storage()
        .link_identity(&linked("corp", "p-1", &pat))
        .await
        .unwrap();
    s.warden
        .storage()
        .link_identity(&linked("github", "p-2", &pat))
        .await
        .unwrap();
    let token = login(s, "pat", &password, None).await;
    let me = Credential::Bearer(&token);
    let (status, listed) = call(s, Method::GET, "/users/me/identities", &me, None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed[0]["provider_id"], "corp");
    assert_eq!(listed[0]["subject"], "p-1");
    assert_eq!(listed[1]["provider_id"], "github");
    let (status, _) = call(s, Method::DELETE, "/users/me/identities/corp", &me, None).await;
    assert_eq!(status, 204);
    let (status, _) = call(s, Method::DELETE, "/users/me/identities/corp", &me, None).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        s,
        Method::DELETE,
        "/users/me/identities/Bad_Slug",
        &me,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(s, Method::DELETE, "/users/me/identities/github", &me, None).await;
    assert_eq!(status, 204, "a password is left");
    let (_, listed) = call(s, Method::GET, "/users/me/identities", &me, None).await;
    assert_eq!(listed, json!([]));

    // An account made through an upstream: no usable password.
    let now = warden_server::domain::now();
    let upstream_only = User {
        id: uuid::Uuid::new_v4().to_string(),
        username: "uma".into(),
        email: Some("uma@upstream.example".into()),
        email_verified: true,
        password_hash: NO_PASSWORD.into(),
        disabled: false,
        roles: vec!["member".into()],
        created_at: now,
        updated_at: now,
    };
    s.warden
        .storage()
        .create_user_with_identity(&upstream_only, &linked("corp", "u-1", &upstream_only))
        .await
        .unwrap();
    s.warden
        .storage()
        .link_identity(&linked("github", "u-2", &upstream_only))
        .await
        .unwrap();
    let key = member_with_key(s, &upstream_only).await;
    let uma = Credential::Key(&key);
    let (status, _) = call(s, Method::DELETE, "/users/me/identities/github", &uma, None).await;
    assert_eq!(status, 204, "another identity is left");
    let (status, body) = call(s, Method::DELETE, "/users/me/identities/corp", &uma, None).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("only way to sign in")
    );
    let (status, body) = call(
        s,
        Method::DELETE,
        "/admin/users/uma/identities/corp",
        &admin_bearer,
        None,
    )
    .await;
    assert_eq!(status, 409, "administrators too: {body}");
    let (status, listed) = call(
        s,
        Method::GET,
        "/admin/users/uma/identities",
        &admin_bearer,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["email_verified"], true);
    let (status, _) = call(
        s,
        Method::GET,
        "/admin/users/nobody/identities",
        &admin_bearer,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        s,
        Method::DELETE,
        "/admin/users/uma/identities/github",
        &admin_bearer,
        None,
    )
    .await;
    assert_eq!(status, 404);
    // The identity route needs the admin scope.
    let (status, _) = call(s, Method::GET, "/admin/users/uma/identities", &uma, None).await;
    assert_eq!(status, 403);

    // The password grant answers the marker exactly as a wrong password, never a 5xx.
    let (marker_status, marker_body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "uma"),
            ("password", NO_PASSWORD),
        ])
        .await;
    let (wrong_status, wrong_body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "pat"),
            ("password", "not-the-password"),
        ])
        .await;
    assert_eq!((marker_status, wrong_status), (400, 400));
    assert_eq!(marker_body, wrong_body);
    let (status, _) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "uma"),
            ("password", "anything at all here"),
        ])
        .await;
    assert_eq!(status, 400);

    // Deleting a provider takes its identities with it.
    let (status, _) = call(
        s,
        Method::DELETE,
        "/admin/providers/corp",
        &admin_bearer,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, listed) = call(s, Method::GET, "/users/me/identities", &uma, None).await;
    assert_eq!(listed, json!([]));
}

pub async fn admins_mark_addresses_verified_and_a_new_address_is_not(s: &Server) {
    use reqwest::Method;
    let root = admin(s).await;
    let bearer = Credential::Bearer(&root);
    let password = s
        .user_with_email("vera", "vera@example.com", &["admin"])
        .await;
    let (status, user) = call(s, Method::GET, "/admin/users/vera", &bearer, None).await;
    assert_eq!(status, 200);
    assert_eq!(user["email_verified"], false);
    let (status, user) = call(
        s,
        Method::PATCH,
        "/admin/users/vera",
        &bearer,
        Some(json!({"email_verified": true})),
    )
    .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["email_verified"], true);
    let token = login(s, "vera", &password, None).await;
    let me = Credential::Bearer(&token);
    let (_, user) = call(s, Method::GET, "/users/me", &me, None).await;
    assert_eq!(user["email_verified"], true);
    let (status, user) = call(
        s,
        Method::PATCH,
        "/users/me",
        &me,
        Some(json!({"email": "vera@elsewhere.example"})),
    )
    .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        user["email_verified"], false,
        "a changed address is unverified"
    );
    // No address, nothing to verify.
    s.user("nomail", &[]).await;
    let (status, _) = call(
        s,
        Method::PATCH,
        "/admin/users/nomail",
        &bearer,
        Some(json!({"email_verified": true})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = call(
        s,
        Method::PATCH,
        "/admin/users/vera",
        &bearer,
        Some(json!({"email_verified": "yes"})),
    )
    .await;
    assert_eq!(status, 422);
}

/// `[[upstream_providers]]` applied at start-up twice, and by two instances at once: one
/// provider, its settings and secret as configured, never a duplicate or a failure.
#[tokio::test]
async fn upstream_providers_from_the_configuration_are_applied_idempotently() {
    let dir = std::env::temp_dir().join(format!("warden-upstream-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = r#"
        [[upstream_providers]]
        id = "corp"
        display_name = "Corporate SSO"
        kind = "oidc"
        issuer = "https://sso.example.com"
        client_id = "warden"
        client_secret_env = "UPSTREAM_TEST_CORP_SECRET"
        allow_signup = true

        [[upstream_providers]]
        id = "github"
        display_name = "GitHub"
        kind = "github"
        client_id = "Iv1.abc"
        client_secret = "gh-secret"
    "#;
    let file = dir.join("warden.toml");
    std::fs::write(&file, toml).unwrap();
    // SAFETY of the test: no other test reads this variable.
    unsafe { std::env::set_var("UPSTREAM_TEST_CORP_SECRET", "corp-secret") };
    let mut config = warden_server::config::Config::load(Some(&file)).unwrap();
    config.database_url = format!("sqlite://{}?mode=rwc", dir.join("warden.db").display());
    config.master_key_file = dir.join("warden.key");
    assert_eq!(config.upstream_providers.len(), 2);
    assert!(
        !format!("{config:?}").contains("gh-secret"),
        "the secret is never printed"
    );

    let first = warden_server::server::open(&config).await.unwrap();
    warden_server::server::apply_upstream_providers(&first, &config)
        .await
        .unwrap();
    let before = first.list_providers().await.unwrap();
    // A restart, and two instances starting together.
    let second = warden_server::server::open(&config).await.unwrap();
    let third = warden_server::server::open(&config).await.unwrap();
    let (a, b) = tokio::join!(
        warden_server::server::apply_upstream_providers(&second, &config),
        warden_server::server::apply_upstream_providers(&third, &config),
    );
    a.unwrap();
    b.unwrap();
    let after = second.list_providers().await.unwrap();
    assert_eq!(after.len(), 2);
    assert_eq!(after[0].id, "corp");
    assert_eq!(after[0].created_at, before[0].created_at);
    assert!(after[0].allow_signup);
    assert_eq!(
        second
            .client_secret(&after[0])
            .unwrap()
            .as_deref()
            .map(String::as_str),
        Some("corp-secret")
    );
    assert_eq!(
        first
            .client_secret(&after[1])
            .unwrap()
            .as_deref()
            .map(String::as_str),
        Some("gh-secret")
    );

    // Bad settings stop start-up, named.
    let mut bad = config.clone();
    bad.upstream_providers[0].issuer = Some("http://sso.example.com".into());
    let error = warden_server::server::apply_upstream_providers(&first, &bad)
        .await
        .unwrap_err();
    assert!(
        error.contains("upstream_providers") && error.contains("corp") && error.contains("issuer"),
        "{error}"
    );
    let mut bad = config.clone();
    bad.upstream_providers[0].client_secret_env = Some("UPSTREAM_TEST_UNSET".into());
    let error = warden_server::server::apply_upstream_providers(&first, &bad)
        .await
        .unwrap_err();
    assert!(error.contains("client_secret_env"), "{error}");
    let mut bad = config.clone();
    bad.upstream_providers[1].id = "corp".into();
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .contains("upstream_providers")
    );
    let mut bad = config.clone();
    bad.upstream_providers[1].kind = "saml".into();
    assert!(bad.validate().unwrap_err().to_string().contains("kind"));

    drop((first, second, third));
    let _ = std::fs::remove_dir_all(&dir);
}
