//! `GET /authorize` and its two forms, `POST /authorize/login` and `POST /authorize/consent`
//! (RFC 6749 §4.1, OpenID Connect Core §3.1.2). Thin: the domain decides the next step, this
//! file turns it into a page or a redirect and keeps the cookies.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::AppState;
use super::browser::Cookie;
use super::client_auth::Form;
use super::pages;
use crate::domain::{
    AuthorizationRequest, AuthorizeError, DomainError, Just, Step, new_csrf_cookie,
};
use crate::storage::{BrowserSession, User};

/// The longest query string taken at `/authorize`.
const MAX_QUERY_BYTES: usize = 8 * 1024;

/// What the handlers share: the state, the request's cookies, and the cookies to set.
struct Browser<'a> {
    state: &'a AppState,
    csrf: Option<String>,
    set_cookies: Vec<HeaderValue>,
}

impl<'a> Browser<'a> {
    fn new(state: &'a AppState, headers: &HeaderMap) -> Self {
        Self {
            state,
            csrf: Cookie::Csrf.read(&state.warden, headers),
            set_cookies: Vec::new(),
        }
    }

    /// The form token for this browser, giving it an anti-CSRF cookie if it has none.
    fn form_token(&mut self) -> Result<String, DomainError> {
        let warden = &self.state.warden;
        let cookie = match &self.csrf {
            Some(value) if !value.is_empty() && value.len() <= 128 => value.clone(),
            _ => {
                let value = new_csrf_cookie()?;
                if let Some(header) = Cookie::Csrf.set(warden, &value, None) {
                    self.set_cookies.push(header);
                }
                self.csrf = Some(value.clone());
                value
            }
        };
        Ok(warden.form_token(&cookie))
    }

    /// Whether the form came from one of our pages in this browser.
    fn form_is_ours(&self, form: &Form) -> bool {
        self.state
            .warden
            .form_token_valid(self.csrf.as_deref(), form.get("csrf_token"))
    }

    fn action(&self, path: &str) -> String {
        format!("{}{path}", self.state.warden.config().issuer)
    }

    /// The page or redirect for `step`, with the cookies set so far.
    fn respond(
        mut self,
        request: &AuthorizationRequest,
        result: Result<Step, AuthorizeError>,
        username: &str,
        error: Option<&str>,
    ) -> Response {
        let response = match result {
            Ok(Step::Redirect(location)) | Err(AuthorizeError::Redirect(location)) => {
                redirect(&location)
            }
            Ok(Step::Login { client_name }) => match self.fields(request) {
                Ok(fields) => {
                    let fields: Vec<_> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    pages::login(
                        &self.action("/authorize/login"),
                        &client_name,
                        &fields,
                        username,
                        error,
                    )
                }
                Err(error) => failure(&error),
            },
            Ok(Step::Consent {
                client_name,
                username,
                scopes,
            }) => match self.fields(request) {
                Ok(fields) => {
                    let fields: Vec<_> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    pages::consent(
                        &self.action("/authorize/consent"),
                        &client_name,
                        &username,
                        &scopes,
                        &fields,
                    )
                }
                Err(error) => failure(&error),
            },
            Err(AuthorizeError::Page(message)) => pages::error(StatusCode::BAD_REQUEST, message),
            Err(AuthorizeError::Domain(error)) => failure(&error),
        };
        self.with_cookies(response)
    }

    /// The hidden fields of a form: the request and the anti-CSRF token.
    fn fields(
        &mut self,
        request: &AuthorizationRequest,
    ) -> Result<Vec<(&'static str, String)>, DomainError> {
        let mut fields: Vec<(&'static str, String)> = request
            .pairs()
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect();
        fields.push(("csrf_token", self.form_token()?));
        Ok(fields)
    }

    fn with_cookies(self, mut response: Response) -> Response {
        for cookie in self.set_cookies {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// 303 See Other: the browser follows with a GET, never re-posting the form (RFC 9700
/// §4.12 rules out 307 for this reason).
fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => pages::error(StatusCode::BAD_REQUEST, "The return address is not valid."),
    }
}

/// A failure of the server or of the login itself, as a page.
fn failure(error: &DomainError) -> Response {
    let (status, message, retry_after) = match error {
        DomainError::Throttled { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-in attempts. Wait a little and try again.",
            Some(*retry_after),
        ),
        DomainError::Busy { retry_after } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy. Try again in a moment.",
            Some(*retry_after),
        ),
        DomainError::InvalidRequest(message) => (StatusCode::BAD_REQUEST, *message, None),
        DomainError::Storage(crate::storage::StorageError::InvalidText) => (
            StatusCode::BAD_REQUEST,
            "The request holds a character that is not allowed.",
            None,
        ),
        DomainError::Storage(error) => {
            tracing::error!(%error, "storage failure at the authorization endpoint");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is unavailable. Try again later.",
                None,
            )
        }
        other => {
            tracing::error!(error = %other, "failure at the authorization endpoint");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
                None,
            )
        }
    };
    let mut response = pages::error(status, message);
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The browser's live session, if its cookie names one.
async fn session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(BrowserSession, User)>, DomainError> {
    match Cookie::Session.read(&state.warden, headers) {
        Some(value) => state.warden.session(&value).await,
        None => Ok(None),
    }
}

