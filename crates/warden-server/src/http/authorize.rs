//! `GET /authorize` and its forms (RFC 6749 §4.1, OpenID Connect Core §3.1.2):
//! `POST /authorize/login` (the password), `POST /authorize/second-factor` (a TOTP or
//! recovery code), `POST /authorize/enrol` (setting up TOTP when it is required),
//! `POST /authorize/continue` (past the page that shows recovery codes),
//! `POST /authorize/consent`, and the passkey routes: `POST /authorize/passkey/start` (the
//! script asks for a ceremony: JSON options, and its id in a short-lived cookie) and
//! `POST /authorize/passkey` (the form with the credential, as a second factor or to sign
//! in), which end as the password and code forms do. Thin: the domain decides the next step, this file turns it
//! into a page or a redirect and keeps the cookies.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::AppState;
use super::browser::Cookie;
use super::client_auth::Form;
use super::error::ApiError;
use super::pages::{self, PasskeyUrls};
use crate::domain::{
    AMR_OTP, Authentication, AuthorizationRequest, AuthorizeError, CEREMONY_TTL_SECS, DomainError,
    Expect, Just, RECENT_AUTHENTICATION_SECS, SecondFactor, Step, new_csrf_cookie, now,
};
use crate::storage::{BrowserSession, Storage, User};

/// The longest query string taken at `/authorize`.
const MAX_QUERY_BYTES: usize = 8 * 1024;

/// What the handlers share: the state, the request's cookies, and the cookies to set.
pub(super) struct Browser<'a> {
    pub(super) state: &'a AppState,
    pub(super) csrf: Option<String>,
    pub(super) set_cookies: Vec<HeaderValue>,
    /// The user of the browser's session, once known (the enrolment page needs it).
    pub(super) user: Option<User>,
    /// A verified upstream identity waiting to be linked to the account this browser signs
    /// in to (see `domain/upstream/login.rs`).
    pub(super) link_token: Option<String>,
    /// The client's address, for the audit log.
    pub(super) ip: Option<String>,
    /// When the browser's session authenticated (Unix seconds), set only by the forms of a
    /// sign-in (password, passkey, second factor, an upstream's callback): a waiting identity
    /// is linked only to a sign-in made in this request chain after it was verified, never
    /// to a session that was already there.
    pub(super) auth_time: Option<i64>,
}

impl<'a> Browser<'a> {
    pub(super) fn new(state: &'a AppState, headers: &HeaderMap) -> Self {
        Self {
            state,
            csrf: Cookie::Csrf.read(&state.warden, headers),
            set_cookies: Vec::new(),
            user: None,
            link_token: Cookie::UpstreamLink.read(&state.warden, headers),
            ip: None,
            auth_time: None,
        }
    }

