//! `FakeIdp`: an OpenID Connect provider, honest by default, that misbehaves on demand.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};
use url::Url;

use crate::util::{
    Server, TokenRequest, basic_credentials, bearer, get as param, now, parse_unique, random_id,
    random_token, s256, valid_pkce_string,
};

/// How long codes and access tokens live.
const CODE_LIFETIME: Duration = Duration::from_secs(600);
const ACCESS_TOKEN_LIFETIME_SECS: u64 = 300;
const ID_TOKEN_LIFETIME_SECS: u64 = 300;
/// The issuer an attacker's provider would use (mix-up and forged tokens).
const ATTACKER_ISSUER: &str = "https://attacker.example";
/// Size of [`Misbehaviour::HugeToken`]'s body.
const HUGE_BODY_BYTES: usize = 20 * 1024 * 1024;

/// The end-user that `/authorize` signs in (there is no login page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeUser {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
    pub groups: Vec<String>,
    /// Authentication methods (RFC 8176), put in the ID token when set.
    pub amr: Option<Vec<String>>,
    /// Authentication context class, put in the ID token when set.
    pub acr: Option<String>,
    /// Whether email, email_verified, name, preferred_username and groups are also in the
    /// ID token (as Google does). By default they are only in userinfo (as oidc-provider does).
    pub claims_in_id_token: bool,
}

impl Default for FakeUser {
    fn default() -> Self {
        FakeUser {
            sub: "248289761001".into(),
            email: Some("jane@example.com".into()),
            email_verified: true,
            name: Some("Jane Doe".into()),
            preferred_username: Some("jane".into()),
            groups: Vec::new(),
            amr: None,
            acr: None,
            claims_in_id_token: false,
        }
    }
}

/// One thing the provider does wrong; everything else stays honest.
///
/// Each applies when the endpoint it concerns answers: set it before the authorization
/// request for the callback's `iss`, before the code's redemption for the ID token and the
/// token endpoint, before discovery or userinfo for theirs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Honest.
    #[default]
    None,
    /// ID token with header `alg: none` and an empty signature.
    AlgNone,
    /// ID token with `alg: HS256`, the published `kid`, and an HMAC keyed with the
    /// published RSA public key (its SPKI PEM, as the classic key-confusion attack does).
    Hs256WithPublicKey,
    /// ID token `header.payload.` with the honest RS256 header and no signature.
    Unsigned,
    /// ID token signed with a key that is not published, under the published `kid`
    /// (the signature does not verify).
    SignedWithUnpublishedKey,
    /// ID token signed with a key that is not published, under its own `kid`, which the
    /// JWKS never lists (however often it is refetched).
    UnknownKid,
    /// ID token `aud` is another client.
    WrongAudience,
    /// ID token `aud` is `[client_id, "other-client"]`, without `azp`.
    ExtraUntrustedAudience,
    /// ID token `iss` is another issuer.
    WrongIssuerInIdToken,
    /// The authorization response carries another issuer's `iss` (RFC 9207 mix-up).
    WrongIssInCallback,
    /// The authorization response has no `iss`, although discovery announces it.
    NoIssInCallback,
    /// Discovery's `issuer` differs from the URL the document was fetched under.
    DiscoveryIssuerMismatch,
    /// ID token `nonce` differs from the one in the authorization request.
    WrongNonce,
    /// ID token has no `nonce` although the authorization request had one.
    MissingNonce,
    /// ID token expired an hour ago.
    Expired,
    /// ID token issued an hour in the future.
    IssuedInFuture,
    /// Userinfo answers another `sub` than the ID token's.
    UserinfoSubMismatch,
    /// The token endpoint answers 302 to another URL (on this server, which answers a
    /// token to whoever follows: see [`FakeIdp::redirect_target_hits`]).
    TokenRedirect,
    /// The token endpoint waits this long before answering.
    SlowToken(Duration),
    /// The token endpoint streams a valid-looking JSON body of 20 MiB.
    HugeToken,
    /// The token endpoint answers HTTP 200 with bytes that are not JSON.
    GarbageToken,
    /// The token endpoint answers HTTP 200 with `{"error":"invalid_grant"}`.
    TokenErrorWith200,
    /// Userinfo answers HTTP 200 with bytes that are not JSON.
    UserinfoGarbage,
    /// Discovery waits this long before answering.
    SlowDiscovery(Duration),
}

struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
    public_pem: String,
}

impl SigningKey {
    fn generate() -> SigningKey {
        let key_pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("generate an RSA key");
        let pkcs8: Pkcs8V1Der<'static> = key_pair.as_der().expect("PKCS#8 of the key");
        let private_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
        let encoding =
            EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("jsonwebtoken takes the key");
        let public = key_pair.public_key();
        let spki: PublicKeyX509Der<'static> = public.as_der().expect("SPKI of the key");
        let public_pem = pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref().to_vec()));
        let kid = format!("fake-{}", random_id());
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        });
        SigningKey {
            kid,
            encoding,
            jwk,
            public_pem,
        }
    }
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: String,
    scope: String,
    user: FakeUser,
    auth_time: u64,
    issued: Instant,
}

struct AccessToken {
    user: FakeUser,
    expires: Instant,
}

struct IdpState {
    client_id: String,
    client_secret: String,
    redirect_uris: Vec<String>,
    user: FakeUser,
    misbehaviour: Misbehaviour,
    /// Published keys; the last one signs.
    keys: Vec<SigningKey>,
    /// Made on first use.
    unpublished: Option<SigningKey>,
    codes: HashMap<String, Grant>,
    access_tokens: HashMap<String, AccessToken>,
    authorization_requests: Vec<Vec<(String, String)>>,
    token_requests: Vec<TokenRequest>,
    redirect_target_hits: usize,
    discovery_requests: usize,
    jwks_requests: usize,
}

struct Inner {
    issuer: String,
    state: Mutex<IdpState>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, IdpState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An OpenID Connect provider on 127.0.0.1 (in-process), stopped on drop.
///
/// One confidential client (`client_id()`/`client_secret()`, `client_secret_basic` or
/// `client_secret_post`), PKCE S256 required, RS256 ID tokens, no login page: `/authorize`
/// signs in the configured [`FakeUser`] at once. Register the RP's callback with
/// [`FakeIdp::add_redirect_uri`] before the first authorization request.
pub struct FakeIdp {
    inner: Arc<Inner>,
    _server: Server,
}

impl FakeIdp {
    /// Start a provider with client id `warden`, a random secret and a fresh RSA key.
    pub async fn start() -> FakeIdp {
        let (listener, issuer) = Server::bind().await;
        let key = tokio::task::spawn_blocking(SigningKey::generate)
            .await
            .expect("key generation");
        let inner = Arc::new(Inner {
            issuer,
            state: Mutex::new(IdpState {
                client_id: "warden".into(),
                client_secret: random_token(),
                redirect_uris: Vec::new(),
                user: FakeUser::default(),
                misbehaviour: Misbehaviour::None,
                keys: vec![key],
                unpublished: None,
                codes: HashMap::new(),
                access_tokens: HashMap::new(),
                authorization_requests: Vec::new(),
                token_requests: Vec::new(),
                redirect_target_hits: 0,
                discovery_requests: 0,
                jwks_requests: 0,
            }),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", axum::routing::post(token))
            .route("/userinfo", get(userinfo))
            .route(
                "/redirected-token",
                get(redirect_target).post(redirect_target),
            )
            .with_state(inner.clone());
        let server = Server::serve(listener, router);
        FakeIdp {
            inner,
            _server: server,
        }
    }

    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub fn issuer(&self) -> String {
        self.inner.issuer.clone()
    }

    /// `<issuer>/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.inner.issuer)
    }

    pub fn authorization_endpoint(&self) -> String {
        format!("{}/authorize", self.inner.issuer)
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.inner.issuer)
    }

