use serde_json::json;

use crate::support::{Example, answer, secret, security};

#[tokio::test]
async fn key_is_accepted_in_header_query_or_cookie() {
    let key = secret();
    let ex = Example::start("api_key_combined", &[("API_KEY", &key)]);
    let via = |request: reqwest::RequestBuilder| async move { answer(request.send().await).await };

    let a = via(ex.get("/protected").header("x-api-key", &key)).await;
    assert_eq!((a.status, a.body["via"].clone()), (200, json!("header")));
    let a = via(ex.get("/protected").query(&[("api_key", &key)])).await;
    assert_eq!((a.status, a.body["via"].clone()), (200, json!("query")));
    let a = via(ex
        .get("/protected")
        .header("cookie", format!("theme=dark; api_key={key}")))
    .await;
    assert_eq!((a.status, a.body["via"].clone()), (200, json!("cookie")));
    // The header wins when several are sent.
    let a = via(ex
        .get("/protected")
        .header("x-api-key", &key)
        .query(&[("api_key", "wrong")]))
    .await;
    assert_eq!((a.status, a.body["via"].clone()), (200, json!("header")));
}

#[tokio::test]
async fn no_key_lists_every_challenge() {
    let key = secret();
    let ex = Example::start("api_key_combined", &[("API_KEY", &key)]);
    let a = answer(ex.get("/protected").send().await).await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.challenges,
        ["APIKey"],
        "one challenge for three places of one kind of key"
    );
    let a = answer(
        ex.get("/protected")
            .query(&[("api_key", "nope")])
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body, json!({"detail": "Could not validate credentials"}));
    // A parameter sent twice is refused rather than guessed at.
    let a = answer(
        ex.get(&format!("/protected?api_key={key}&api_key={key}"))
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.body,
        json!({"detail": "Invalid authentication credentials"})
    );
}

#[tokio::test]
async fn openapi_lists_three_alternatives_with_distinct_names() {
    let ex = Example::start("api_key_combined", &[("API_KEY", &secret())]);
    let doc = ex.openapi().await;
    assert_eq!(
        doc["components"]["securitySchemes"],
        json!({
            "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "APIKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key"},
            "APIKeyCookie": {"type": "apiKey", "in": "cookie", "name": "api_key"},
        })
    );
    assert_eq!(
        security(&doc, "/protected", "get"),
        json!([{"APIKeyHeader": []}, {"APIKeyQuery": []}, {"APIKeyCookie": []}])
    );
}
