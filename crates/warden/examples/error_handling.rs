//! Error handling: one error type for the application, mapped to responses in one place.
//!
//! - Expected failures (an unknown item) answer FastAPI's `{"detail": …}`, with custom headers
//!   where useful, like `HTTPException(headers=…)`.
//! - Unexpected ones are logged with their cause and answered with a bare 500: no stack
//!   trace, no internals, nothing of the cause reaches the client.
//! - Authentication errors can be reshaped per route: `/legacy/me` takes
//!   `Result<HttpBearer, AuthError>` and answers a missing token with 403, as FastAPI did
//!   before 0.122 (the counterpart of overriding `make_not_authenticated_error`).
//! - Unknown paths answer a JSON 404.
//!
//! ```sh
//! ADMIN_TOKEN=secret-token cargo run -p warden --features full --example error_handling
//! curl -i http://127.0.0.1:8000/items/bar
//! ```

mod common;

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use warden::openapi::{ApiRouter, Docs};
use warden::{AuthError, HttpBearer, routes};

/// Everything that can go wrong in this application.
#[derive(Debug, thiserror::Error)]
enum AppError {
    #[error("item not found")]
    ItemNotFound,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("storage failed: {0}")]
    Storage(#[from] std::io::Error),
}

/// The one place application errors become responses.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::ItemNotFound => {
                let mut response = (
                    StatusCode::NOT_FOUND,
                    Json(json!({ "detail": "Item not found" })),
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert("x-error", HeaderValue::from_static("There goes my error"));
                response
            }
            AppError::Auth(error) => error.into_response(),
            AppError::Storage(cause) => {
                // The cause goes to the log, never to the client.
                tracing::error!(error = %cause, "storage failure");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({ "detail": "Internal server error" })),
                )
                    .into_response()
            }
        }
    }
}

#[derive(Clone)]
struct App {
    admin_token: Arc<str>,
}

#[derive(Serialize, ToSchema)]
struct Item {
    item: String,
}

/// Read an item; only `foo` exists.
#[utoipa::path(
    get,
    path = "/items/{item_id}",
    params(("item_id" = String, Path, description = "The item's id")),
    responses(
        (status = 200, description = "The item", body = Item),
        (status = 404, description = "No such item"),
    )
)]
async fn read_item(Path(item_id): Path<String>) -> Result<Json<Item>, AppError> {
    if item_id != "foo" {
        return Err(AppError::ItemNotFound);
    }
    Ok(Json(Item {
        item: "The Foo Wrestlers".into(),
    }))
}

/// A route whose storage fails: the answer is a plain 500.
#[utoipa::path(get, path = "/reports", responses((status = 500, description = "Always fails, safely")))]
async fn read_reports() -> Result<Json<Item>, AppError> {
    Err(AppError::Storage(std::io::Error::other(
        "connection to postgres://report:hunter2@10.0.0.7/reports refused",
    )))
}

#[derive(Serialize, ToSchema)]
struct Me {
    role: String,
}

/// FastAPI's pre-0.122 behaviour on one route: a missing token answers 403.
#[utoipa::path(
    get,
    path = "/legacy/me",
    responses(
        (status = 200, description = "The admin", body = Me),
        (status = 403, description = "No token (legacy behaviour)"),
    )
)]
async fn legacy_me(
    State(app): State<App>,
    bearer: Result<HttpBearer, AuthError>,
) -> Result<Json<Me>, AppError> {
    let bearer = match bearer {
        Ok(bearer) => bearer,
        Err(AuthError::NotAuthenticated { .. }) => {
            return Err(AuthError::Forbidden {
                detail: "Not authenticated".into(),
            }
            .into());
        }
        Err(other) => return Err(other.into()),
    };
    if !warden::constant_time_eq(bearer.token.as_bytes(), app.admin_token.as_bytes()) {
        return Err(AuthError::InvalidCredentials {
            challenge: warden::Challenge::new(warden::ChallengeScheme::Bearer),
        }
        .into());
    }
    Ok(Json(Me {
        role: "admin".into(),
    }))
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "detail": "Not Found" })),
    )
        .into_response()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let app = App {
        admin_token: common::secret("ADMIN_TOKEN").into(),
    };
    let router = ApiRouter::new()
        .info("Error handling", "1.0.0")
        .routes(routes!(read_item))
        .routes(routes!(read_reports))
        .routes(routes!(legacy_me))
        .fallback(not_found)
        .with_state(app)
        .with_docs(Docs::default());
    common::serve(router).await
}
