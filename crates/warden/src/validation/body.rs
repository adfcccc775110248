//! Reading a request body within its bounds, and checking its media type.

use axum::extract::{FromRequest, Request};
use http::{StatusCode, header};

use super::ValidationError;

/// Reads the body, bounded by axum's `DefaultBodyLimit` (2 MiB unless configured) and by
/// `limit` when given.
pub(crate) async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
    limit: Option<usize>,
) -> Result<axum::body::Bytes, ValidationError> {
    let bytes = match limit {
        Some(limit) => axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|err| {
                if is_length_limit(&err) {
                    ValidationError::TooLarge
                } else {
                    ValidationError::Unreadable
                }
            })?,
        None => axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ValidationError::TooLarge
                } else {
                    ValidationError::Unreadable
                }
            })?,
    };
    Ok(bytes)
}

fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

pub(crate) fn has_media_type(req: &Request, expected: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case(expected)
                || (expected == "application/json"
                    && v.len() > 5
                    && v[v.len() - 5..].eq_ignore_ascii_case("+json"))
        })
        .unwrap_or(false)
}