    pub fn userinfo_endpoint(&self) -> String {
        format!("{}/userinfo", self.inner.issuer)
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.inner.issuer)
    }

    pub fn client_id(&self) -> String {
        self.inner.lock().client_id.clone()
    }

    pub fn client_secret(&self) -> String {
        self.inner.lock().client_secret.clone()
    }

    /// Replace the client's credentials (e.g. with characters that RFC 6749 §2.3.1 encodes).
    pub fn set_client(&self, client_id: impl Into<String>, client_secret: impl Into<String>) {
        let mut state = self.inner.lock();
        state.client_id = client_id.into();
        state.client_secret = client_secret.into();
    }

    /// Register a redirect URI (compared exactly).
    pub fn add_redirect_uri(&self, uri: impl Into<String>) {
        self.inner.lock().redirect_uris.push(uri.into());
    }

    /// The user signed in by the next authorization requests.
    pub fn set_user(&self, user: FakeUser) {
        self.inner.lock().user = user;
    }

    pub fn set_misbehaviour(&self, misbehaviour: Misbehaviour) {
        self.inner.lock().misbehaviour = misbehaviour;
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

    /// The `kid` that signs ID tokens now.
    pub fn current_kid(&self) -> String {
        let state = self.inner.lock();
        state.keys.last().expect("a key").kid.clone()
    }

    /// Generate a new key, publish it (next to the previous ones) and sign with it from now
    /// on; returns its `kid`. An RP that cached the JWKS must refetch it.
    pub fn rotate_key(&self) -> String {
        let key = SigningKey::generate();
        let kid = key.kid.clone();
        self.inner.lock().keys.push(key);
        kid
    }

    /// How many requests followed [`Misbehaviour::TokenRedirect`]'s redirect (should be 0).
    pub fn redirect_target_hits(&self) -> usize {
        self.inner.lock().redirect_target_hits
    }

    pub fn discovery_requests(&self) -> usize {
        self.inner.lock().discovery_requests
    }

    pub fn jwks_requests(&self) -> usize {
        self.inner.lock().jwks_requests
    }
}

async fn discovery(State(inner): State<Arc<Inner>>) -> Response {
    let misbehaviour = {
        let mut state = inner.lock();
        state.discovery_requests += 1;
        state.misbehaviour.clone()
    };
    if let Misbehaviour::SlowDiscovery(delay) = misbehaviour {
        tokio::time::sleep(delay).await;
    }
    let base = &inner.issuer;
    let issuer = if misbehaviour == Misbehaviour::DiscoveryIssuerMismatch {
        format!("{base}/tenant-b")
    } else {
        base.clone()
    };
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks"),
        "scopes_supported": ["openid", "email", "profile", "groups"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr",
            "email", "email_verified", "name", "preferred_username", "groups"],
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response()
}

async fn jwks(State(inner): State<Arc<Inner>>) -> Response {
    let mut state = inner.lock();
    state.jwks_requests += 1;
    let keys: Vec<Value> = state.keys.iter().rev().map(|k| k.jwk.clone()).collect();
    axum::Json(json!({ "keys": keys })).into_response()
}

fn error_page(message: &str) -> Response {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html><title>Invalid request</title><h1>Invalid request</h1><p>{escaped}</p>"
        )),
    )
        .into_response()
}

