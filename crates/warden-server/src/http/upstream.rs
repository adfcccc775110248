//! Signing in through an upstream provider, from the login page:
//! `POST /authorize/upstream/{provider}` (the provider's button: the authorization request
//! and the anti-CSRF token) redirects to the provider; `GET /authorize/upstream/{provider}/callback`
//! (one redirect URI per provider) comes back, and ends as the password form does — a
//! second factor when the account needs one, consent, the code. Thin: the decisions are
//! `domain/upstream/login.rs`'s.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::response::Response;
use http::StatusCode;
use warden::oauth_client::{Callback, SignInErrorKind};

use super::AppState;
use super::authorize::{Browser, failure, posted, redirect};
use super::browser::Cookie;
use super::pages;
use crate::domain::{
    AuthorizationRequest, Just, PENDING_UPSTREAM_SECS, UpstreamFailure, UpstreamOutcome,
};

/// The longest provider id in a path.
const MAX_PROVIDER_ID: usize = 64;

/// The authorization request a pending sign-in carries, as a query string.
fn request_query(request: &AuthorizationRequest) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(request.pairs())
        .finish()
}

fn parse_request(query: &str) -> Option<AuthorizationRequest> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    AuthorizationRequest::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).ok()
}

/// What the login page says when a sign-in through `provider` failed.
fn message(kind: SignInErrorKind, provider: &str) -> String {
    match kind {
        SignInErrorKind::Rejected => format!("Sign-in with {provider} was cancelled or refused."),
        SignInErrorKind::Forged => {
            format!("Sign-in with {provider} could not be verified. Sign in another way.")
        }
        _ => format!(
            "Sign-in with {provider} is unavailable right now. Try again later, or sign in another way."
        ),
    }
}

/// `POST /authorize/upstream/{provider}`.
pub async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    request: Request,
) -> Response {
    if provider.len() > MAX_PROVIDER_ID {
        return pages::error(StatusCode::NOT_FOUND, "No such sign-in provider.");
    }
    let (_, _, browser, authorization) = match posted(&state, request).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    // The request must still be valid, and need a login, before anyone leaves for the
    // provider: the same answers as at `GET /authorize` otherwise.
    let before = state
        .warden
        .authorize(&authorization, None, Just::Arrived)
        .await;
    if !matches!(before, Ok(crate::domain::Step::Login { .. })) {
        return browser.respond(&authorization, before, "", None).await;
    }
    // `posted` checked the form token against this cookie, so it is there.
    let Some(binding) = browser.csrf.clone() else {
        return pages::error(
            StatusCode::FORBIDDEN,
            "This form has expired. Go back to the application and try again.",
        );
    };
    match state
        .warden
        .begin_upstream(&provider, &binding, request_query(&authorization))
        .await
    {
        Ok(location) => browser.with_cookies(redirect(&location)),
        Err(UpstreamFailure::Failed {
            error,
            provider_name,
            ..
        }) => {
            tracing::warn!(provider = %provider, %error, "upstream sign-in could not start");
            let text = message(error.kind(), &provider_name);
            browser
                .respond(&authorization, before, "", Some(&text))
                .await
        }
        Err(UpstreamFailure::Domain(crate::domain::DomainError::NotFound)) => {
            pages::error(StatusCode::NOT_FOUND, "No such sign-in provider.")
        }
        Err(UpstreamFailure::Domain(error)) => failure(&error),
        Err(other) => {
            tracing::warn!(error = %other, "upstream sign-in could not start");
            pages::error(
                StatusCode::BAD_REQUEST,
                "This sign-in cannot start. Go back to the application and try again.",
            )
        }
    }
}

/// `GET /authorize/upstream/{provider}/callback`.
pub async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(provider): Path<String>,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let mut browser = Browser::new(&state, &headers);
    let ip = state.client_ip(peer, &headers).to_string();
    browser.ip = Some(ip.clone());
    let lost = || {
        pages::error(
            StatusCode::BAD_REQUEST,
            "This sign-in has expired, was already used, or was started in another browser. \
             Go back to the application and start again.",
        )
    };
    if provider.len() > MAX_PROVIDER_ID {
        return lost();
    }
    let Ok(callback) = Callback::parse(request.uri().query().unwrap_or("")) else {
        return lost();
    };
    let binding = browser.csrf.clone();
    let outcome = state
        .warden
        .complete_upstream(&provider, binding.as_deref(), &callback, Some(&ip))
        .await;
    match outcome {
        Ok(UpstreamOutcome::SignedIn { user, how, request }) => {
            let Some(authorization) = parse_request(&request) else {
                return lost();
            };
            let session = match state.warden.start_session(&user, &how).await {
                Ok((cookie, session)) => {
                    browser.set_session(&cookie.0);
                    session
                }
                Err(error) => return failure(&error),
            };
            browser.user = Some(user.clone());
            browser.auth_time = Some(session.auth_time);
            let step = state
                .warden
                .authorize(&authorization, Some(&(session, user)), Just::LoggedIn)
                .await;
            browser.respond(&authorization, step, "", None).await
        }
        Ok(UpstreamOutcome::ProveAccount {
            link_token,
            provider_name,
            request,
        }) => {
            let Some(authorization) = parse_request(&request) else {
                return lost();
            };
            if let Some(header) = Cookie::UpstreamLink.set(
                &state.warden,
                &link_token,
                Some(PENDING_UPSTREAM_SECS.unsigned_abs()),
            ) {
                browser.set_cookies.push(header);
            }
            let text = format!(
                "Sign in to the account you want to use with {provider_name}: your {provider_name} sign-in will be linked to it."
            );
            let step = state
                .warden
                .authorize(&authorization, None, Just::Arrived)
                .await;
            browser.respond(&authorization, step, "", Some(&text)).await
        }
        Err(UpstreamFailure::Failed {
            error,
            request,
            provider_name,
        }) => {
            let Some(authorization) = parse_request(&request) else {
                return lost();
            };
            let text = message(error.kind(), &provider_name);
            let step = state
                .warden
                .authorize(&authorization, None, Just::Arrived)
                .await;
            browser.respond(&authorization, step, "", Some(&text)).await
        }
        Err(UpstreamFailure::Disabled { request }) => {
            let Some(authorization) = parse_request(&request) else {
                return lost();
            };
            let step = state
                .warden
                .authorize(&authorization, None, Just::Arrived)
                .await;
            browser
                .respond(&authorization, step, "", Some("This account is disabled."))
                .await
        }
        Err(UpstreamFailure::Lost(error)) => {
            tracing::info!(provider = %provider, %error, "upstream callback refused");
            lost()
        }
        Err(UpstreamFailure::Domain(crate::domain::DomainError::NotFound)) => lost(),
        Err(UpstreamFailure::Domain(error)) => failure(&error),
    }
}
