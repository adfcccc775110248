use serde_json::json;

use crate::support::{Example, answer, secret, security};

struct Started {
    ex: Example,
    key: String,
    password: String,
}

fn start() -> Started {
    let key = secret();
    let password = secret();
    let alice = secret();
    let ex = Example::start(
        "router_security",
        &[
            ("API_KEY", &key),
            ("DEMO_PASSWORD", &password),
            ("ALICE_PASSWORD", &alice),
        ],
    );
    Started { ex, key, password }
}

async fn token(s: &Started, scope: &str) -> String {
    let a = answer(
        s.ex.post("/token")
            .form(&[
                ("username", "johndoe"),
                ("password", s.password.as_str()),
                ("scope", scope),
            ])
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn public_routes_need_nothing() {
    let s = start();
    let a = answer(s.ex.get("/health").send().await).await;
    assert_eq!((a.status, a.body), (200, json!({"status": "ok"})));
    // The token endpoint is public too (it answers the form, not a challenge).
    let a = answer(s.ex.post("/token").form(&[("username", "x")]).send().await).await;
    assert_eq!(a.status, 422);
    assert!(a.challenges.is_empty());
}

#[tokio::test]
async fn every_api_route_needs_a_key_or_a_token() {
    let s = start();
    for path in ["/api/items", "/api/users/me"] {
        let a = answer(s.ex.get(path).send().await).await;
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(a.challenges, ["APIKey", "Bearer"], "{path}");
        assert_eq!(a.body, json!({"detail": "Not authenticated"}), "{path}");

        let a = answer(s.ex.get(path).header("x-api-key", "wrong").send().await).await;
        assert_eq!((a.status, a.challenges), (401, vec!["APIKey".to_owned()]));
        assert_eq!(a.body, json!({"detail": "Could not validate credentials"}));

        let a = answer(s.ex.get(path).bearer_auth("not-a-token").send().await).await;
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(a.challenges, [r#"Bearer error="invalid_token""#], "{path}");
        assert!(!a.body.to_string().contains("not-a-token"));
    }
    let a = answer(
        s.ex.get("/api/items")
            .header("x-api-key", &s.key)
            .send()
            .await,
    )
    .await;
    assert_eq!((a.status, a.body), (200, json!([{"item_id": "Foo"}])));
    let items = token(&s, "items").await;
    let a = answer(s.ex.get("/api/items").bearer_auth(&items).send().await).await;
    assert_eq!(a.status, 200);
    // The fallback is not guarded.
    assert_eq!(
        answer(s.ex.get("/api/nowhere").send().await).await.status,
        404
    );
}

#[tokio::test]
async fn the_route_with_extra_scopes() {
    let s = start();
    let me = token(&s, "me").await;
    let a = answer(s.ex.get("/api/users/me").bearer_auth(&me).send().await).await;
    assert_eq!(
        (a.status, a.body),
        (200, json!({"username": "johndoe", "scopes": ["me"]}))
    );
    let items = token(&s, "items").await;
    let a = answer(s.ex.get("/api/users/me").bearer_auth(&items).send().await).await;
    assert_eq!(a.status, 403);
    assert_eq!(
        a.challenges,
        [r#"Bearer error="insufficient_scope", scope="me""#]
    );
    assert_eq!(a.body, json!({"detail": "Not enough permissions"}));
    // The key grants `items` only.
    let a = answer(
        s.ex.get("/api/users/me")
            .header("x-api-key", &s.key)
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 403);
    assert!(
        a.challenges.is_empty(),
        "no bearer challenge for an API key"
    );
}

#[tokio::test]
async fn openapi_documents_the_router_requirement_on_every_api_operation() {
    let s = start();
    let doc = s.ex.openapi().await;
    assert_eq!(
        security(&doc, "/api/items", "get"),
        json!([{"APIKeyHeader": []}, {"OAuth2PasswordBearer": []}])
    );
    // The router's alternatives AND the handler's `me`: the same choice on both sides.
    assert_eq!(
        security(&doc, "/api/users/me", "get"),
        json!([{"APIKeyHeader": ["me"]}, {"OAuth2PasswordBearer": ["me"]}])
    );
    assert!(security(&doc, "/health", "get").is_null());
    assert!(security(&doc, "/token", "post").is_null());
    for path in ["/api/items", "/api/users/me"] {
        let responses = &doc["paths"][path]["get"]["responses"];
        assert!(responses["401"].is_object(), "{path}");
    }
    assert!(doc["paths"]["/api/users/me"]["get"]["responses"]["403"].is_object());
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["APIKeyHeader"],
        json!({"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "A service key; grants `items`"})
    );
    assert_eq!(
        schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"],
        "/token"
    );
}
