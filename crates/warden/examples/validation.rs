//! Input validation: the seeds' `Item {name, price}`, with FastAPI's 422 error shape.
//!
//! A body that is not JSON, misses a field, has a wrong type or breaks a rule answers 422
//! with a `detail` list of `{loc, msg, type}`, as FastAPI does, so existing clients keep
//! working; a body over 16 KiB answers 413.
//!
//! ```sh
//! cargo run -p warden --example validation
//! curl -i -H 'content-type: application/json' -d '{"name": "", "price": -1}' http://127.0.0.1:8000/items
//! ```

mod common;

use axum::Json;
use axum::extract::DefaultBodyLimit;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use warden::openapi::{ApiRouter, Docs};
use warden::{ValidJson, routes};

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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = ApiRouter::new()
        .info("Input validation", "1.0.0")
        .routes(routes!(create_item))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_docs(Docs::default());
    common::serve(app).await
}
