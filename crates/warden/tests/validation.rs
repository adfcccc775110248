//! The validating extractors of every part of a request — `ValidPath`, `ValidQuery`,
//! `ValidForm`, `ValidHeaders` (and `ValidJson` beside them) — served on 127.0.0.1: what each
//! accepts, FastAPI's 422 `detail` with the right `loc`, the size bounds (413, 414, 431), the
//! media type (415), malformed input, and that no value is ever echoed.

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use serde::Deserialize;
use serde_json::{Value, json};
use validator::Validate;
use warden::openapi::ApiRouter;
use warden::{ValidForm, ValidHeaders, ValidJson, ValidPath, ValidQuery, routes};

#[derive(Debug, Deserialize, Validate)]
struct ItemPath {
    #[validate(range(min = 1, max = 1000))]
    item_id: u32,
    #[validate(length(min = 2))]
    slug: String,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
struct Search {
    #[validate(length(max = 20))]
    q: Option<String>,
    #[serde(default = "ten")]
    #[validate(range(min = 1, max = 100))]
    limit: u32,
    #[serde(default)]
    #[validate(length(max = 3))]
    tags: Vec<String>,
    #[serde(default)]
    exact: bool,
}

fn ten() -> u32 {
    10
}

#[derive(Debug, Deserialize, Validate)]
struct Signup {
    #[validate(length(min = 1, max = 20))]
    username: String,
    #[validate(length(min = 12, max = 128))]
    password: String,
    #[serde(default)]
    newsletter: bool,
    #[serde(default)]
    interests: Vec<String>,
}

#[derive(Debug, Deserialize, Validate)]
struct Tracing {
    #[validate(length(min = 8, max = 64))]
    x_request_id: String,
    #[serde(default)]
    x_retries: Option<u8>,
    #[serde(default)]
    accept_language: Vec<String>,
}

#[derive(Debug, Deserialize, Validate)]
struct Note {
    #[validate(length(min = 1))]
    text: String,
}

#[utoipa::path(get, path = "/items/{item_id}/{slug}", responses((status = 200, description = "ok")))]
async fn path(ValidPath(p): ValidPath<ItemPath>) -> Json<Value> {
    Json(json!({"item_id": p.item_id, "slug": p.slug}))
}

#[utoipa::path(get, path = "/search", responses((status = 200, description = "ok")))]
async fn query(ValidQuery(q): ValidQuery<Search>) -> Json<Value> {
    Json(json!({"q": q.q, "limit": q.limit, "tags": q.tags, "exact": q.exact}))
}

#[utoipa::path(post, path = "/signup", responses((status = 200, description = "ok")))]
async fn form(ValidForm(f): ValidForm<Signup>) -> Json<Value> {
    Json(
        json!({"username": f.username, "newsletter": f.newsletter, "interests": f.interests, "password_len": f.password.len()}),
    )
}

#[utoipa::path(get, path = "/ping", responses((status = 200, description = "ok")))]
async fn headers(ValidHeaders(h): ValidHeaders<Tracing>) -> Json<Value> {
    Json(
        json!({"x_request_id": h.x_request_id, "x_retries": h.x_retries, "accept_language": h.accept_language}),
    )
}

#[utoipa::path(post, path = "/notes", responses((status = 200, description = "ok")))]
async fn json_body(ValidJson(n): ValidJson<Note>) -> String {
    n.text
}

fn api() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(path))
        .routes(routes!(query))
        .routes(routes!(form))
        .routes(routes!(headers))
        .routes(routes!(json_body))
        .layer(DefaultBodyLimit::max(4096))
}

struct Client {
    base: String,
    http: reqwest::Client,
}

/// Status and JSON body.
struct Answer {
    status: u16,
    body: Value,
    text: String,
}

impl Client {
    async fn start() -> Self {
        let (router, _): (Router, _) = api().split_for_parts();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.base))
    }
}

async fn call(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, body, text }
}

/// The `loc`s of a 422 answer.
fn locs(a: &Answer) -> Vec<Value> {
    assert_eq!(a.status, 422, "{}", a.text);
    a.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["loc"].clone())
        .collect()
}

