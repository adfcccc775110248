//! The HTTP client every upstream request goes through: no redirects followed, timeouts,
//! bounded bodies, JSON only.

use std::time::Duration;

use http::StatusCode;
use http::header::{ACCEPT, CONTENT_LENGTH, USER_AGENT};
use serde::de::DeserializeOwned;

use super::SignInError;

/// The largest body read from an upstream: 64 KiB. Token responses, userinfo documents and
/// GitHub's user records are a few hundred bytes; discovery documents a few KiB.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Sent as `User-Agent` (GitHub's API refuses requests without one).
const AGENT: &str = concat!("warden/", env!("CARGO_PKG_VERSION"));

/// How upstream requests are made.
#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
}

impl Http {
    pub(crate) fn new(timeout: Duration) -> Result<Self, SignInError> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            // A redirect from a token or userinfo endpoint is never followed: it could send
            // the code or the access token to another host, or reach an internal one.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SignInError::Configuration(format!("http client: {e}")))?;
        Ok(Self { client })
    }

    pub(crate) fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.client
            .get(url)
            .header(USER_AGENT, AGENT)
            .header(ACCEPT, "application/json")
    }

    pub(crate) fn post_form(&self, url: &str, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.client
            .post(url)
            .header(USER_AGENT, AGENT)
            .header(ACCEPT, "application/json")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
    }

    /// Sends `request` and reads at most [`MAX_BODY_BYTES`] of its body: the status and
    /// the bytes. Redirects, timeouts and oversized bodies are errors.
    pub(crate) async fn send(
        &self,
        endpoint: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>), SignInError> {
        let mut response = request.send().await.map_err(|e| {
            let reason = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "unreachable"
            } else {
                "request failed"
            };
            SignInError::upstream(endpoint, reason)
        })?;
        let status = response.status();
        if status.is_redirection() {
            return Err(SignInError::upstream(
                endpoint,
                format!("redirected ({status})"),
            ));
        }
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(SignInError::upstream(endpoint, "response too large"));
        }
        let mut body = Vec::new();
        loop {
            let chunk = response.chunk().await.map_err(|e| {
                SignInError::upstream(
                    endpoint,
                    if e.is_timeout() {
                        "timed out"
                    } else {
                        "body unreadable"
                    },
                )
            })?;
            let Some(chunk) = chunk else { break };
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(SignInError::upstream(endpoint, "response too large"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }

    /// [`send`](Self::send), requiring 200 and a JSON body of type `T`.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, SignInError> {
        let (status, body) = self.send(endpoint, request).await?;
        if status != StatusCode::OK {
            return Err(SignInError::upstream(
                endpoint,
                format!("status {}", status.as_u16()),
            ));
        }
        serde_json::from_slice(&body)
            .map_err(|_| SignInError::upstream(endpoint, "not the JSON expected"))
    }
}