async fn authorize(State(inner): State<Arc<Inner>>, RawQuery(query): RawQuery) -> Response {
    let params = match parse_unique(query.as_deref().unwrap_or("").as_bytes()) {
        Ok(params) => params,
        Err(name) => return error_page(&format!("parameter {name} is repeated")),
    };
    let mut state = inner.lock();
    state.authorization_requests.push(params.clone());
    if param(&params, "client_id") != Some(state.client_id.as_str()) {
        return error_page("unknown client_id");
    }
    let Some(redirect_uri) = param(&params, "redirect_uri") else {
        return error_page("redirect_uri is missing");
    };
    if !state.redirect_uris.iter().any(|uri| uri == redirect_uri) {
        return error_page("redirect_uri is not registered for this client");
    }
    let Ok(mut location) = Url::parse(redirect_uri) else {
        return error_page("redirect_uri is not a URL");
    };
    if param(&params, "response_type") != Some("code") {
        return error_page("response_type must be code");
    }
    let scope = param(&params, "scope").unwrap_or("");
    if !scope.split(' ').any(|s| s == "openid") {
        return error_page("scope must include openid");
    }
    if param(&params, "code_challenge_method") != Some("S256") {
        return error_page("code_challenge_method must be S256 (PKCE is required)");
    }
    let Some(code_challenge) = param(&params, "code_challenge").filter(|c| valid_pkce_string(c))
    else {
        return error_page("code_challenge is missing or malformed");
    };

    let code = random_token();
    let grant = Grant {
        client_id: state.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        nonce: param(&params, "nonce").map(str::to_owned),
        code_challenge: code_challenge.to_owned(),
        scope: scope.to_owned(),
        user: state.user.clone(),
        auth_time: now(),
        issued: Instant::now(),
    };
    state.codes.insert(code.clone(), grant);
    {
        let mut pairs = location.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(value) = param(&params, "state") {
            pairs.append_pair("state", value);
        }
        match state.misbehaviour {
            Misbehaviour::NoIssInCallback => {}
            Misbehaviour::WrongIssInCallback => {
                pairs.append_pair("iss", ATTACKER_ISSUER);
            }
            _ => {
                pairs.append_pair("iss", &inner.issuer);
            }
        }
    }
    (StatusCode::FOUND, [(LOCATION, location.to_string())]).into_response()
}

/// RFC 6749 §5.2.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")],
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn invalid_client(via_basic: bool, description: &str) -> Response {
    let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    if via_basic {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            "Basic realm=\"fake-idp\"".parse().expect("header"),
        );
    }
    response
}

async fn token(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let basic = basic_credentials(&headers);
    let misbehaviour = {
        let mut state = inner.lock();
        state.token_requests.push(TokenRequest {
            form: form_urlencoded::parse(&body).into_owned().collect(),
            basic_auth: basic.clone().ok().flatten(),
            accept: headers
                .get("accept")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
        state.misbehaviour.clone()
    };
    match misbehaviour {
        Misbehaviour::TokenRedirect => {
            return (
                StatusCode::FOUND,
                [(LOCATION, format!("{}/redirected-token", inner.issuer))],
            )
                .into_response();
        }
        Misbehaviour::SlowToken(delay) => tokio::time::sleep(delay).await,
        Misbehaviour::HugeToken => return huge_token(),
        Misbehaviour::GarbageToken => return garbage(),
        Misbehaviour::TokenErrorWith200 => {
            return oauth_error(
                StatusCode::OK,
                "invalid_grant",
                "the code is invalid (but the status says OK)",
            );
        }
        _ => {}
    }

    let form = match parse_unique(&body) {
        Ok(form) => form,
        Err(name) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("parameter {name} is repeated"),
            );
        }
    };
    let form_id = param(&form, "client_id");
    let form_secret = param(&form, "client_secret");
    let (client_id, client_secret, via_basic) = match (basic, form_secret) {
        (Err(()), _) => return invalid_client(true, "malformed Basic credentials"),
        (Ok(Some(_)), Some(_)) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "more than one client authentication method",
            );
        }
        (Ok(Some((id, secret))), None) => {
            if form_id.is_some_and(|form_id| form_id != id) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "client_id differs from the authenticated client",
                );
            }
            (id, secret, true)
        }
        (Ok(None), Some(secret)) => {
            let Some(id) = form_id else {
                return invalid_client(false, "client_id is missing");
            };
            (id.to_owned(), secret.to_owned(), false)
        }
        (Ok(None), None) => return invalid_client(false, "client authentication is required"),
    };

    let mut state = inner.lock();
    if client_id != state.client_id || client_secret != state.client_secret {
        return invalid_client(via_basic, "client authentication failed");
    }
    match param(&form, "grant_type") {
        Some("authorization_code") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only authorization_code",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is missing",
            );
        }
    }
    let Some(code) = param(&form, "code") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code is missing",
        );
    };
    // Single use: the code is gone whatever happens next.
    let Some(grant) = state.codes.remove(code) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown, used or expired code",
        );
    };
    if grant.issued.elapsed() > CODE_LIFETIME {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "expired code");
    }
    if grant.client_id != client_id {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the code was issued to another client",
        );
    }
    if param(&form, "redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri differs from the authorization request's",
        );
    }
    match param(&form, "code_verifier") {
        Some(verifier) if valid_pkce_string(verifier) => {
            if s256(verifier) != grant.code_challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "PKCE verification failed",
                );
            }
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "code_verifier is malformed",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "code_verifier is missing",
            );
        }
    }

    let id_token = id_token(&mut state, &inner.issuer, &grant);
    let access_token = random_token();
    state.access_tokens.insert(
        access_token.clone(),
        AccessToken {
            user: grant.user.clone(),
            expires: Instant::now() + Duration::from_secs(ACCESS_TOKEN_LIFETIME_SECS),
        },
    );
    (
        [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")],
        axum::Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
            "id_token": id_token,
            "scope": grant.scope,
        })),
    )
        .into_response()
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("JSON"))
}

