//! The administrator API: the `admin` scope on every route, users and roles, the audit log,
//! and the OpenAPI document of both schemes.

use serde_json::{Value, json};

use crate::api_keys::{Credential, get_with_key, login, new_key};
use crate::backend::Server;

/// Every administrator route, with a body where it takes one.
fn admin_routes() -> Vec<(reqwest::Method, &'static str, Option<Value>)> {
    use reqwest::Method;
    vec![
        (Method::GET, "/admin/users", None),
        (Method::GET, "/admin/users/somebody", None),
        (
            Method::PATCH,
            "/admin/users/somebody",
            Some(json!({"disabled": true})),
        ),
        (Method::DELETE, "/admin/users/somebody", None),
        (Method::POST, "/admin/users/somebody/factors/reset", None),
        (Method::GET, "/admin/roles", None),
        (
            Method::PUT,
            "/admin/roles/somerole",
            Some(json!({"scopes": ["x"]})),
        ),
        (Method::GET, "/admin/api-keys", None),
        (Method::DELETE, "/admin/api-keys/00000000000", None),
        (Method::GET, "/admin/audit", None),
        (Method::GET, "/admin/clients", None),
        (
            Method::POST,
            "/admin/clients",
            Some(json!({"name": "x", "grant_types": ["client_credentials"]})),
        ),
        (Method::GET, "/admin/clients/someclient", None),
        (Method::DELETE, "/admin/clients/someclient", None),
        (Method::GET, "/admin/providers", None),
        (
            Method::POST,
            "/admin/providers",
            Some(json!({"id": "x", "display_name": "x", "kind": "github", "client_id": "x"})),
        ),
        (Method::GET, "/admin/providers/someprovider", None),
        (
            Method::PUT,
            "/admin/providers/someprovider",
            Some(json!({"display_name": "x", "kind": "github", "client_id": "x"})),
        ),
        (Method::DELETE, "/admin/providers/someprovider", None),
        (Method::GET, "/admin/users/somebody/identities", None),
        (
            Method::DELETE,
            "/admin/users/somebody/identities/someprovider",
            None,
        ),
    ]
}

/// An administrator `root` (role `admin`: `admin`, `me`); (token, password).
async fn admin_login(s: &Server) -> (String, String) {
    s.role("admin", &["admin", "me"]).await;
    let password = s.user("root", &["admin"]).await;
    (login(s, "root", &password, None).await, password)
}

/// An administrator's token.
async fn admin(s: &Server) -> String {
    admin_login(s).await.0
}

