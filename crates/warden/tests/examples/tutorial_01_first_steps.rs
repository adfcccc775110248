use serde_json::json;

use crate::support::{Example, answer, security};

#[tokio::test]
async fn the_token_is_required_and_handed_over_unchecked() {
    let ex = Example::start("tutorial_01_first_steps", &[]);
    let a = answer(ex.get("/items").send().await).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.challenges, ["Bearer"]);
    assert_eq!(a.body, json!({"detail": "Not authenticated"}));

    let a = answer(ex.get("/items").bearer_auth("abc").send().await).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, json!({"token": "abc"}));

    // Not yet a token endpoint: that is chapter 3.
    let a = answer(ex.post("/token").send().await).await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn docs_get_an_authorize_button_for_the_password_flow() {
    let ex = Example::start("tutorial_01_first_steps", &[]);
    let doc = ex.openapi().await;
    assert_eq!(
        doc["components"]["securitySchemes"],
        json!({"OAuth2PasswordBearer": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/token", "scopes": {}}}}})
    );
    assert_eq!(
        security(&doc, "/items", "get"),
        json!([{"OAuth2PasswordBearer": []}])
    );
    let docs = ex.get("/docs/").send().await.expect("GET /docs/");
    assert_eq!(docs.status(), 200);
}
