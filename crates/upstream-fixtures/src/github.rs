//! `GitHubEmulator`: GitHub's OAuth App endpoints and the two API calls a login needs,
//! as GitHub documents them (docs.github.com, "Authorizing OAuth apps"; REST "Users" and
//! "Emails"). Not OpenID Connect: no discovery, no ID token, a numeric user id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;
use url::Url;

use crate::util::{
    Server, TokenRequest, basic_credentials, bearer, get as param, parse_unique, random_token,
    s256, valid_pkce_string,
};

/// GitHub's codes expire after ten minutes.
const CODE_LIFETIME: Duration = Duration::from_secs(600);

/// A GitHub user as `/user` and `/user/emails` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubUser {
    /// The stable numeric id (the subject to key on; `login` can be renamed).
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    /// `/user`'s `email`: the public email, often `null`.
    pub public_email: Option<String>,
    /// `/user/emails` (needs scope `user:email` or `user`).
    pub emails: Vec<GitHubEmail>,
}

/// One entry of `/user/emails`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GitHubEmail {
    pub email: String,
    pub primary: bool,
    pub verified: bool,
    /// `"public"`, `"private"` or `null`.
    pub visibility: Option<String>,
}

impl Default for GitHubUser {
    fn default() -> Self {
        GitHubUser {
            id: 583231,
            login: "octocat".into(),
            name: Some("The Octocat".into()),
            public_email: None,
            emails: vec![GitHubEmail {
                email: "octocat@github.example".into(),
                primary: true,
                verified: true,
                visibility: Some("private".into()),
            }],
        }
    }
}

struct Grant {
    client_id: String,
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
    scope: String,
    user: GitHubUser,
    issued: Instant,
}

struct Token {
    user: GitHubUser,
    scope: String,
}

struct GhState {
    client_id: String,
    client_secret: String,
    redirect_uris: Vec<String>,
    user: GitHubUser,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, Token>,
    authorization_requests: Vec<Vec<(String, String)>>,
    token_requests: Vec<TokenRequest>,
}

struct Inner {
    base: String,
    api_prefix: String,
    state: Mutex<GhState>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, GhState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// GitHub's OAuth App flow and user API on 127.0.0.1 (in-process), stopped on drop.
///
/// - `GET /login/oauth/authorize` signs in the configured [`GitHubUser`] at once and answers
///   302 to `redirect_uri?code&state` (PKCE optional, S256 only);
/// - `POST /login/oauth/access_token` answers form-urlencoded unless `Accept:
///   application/json`, and reports errors (`bad_verification_code`,
///   `incorrect_client_credentials`, `redirect_uri_mismatch`) with **HTTP 200**;
/// - `GET <api_base>/user` and `GET <api_base>/user/emails` with `Authorization: Bearer …`
///   or `token …`.
pub struct GitHubEmulator {
    inner: Arc<Inner>,
    _server: Server,
}

impl GitHubEmulator {
    /// Start with the API under `/api`.
    pub async fn start() -> GitHubEmulator {
        GitHubEmulator::start_with_api_prefix("/api").await
    }

    /// Start with the API under `prefix` (e.g. `/api/v3`, as GitHub Enterprise Server; `""`
    /// for the root as api.github.com).
    pub async fn start_with_api_prefix(prefix: &str) -> GitHubEmulator {
        let api_prefix = prefix.trim_end_matches('/').to_owned();
        let (listener, base) = Server::bind().await;
        let inner = Arc::new(Inner {
            base,
            api_prefix: api_prefix.clone(),
            state: Mutex::new(GhState {
                client_id: format!("Ov23li{}", &random_token()[..14]),
                client_secret: random_token(),
                redirect_uris: Vec::new(),
                user: GitHubUser::default(),
                codes: HashMap::new(),
                tokens: HashMap::new(),
                authorization_requests: Vec::new(),
                token_requests: Vec::new(),
            }),
        });
        let router = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route(&format!("{api_prefix}/user"), get(user))
            .route(&format!("{api_prefix}/user/emails"), get(user_emails))
            .with_state(inner.clone());
        let server = Server::serve(listener, router);
        GitHubEmulator {
            inner,
            _server: server,
        }
    }