fn id_token(state: &mut IdpState, issuer: &str, grant: &Grant) -> String {
    let misbehaviour = state.misbehaviour.clone();
    let now = now();
    let (iat, exp) = match misbehaviour {
        Misbehaviour::Expired => (now - 3600 - ID_TOKEN_LIFETIME_SECS, now - 3600),
        Misbehaviour::IssuedInFuture => (now + 3600, now + 3600 + ID_TOKEN_LIFETIME_SECS),
        _ => (now, now + ID_TOKEN_LIFETIME_SECS),
    };
    let user = &grant.user;
    let mut claims = Map::new();
    let iss = if misbehaviour == Misbehaviour::WrongIssuerInIdToken {
        ATTACKER_ISSUER
    } else {
        issuer
    };
    claims.insert("iss".into(), json!(iss));
    claims.insert("sub".into(), json!(user.sub));
    let aud = match misbehaviour {
        Misbehaviour::WrongAudience => json!("other-client"),
        Misbehaviour::ExtraUntrustedAudience => json!([grant.client_id, "other-client"]),
        _ => json!(grant.client_id),
    };
    claims.insert("aud".into(), aud);
    claims.insert("exp".into(), json!(exp));
    claims.insert("iat".into(), json!(iat));
    claims.insert("auth_time".into(), json!(grant.auth_time));
    match (&misbehaviour, &grant.nonce) {
        (Misbehaviour::MissingNonce, _) | (_, None) => {}
        (Misbehaviour::WrongNonce, Some(nonce)) => {
            claims.insert("nonce".into(), json!(format!("{nonce}-not")));
        }
        (_, Some(nonce)) => {
            claims.insert("nonce".into(), json!(nonce));
        }
    }
    if let Some(amr) = &user.amr {
        claims.insert("amr".into(), json!(amr));
    }
    if let Some(acr) = &user.acr {
        claims.insert("acr".into(), json!(acr));
    }
    if user.claims_in_id_token {
        for (name, value) in profile_claims(user) {
            claims.insert(name.into(), value);
        }
    }
    let claims = Value::Object(claims);

    let current = state.keys.last().expect("a key");
    match misbehaviour {
        Misbehaviour::AlgNone => format!(
            "{}.{}.",
            b64_json(&json!({"alg": "none", "typ": "JWT"})),
            b64_json(&claims)
        ),
        Misbehaviour::Unsigned => format!(
            "{}.{}.",
            b64_json(&json!({"alg": "RS256", "typ": "JWT", "kid": current.kid})),
            b64_json(&claims)
        ),
        Misbehaviour::Hs256WithPublicKey => {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(current.kid.clone());
            let key = EncodingKey::from_secret(current.public_pem.as_bytes());
            jsonwebtoken::encode(&header, &claims, &key).expect("sign")
        }
        Misbehaviour::SignedWithUnpublishedKey | Misbehaviour::UnknownKid => {
            let published_kid = current.kid.clone();
            let rogue = state.unpublished.get_or_insert_with(SigningKey::generate);
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(if misbehaviour == Misbehaviour::UnknownKid {
                rogue.kid.clone()
            } else {
                published_kid
            });
            jsonwebtoken::encode(&header, &claims, &rogue.encoding).expect("sign")
        }
        _ => {
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(current.kid.clone());
            jsonwebtoken::encode(&header, &claims, &current.encoding).expect("sign")
        }
    }
}

