//! Liveness and readiness.

use axum::extract::State;
use http::StatusCode;

use super::AppState;
use crate::storage::Storage;

/// `GET /healthz`: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive")), tag = "operations")]
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers.
#[utoipa::path(get, path = "/readyz",
    responses((status = 200, description = "Ready"), (status = 503, description = "Database unreachable")),
    tag = "operations")]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.warden.storage().ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}
