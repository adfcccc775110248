use serde_json::json;

use crate::support::{Example, answer, secret, security};

#[tokio::test]
async fn expected_errors_carry_detail_and_headers() {
    let ex = Example::start("error_handling", &[("ADMIN_TOKEN", &secret())]);
    let a = answer(ex.get("/items/foo").send().await).await;
    assert_eq!(
        (a.status, a.body.clone()),
        (200, json!({"item": "The Foo Wrestlers"}))
    );
    let a = answer(ex.get("/items/bar").send().await).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body, json!({"detail": "Item not found"}));
    assert_eq!(a.headers["x-error"], "There goes my error");
    let a = answer(ex.get("/no/such/route").send().await).await;
    assert_eq!((a.status, a.body), (404, json!({"detail": "Not Found"})));
}

#[tokio::test]
async fn internal_errors_leak_nothing() {
    let ex = Example::start("error_handling", &[("ADMIN_TOKEN", &secret())]);
    let a = answer(ex.get("/reports").send().await).await;
    assert_eq!(a.status, 500);
    assert_eq!(a.body, json!({"detail": "Internal server error"}));
}

#[tokio::test]
async fn a_route_can_reshape_auth_errors() {
    let token = secret();
    let ex = Example::start("error_handling", &[("ADMIN_TOKEN", &token)]);
    let a = answer(ex.get("/legacy/me").send().await).await;
    assert_eq!(
        (a.status, a.body),
        (403, json!({"detail": "Not authenticated"}))
    );
    let a = answer(ex.get("/legacy/me").bearer_auth("wrong").send().await).await;
    assert_eq!(a.status, 401);
    let a = answer(ex.get("/legacy/me").bearer_auth(&token).send().await).await;
    assert_eq!((a.status, a.body), (200, json!({"role": "admin"})));
    // The requirement is still documented, from the type inside the Result.
    let doc = ex.openapi().await;
    assert_eq!(
        security(&doc, "/legacy/me", "get"),
        json!([{"HTTPBearer": []}])
    );
}