    /// The form token for this browser, giving it an anti-CSRF cookie if it has none.
    pub(super) fn form_token(&mut self) -> Result<String, DomainError> {
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
    pub(super) fn form_is_ours(&self, form: &Form) -> bool {
        self.state
            .warden
            .form_token_valid(self.csrf.as_deref(), form.get("csrf_token"))
    }

    pub(super) fn action(&self, path: &str) -> String {
        format!("{}{path}", self.state.warden.config().issuer)
    }

    /// The passkey routes and script, when passkeys are on.
    fn passkey_urls(&self) -> Option<PasskeyUrls> {
        self.state.warden.passkeys_enabled().then(|| PasskeyUrls {
            start: self.action("/authorize/passkey/start"),
            finish: self.action("/authorize/passkey"),
            script: self.action(pages::WEBAUTHN_SCRIPT),
        })
    }

    /// Keeps the new session's cookie.
    pub(super) fn set_session(&mut self, cookie: &str) {
        let warden = &self.state.warden;
        let ttl = warden.config().session_ttl;
        if let Some(header) = Cookie::Session.set(warden, cookie, Some(ttl)) {
            self.set_cookies.push(header);
        }
    }

    /// The page or redirect for `step`, with the cookies set so far.
    pub(super) async fn respond(
        mut self,
        request: &AuthorizationRequest,
        result: Result<Step, AuthorizeError>,
        username: &str,
        error: Option<&str>,
    ) -> Response {
        if matches!(result, Ok(Step::Redirect(_) | Step::Consent { .. })) {
            self.link_waiting_identity().await;
        }
        let response = match result {
            Ok(Step::Redirect(location)) | Err(AuthorizeError::Redirect(location)) => {
                redirect(&location)
            }
            Ok(Step::Login { client_name }) => {
                let buttons = self.state.warden.login_buttons().await;
                match (self.fields(request), buttons) {
                    (Ok(fields), Ok(buttons)) => {
                        let fields: Vec<_> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                        let upstream: Vec<_> = buttons
                            .iter()
                            .map(|b| pages::UpstreamButton {
                                id: &b.id,
                                action: self.action(&format!("/authorize/upstream/{}", b.id)),
                                name: &b.display_name,
                            })
                            .collect();
                        pages::login(
                            &self.action("/authorize/login"),
                            &client_name,
                            &fields,
                            username,
                            error,
                            self.passkey_urls().as_ref(),
                            &upstream,
                        )
                    }
                    (Err(error), _) | (_, Err(error)) => failure(&error),
                }
            }
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
            Ok(Step::SecondFactor {
                client_name,
                code,
                passkey,
            }) => match self.fields(request) {
                Ok(fields) => {
                    let fields: Vec<_> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    let urls = self.passkey_urls().filter(|_| passkey);
                    pages::second_factor(
                        &self.action("/authorize/second-factor"),
                        &client_name,
                        &fields,
                        error,
                        code,
                        urls.as_ref(),
                    )
                }
                Err(error) => failure(&error),
            },
            Ok(Step::Enrol { client_name }) => {
                let enrolment = match &self.user {
                    Some(user) => self.state.warden.start_totp_enrolment(user).await,
                    None => Err(DomainError::Internal("enrolment without a session")),
                };
                match (enrolment, self.fields(request)) {
                    (Ok(enrolment), Ok(fields)) => {
                        let fields: Vec<_> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                        pages::enrol_totp(
                            &self.action("/authorize/enrol"),
                            &client_name,
                            &enrolment,
                            &fields,
                            error,
                            self.passkey_urls().as_ref(),
                        )
                    }
                    (Err(error), _) | (_, Err(error)) => failure(&error),
                }
            }
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

    /// Links the upstream identity waiting for this browser to the user it has now signed in
    /// as completely (every factor the account needs, since the step leaves the login), and
    /// forgets the cookie. A link that fails is logged and audited; the sign-in goes on.
    async fn link_waiting_identity(&mut self) {
        let (Some(token), Some(user), Some(auth_time)) =
            (self.link_token.take(), self.user.as_ref(), self.auth_time)
        else {
            return;
        };
        let warden = &self.state.warden;
        if let Err(error) = warden
            .link_pending_identity(
                &token,
                self.csrf.as_deref(),
                user,
                auth_time,
                self.ip.as_deref(),
            )
            .await
        {
            tracing::info!(%error, "upstream identity not linked");
        }
        if let Some(header) = Cookie::UpstreamLink.set(warden, "", Some(0)) {
            self.set_cookies.push(header);
        }
    }

    pub(super) fn with_cookies(self, mut response: Response) -> Response {
        for cookie in self.set_cookies {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// 303 See Other: the browser follows with a GET, never re-posting the form (RFC 9700
/// §4.12 rules out 307 for this reason).
pub(super) fn redirect(location: &str) -> Response {
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
pub(super) fn failure(error: &DomainError) -> Response {
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
        DomainError::InvalidRequest(message) | DomainError::InvalidPasskey(message) => {
            (StatusCode::BAD_REQUEST, *message, None)
        }
        DomainError::Forbidden => (
            StatusCode::FORBIDDEN,
            "This account already has a second factor: sign in with it.",
            None,
        ),
        DomainError::PasskeysDisabled => (
            StatusCode::NOT_FOUND,
            "Passkeys are not available on this server.",
            None,
        ),
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
pub(super) async fn session(
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
pub(super) async fn posted(
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
    let mut request =
        match AuthorizationRequest::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        {
            Ok(request) => request,
            Err(message) => return pages::error(StatusCode::BAD_REQUEST, message),
        };
    // RFC 9126 §4: a pushed request, named by its `request_uri`; only the pushed parameters
    // count, whatever else the query says.
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(request_uri) = param("request_uri") {
        request = match state
            .warden
            .take_pushed_request(param("client_id"), request_uri)
            .await
        {
            Ok(pushed) => pushed,
            Err(AuthorizeError::Page(message)) => {
                return pages::error(StatusCode::BAD_REQUEST, message);
            }
            Err(error) => return browser.respond(&request, Err(error), "", None).await,
        };
    }
    let mut browser = browser;
    let result = match session(&state, &headers).await {
        Ok(session) => {
            browser.user = session.as_ref().map(|(_, user)| user.clone());
            state
                .warden
                .authorize(&request, session.as_ref(), Just::Arrived)
                .await
        }
        Err(error) => Err(AuthorizeError::Domain(error)),
    };
    browser.respond(&request, result, "", None).await
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
        return browser.respond(&authorization, before, "", None).await;
    }
    let username = form.get("username").unwrap_or("");
    let password = form.get("password").unwrap_or("");
    let client_id = authorization.client_id.as_deref().unwrap_or("");
    let ip = state.client_ip(peer, &headers);
    browser.ip = Some(ip.to_string());
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
            return browser
                .respond(
                    &authorization,
                    step,
                    username,
                    Some("Incorrect username or password."),
                )
                .await;
        }
        Err(error) => return failure(&error),
    };
    // The session starts with the password; the domain then asks for a second factor when
    // the account needs one, before anything else.
    let session = match state
        .warden
        .start_session(&user, &Authentication::password(now()))
        .await
    {
        Ok((cookie, session)) => {
            browser.set_session(&cookie.0);
            (session, user)
        }
        Err(error) => return failure(&error),
    };
    browser.user = Some(session.1.clone());
    browser.auth_time = Some(session.0.auth_time);
    let step = state
        .warden
        .authorize(&authorization, Some(&session), Just::LoggedIn)
        .await;
    browser.respond(&authorization, step, "", None).await
}

impl<'a> Browser<'a> {
    /// The session of a browser that passed the password and owes a second factor (its user
    /// kept for the pages), or what to show instead: the login page when the sign-in
    /// expired, the failure page when storage failed.
    async fn pending(
        mut self,
        headers: &HeaderMap,
        request: &AuthorizationRequest,
    ) -> Result<(Self, BrowserSession, User), Response> {
        match session(self.state, headers).await {
            Ok(Some((session, user))) => {
                self.user = Some(user.clone());
                self.auth_time = Some(session.auth_time);
                Ok((self, session, user))
            }
            Ok(None) => {
                let step = self
                    .state
                    .warden
                    .authorize(request, None, Just::Arrived)
                    .await;
                Err(self.respond(request, step, "", None).await)
            }
            Err(error) => Err(failure(&error)),
        }
    }
}

/// The session of a browser that passed the password and owes a second factor, or the
/// login page again.
async fn pending_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(BrowserSession, User), DomainError> {
    session(state, headers)
        .await?
        .ok_or(DomainError::InvalidRequest(
            "The sign-in has expired. Start again.",
        ))
}

/// `POST /authorize/second-factor`: a TOTP code or a recovery code after the password.
pub async fn second_factor(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (headers, form, browser, authorization) = match posted(&state, request).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let (mut browser, session, user) = match browser.pending(&headers, &authorization).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let ip = state.client_ip(peer, &headers);
    let code = form.get("code").unwrap_or("");
    let client_id = authorization.client_id.as_deref();
    let factor = match state
        .warden
        .verify_second_factor(&user, code, client_id, Some(&ip))
        .await
    {
        Ok(factor) => factor,
        Err(DomainError::InvalidCode) => {
            let step = state
                .warden
                .authorize(&authorization, Some(&(session, user)), Just::LoggedIn)
                .await;
            return browser
                .respond(
                    &authorization,
                    step,
                    "",
                    Some("That code is not valid. Try the current one."),
                )
                .await;
        }
        Err(error) => return failure(&error),
    };
    let raised = match state
        .warden
        .raise_session(&session, &user, &[factor.amr()])
        .await
    {
        Ok((cookie, raised)) => {
            browser.set_session(&cookie.0);
            (raised, user)
        }
        Err(error) => return failure(&error),
    };
    if let SecondFactor::RecoveryCode { left } = factor {
        // The user learns how many codes remain before going on.
        return match browser.fields(&authorization) {
            Ok(fields) => {
                let fields: Vec<_> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let response = pages::recovery_code_used(
                    &browser.action("/authorize/continue"),
                    left,
                    &fields,
                );
                browser.with_cookies(response)
            }
            Err(error) => failure(&error),
        };
    }
    let step = state
        .warden
        .authorize(&authorization, Some(&raised), Just::LoggedIn)
        .await;
    browser.respond(&authorization, step, "", None).await
}

/// `POST /authorize/enrol`: the first code from a newly set-up authenticator app, when a
/// second factor is required and the account had none.
pub async fn enrol(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (headers, form, browser, authorization) = match posted(&state, request).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let (mut browser, session, user) = match browser.pending(&headers, &authorization).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let ip = state.client_ip(peer, &headers);
    let code = form.get("code").unwrap_or("");
    let codes = match state.warden.confirm_totp(&user, code, Some(&ip)).await {
        Ok(codes) => codes,
        Err(DomainError::InvalidCode | DomainError::InvalidRequest(_)) => {
            let step = state
                .warden
                .authorize(&authorization, Some(&(session, user)), Just::LoggedIn)
                .await;
            return browser
                .respond(
                    &authorization,
                    step,
                    "",
                    Some("That code did not match. Enter the code your app shows now."),
                )
                .await;
        }
        Err(error) => return failure(&error),
    };
    match state
        .warden
        .raise_session(&session, &user, &[AMR_OTP])
        .await
    {
        Ok((cookie, _)) => browser.set_session(&cookie.0),
        Err(error) => return failure(&error),
    }
    let fields = match browser.fields(&authorization) {
        Ok(fields) => fields,
        Err(error) => return failure(&error),
    };
    let fields: Vec<_> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = pages::recovery_codes(
        &browser.action("/authorize/continue"),
        codes.as_deref().unwrap_or_default(),
        &fields,
    );
    browser.with_cookies(response)
}

/// `POST /authorize/continue`: on from a page shown right after a second factor (the
/// recovery codes, or how many are left). Counts as the login just made only while that
/// second factor is recent, so it cannot stand in for `prompt=login` later.
pub async fn proceed(State(state): State<AppState>, request: Request) -> Response {
    let (headers, _, mut browser, authorization) = match posted(&state, request).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let found = match session(&state, &headers).await {
        Ok(found) => found,
        Err(error) => return failure(&error),
    };
    let just = match &found {
        Some((session, _))
            if Authentication::stored(session.auth_time, &session.amr).is_multi_factor()
                && now().saturating_sub(session.auth_time) <= RECENT_AUTHENTICATION_SECS =>
        {
            Just::LoggedIn
        }
        _ => Just::Arrived,
    };
    browser.user = found.as_ref().map(|(_, user)| user.clone());
    let step = state
        .warden
        .authorize(&authorization, found.as_ref(), just)
        .await;
    browser.respond(&authorization, step, "", None).await
}

/// `POST /authorize/consent`: the consent form.
pub async fn consent(State(state): State<AppState>, request: Request) -> Response {
    let (headers, form, mut browser, authorization) = match posted(&state, request).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let allow = form.get("decision") == Some("allow");
    let step = match session(&state, &headers).await {
        Ok(session) => {
            browser.user = session.as_ref().map(|(_, user)| user.clone());
            state
                .warden
                .answer_consent(&authorization, session.as_ref(), allow)
                .await
        }
        Err(error) => Err(AuthorizeError::Domain(error)),
    };
    browser.respond(&authorization, step, "", None).await
}

/// `POST /authorize/passkey/start`: the script asks for a passkey ceremony. The form carries
/// the authorization request, the anti-CSRF token, the `purpose` (`second-factor`,
/// `login` with the typed `username` or none, or `conditional` for the username field's
/// autofill). The answer is the request options as JSON (`publicKey`, and `mediation` for
/// autofill), and the ceremony's id in a short-lived `HttpOnly` cookie: the state stays on
/// the server, and only this browser can finish the ceremony.
pub async fn passkey_start(State(state): State<AppState>, request: Request) -> Response {
    let (headers, form, browser, authorization) = match posted(&state, request).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let warden = &state.warden;
    let started = match form.get("purpose") {
        Some("second-factor") => match pending_session(&state, &headers).await {
            Ok((_, user)) => {
                warden
                    .start_passkey_authentication(&user.username, Some(&user), false)
                    .await
            }
            Err(error) => Err(error),
        },
        Some("register") => match pending_session(&state, &headers).await {
            // Only where enrolment is asked for: the password alone never adds a factor
            // to an account that has one.
            Ok((_, user)) => match warden.has_second_factor(&user.id).await {
                Ok(false) => match warden.start_passkey_registration(&user).await {
                    Ok(started) => {
                        return ceremony_answer(
                            &state,
                            browser,
                            &started.options,
                            &started.ceremony,
                        );
                    }
                    Err(error) => Err(error),
                },
                Ok(true) => Err(DomainError::Forbidden),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        },
        Some(purpose @ ("login" | "conditional")) => {
            match warden.authorize(&authorization, None, Just::Arrived).await {
                Ok(Step::Login { .. }) => {}
                _ => {
                    return ApiError(DomainError::InvalidRequest(
                        "the authorization request is not valid",
                    ))
                    .into_response();
                }
            }
            match form.get("username").filter(|_| purpose == "login") {
                Some(username) if username.len() <= 256 => {
                    match warden.storage().user_by_username(username).await {
                        Ok(user) => {
                            warden
                                .start_passkey_authentication(username, user.as_ref(), true)
                                .await
                        }
                        Err(error) => Err(error.into()),
                    }
                }
                Some(_) => Err(DomainError::InvalidRequest("the username is too long")),
                None => {
                    warden
                        .start_discoverable_authentication(purpose == "conditional")
                        .await
                }
            }
        }
        _ => Err(DomainError::InvalidRequest("unknown passkey purpose")),
    };
    match started {
        Ok(started) => ceremony_answer(&state, browser, &started.options, &started.ceremony),
        Err(error) => ApiError(error).into_response(),
    }
}

/// A started ceremony's options as JSON, its id in the ceremony cookie.
fn ceremony_answer(
    state: &AppState,
    browser: Browser<'_>,
    options: &impl serde::Serialize,
    ceremony: &str,
) -> Response {
    let mut response = axum::Json(options).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let ttl = u64::try_from(CEREMONY_TTL_SECS).unwrap_or(300);
    if let Some(cookie) = Cookie::Ceremony.set(&state.warden, ceremony, Some(ttl)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    browser.with_cookies(response)
}

/// `POST /authorize/passkey`: the form the script fills with the credential, for the
/// ceremony its cookie names. As a second factor it raises the pending session (as a code
/// does); to sign in it starts a session with the passkey's authentication. Either way the
/// authorization request then goes on as after the password.
pub async fn passkey_finish(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (headers, form, mut browser, authorization) = match posted(&state, request).await {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let warden = &state.warden;
    // The ceremony cookie is used up whatever happens.
    if let Some(clear) = Cookie::Ceremony.set(warden, "", Some(0)) {
        browser.set_cookies.push(clear);
    }
    let ceremony = Cookie::Ceremony.read(warden, &headers).unwrap_or_default();
    let credential = form.get("credential").and_then(|json| {
        serde_json::from_str::<webauthn_rs::prelude::PublicKeyCredential>(json).ok()
    });
    let ip = state.client_ip(peer, &headers);
    let client_id = authorization.client_id.as_deref();
    const UNREADABLE: &str = "The passkey did not answer. Try again.";
    match form.get("purpose") {
        Some("second-factor") => {
            let (mut browser, session, user) = match browser.pending(&headers, &authorization).await
            {
                Ok(found) => found,
                Err(page) => return page,
            };
            let verified = match &credential {
                Some(credential) => {
                    warden
                        .finish_passkey_authentication(
                            &ceremony,
                            credential,
                            Expect::SecondFactor(&user),
                            client_id,
                            Some(&ip),
                        )
                        .await
                }
                None => Err(DomainError::InvalidPasskey(UNREADABLE)),
            };
            let assertion = match verified {
                Ok(assertion) => assertion,
                Err(DomainError::InvalidPasskey(message)) => {
                    let step = warden
                        .authorize(&authorization, Some(&(session, user)), Just::LoggedIn)
                        .await;
                    return browser
                        .respond(&authorization, step, "", Some(message))
                        .await;
                }
                Err(error) => return browser.with_cookies(failure(&error)),
            };
            let raised = match warden
                .raise_session(&session, &user, &assertion.methods())
                .await
            {
                Ok((cookie, raised)) => {
                    browser.set_session(&cookie.0);
                    (raised, user)
                }
                Err(error) => return failure(&error),
            };
            let step = warden
                .authorize(&authorization, Some(&raised), Just::LoggedIn)
                .await;
            browser.respond(&authorization, step, "", None).await
        }
        Some("register") => {
            let (mut browser, session, user) = match browser.pending(&headers, &authorization).await
            {
                Ok(found) => found,
                Err(page) => return page,
            };
            let registered = match (
                warden.has_second_factor(&user.id).await,
                form.get("credential"),
            ) {
                (Ok(false), Some(json)) => match serde_json::from_str::<
                    webauthn_rs::prelude::RegisterPublicKeyCredential,
                >(json)
                {
                    Ok(credential) => {
                        warden
                            .finish_passkey_registration(
                                &user,
                                &ceremony,
                                &credential,
                                "Passkey",
                                Some(&ip),
                            )
                            .await
                    }
                    Err(_) => Err(DomainError::InvalidPasskey(UNREADABLE)),
                },
                (Ok(false), None) => Err(DomainError::InvalidPasskey(UNREADABLE)),
                (Ok(true), _) => Err(DomainError::Forbidden),
                (Err(error), _) => Err(error),
            };
            let registered = match registered {
                Ok(registered) => registered,
                Err(DomainError::InvalidPasskey(message)) => {
                    let step = warden
                        .authorize(&authorization, Some(&(session, user)), Just::LoggedIn)
                        .await;
                    return browser
                        .respond(&authorization, step, "", Some(message))
                        .await;
                }
                Err(error) => return browser.with_cookies(failure(&error)),
            };
            // As a first TOTP code does: the new factor raises the session.
            let methods = crate::domain::passkey_methods(registered.passkey.backup_eligible);
            match warden.raise_session(&session, &user, &methods).await {
                Ok((cookie, _)) => browser.set_session(&cookie.0),
                Err(error) => return failure(&error),
            }
            let fields = match browser.fields(&authorization) {
                Ok(fields) => fields,
                Err(error) => return failure(&error),
            };
            let fields: Vec<_> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = pages::recovery_codes(
                &browser.action("/authorize/continue"),
                registered.recovery_codes.as_deref().unwrap_or_default(),
                &fields,
            );
            browser.with_cookies(response)
        }
        Some("login") => {
            let before = warden.authorize(&authorization, None, Just::Arrived).await;
            if !matches!(before, Ok(Step::Login { .. })) {
                return browser.respond(&authorization, before, "", None).await;
            }
            let verified = match &credential {
                Some(credential) => {
                    warden
                        .finish_passkey_authentication(
                            &ceremony,
                            credential,
                            Expect::Login,
                            client_id,
                            Some(&ip),
                        )
                        .await
                }
                None => Err(DomainError::InvalidPasskey(UNREADABLE)),
            };
            let assertion = match verified {
                Ok(assertion) => assertion,
                Err(DomainError::InvalidPasskey(message)) => {
                    return browser
                        .respond(&authorization, before, "", Some(message))
                        .await;
                }
                Err(error) => return browser.with_cookies(failure(&error)),
            };
            warden
                .passkey_logged_in(&assertion, client_id.unwrap_or(""), Some(&ip))
                .await;
            let how = Authentication::passkey(now(), assertion.backup_eligible);
            let session = match warden.start_session(&assertion.user, &how).await {
                Ok((cookie, session)) => {
                    browser.set_session(&cookie.0);
                    (session, assertion.user)
                }
                Err(error) => return failure(&error),
            };
            browser.user = Some(session.1.clone());
            browser.auth_time = Some(session.0.auth_time);
            let step = warden
                .authorize(&authorization, Some(&session), Just::LoggedIn)
                .await;
            browser.respond(&authorization, step, "", None).await
        }
        _ => browser.with_cookies(pages::error(
            StatusCode::BAD_REQUEST,
            "This form is not one of ours.",
        )),
    }
}

/// `GET /assets/webauthn.js`: the one script of the login pages, which runs the passkey
/// ceremonies (static, cacheable; 404 while passkeys are off).
pub async fn webauthn_script(State(state): State<AppState>) -> Response {
    if !state.warden.passkeys_enabled() {
        return ApiError(DomainError::PasskeysDisabled).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        WEBAUTHN_JS,
    )
        .into_response()
}

/// The script, built in.
const WEBAUTHN_JS: &str = include_str!("../../assets/webauthn.js");
