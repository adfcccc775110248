use reqwest::header::HeaderValue;
use serde_json::json;

use crate::support::{Example, answer, secret, security};

#[tokio::test]
async fn key_in_header_is_checked() {
    let key = secret();
    let ex = Example::start("api_key_header", &[("API_KEY", &key)]);
    let ok = answer(ex.get("/protected").header("x-api-key", &key).send().await).await;
    assert_eq!(ok.status, 200);
    // Header names are case-insensitive.
    let ok = answer(ex.get("/protected").header("X-API-KEY", &key).send().await).await;
    assert_eq!(ok.status, 200);

    let missing = answer(ex.get("/protected").send().await).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.challenges, ["APIKey"]);
    assert_eq!(missing.body, json!({"detail": "Not authenticated"}));
    let empty = answer(ex.get("/protected").header("x-api-key", "").send().await).await;
    assert_eq!(empty.status, 401);

    let wrong = answer(
        ex.get("/protected")
            .header("x-api-key", format!("{key}x"))
            .send()
            .await,
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.body,
        json!({"detail": "Could not validate credentials"})
    );
    assert!(!wrong.body.to_string().contains(&key));
}

#[tokio::test]
async fn malformed_keys_are_a_clean_401() {
    let key = secret();
    let ex = Example::start("api_key_header", &[("API_KEY", &key)]);
    let long = "k".repeat(2048);
    let twice = ex
        .get("/protected")
        .header("x-api-key", &key)
        .header("x-api-key", &key);
    let cases = [
        ("repeated", twice),
        ("oversized", ex.get("/protected").header("x-api-key", long)),
        (
            "non-ASCII",
            ex.get("/protected").header(
                "x-api-key",
                HeaderValue::from_bytes(b"\xe2\x82\xac").unwrap(),
            ),
        ),
    ];
    for (case, request) in cases {
        let a = answer(request.send().await).await;
        assert_eq!(a.status, 401, "{case}");
        assert_eq!(
            a.body,
            json!({"detail": "Invalid authentication credentials"}),
            "{case}"
        );
    }
}

#[tokio::test]
async fn openapi_declares_the_header_key() {
    let ex = Example::start("api_key_header", &[("API_KEY", &secret())]);
    let doc = ex.openapi().await;
    assert_eq!(
        doc["components"]["securitySchemes"],
        json!({"APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key",
            "description": "The key printed when the example started."}})
    );
    assert_eq!(
        security(&doc, "/protected", "get"),
        json!([{"APIKeyHeader": []}])
    );
}
