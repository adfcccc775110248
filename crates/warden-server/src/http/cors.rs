//! CORS for the endpoints a browser app calls itself: discovery, JWKS, token, UserInfo and
//! revocation, so a single-page app can run the code flow with PKCE from its own origin.
//!
//! Every origin is allowed, without credentials (`Access-Control-Allow-Origin: *`, never
//! `Allow-Credentials`): these endpoints read no cookie — the client authenticates in the
//! body or the `Authorization` header it sets itself — so a cross-origin page gains nothing
//! it could not do from its own server. Every other route, the cookie-bearing pages above
//! all, gets no CORS header and stays same-origin for scripts.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};

/// The paths that answer cross-origin requests.
const PATHS: [&str; 8] = [
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/.well-known/jwks.json",
    "/token",
    "/par",
    "/userinfo",
    "/revoke",
    "/introspect",
];

/// The middleware.
pub async fn cors(request: Request, next: Next) -> Response {
    let applies =
        request.headers().contains_key(header::ORIGIN) && PATHS.contains(&request.uri().path());
    if !applies {
        return next.run(request).await;
    }
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            // `dpop`: the proof header of DPoP clients (RFC 9449 §4.1).
            HeaderValue::from_static("authorization, content-type, dpop"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        response
    } else {
        next.run(request).await
    };
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    // A browser client must read the DPoP challenge and nonce to retry (RFC 9449 §7.1, §8).
    response.headers_mut().insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("WWW-Authenticate, DPoP-Nonce"),
    );
    response
}
