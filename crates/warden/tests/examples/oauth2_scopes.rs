use serde_json::{Value, json};

use crate::support::{Example, answer, secret, security};

fn start() -> (Example, String) {
    let password = secret();
    let alice = secret();
    let ex = Example::start(
        "oauth2_scopes",
        &[("DEMO_PASSWORD", &password), ("ALICE_PASSWORD", &alice)],
    );
    (ex, password)
}

async fn token(ex: &Example, password: &str, scope: &str) -> (String, Value) {
    let a = answer(
        ex.post("/token")
            .form(&[
                ("username", "johndoe"),
                ("password", password),
                ("scope", scope),
            ])
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    (a.body["access_token"].as_str().unwrap().to_owned(), a.body)
}

#[tokio::test]
async fn scopes_are_granted_and_checked_per_route() {
    let (ex, password) = start();
    let (me_only, body) = token(&ex, &password, "me").await;
    assert_eq!(body["scope"], "me");
    let (both, body) = token(&ex, &password, "me items").await;
    assert_eq!(body["scope"], "me items");
    let (none, _) = token(&ex, &password, "").await;

    let status = |token: String, path: &'static str| {
        let ex = &ex;
        async move { answer(ex.get(path).bearer_auth(token).send().await).await }
    };
    assert_eq!(status(me_only.clone(), "/users/me").await.status, 200);
    assert_eq!(status(both.clone(), "/users/me/items").await.status, 200);
    assert_eq!(status(none.clone(), "/status").await.status, 200);

    let refused = status(me_only, "/users/me/items").await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.challenges,
        [r#"Bearer error="insufficient_scope", scope="me items""#]
    );
    assert_eq!(refused.body, json!({"detail": "Not enough permissions"}));
    let refused = status(none, "/users/me").await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.challenges,
        [r#"Bearer error="insufficient_scope", scope="me""#]
    );
}

#[tokio::test]
async fn token_endpoint_never_widens_scopes() {
    let (ex, password) = start();
    let a = answer(
        ex.post("/token")
            .form(&[
                ("username", "johndoe"),
                ("password", password.as_str()),
                ("scope", "me admin"),
            ])
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["error"], "invalid_scope");
}

#[tokio::test]
async fn openapi_accumulates_scopes_per_operation() {
    let (ex, _) = start();
    let doc = ex.openapi().await;
    assert_eq!(
        doc["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]["scopes"],
        json!({"me": "Read information about the current user.", "items": "Read items."})
    );
    assert_eq!(
        security(&doc, "/users/me", "get"),
        json!([{"OAuth2PasswordBearer": ["me"]}])
    );
    assert_eq!(
        security(&doc, "/users/me/items", "get"),
        json!([{"OAuth2PasswordBearer": ["me", "items"]}])
    );
    assert_eq!(
        security(&doc, "/status", "get"),
        json!([{"OAuth2PasswordBearer": []}])
    );
    assert!(doc["paths"]["/users/me/items"]["get"]["responses"]["403"].is_object());
    assert!(doc["paths"]["/status"]["get"]["responses"]["403"].is_null());
}