    /// `<base>/login/oauth/authorize`.
    pub fn authorize_url(&self) -> String {
        format!("{}/login/oauth/authorize", self.inner.base)
    }

    /// `<base>/login/oauth/access_token`.
    pub fn token_url(&self) -> String {
        format!("{}/login/oauth/access_token", self.inner.base)
    }

    /// `<base><prefix>`, no trailing slash: `/user` and `/user/emails` go under it.
    pub fn api_base(&self) -> String {
        format!("{}{}", self.inner.base, self.inner.api_prefix)
    }

    pub fn client_id(&self) -> String {
        self.inner.lock().client_id.clone()
    }

    pub fn client_secret(&self) -> String {
        self.inner.lock().client_secret.clone()
    }

    /// Register a callback URL. With none registered any `redirect_uri` is accepted; with
    /// some, `redirect_uri` must equal one of them, and defaults to the first.
    pub fn add_redirect_uri(&self, uri: impl Into<String>) {
        self.inner.lock().redirect_uris.push(uri.into());
    }

    /// The user signed in by the next authorization requests.
    pub fn set_user(&self, user: GitHubUser) {
        self.inner.lock().user = user;
    }

    /// The query of every authorization request with no repeated parameter, in order (valid
    /// or not), e.g. to check that the RP sent `state`, `nonce` and a PKCE challenge.
    pub fn authorization_requests(&self) -> Vec<Vec<(String, String)>> {
        self.inner.lock().authorization_requests.clone()
    }

    /// Every request the token endpoint received, in order.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.inner.lock().token_requests.clone()
    }
}

fn page(status: StatusCode, message: &str) -> Response {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    (
        status,
        Html(format!(
            "<!doctype html><title>GitHub</title><h1>{}</h1><p>{escaped}</p>",
            status.canonical_reason().unwrap_or("Error")
        )),
    )
        .into_response()
}

async fn authorize(State(inner): State<Arc<Inner>>, RawQuery(query): RawQuery) -> Response {
    let params = match parse_unique(query.as_deref().unwrap_or("").as_bytes()) {
        Ok(params) => params,
        Err(name) => {
            return page(
                StatusCode::BAD_REQUEST,
                &format!("parameter {name} is repeated"),
            );
        }
    };
    let mut state = inner.lock();
    state.authorization_requests.push(params.clone());
    if param(&params, "client_id") != Some(state.client_id.as_str()) {
        return page(
            StatusCode::NOT_FOUND,
            "no OAuth application with this client_id",
        );
    }
    let redirect_uri = match (param(&params, "redirect_uri"), state.redirect_uris.first()) {
        (Some(uri), _)
            if state.redirect_uris.is_empty() || state.redirect_uris.iter().any(|r| r == uri) =>
        {
            uri.to_owned()
        }
        (Some(_), _) => {
            return page(
                StatusCode::BAD_REQUEST,
                "The redirect_uri is not associated with this application.",
            );
        }
        (None, Some(first)) => first.clone(),
        (None, None) => return page(StatusCode::BAD_REQUEST, "redirect_uri is missing"),
    };
    let Ok(mut location) = Url::parse(&redirect_uri) else {
        return page(StatusCode::BAD_REQUEST, "redirect_uri is not a URL");
    };
    let code_challenge = match (
        param(&params, "code_challenge"),
        param(&params, "code_challenge_method"),
    ) {
        (None, None) => None,
        (Some(challenge), Some("S256")) if valid_pkce_string(challenge) => {
            Some(challenge.to_owned())
        }
        _ => {
            return page(
                StatusCode::BAD_REQUEST,
                "code_challenge must come with code_challenge_method=S256",
            );
        }
    };
    let code = random_token()[..20].to_owned();
    let grant = Grant {
        client_id: state.client_id.clone(),
        redirect_uri: param(&params, "redirect_uri").map(str::to_owned),
        code_challenge,
        scope: param(&params, "scope").unwrap_or("").to_owned(),
        user: state.user.clone(),
        issued: Instant::now(),
    };
    state.codes.insert(code.clone(), grant);
    {
        let mut pairs = location.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(value) = param(&params, "state") {
            pairs.append_pair("state", value);
        }
    }
    (StatusCode::FOUND, [(LOCATION, location.to_string())]).into_response()
}