/// A form posted from one of our pages: its headers and fields, the browser, and the
/// authorization request it carries — or the page refusing it.
async fn posted(
    state: &AppState,
    request: Request,
) -> Result<(HeaderMap, Form, Browser<'_>, AuthorizationRequest), Response> {
    let (headers, form) = Form::read(request).await.map_err(|error| failure(&error))?;
    let browser = Browser::new(state, &headers);
    let authorization = AuthorizationRequest::from_pairs(form.pairs())
        .map_err(|message| pages::error(StatusCode::BAD_REQUEST, message))?;
    if !browser.form_is_ours(&form) {
        return Err(pages::error(
            StatusCode::FORBIDDEN,
            "This form has expired. Go back to the application and try again.",
        ));
    }
    Ok((headers, form, browser, authorization))
}

/// `GET /authorize`.
pub async fn authorize(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let browser = Browser::new(&state, &headers);
    let query = query.unwrap_or_default();
    if query.len() > MAX_QUERY_BYTES {
        return pages::error(StatusCode::URI_TOO_LONG, "The request is too long.");
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let request =
        match AuthorizationRequest::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        {
            Ok(request) => request,
            Err(message) => return pages::error(StatusCode::BAD_REQUEST, message),
        };
    let result = match session(&state, &headers).await {
        Ok(session) => {
            state
                .warden
                .authorize(&request, session.as_ref(), Just::Arrived)
                .await
        }
        Err(error) => Err(AuthorizeError::Domain(error)),
    };
    browser.respond(&request, result, "", None)
}

/// `POST /authorize/login`: the login form.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (headers, form, mut browser, authorization) = match posted(&state, request).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    // The request must still be valid before any password is checked: a bad client or
    // redirect URI is answered as at `GET /authorize`, without a login.
    let before = state
        .warden
        .authorize(&authorization, None, Just::Arrived)
        .await;
    if !matches!(before, Ok(Step::Login { .. })) {
        return browser.respond(&authorization, before, "", None);
    }
    let username = form.get("username").unwrap_or("");
    let password = form.get("password").unwrap_or("");
    let client_id = authorization.client_id.as_deref().unwrap_or("");
    let ip = state.client_ip(peer, &headers);
    let user = match state
        .warden
        .login(username, password, client_id, Some(&ip))
        .await
    {
        Ok(user) => user,
        Err(DomainError::InvalidGrant | DomainError::WeakPassword(_)) => {
            // The same answer for an unknown user and a wrong password.
            let step = state
                .warden
                .authorize(&authorization, None, Just::Arrived)
                .await;
            return browser.respond(
                &authorization,
                step,
                username,
                Some("Incorrect username or password."),
            );
        }
        Err(error) => return failure(&error),
    };
    let session = match state.warden.start_session(&user).await {
        Ok((cookie, session)) => {
            let ttl = state.warden.config().session_ttl;
            if let Some(header) = Cookie::Session.set(&state.warden, &cookie.0, Some(ttl)) {
                browser.set_cookies.push(header);
            }
            (session, user)
        }
        Err(error) => return failure(&error),
    };
    let step = state
        .warden
        .authorize(&authorization, Some(&session), Just::LoggedIn)
        .await;
    browser.respond(&authorization, step, "", None)
}

/// `POST /authorize/consent`: the consent form.
pub async fn consent(State(state): State<AppState>, request: Request) -> Response {
    let (headers, form, browser, authorization) = match posted(&state, request).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let allow = form.get("decision") == Some("allow");
    let step = match session(&state, &headers).await {
        Ok(session) => {
            state
                .warden
                .answer_consent(&authorization, session.as_ref(), allow)
                .await
        }
        Err(error) => Err(AuthorizeError::Domain(error)),
    };
    browser.respond(&authorization, step, "", None)
}
