//! Why a session could not be stored, loaded or started.

use std::time::Duration;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use crate::AuthError;

/// Why a [`SessionStore`](super::SessionStore) could not answer.
///
/// On a request path it becomes a 503 with `Retry-After` (never a pass: a session that
/// cannot be checked is not let in), and it is logged.
///
/// ```
/// use std::time::Duration;
/// use warden::session::StoreError;
///
/// let error = StoreError::Timeout(Duration::from_millis(250));
/// assert_eq!(error.to_string(), "session store did not answer within 250ms");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed: connection refused or reset, a server error.
    #[error("session store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The backend did not answer in time.
    #[error("session store did not answer within {0:?}")]
    Timeout(Duration),
    /// The backend returned a record this crate cannot read (treated as no session).
    #[error("unreadable session record: {0}")]
    Corrupt(&'static str),
}

/// Why a session operation failed.
///
/// As a response (`IntoResponse`): store failures and a failing random generator are 503
/// with `Retry-After: 1`; data too large or not serializable, a bad configuration and a
/// missing [`SessionLayer`](super::SessionLayer) are 500. Bodies are `{"detail": "…"}` and
/// say nothing more.
///
/// ```
/// use axum::response::IntoResponse;
/// use warden::session::SessionError;
///
/// let response = SessionError::TooLarge { max: 4096 }.into_response();
/// assert_eq!(response.status(), 500);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The operating system's random generator failed.
    #[error("random generator failed")]
    Random,
    /// The session data, as JSON, is larger than
    /// [`SessionConfig::max_data_bytes`](super::SessionConfig::max_data_bytes).
    #[error("session data larger than {max} bytes")]
    TooLarge {
        /// The bound, in bytes.
        max: usize,
    },
    /// The session data could not be serialized to JSON.
    #[error("session data not serializable: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The configuration is not usable (see [`Sessions::new`](super::Sessions::new)).
    #[error("invalid session configuration: {0}")]
    Config(&'static str),
    /// A handler asked for the sessions of a request that did not pass through a
    /// [`SessionLayer`](super::SessionLayer): a programming error.
    #[error("no SessionLayer in front of this route")]
    MissingLayer,
}

impl SessionError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Store(_) | Self::Random => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "session operation failed");
        match self.status() {
            StatusCode::SERVICE_UNAVAILABLE => {
                AuthError::Unavailable { retry_after: 1 }.into_response()
            }
            status => (status, Json(json!({ "detail": "Internal Server Error" }))).into_response(),
        }
    }
}

/// Logs a store failure met while authenticating and turns it into the 503 answer.
pub(crate) fn unavailable(error: &StoreError) -> crate::Denied {
    tracing::error!(%error, "session store unavailable");
    crate::Denied::Unavailable { retry_after: 1 }
}