/// GitHub answers JSON only when asked, form-urlencoded otherwise (and XML for
/// `application/xml`, which is not emulated).
fn answer(wants_json: bool, pairs: &[(&str, &str)]) -> Response {
    if wants_json {
        let object: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        axum::Json(object).into_response()
    } else {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        (
            StatusCode::OK,
            [(
                CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body,
        )
            .into_response()
    }
}

fn token_error(wants_json: bool, error: &str, description: &str) -> Response {
    let uri = format!(
        "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#{}",
        error.replace('_', "-")
    );
    answer(
        wants_json,
        &[
            ("error", error),
            ("error_description", description),
            ("error_uri", &uri),
        ],
    )
}

async fn access_token(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let accept = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let wants_json = accept
        .as_deref()
        .is_some_and(|a| a.to_ascii_lowercase().contains("application/json"));
    let basic = basic_credentials(&headers).ok().flatten();
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let mut state = inner.lock();
    state.token_requests.push(TokenRequest {
        form: form.clone(),
        basic_auth: basic.clone(),
        accept,
    });

    let (client_id, client_secret) = match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (
            param(&form, "client_id").map(str::to_owned),
            param(&form, "client_secret").map(str::to_owned),
        ),
    };
    if client_id.as_deref() != Some(state.client_id.as_str())
        || client_secret.as_deref() != Some(state.client_secret.as_str())
    {
        return token_error(
            wants_json,
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    let bad_code = |wants_json| {
        token_error(
            wants_json,
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        )
    };
    let Some(grant) = param(&form, "code").and_then(|code| state.codes.remove(code)) else {
        return bad_code(wants_json);
    };
    if grant.issued.elapsed() > CODE_LIFETIME
        || Some(grant.client_id.as_str()) != client_id.as_deref()
    {
        return bad_code(wants_json);
    }
    if let (Some(sent), Some(original)) = (param(&form, "redirect_uri"), &grant.redirect_uri)
        && sent != original
    {
        return token_error(
            wants_json,
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        );
    }
    if let Some(challenge) = &grant.code_challenge {
        let verified = param(&form, "code_verifier")
            .is_some_and(|verifier| valid_pkce_string(verifier) && s256(verifier) == *challenge);
        if !verified {
            return bad_code(wants_json);
        }
    }
    // GitHub lists the granted scopes separated by commas.
    let scope = grant
        .scope
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(",");
    let token = format!("gho_{}", &random_token()[..36]);
    state.tokens.insert(
        token.clone(),
        Token {
            user: grant.user,
            scope: scope.clone(),
        },
    );
    answer(
        wants_json,
        &[
            ("access_token", &token),
            ("token_type", "bearer"),
            ("scope", &scope),
        ],
    )
}

fn requires_authentication() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({
            "message": "Requires authentication",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        })),
    )
        .into_response()
}

fn authenticated(inner: &Inner, headers: &HeaderMap) -> Option<(GitHubUser, String)> {
    let token = bearer(headers, &["Bearer", "token"])?;
    let state = inner.lock();
    state
        .tokens
        .get(token)
        .map(|t| (t.user.clone(), t.scope.clone()))
}

async fn user(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let Some((user, _)) = authenticated(&inner, &headers) else {
        return requires_authentication();
    };
    let api = format!("{}{}", inner.base, inner.api_prefix);
    axum::Json(json!({
        "login": user.login,
        "id": user.id,
        "node_id": format!("MDQ6VXNlcj{}", user.id),
        "avatar_url": format!("{}/avatars/u/{}", inner.base, user.id),
        "url": format!("{api}/users/{}", user.login),
        "type": "User",
        "site_admin": false,
        "name": user.name,
        "email": user.public_email,
    }))
    .into_response()
}

async fn user_emails(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let Some((user, scope)) = authenticated(&inner, &headers) else {
        return requires_authentication();
    };
    // Without `user:email` (or `user`) GitHub answers 404 here.
    if !scope.split(',').any(|s| s == "user:email" || s == "user") {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user",
                "status": "404",
            })),
        )
            .into_response();
    }
    axum::Json(json!(user.emails)).into_response()
}
