//! API keys: creation, use in `X-API-Key`, listing without secrets, revocation, expiry,
//! malformed keys, disabled owners; and `warden apikey create` from the built binary.

use serde_json::{Value, json};
use warden_server::storage::{ApiKey, Storage};

use crate::backend::Server;

/// Logs in with the password grant (optionally asking for `scope`); the access token.
pub async fn login(s: &Server, username: &str, password: &str, scope: Option<&str>) -> String {
    let mut form = vec![
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let (status, body) = s.token(&form).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// POSTs `/users/me/api-keys` with `credential` (`Bearer …` token, or a key); (status, body).
pub async fn create_key(s: &Server, credential: &Credential<'_>, body: Value) -> (u16, Value) {
    let response = credential
        .apply(s.client.post(s.url("/users/me/api-keys")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Creates a key that must succeed; (id, key).
pub async fn new_key(s: &Server, token: &str, scopes: &[&str]) -> (String, String) {
    let (status, body) = create_key(
        s,
        &Credential::Bearer(token),
        json!({"name": "test", "scopes": scopes}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (
        body["id"].as_str().unwrap().to_owned(),
        body["key"].as_str().unwrap().to_owned(),
    )
}

/// How a test request authenticates.
pub enum Credential<'a> {
    Bearer(&'a str),
    Key(&'a str),
}

impl Credential<'_> {
    pub fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Self::Bearer(token) => request.bearer_auth(token),
            Self::Key(key) => request.header("x-api-key", *key),
        }
    }
}

/// GET `path` with an API key; the status.
pub async fn get_with_key(s: &Server, path: &str, key: &str) -> u16 {
    s.client
        .get(s.url(path))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

pub async fn api_key_authenticates_and_is_listed_without_secret(s: &Server) {
    s.role("reader", &["me", "items"]).await;
    let password = s.user("kim", &["reader"]).await;
    let token = login(s, "kim", &password, None).await;

    let response = s
        .client
        .post(s.url("/users/me/api-keys"))
        .bearer_auth(&token)
        .json(&json!({"name": "ci", "scopes": ["items"], "expires_in_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(
        key.starts_with(&format!("wdn_{id}_")),
        "the key embeds its id"
    );
    assert_eq!(created["name"], "ci");
    assert_eq!(created["scopes"], json!(["items"]));
    let expires_at = created["expires_at"].as_i64().unwrap();
    let in_30_days = warden_server::domain::now() + 30 * 24 * 3600;
    assert!((in_30_days - 5..=in_30_days + 5).contains(&expires_at));

    let me = s
        .client
        .get(s.url("/users/me"))
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["username"], "kim");

    // Listed, by a token or by the key itself, without any key material.
    for credential in [Credential::Bearer(&token), Credential::Key(&key)] {
        let list = credential
            .apply(s.client.get(s.url("/users/me/api-keys")))
            .send()
            .await
            .unwrap();
        assert_eq!(list.status(), 200);
        let text = list.text().await.unwrap();
        assert!(!text.contains(&key), "the key is never shown again");
        assert!(
            !text.contains(&key[key.len() - 30..]),
            "nor its secret part"
        );
        let list: Value = serde_json::from_str(&text).unwrap();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["id"], id.as_str());
        assert_eq!(list[0]["scopes"], json!(["items"]));
        assert!(list[0].get("key").is_none() && list[0].get("hash").is_none());
        assert!(
            list[0]["last_used_at"].is_i64(),
            "last use recorded: {}",
            list[0]
        );
        assert!(list[0]["revoked_at"].is_null());
    }

    // Stored as a hash only.
    let stored = s.warden.storage().api_key(&id).await.unwrap().unwrap();
    assert_eq!(stored.hash.len(), 64);
    assert!(!key.contains(&stored.hash));
}

pub async fn api_key_scopes_stay_within_roles_and_the_caller(s: &Server) {
    s.role("reader", &["me", "items"]).await;
    let password = s.user("lee", &["reader"]).await;
    let token = login(s, "lee", &password, None).await;
    let bearer = Credential::Bearer(&token);

    let (status, body) = create_key(s, &bearer, json!({"name": "x", "scopes": ["admin"]})).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (400, Some("Scope not granted")),
        "beyond the roles"
    );
    for (case, body) in [
        ("empty name", json!({"name": "", "scopes": []})),
        ("unknown field", json!({"name": "x", "owner": "root"})),
        ("zero days", json!({"name": "x", "expires_in_days": 0})),
        (
            "too many days",
            json!({"name": "x", "expires_in_days": 100000}),
        ),
        ("not a list", json!({"name": "x", "scopes": "items"})),
    ] {
        let (status, _) = create_key(s, &bearer, body).await;
        assert_eq!(status, 422, "{case}");
    }

    // A token narrowed to `items` cannot mint a key for `me`, though the role grants it.
    let narrow = login(s, "lee", &password, Some("items")).await;
    let (status, _) = create_key(
        s,
        &Credential::Bearer(&narrow),
        json!({"name": "x", "scopes": ["me"]}),
    )
    .await;
    assert_eq!(status, 400);
    // Nor can a key with `items` only.
    let (_, items_key) = new_key(s, &token, &["items"]).await;
    let by_key = Credential::Key(&items_key);
    let (status, _) = create_key(s, &by_key, json!({"name": "x", "scopes": ["me"]})).await;
    assert_eq!(status, 400);
    let (status, body) = create_key(s, &by_key, json!({"name": "x", "scopes": ["items"]})).await;
    assert_eq!(status, 201, "{body}");
    // Without scopes: still identifies the user.
    let (_, bare) = new_key(s, &token, &[]).await;
    assert_eq!(get_with_key(s, "/users/me", &bare).await, 200);
}

pub async fn revoked_and_expired_keys_are_refused(s: &Server) {
    let password = s.user("max", &[]).await;
    let token = login(s, "max", &password, None).await;
    let (id, key) = new_key(s, &token, &[]).await;
    assert_eq!(get_with_key(s, "/users/me", &key).await, 200);

    // Somebody else's key is not found, and stays valid.
    let other_password = s.user("ned", &[]).await;
    let other = login(s, "ned", &other_password, None).await;
    let delete = |token: String, id: String| {
        s.client
            .delete(s.url(&format!("/users/me/api-keys/{id}")))
            .bearer_auth(token)
            .send()
    };
    let status = delete(other.clone(), id.clone()).await.unwrap().status();
    assert_eq!(status, 404);
    assert_eq!(get_with_key(s, "/users/me", &key).await, 200);
    let status = delete(token.clone(), "00000000000".into())
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);

    let status = delete(token.clone(), id.clone()).await.unwrap().status();
    assert_eq!(status, 204);
    let refused = s
        .client
        .get(s.url("/users/me"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "APIKey");
    let status = delete(token.clone(), id.clone()).await.unwrap().status();
    assert_eq!(status, 204, "revoking twice changes nothing");

    // Expired: a record written directly, once valid and once past its expiry.
    let user = s
        .warden
        .storage()
        .user_by_username("max")
        .await
        .unwrap()
        .unwrap();
    let now = warden_server::domain::now();
    for (expires_at, expected) in [(now + 3600, 200), (now - 1, 401)] {
        let keys = warden::api_keys::ApiKeys::new("wdn").unwrap();
        let (plaintext, stored) = keys.generate().unwrap();
        let hash: String = stored.hash.iter().map(|b| format!("{b:02x}")).collect();
        s.warden
            .storage()
            .insert_api_key(&ApiKey {
                id: stored.id.clone(),
                user_id: user.id.clone(),
                name: "direct".into(),
                hash,
                scopes: vec![],
                created_at: now - 7200,
                expires_at: Some(expires_at),
                last_used_at: None,
                revoked_at: None,
            })
            .await
            .unwrap();
        assert_eq!(
            get_with_key(s, "/users/me", plaintext.as_str()).await,
            expected,
            "expires_at {expires_at}, now {now}"
        );
    }
}

pub async fn malformed_and_unknown_keys_are_refused(s: &Server) {
    let password = s.user("ola", &[]).await;
    let token = login(s, "ola", &password, None).await;
    let (_, key) = new_key(s, &token, &[]).await;

    // One character of the secret changed: the checksum catches it before any lookup.
    let mut typo = key.clone().into_bytes();
    let at = typo.len() - 10;
    typo[at] = if typo[at] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    // Well formed, right checksum, but never stored.
    let (unknown, _) = warden::api_keys::ApiKeys::new("wdn")
        .unwrap()
        .generate()
        .unwrap();
    let truncated = &key[..key.len() - 1];
    let other_prefix = key.replacen("wdn_", "ghp_", 1);
    for (case, candidate) in [
        ("typo", typo.as_str()),
        ("truncated", truncated),
        ("other prefix", other_prefix.as_str()),
        ("garbage", "wdn_nope"),
        ("unknown", unknown.as_str()),
        ("too long", &"a".repeat(2000)),
    ] {
        assert_eq!(get_with_key(s, "/users/me", candidate).await, 401, "{case}");
    }
    assert_eq!(get_with_key(s, "/users/me", &key).await, 200);

    // Nothing at all: both schemes are offered.
    let missing = s.client.get(s.url("/users/me")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let challenges: Vec<_> = missing
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
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

pub async fn disabled_users_keys_are_refused(s: &Server) {
    s.role("reader", &["me"]).await;
    let password = s.user("pia", &["reader"]).await;
    let token = login(s, "pia", &password, None).await;
    let (_, key) = new_key(s, &token, &["me"]).await;
    assert_eq!(get_with_key(s, "/users/me", &key).await, 200);
    s.warden.set_disabled("pia", true).await.unwrap();
    assert_eq!(get_with_key(s, "/users/me", &key).await, 401);
    assert_eq!(
        get_with_key(s, "/users/me/api-keys", &key).await,
        401,
        "refused everywhere"
    );
    s.warden.set_disabled("pia", false).await.unwrap();
    assert_eq!(
        get_with_key(s, "/users/me", &key).await,
        200,
        "checked on each request"
    );
}