#[tokio::test]
async fn path_parameters() {
    let c = Client::start().await;
    let a = call(c.get("/items/7/caf%C3%A9")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, json!({"item_id": 7, "slug": "café"}));

    let a = call(c.get("/items/seven/abc")).await;
    assert_eq!(
        a.body,
        json!({"detail": [{
            "loc": ["path", "item_id"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing"
        }]})
    );
    assert!(!a.text.contains("seven"), "value echoed: {}", a.text);

    let a = call(c.get("/items/0/x")).await;
    assert_eq!(
        locs(&a),
        [json!(["path", "item_id"]), json!(["path", "slug"])]
    );
    assert_eq!(a.body["detail"][0]["type"], "value_error");

    // Not UTF-8 once percent-decoded.
    let a = call(c.get("/items/7/%FF%FE")).await;
    assert_eq!(locs(&a), [json!(["path", "slug"])]);
    assert_eq!(a.body["detail"][0]["type"], "string_unicode");
}

#[tokio::test]
async fn query_parameters() {
    let c = Client::start().await;
    let a = call(c.get("/search?q=rust&tags=a&tags=b&exact=yes")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        a.body,
        json!({"q": "rust", "limit": 10, "tags": ["a", "b"], "exact": true})
    );
    let a = call(c.get("/search")).await;
    assert_eq!(a.status, 200, "every parameter optional");

    let a = call(c.get("/search?limit=many")).await;
    assert_eq!(locs(&a), [json!(["query", "limit"])]);
    assert_eq!(a.body["detail"][0]["type"], "int_parsing");
    assert!(!a.text.contains("many"));

    let a = call(c.get("/search?limit=0&tags=a&tags=b&tags=c&tags=d")).await;
    assert_eq!(
        locs(&a),
        [json!(["query", "limit"]), json!(["query", "tags"])]
    );

    let a = call(c.get("/search?exact=perhaps")).await;
    assert_eq!(a.body["detail"][0]["type"], "bool_parsing");

    // Parameter pollution: a scalar sent twice.
    let a = call(c.get("/search?limit=1&limit=2")).await;
    assert_eq!(locs(&a), [json!(["query", "limit"])]);
    assert_eq!(a.body["detail"][0]["type"], "duplicate_parameter");

    let a = call(c.get("/search?is_admin=true")).await;
    assert_eq!(locs(&a), [json!(["query", "is_admin"])]);
    assert_eq!(a.body["detail"][0]["type"], "extra_forbidden");

    let long = format!("/search?q={}", "x".repeat(warden::MAX_QUERY_BYTES));
    let a = call(c.get(&long)).await;
    assert_eq!(a.status, 414);
    assert_eq!(a.body, json!({"detail": "URI too long"}));
}

#[tokio::test]
async fn form_bodies() {
    let c = Client::start().await;
    let password = "a-long-enough-secret";
    let a = call(c.post("/signup").form(&[
        ("username", "alice"),
        ("password", password),
        ("newsletter", "on"),
        ("interests", "rust"),
        ("interests", "http"),
    ]))
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        a.body,
        json!({"username": "alice", "newsletter": true, "interests": ["rust", "http"], "password_len": password.len()})
    );

    // Missing, and (as FastAPI) empty counts as missing.
    let a = call(
        c.post("/signup")
            .form(&[("username", ""), ("password", password)]),
    )
    .await;
    assert_eq!(
        a.body,
        json!({"detail": [{"loc": ["body", "username"], "msg": "Field required", "type": "missing"}]})
    );

    // A rule broken by a secret: located, never echoed.
    let short = "short-secret";
    let a = call(
        c.post("/signup")
            .form(&[("username", "bob"), ("password", &short[..11])]),
    )
    .await;
    assert_eq!(locs(&a), [json!(["body", "password"])]);
    assert!(!a.text.contains(&short[..11]), "secret echoed: {}", a.text);

    let a = call(c.post("/signup").form(&[
        ("username", "bob"),
        ("password", password),
        ("newsletter", "sometimes"),
    ]))
    .await;
    assert_eq!(locs(&a), [json!(["body", "newsletter"])]);
    assert!(!a.text.contains(password));

    let a = call(c.post("/signup").form(&[
        ("username", "a"),
        ("username", "b"),
        ("password", password),
    ]))
    .await;
    assert_eq!(a.body["detail"][0]["type"], "duplicate_parameter");

    let a = call(
        c.post("/signup")
            .json(&json!({"username": "bob", "password": password})),
    )
    .await;
    assert_eq!(a.status, 415);
    assert_eq!(
        a.body,
        json!({"detail": "Expected application/x-www-form-urlencoded"})
    );

    let a = call(c.post("/signup").form(&[
        ("username", "bob"),
        ("password", password),
        ("padding", &"x".repeat(8192)),
    ]))
    .await;
    assert_eq!(a.status, 413);
    assert_eq!(a.body, json!({"detail": "Request body too large"}));
}

