//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): `GET`/`POST /logout`.
//!
//! The browser is sent back only to a `post_logout_redirect_uri` registered by the client
//! (exact match), and only once the client is known — from a valid `id_token_hint` or
//! `client_id` — so the endpoint is no open redirector (RFC 9700 §4.11). Without a valid
//! hint for the signed-in user, the user confirms on a form first (§2: the OP SHOULD ask),
//! so a cross-site link cannot sign anyone out.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::AppState;
use super::browser::Cookie;
use super::client_auth::Form;
use super::pages;
use crate::domain::{new_csrf_cookie, with_params};
use crate::storage::Storage;

const MAX_QUERY_BYTES: usize = 16 * 1024;

/// `GET` or `POST /logout`.
pub async fn logout(State(state): State<AppState>, request: Request) -> Response {
    let is_post = request.method() == Method::POST;
    let (headers, form) = if is_post {
        match Form::read(request).await {
            Ok(read) => read,
            Err(_) => return pages::error(StatusCode::BAD_REQUEST, "The request is malformed."),
        }
    } else {
        let (parts, _) = request.into_parts();
        let query = parts.uri.query().unwrap_or("");
        if query.len() > MAX_QUERY_BYTES {
            return pages::error(StatusCode::URI_TOO_LONG, "The request is too long.");
        }
        match Form::parse(query.as_bytes()) {
            Ok(form) => (parts.headers, form),
            Err(_) => return pages::error(StatusCode::BAD_REQUEST, "The request is malformed."),
        }
    };
    handle(&state, &headers, &form, is_post).await
}

async fn handle(state: &AppState, headers: &HeaderMap, form: &Form, is_post: bool) -> Response {
    let warden = &state.warden;
    let hint = match form.get("id_token_hint") {
        Some(token) if token.len() <= 8 * 1024 => warden.id_token_hint(token).await,
        _ => None,
    };
    let client_id = match (&hint, form.get("client_id")) {
        (Some(hint), Some(id)) if hint.client_id != id => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "The sign-out request names two different applications.",
            );
        }
        (Some(hint), _) => Some(hint.client_id.clone()),
        (None, id) => id.map(str::to_owned),
    };
    let state_param = form.get("state").filter(|s| s.len() <= 1024);
    let return_to = match form.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let client = match &client_id {
                Some(id) if id.len() <= 128 => warden.storage().client(id).await.ok().flatten(),
                _ => None,
            };
            let registered = client
                .as_ref()
                .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|u| u == uri));
            if !registered {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "The application asked to return to an address it has not registered.",
                );
            }
            Some(uri.to_owned())
        }
    };
    let session_cookie = Cookie::Session.read(warden, headers);
    let session = match &session_cookie {
        Some(value) => warden.session(value).await.ok().flatten(),
        None => None,
    };
    let hint_is_for_this_user = match (&hint, &session) {
        (Some(hint), Some((_, user))) => hint.sub == user.id,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let csrf = Cookie::Csrf.read(warden, headers);
    let confirmed = hint_is_for_this_user
        || session.is_none()
        || (is_post
            && form.get("confirm") == Some("yes")
            && warden.form_token_valid(csrf.as_deref(), form.get("csrf_token")));
    if !confirmed {
        return confirmation(
            state,
            csrf,
            client_id.as_deref(),
            return_to.as_deref(),
            state_param,
        );
    }
    if let Some(value) = &session_cookie {
        if let Err(error) = warden.end_session(value).await {
            tracing::error!(%error, "could not end a session");
            return pages::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is unavailable. Try again later.",
            );
        }
        if let Some((_, user)) = &session {
            warden
                .audit(
                    "logout",
                    "success",
                    Some(&user.id),
                    client_id.as_deref(),
                    None,
                    None,
                )
                .await;
        }
    }
    let mut response = match return_to {
        Some(uri) => {
            let location = match state_param {
                Some(state) => with_params(&uri, &[("state", state)]),
                None => uri,
            };
            match HeaderValue::from_str(&location) {
                Ok(value) => {
                    let mut response = StatusCode::SEE_OTHER.into_response();
                    response.headers_mut().insert(header::LOCATION, value);
                    response
                }
                Err(_) => pages::signed_out(),
            }
        }
        None => pages::signed_out(),
    };
    if let Some(clear) = Cookie::Session.set(warden, "", Some(0)) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// The confirmation form, carrying the request.
fn confirmation(
    state: &AppState,
    csrf: Option<String>,
    client_id: Option<&str>,
    return_to: Option<&str>,
    state_param: Option<&str>,
) -> Response {
    let warden = &state.warden;
    let (cookie, set) = match csrf.filter(|c| !c.is_empty() && c.len() <= 128) {
        Some(cookie) => (cookie, None),
        None => match new_csrf_cookie() {
            Ok(cookie) => (cookie.clone(), Cookie::Csrf.set(warden, &cookie, None)),
            Err(_) => {
                return pages::error(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.");
            }
        },
    };
    let token = warden.form_token(&cookie);
    let mut fields = vec![("csrf_token", token.as_str())];
    if let Some(id) = client_id {
        fields.push(("client_id", id));
    }
    if let Some(uri) = return_to {
        fields.push(("post_logout_redirect_uri", uri));
    }
    if let Some(s) = state_param {
        fields.push(("state", s));
    }
    let mut response =
        pages::confirm_logout(&format!("{}/logout", warden.config().issuer), &fields);
    if let Some(set) = set {
        response.headers_mut().append(header::SET_COOKIE, set);
    }
    response
}