/// A request to `path` as `credential`; (status, JSON body).
async fn call(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    credential: Option<&Credential<'_>>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = s.client.request(method, s.url(path));
    if let Some(credential) = credential {
        request = credential.apply(request);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn admin_routes_need_the_admin_scope(s: &Server) {
    let (root, root_password) = admin_login(s).await;
    s.role("reader", &["me", "items"]).await;
    let password = s.user("rae", &["reader"]).await;
    let plain = login(s, "rae", &password, None).await;

    for (method, path, body) in admin_routes() {
        let (status, _) = call(s, method.clone(), path, None, body.clone()).await;
        assert_eq!(status, 401, "{method} {path} without credentials");
        let response = Credential::Bearer(&plain)
            .apply(s.client.request(method.clone(), s.url(path)))
            .json(&body.unwrap_or(Value::Null))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{method} {path} without `admin`");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains(r#"error="insufficient_scope""#) && challenge.contains("admin"),
            "{challenge}"
        );
    }

    let (status, body) = call(
        s,
        reqwest::Method::GET,
        "/admin/users",
        Some(&Credential::Bearer(&root)),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // An administrator's token narrowed to `me` is no administrator's token.
    let root_me_only = login(s, "root", &root_password, Some("me")).await;
    let (status, _) = call(
        s,
        reqwest::Method::GET,
        "/admin/users",
        Some(&Credential::Bearer(&root_me_only)),
        None,
    )
    .await;
    assert_eq!(status, 403);

    // API keys carry their own scopes.
    let (_, me_key) = new_key(s, &root, &["me"]).await;
    let (_, admin_key) = new_key(s, &root, &["admin"]).await;
    assert_eq!(get_with_key(s, "/admin/users", &me_key).await, 403);
    assert_eq!(get_with_key(s, "/admin/users", &admin_key).await, 200);
    // Taking the role away narrows the key at once.
    s.role("admin", &["me"]).await;
    assert_eq!(get_with_key(s, "/admin/users", &admin_key).await, 403);
    assert_eq!(get_with_key(s, "/users/me", &admin_key).await, 200);
}

pub async fn admins_manage_users_and_roles(s: &Server) {
    let root = admin(s).await;
    let bearer = Credential::Bearer(&root);
    let admin_call = |method: reqwest::Method, path: String, body: Option<Value>| {
        let bearer = &bearer;
        async move { call(s, method, &path, Some(bearer), body).await }
    };
    use reqwest::Method;

    for name in ["u1", "u2", "u3"] {
        s.user(name, &[]).await;
    }
    // Pages, in username order: root, u1 | u2, u3 | (end).
    let (status, page) = admin_call(Method::GET, "/admin/users?limit=2".into(), None).await;
    assert_eq!(status, 200);
    let names = |page: &Value| -> Vec<String> {
        page["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&page), ["root", "u1"]);
    assert_eq!(page["next"], "u1");
    let (_, page) = admin_call(Method::GET, "/admin/users?limit=2&after=u1".into(), None).await;
    assert_eq!(names(&page), ["u2", "u3"]);
    let (_, page) = admin_call(Method::GET, "/admin/users?limit=2&after=u3".into(), None).await;
    assert_eq!(names(&page), Vec::<String>::new());
    assert!(page["next"].is_null());
    let (status, page) = admin_call(Method::GET, "/admin/users?limit=100000".into(), None).await;
    assert_eq!(
        (status, names(&page).len()),
        (200, 4),
        "capped, not refused"
    );
    assert!(
        page.to_string().find("password").is_none(),
        "no password hashes"
    );

    let (status, user) = admin_call(Method::GET, "/admin/users/u1".into(), None).await;
    assert_eq!((status, user["username"].as_str()), (200, Some("u1")));
    let (status, _) = admin_call(Method::GET, "/admin/users/nobody".into(), None).await;
    assert_eq!(status, 404);

    // Roles.
    let (status, role) = admin_call(
        Method::PUT,
        "/admin/roles/editor".into(),
        Some(json!({"scopes": ["me", "items:write", "me"]})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        role,
        json!({"name": "editor", "scopes": ["me", "items:write"], "require_mfa": false})
    );
    let (status, _) = admin_call(
        Method::PUT,
        "/admin/roles/bad%20name".into(),
        Some(json!({"scopes": []})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = admin_call(
        Method::PUT,
        "/admin/roles/odd".into(),
        Some(json!({"scopes": ["has space"]})),
    )
    .await;
    assert_eq!(status, 422);
    let (_, roles) = admin_call(Method::GET, "/admin/roles".into(), None).await;
    assert!(roles.as_array().unwrap().contains(&role));

    // Re-roling: the new scopes apply at the next login.
    let password = s.user("sam", &[]).await;
    let (status, user) = admin_call(
        Method::PATCH,
        "/admin/users/sam".into(),
        Some(json!({"roles": ["editor"]})),
    )
    .await;
    assert_eq!((status, &user["roles"]), (200, &json!(["editor"])));
    let (status, _) = admin_call(
        Method::PATCH,
        "/admin/users/sam".into(),
        Some(json!({"roles": ["no-such-role"]})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = admin_call(
        Method::PATCH,
        "/admin/users/sam".into(),
        Some(json!({"disabled": "yes"})),
    )
    .await;
    assert_eq!(status, 422);
    let (_, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "sam"),
            ("password", &password),
        ])
        .await;
    assert_eq!(body["scope"], "items:write me");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (_, key) = new_key(s, &token, &["items:write"]).await;

    // Disabled: token, key and password all refused; enabled again: all work.
    let (status, user) = admin_call(
        Method::PATCH,
        "/admin/users/sam".into(),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!((status, user["disabled"].as_bool()), (200, Some(true)));
    assert_eq!(s.me(&token).await, 401);
    assert_eq!(get_with_key(s, "/users/me", &key).await, 401);
    let (status, _) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "sam"),
            ("password", &password),
        ])
        .await;
    assert_eq!(status, 400);
    let (status, _) = admin_call(
        Method::PATCH,
        "/admin/users/sam".into(),
        Some(json!({"disabled": false})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(s.me(&token).await, 200);
    assert_eq!(get_with_key(s, "/users/me", &key).await, 200);

    // Nobody locks themselves out.
    let (status, _) = admin_call(
        Method::PATCH,
        "/admin/users/root".into(),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = admin_call(Method::DELETE, "/admin/users/root".into(), None).await;
    assert_eq!(status, 422);

    // Every key, by an administrator; any key revoked by one.
    let (status, keys) = admin_call(Method::GET, "/admin/api-keys".into(), None).await;
    assert_eq!(status, 200);
    let keys = keys.as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert!(!Value::Array(keys.clone()).to_string().contains(&key));
    let key_id = keys[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = admin_call(Method::DELETE, format!("/admin/api-keys/{key_id}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(get_with_key(s, "/users/me", &key).await, 401);

    // Deleted: gone, with their sessions.
    let (status, _) = admin_call(Method::DELETE, "/admin/users/sam".into(), None).await;
    assert_eq!(status, 204);
    assert_eq!(s.me(&token).await, 401);
    let (status, _) = admin_call(Method::GET, "/admin/users/sam".into(), None).await;
    assert_eq!(status, 404);
    let (status, _) = admin_call(Method::DELETE, "/admin/users/sam".into(), None).await;
    assert_eq!(status, 404);
}

pub async fn audit_log_has_logins_and_keys_but_no_secrets(s: &Server) {
    let root = admin(s).await;
    let password = s.user("tom", &[]).await;
    let token = login(s, "tom", &password, None).await;
    let (status, _) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "tom"),
            ("password", "not tom's password"),
        ])
        .await;
    assert_eq!(status, 400);
    let (id, key) = new_key(s, &token, &[]).await;
    assert_eq!(get_with_key(s, "/users/me", &key).await, 200);
    let revoked = s
        .client
        .delete(s.url(&format!("/users/me/api-keys/{id}")))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204, "a key may revoke itself");

    let audit = |query: &'static str| {
        let root = root.clone();
        async move {
            let response = s
                .client
                .get(s.url(&format!("/admin/audit{query}")))
                .bearer_auth(root)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    let text = audit("").await;
    for secret in [
        key.as_str(),
        &key[key.len() - 30..],
        password.as_str(),
        &token,
    ] {
        assert!(!text.contains(secret), "a secret in the audit log");
    }
    let events: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for expected in [
        "login.success",
        "login.failure",
        "apikey.created",
        "apikey.revoked",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let created = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "apikey.created")
        .unwrap();
    assert!(created["detail"].as_str().unwrap().contains(&id));

    // Filters.
    let tom = s.warden.user("tom").await.unwrap();
    let only: Value = serde_json::from_str(&audit("?event=apikey.created").await).unwrap();
    assert!(
        only.as_array()
            .unwrap()
            .iter()
            .all(|e| e["event"] == "apikey.created")
    );
    let by_tom = s
        .client
        .get(s.url("/admin/audit"))
        .query(&[("actor", tom.id.as_str())])
        .bearer_auth(&root)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let by_tom = by_tom.as_array().unwrap();
    assert!(by_tom.len() >= 3, "login, key created, key revoked");
    assert!(by_tom.iter().all(|e| e["actor"] == tom.id.as_str()));
    let one: Value = serde_json::from_str(&audit("?limit=1").await).unwrap();
    assert_eq!(one.as_array().unwrap().len(), 1);
    let future: Value = serde_json::from_str(&audit("?since=99999999999").await).unwrap();
    assert_eq!(future, json!([]));
}

pub async fn openapi_documents_both_schemes_and_the_admin_scope(s: &Server) {
    let doc: Value = s
        .client
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = &doc["paths"];
    assert_eq!(
        paths["/users/me"]["get"]["security"],
        json!([{"DPoP": []}, {"OAuth2PasswordBearer": []}, {"APIKeyHeader": []}]),
        "either scheme, as alternatives"
    );
    assert_eq!(
        paths["/admin/users"]["get"]["security"],
        json!([{"DPoP": ["admin"]}, {"OAuth2PasswordBearer": ["admin"]}, {"APIKeyHeader": ["admin"]}])
    );
    for (path, method) in [
        ("/users/me/api-keys", "post"),
        ("/users/me/api-keys", "get"),
        ("/users/me/api-keys/{id}", "delete"),
        ("/admin/users/{username}", "patch"),
        ("/admin/roles/{name}", "put"),
        ("/admin/audit", "get"),
    ] {
        let operation = &paths[path][method];
        assert!(operation.is_object(), "{method} {path} documented");
        let security = operation["security"].as_array().unwrap();
        assert_eq!(security.len(), 3, "{method} {path}: {security:?}");
    }
    assert_eq!(paths["/admin/audit"]["get"]["tags"], json!(["admin"]));
    assert_eq!(
        paths["/users/me/api-keys"]["post"]["tags"],
        json!(["api-keys"])
    );
    let scheme = &doc["components"]["securitySchemes"]["APIKeyHeader"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], "X-API-Key");
    let scheme = &doc["components"]["securitySchemes"]["DPoP"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"]),
        (&json!("http"), &json!("DPoP"))
    );
}

pub async fn admins_register_and_delete_clients(s: &Server) {
    let root = admin(s).await;
    let bearer = Credential::Bearer(&root);
    use reqwest::Method;

    // A confidential client: its secret is in the answer once, and works at /token.
    let (status, created) = call(
        s,
        Method::POST,
        "/admin/clients",
        Some(&bearer),
        Some(json!({"name": "Billing", "grant_types": ["client_credentials"], "scopes": ["reports"]})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(created["id_token_alg"], "RS256");
    let (status, token) = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(status, 200, "{token}");

    // Listed and read back without any secret material.
    let (status, one) = call(
        s,
        Method::GET,
        &format!("/admin/clients/{id}"),
        Some(&bearer),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["name"], "Billing");
    assert!(
        one.get("client_secret").is_none() && one.get("secret_hash").is_none(),
        "{one}"
    );
    let (status, list) = call(s, Method::GET, "/admin/clients", Some(&bearer), None).await;
    assert_eq!(status, 200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == id.as_str())
    );
    assert!(!list.to_string().contains(&secret));

    // A public code-flow client with a loopback and a private-use redirect URI.
    let (status, spa) = call(
        s,
        Method::POST,
        "/admin/clients",
        Some(&bearer),
        Some(json!({"name": "SPA", "public": true,
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": ["http://127.0.0.1/cb", "com.example.app:/cb", "https://app.example.com/cb"],
            "post_logout_redirect_uris": ["https://app.example.com/"],
            "first_party": true, "id_token_alg": "EdDSA"})),
    )
    .await;
    assert_eq!(status, 201, "{spa}");
    assert_eq!(spa["client_secret"], Value::Null);
    assert_eq!(spa["first_party"], true);

    // Bad metadata is refused with 422, nothing registered.
    for bad in [
        json!({"name": "a", "grant_types": ["authorization_code"]}),
        json!({"name": "a", "grant_types": ["authorization_code"], "redirect_uris": ["http://app.example.com/cb"]}),
        json!({"name": "a", "grant_types": ["authorization_code"], "redirect_uris": ["https://app.example.com/cb#x"]}),
        json!({"name": "a", "grant_types": ["authorization_code"], "redirect_uris": ["/relative"]}),
        json!({"name": "a", "grant_types": ["implicit"]}),
        json!({"name": "a", "public": true, "grant_types": ["client_credentials"]}),
        json!({"name": "a", "id_token_alg": "none"}),
        json!({"name": "a", "id_token_alg": "HS256"}),
        json!({"name": "", "grant_types": ["client_credentials"]}),
        json!({"name": "a", "unknown": 1}),
    ] {
        let (status, body) = call(
            s,
            Method::POST,
            "/admin/clients",
            Some(&bearer),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, 422, "{bad} -> {body}");
    }

    // Deleting the client stops its secret at once.
    let (status, _) = call(
        s,
        Method::DELETE,
        &format!("/admin/clients/{id}"),
        Some(&bearer),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        s,
        Method::DELETE,
        &format!("/admin/clients/{id}"),
        Some(&bearer),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

/// Browser apps may call the token, UserInfo and discovery endpoints from another origin
/// (no credentials); the pages and the rest of the API stay same-origin.
pub async fn cors_is_open_on_the_oauth_endpoints_only(s: &Server) {
    for path in [
        "/token",
        "/userinfo",
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
    ] {
        let response = s
            .client
            .request(reqwest::Method::OPTIONS, s.url(path))
            .header("origin", "https://spa.example.com")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "{path}");
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "*",
            "{path}"
        );
        assert!(
            response
                .headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
    }
    let response = s
        .client
        .get(s.url("/.well-known/jwks.json"))
        .header("origin", "https://spa.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    for path in [
        "/authorize",
        "/authorize/login",
        "/logout",
        "/users/me",
        "/admin/users",
    ] {
        let response = s
            .client
            .request(reqwest::Method::OPTIONS, s.url(path))
            .header("origin", "https://evil.example.com")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{path} must not allow other origins"
        );
    }
}