#[tokio::test]
async fn header_values() {
    let c = Client::start().await;
    let a = call(
        c.get("/ping")
            .header("X-Request-Id", "abcdefgh-1234")
            .header("x-retries", "2")
            .header("accept-language", "fr")
            .header("accept-language", "en"),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        a.body,
        json!({"x_request_id": "abcdefgh-1234", "x_retries": 2, "accept_language": ["fr", "en"]})
    );

    let a = call(c.get("/ping")).await;
    assert_eq!(
        a.body,
        json!({"detail": [{"loc": ["header", "x-request-id"], "msg": "Field required", "type": "missing"}]})
    );
    let a = call(c.get("/ping").header("x-request-id", "short")).await;
    assert_eq!(locs(&a), [json!(["header", "x-request-id"])]);
    assert_eq!(a.body["detail"][0]["type"], "value_error");
    assert!(!a.text.contains("short"));
    let a = call(
        c.get("/ping")
            .header("x-request-id", "abcdefgh")
            .header("x-retries", "300"),
    )
    .await;
    assert_eq!(locs(&a), [json!(["header", "x-retries"])]);
    assert_eq!(a.body["detail"][0]["type"], "int_parsing");
    let a = call(
        c.get("/ping")
            .header("x-request-id", "abcdefgh")
            .header("x-request-id", "ijklmnop"),
    )
    .await;
    assert_eq!(a.body["detail"][0]["type"], "duplicate_parameter");

    // Only the headers the type reads count towards the bound.
    let big = "x".repeat(warden::MAX_HEADERS_BYTES);
    let a = call(
        c.get("/ping")
            .header("x-request-id", "abcdefgh")
            .header("x-unrelated", &big),
    )
    .await;
    assert_eq!(a.status, 200);
    let a = call(c.get("/ping").header("x-request-id", &big)).await;
    assert_eq!(a.status, 431);
    assert_eq!(a.body, json!({"detail": "Request header fields too large"}));
}

#[tokio::test]
async fn json_bodies_are_unchanged() {
    let c = Client::start().await;
    let a = call(c.post("/notes").json(&json!({"text": "hi"}))).await;
    assert_eq!((a.status, a.text.as_str()), (200, "hi"));
    let a = call(c.post("/notes").json(&json!({"text": ""}))).await;
    assert_eq!(locs(&a), [json!(["body", "text"])]);
    let a = call(c.post("/notes").form(&[("text", "hi")])).await;
    assert_eq!(a.status, 415);
    let a = call(c.post("/notes").json(&json!({"text": "x".repeat(8192)}))).await;
    assert_eq!(a.status, 413);
}

#[test]
fn validation_extractors_document_no_security() {
    let (_, openapi) = api().split_for_parts();
    let doc = serde_json::to_value(openapi).unwrap();
    for (path, method) in [
        ("/items/{item_id}/{slug}", "get"),
        ("/search", "get"),
        ("/signup", "post"),
        ("/ping", "get"),
        ("/notes", "post"),
    ] {
        assert!(
            doc["paths"][path][method].get("security").is_none(),
            "{path}"
        );
    }
}