fn profile_claims(user: &FakeUser) -> Vec<(&'static str, Value)> {
    let mut claims = Vec::new();
    if let Some(email) = &user.email {
        claims.push(("email", json!(email)));
        claims.push(("email_verified", json!(user.email_verified)));
    }
    if let Some(name) = &user.name {
        claims.push(("name", json!(name)));
    }
    if let Some(username) = &user.preferred_username {
        claims.push(("preferred_username", json!(username)));
    }
    claims.push(("groups", json!(user.groups)));
    claims
}

async fn userinfo(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let unauthorized = |error: &str| {
        (
            StatusCode::UNAUTHORIZED,
            [(
                WWW_AUTHENTICATE,
                if error.is_empty() {
                    "Bearer".to_owned()
                } else {
                    format!("Bearer error=\"{error}\"")
                },
            )],
        )
            .into_response()
    };
    let Some(token) = bearer(&headers, &["Bearer"]) else {
        return unauthorized("");
    };
    let state = inner.lock();
    let Some(access) = state
        .access_tokens
        .get(token)
        .filter(|a| a.expires > Instant::now())
    else {
        return unauthorized("invalid_token");
    };
    if state.misbehaviour == Misbehaviour::UserinfoGarbage {
        return garbage();
    }
    let sub = if state.misbehaviour == Misbehaviour::UserinfoSubMismatch {
        format!("{}-someone-else", access.user.sub)
    } else {
        access.user.sub.clone()
    };
    let mut body = Map::new();
    body.insert("sub".into(), json!(sub));
    for (name, value) in profile_claims(&access.user) {
        body.insert(name.into(), value);
    }
    axum::Json(Value::Object(body)).into_response()
}

/// Where [`Misbehaviour::TokenRedirect`] points: answers an honest-looking token to
/// whoever follows, and counts them.
async fn redirect_target(State(inner): State<Arc<Inner>>) -> Response {
    inner.lock().redirect_target_hits += 1;
    axum::Json(json!({
        "access_token": random_token(),
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
    }))
    .into_response()
}

fn garbage() -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/json")],
        Bytes::from_static(b"\x00\xff<html>not json at all\x01{"),
    )
        .into_response()
}

/// A 20 MiB JSON object, streamed (no Content-Length).
fn huge_token() -> Response {
    const CHUNK: usize = 64 * 1024;
    let prefix = Bytes::from_static(
        br#"{"access_token":"huge","token_type":"Bearer","expires_in":300,"padding":""#,
    );
    let chunk = Bytes::from(vec![b'a'; CHUNK]);
    let suffix = Bytes::from_static(br#""}"#);
    let parts = std::iter::once(prefix)
        .chain(std::iter::repeat_n(chunk, HUGE_BODY_BYTES / CHUNK))
        .chain(std::iter::once(suffix))
        .map(Ok::<_, Infallible>);
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/json")],
        Body::from_stream(futures_util::stream::iter(parts)),
    )
        .into_response()
}
