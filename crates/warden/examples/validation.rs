//! Input validation: the seeds' `Item {name, price}`, with FastAPI's 422 error shape, and the
//! same for path parameters, query strings, forms and headers.
//!
//! A body that is not JSON, misses a field, has a wrong type or breaks a rule answers 422
//! with a `detail` list of `{loc, msg, type}`, as FastAPI does, so existing clients keep
//! working; a body over 16 KiB answers 413. `GET /items/{item_id}` validates its path
//! parameter (`loc` `["path", "item_id"]`), `GET /items` its query (`["query", …]`, 414 past
//! 8 KiB), `POST /signup` a form (`["body", …]`, 415 for another media type, the password never
//! echoed) and `GET /ping` a header (`["header", "x-request-id"]`, 431 past 8 KiB).
//!
//! ```sh
//! cargo run -p warden --features full --example validation
//! curl -i -H 'content-type: application/json' -d '{"name": "", "price": -1}' http://127.0.0.1:8000/items
//! curl -i 'http://127.0.0.1:8000/items?limit=1000&tag=a&tag=b'
//! curl -i http://127.0.0.1:8000/items/0
//! curl -i -d username=alice -d password=short http://127.0.0.1:8000/signup
//! curl -i -H 'X-Request-Id: 42' http://127.0.0.1:8000/ping
//! ```

mod common;

use axum::Json;
use axum::extract::DefaultBodyLimit;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;
use warden::openapi::{ApiRouter, Docs};
use warden::{ValidForm, ValidHeaders, ValidJson, ValidPath, ValidQuery, routes};

/// The largest body `/items` accepts.
const MAX_BODY: usize = 16 * 1024;

/// An item for sale.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
struct Item {
    /// 1 to 100 characters.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// Strictly positive.
    #[validate(range(exclusive_min = 0.0))]
    #[schema(exclusive_minimum = 0.0)]
    price: f64,
    /// At most 1000 characters.
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    #[serde(default)]
    description: Option<String>,
    /// Zero or more.
    #[validate(range(min = 0.0))]
    #[schema(minimum = 0.0)]
    #[serde(default)]
    tax: Option<f64>,
}

/// Create an item.
#[utoipa::path(
    post,
    path = "/items",
    request_body = Item,
    responses(
        (status = 201, description = "The item as stored", body = Item),
        (status = 413, description = "The body is larger than 16 KiB"),
        (status = 415, description = "The body is not JSON"),
        (status = 422, description = "The item is invalid; `detail` lists each problem"),
    )
)]
async fn create_item(ValidJson(item): ValidJson<Item>) -> (StatusCode, Json<Item>) {
    (StatusCode::CREATED, Json(item))
}

/// The path of one item.
#[derive(Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Path)]
struct ItemPath {
    /// 1 or more.
    #[validate(range(min = 1))]
    #[param(minimum = 1)]
    item_id: u64,
}

/// Read one item.
#[utoipa::path(
    get,
    path = "/items/{item_id}",
    params(ItemPath),
    responses(
        (status = 200, description = "The item", body = Item),
        (status = 422, description = "`item_id` is not a number of 1 or more"),
    )
)]
async fn read_item(ValidPath(path): ValidPath<ItemPath>) -> Json<Item> {
    Json(Item {
        name: format!("Item {}", path.item_id),
        price: 1.0,
        description: None,
        tax: None,
    })
}

/// A page of items.
#[derive(Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ItemQuery {
    /// Words in the name, at most 50 characters.
    #[validate(length(max = 50))]
    #[param(max_length = 50)]
    q: Option<String>,
    /// 1 to 100 (10 when not given).
    #[validate(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100)]
    #[serde(default = "ten")]
    limit: u32,
    /// Any of these tags; repeat the parameter for several (at most 5).
    #[validate(length(max = 5))]
    #[param(max_items = 5)]
    #[serde(default)]
    tag: Vec<String>,
}

fn ten() -> u32 {
    10
}

/// What a search was asked for.
#[derive(Serialize, ToSchema)]
struct Page {
    q: Option<String>,
    limit: u32,
    tag: Vec<String>,
}

/// Search items.
#[utoipa::path(
    get,
    path = "/items",
    params(ItemQuery),
    responses(
        (status = 200, description = "The search", body = Page),
        (status = 414, description = "The query string is longer than 8 KiB"),
        (status = 422, description = "A parameter is invalid; `detail` lists each problem"),
    )
)]
async fn search_items(ValidQuery(query): ValidQuery<ItemQuery>) -> Json<Page> {
    Json(Page {
        q: query.q,
        limit: query.limit,
        tag: query.tag,
    })
}

/// An account to create, as an HTML form posts it.
#[derive(Deserialize, Validate, ToSchema)]
struct Signup {
    /// 3 to 30 characters.
    #[validate(length(min = 3, max = 30))]
    #[schema(min_length = 3, max_length = 30)]
    username: String,
    /// 12 to 1024 characters; never echoed in errors.
    #[validate(length(min = 12, max = 1024))]
    #[schema(min_length = 12, max_length = 1024, format = Password)]
    password: String,
}

/// The account created.
#[derive(Serialize, ToSchema)]
struct Account {
    username: String,
}

/// Create an account from a form.
#[utoipa::path(
    post,
    path = "/signup",
    request_body(content = Signup, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "The account", body = Account),
        (status = 413, description = "The body is larger than 16 KiB"),
        (status = 415, description = "The body is not a URL-encoded form"),
        (status = 422, description = "A field is missing or invalid; `detail` lists each problem"),
    )
)]
async fn signup(ValidForm(form): ValidForm<Signup>) -> (StatusCode, Json<Account>) {
    (
        StatusCode::CREATED,
        Json(Account {
            username: form.username,
        }),
    )
}

/// Headers a request must carry.
#[derive(Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Header, rename_all = "kebab-case")]
struct Tracing {
    /// 8 to 64 characters.
    #[validate(length(min = 8, max = 64))]
    #[param(min_length = 8, max_length = 64)]
    x_request_id: String,
}

/// The request id, as received.
#[derive(Serialize, ToSchema)]
struct Pong {
    request_id: String,
}

/// Echo the request id.
#[utoipa::path(
    get,
    path = "/ping",
    params(Tracing),
    responses(
        (status = 200, description = "Pong", body = Pong),
        (status = 422, description = "`X-Request-Id` is missing or invalid"),
        (status = 431, description = "The headers read are larger than 8 KiB"),
    )
)]
async fn ping(ValidHeaders(headers): ValidHeaders<Tracing>) -> Json<Pong> {
    Json(Pong {
        request_id: headers.x_request_id,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = ApiRouter::new()
        .info("Input validation", "1.0.0")
        .routes(routes!(create_item, search_items))
        .routes(routes!(read_item))
        .routes(routes!(signup))
        .routes(routes!(ping))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_docs(Docs::default());
    common::serve(app).await
}
