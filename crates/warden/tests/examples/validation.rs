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

#[tokio::test]
async fn path_query_form_and_header_get_fastapi_422() {
    let ex = Example::start("validation", &[]);
    let a = answer(ex.get("/items/42").send().await).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["name"], "Item 42");
    let a = answer(ex.get("/items/zero").send().await).await;
    assert_eq!(a.status, 422);
    assert_eq!(
        a.body,
        json!({"detail": [{
            "loc": ["path", "item_id"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing"
        }]})
    );
    let a = answer(ex.get("/items/0").send().await).await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["detail"][0]["loc"], json!(["path", "item_id"]));
    assert_eq!(a.body["detail"][0]["type"], "value_error");

    let a = answer(ex.get("/items?q=foo&tag=a&tag=b").send().await).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, json!({"q": "foo", "limit": 10, "tag": ["a", "b"]}));
    let a = answer(ex.get("/items?limit=1000&admin=1").send().await).await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["detail"][0]["loc"], json!(["query", "admin"]));
    assert_eq!(a.body["detail"][0]["type"], "extra_forbidden");
    let a = answer(ex.get("/items?limit=1000").send().await).await;
    assert_eq!(a.body["detail"][0]["loc"], json!(["query", "limit"]));
    let a = answer(ex.get("/items?limit=5&limit=6").send().await).await;
    assert_eq!(a.body["detail"][0]["type"], "duplicate_parameter");
    let long = format!("/items?q={}", "x".repeat(9000));
    assert_eq!(answer(ex.get(&long).send().await).await.status, 414);

    let password = crate::support::secret();
    let a = answer(
        ex.post("/signup")
            .form(&[("username", "alice"), ("password", password.as_str())])
            .send()
            .await,
    )
    .await;
    assert_eq!((a.status, a.body), (201, json!({"username": "alice"})));
    let a = answer(
        ex.post("/signup")
            .form(&[("username", "alice"), ("password", "hunter2")])
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["detail"][0]["loc"], json!(["body", "password"]));
    assert!(!a.body.to_string().contains("hunter2"), "password echoed");
    let a = answer(ex.post("/signup").form(&[("password", "x")]).send().await).await;
    assert_eq!(
        a.body["detail"][0],
        json!({"loc": ["body", "username"], "msg": "Field required", "type": "missing"})
    );
    let a = answer(
        ex.post("/signup")
            .json(&json!({"username": "alice", "password": password}))
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 415);
    let a = answer(
        ex.post("/signup")
            .form(&[("username", "alice"), ("bio", &"x".repeat(32 * 1024))])
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 413);

    let a = answer(
        ex.get("/ping")
            .header("x-request-id", "abcdefgh")
            .send()
            .await,
    )
    .await;
    assert_eq!((a.status, a.body), (200, json!({"request_id": "abcdefgh"})));
    let a = answer(ex.get("/ping").header("x-request-id", "42").send().await).await;
    assert_eq!(a.status, 422);
    assert_eq!(
        a.body["detail"][0]["loc"],
        json!(["header", "x-request-id"])
    );
    let a = answer(ex.get("/ping").send().await).await;
    assert_eq!(a.body["detail"][0]["type"], "missing");
    let a = answer(
        ex.get("/ping")
            .header("x-request-id", "x".repeat(9000))
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 431);
}

#[tokio::test]
async fn openapi_documents_the_parameters_and_the_form() {
    let ex = Example::start("validation", &[]);
    let doc = ex.openapi().await;
    let params = |path: &str| doc["paths"][path]["get"]["parameters"].clone();
    let item = params("/items/{item_id}");
    assert_eq!(item[0]["name"], "item_id");
    assert_eq!(item[0]["in"], "path");
    assert_eq!(item[0]["schema"]["minimum"], 1);
    let search = params("/items");
    let names: Vec<_> = search
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].clone(), p["in"].clone()))
        .collect();
    assert_eq!(
        names,
        [
            (json!("q"), json!("query")),
            (json!("limit"), json!("query")),
            (json!("tag"), json!("query"))
        ]
    );
    assert_eq!(search[2]["schema"]["type"], "array");
    let ping = params("/ping");
    assert_eq!(ping[0]["name"], "x-request-id");
    assert_eq!(ping[0]["in"], "header");
    assert_eq!(ping[0]["required"], true);
    let form = &doc["paths"]["/signup"]["post"]["requestBody"]["content"];
    assert!(form["application/x-www-form-urlencoded"].is_object());
    assert!(doc["paths"]["/signup"]["post"]["security"].is_null());
}
