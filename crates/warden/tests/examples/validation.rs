use serde_json::json;

use crate::support::{Example, answer};

async fn post(ex: &Example, body: &str) -> crate::support::Answer {
    answer(
        ex.post("/items")
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await,
    )
    .await
}

#[tokio::test]
async fn valid_item_is_created() {
    let ex = Example::start("validation", &[]);
    let a = post(&ex, r#"{"name": "Foo", "price": 35.4, "tax": 3.2}"#).await;
    assert_eq!(a.status, 201);
    assert_eq!(
        a.body,
        json!({"name": "Foo", "price": 35.4, "description": null, "tax": 3.2})
    );
}

#[tokio::test]
async fn invalid_items_get_fastapi_422() {
    let ex = Example::start("validation", &[]);
    let a = post(&ex, r#"{"price": 1}"#).await;
    assert_eq!(a.status, 422);
    assert_eq!(
        a.body,
        json!({"detail": [{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]})
    );

    let a = post(&ex, r#"{"name": "Foo", "price": "cheap"}"#).await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["detail"][0]["loc"], json!(["body", "price"]));
    assert_eq!(a.body["detail"][0]["type"], "float_type");
    assert!(!a.body.to_string().contains("cheap"), "value echoed");

    let a = post(&ex, r#"{"name": "", "price": -1, "tax": -2}"#).await;
    assert_eq!(a.status, 422);
    let locs: Vec<_> = a.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["loc"].clone())
        .collect();
    assert_eq!(
        locs,
        [
            json!(["body", "name"]),
            json!(["body", "price"]),
            json!(["body", "tax"])
        ]
    );

    let a = post(&ex, r#"{"name": "Foo", "price": 1, "is_admin": true}"#).await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["detail"][0]["type"], "extra_forbidden");

    for broken in [
        r#"{"name": "#,
        r#"{"name": "Foo", "price": 1,"#,
        "",
        r#"{"name": "Foo", "price": 1} {}"#,
    ] {
        let a = post(&ex, broken).await;
        assert_eq!(a.status, 422, "{broken}");
        assert_eq!(a.body["detail"][0]["type"], "json_invalid", "{broken}");
    }
}

#[tokio::test]
async fn wrong_media_type_and_huge_bodies_are_refused() {
    let ex = Example::start("validation", &[]);
    let a = answer(
        ex.post("/items")
            .form(&[("name", "Foo"), ("price", "1")])
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 415);
    let huge = format!(
        r#"{{"name": "Foo", "price": 1, "description": "{}"}}"#,
        "x".repeat(32 * 1024)
    );
    let a = post(&ex, &huge).await;
    assert_eq!(a.status, 413);
    assert_eq!(a.body, json!({"detail": "Request body too large"}));
}

#[tokio::test]
async fn openapi_has_no_security_but_the_body_schema() {
    let ex = Example::start("validation", &[]);
    let doc = ex.openapi().await;
    assert!(doc["paths"]["/items"]["post"]["security"].is_null());
    assert!(doc["components"]["securitySchemes"].is_null());
    assert_eq!(
        doc["components"]["schemas"]["Item"]["required"],
        json!(["name", "price"])
    );
}
