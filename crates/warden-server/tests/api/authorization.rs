//! The OpenID provider's browser flow over real HTTP — `/authorize` with its login and consent
//! forms, `/token` with `grant_type=authorization_code`, `/userinfo` and `/logout` — against the
//! attacks of RFC 9700 §4: code replay and injection (§4.5), PKCE downgrade (§4.8), redirect
//! URI manipulation and open redirection (§4.1, §4.11), CSRF (§4.7), clickjacking (§4.16),
//! mix-up (§4.4, the `iss` parameter), and the OpenID Connect prompts and logout.
//!
//! A "browser" here is a reqwest client with a cookie store that follows no redirect: each
//! step reads the page (its hidden inputs and form action) and posts the form as a browser
//! would. No response anywhere may be a 5xx.

use std::collections::HashMap;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{HeaderMap, HeaderValue};
use warden::jwt::{Claims, JwkSet, Validation, Verifier, VerifyingKey};
use warden_server::domain::NewClient;

use crate::backend::Server;

/// The registered redirect URI of the web clients.
pub(crate) const CB: &str = "https://app.example.com/cb";
/// Their registered post-logout redirect URI.
const BYE: &str = "https://app.example.com/bye";

// --- pages --------------------------------------------------------------------------------

/// A response, read whole.
pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) async fn of(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let url = response.url().clone();
        let body = response.text().await.unwrap_or_default();
        assert!(status < 500, "a server error: {status} at {url}\n{body}");
        Self {
            status,
            headers,
            body,
        }
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn location(&self) -> Option<&str> {
        self.header("location")
    }

    pub(crate) fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    /// The `Set-Cookie` giving `name` a (non-empty) value.
    pub(crate) fn cookie_set(&self, name: &str) -> Option<String> {
        self.set_cookies().into_iter().find(|c| {
            c.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .is_some_and(|rest| !rest.starts_with(';') && !rest.is_empty())
        })
    }

    /// The value a `Set-Cookie` gives `name`.
    pub(crate) fn cookie_value(&self, name: &str) -> Option<String> {
        let set = self.cookie_set(name)?;
        let rest = &set[name.len() + 1..];
        Some(rest.split(';').next().unwrap_or("").to_owned())
    }

    /// The hidden inputs of the page's (first) form, unescaped.
    pub(crate) fn fields(&self) -> Vec<(String, String)> {
        let body = match (self.body.find("<form "), self.body.find("</form>")) {
            (Some(start), Some(end)) if start < end => &self.body[start..end],
            _ => self.body.as_str(),
        };
        hidden_inputs(body)
    }

    /// The hidden inputs of the form with `id`, unescaped.
    pub(crate) fn form_fields(&self, id: &str) -> Vec<(String, String)> {
        let Some(start) = self.body.find(&format!("id=\"{id}\"")) else {
            return Vec::new();
        };
        let rest = &self.body[start..];
        hidden_inputs(&rest[..rest.find("</form>").unwrap_or(rest.len())])
    }
}

/// The hidden inputs in `html`, unescaped.
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<input ") {
        let tag_rest = &rest[start..];
        let end = tag_rest.find('>').unwrap_or(tag_rest.len());
        let tag = &tag_rest[..end];
        if attribute(tag, "type").as_deref() == Some("hidden")
            && let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value"))
        {
            fields.push((name, value));
        }
        rest = &tag_rest[end..];
    }
    fields
}

impl Page {
    pub(crate) fn field(&self, name: &str) -> Option<String> {
        self.fields()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The `action` of the page's (first) form.
    pub(crate) fn form_action(&self) -> Option<String> {
        let start = self.body.find("<form ")?;
        let tag = &self.body[start..];
        attribute(&tag[..tag.find('>')?], "action")
    }

    /// The login form (possibly re-rendered after a failure).
    pub(crate) fn is_login(&self) -> bool {
        self.status == 200
            && self.body.contains("name=\"password\"")
            && self.body.contains("type=\"password\"")
            && self
                .form_action()
                .is_some_and(|a| a.ends_with("/authorize/login"))
    }

    /// The consent form.
    pub(crate) fn is_consent(&self) -> bool {
        self.status == 200
            && self
                .form_action()
                .is_some_and(|a| a.ends_with("/authorize/consent"))
            && self.body.contains("name=\"decision\" value=\"allow\"")
            && self.body.contains("name=\"decision\" value=\"deny\"")
    }

    /// A page shown to the user instead of any redirect.
    pub(crate) fn is_error_page(&self, status: u16) -> bool {
        self.status == status
            && self.location().is_none()
            && self
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/html"))
            && self.body.contains("role=\"alert\"")
    }

    /// The 303 back to `prefix`, with the parameters of its query.
    pub(crate) fn redirect_to(&self, prefix: &str) -> HashMap<String, String> {
        assert_eq!(self.status, 303, "expected a redirect, got:\n{}", self.body);
        let location = self.location().expect("a Location");
        let rest = location
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{location} is not at {prefix}"));
        let query = rest
            .strip_prefix('?')
            .unwrap_or_else(|| panic!("{location}"));
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }
}

/// `name="…"` in a tag, unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

// --- a browser ----------------------------------------------------------------------------

/// A browser: keeps cookies, follows no redirect.
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    pub(crate) fn new(s: &Server) -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: s.base.clone(),
        }
    }

    pub(crate) async fn authorize(&self, request: &Req) -> Page {
        Page::of(
            self.http
                .get(format!("{}/authorize", self.base))
                .query(&request.0)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub(crate) async fn get(&self, path_and_query: &str) -> Page {
        Page::of(
            self.http
                .get(format!("{}{path_and_query}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// GETs an absolute URL (another server's) with this browser's cookies.
    pub(crate) async fn get_url(&self, url: &str) -> Page {
        Page::of(self.http.get(url).send().await.unwrap()).await
    }

    /// POSTs `form` to an absolute URL (another server's) with this browser's cookies.
    pub(crate) async fn post_url(&self, url: &str, form: &[(String, String)]) -> Page {
        Page::of(self.http.post(url).form(form).send().await.unwrap()).await
    }

    /// POSTs `form` from elsewhere with exactly the cookies `cookie` (a `Cookie` header),
    /// none of this browser's store.
    pub(crate) async fn post_with_cookie(
        &self,
        path: &str,
        form: &[(String, String)],
        cookie: &str,
    ) -> Page {
        let bare = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Page::of(
            bare.post(format!("{}{path}", self.base))
                .header("cookie", cookie)
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub(crate) async fn post(&self, path: &str, form: &[(String, String)]) -> Page {
        Page::of(
            self.http
                .post(format!("{}{path}", self.base))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Submits the page's form: its hidden fields with `extra` added (or replacing them).
    pub(crate) async fn submit(&self, page: &Page, extra: &[(&str, &str)]) -> Page {
        let action = page.form_action().expect("a form");
        let path = action
            .strip_prefix(&self.base)
            .unwrap_or_else(|| panic!("the form posts to {action}, not to {}", self.base))
            .to_owned();
        self.post(&path, &with_fields(page.fields(), extra)).await
    }

    pub(crate) async fn login(&self, page: &Page, username: &str, password: &str) -> Page {
        assert!(page.is_login(), "not the login page:\n{}", page.body);
        self.submit(page, &[("username", username), ("password", password)])
            .await
    }

    pub(crate) async fn consent(&self, page: &Page, decision: &str) -> Page {
        assert!(page.is_consent(), "not the consent page:\n{}", page.body);
        self.submit(page, &[("decision", decision)]).await
    }

    /// Runs the flow to its redirect: logs in and allows as needed; the redirect's parameters.
    pub(crate) async fn code(
        &self,
        request: &Req,
        username: &str,
        password: &str,
    ) -> HashMap<String, String> {
        let mut page = self.authorize(request).await;
        if page.is_login() {
            page = self.login(&page, username, password).await;
        }
        if page.is_consent() {
            page = self.consent(&page, "allow").await;
        }
        let params = page.redirect_to(request.redirect_uri());
        assert!(params.contains_key("code"), "no code: {params:?}");
        params
    }

    /// Whether the browser is signed in: `prompt=none` at a first-party client gives a code.
    pub(crate) async fn signed_in(&self, first_party: &str) -> bool {
        let (_, challenge) = pkce();
        let page = self
            .authorize(&Req::new(first_party, Some(&challenge)).set("prompt", "none"))
            .await;
        let params = page.redirect_to(CB);
        match params.get("error").map(String::as_str) {
            None => true,
            Some("login_required") => false,
            Some(other) => panic!("unexpected {other}"),
        }
    }
}

/// `fields` with `extra` set (replacing fields of the same name).
pub(crate) fn with_fields(
    fields: Vec<(String, String)>,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = fields
        .into_iter()
        .filter(|(k, _)| !extra.iter().any(|(name, _)| name == k))
        .collect();
    form.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    form
}

/// An authorization request's parameters.
#[derive(Clone)]
pub(crate) struct Req(Vec<(String, String)>);

impl Req {
    /// `response_type=code` for `client_id` at [`CB`], `openid profile email`, a state and a
    /// nonce, and the S256 `challenge` if any.
    pub(crate) fn new(client_id: &str, challenge: Option<&str>) -> Self {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", CB),
            ("scope", "openid profile email"),
            ("state", "st-1"),
            ("nonce", "n-1"),
        ];
        if let Some(challenge) = challenge {
            params.push(("code_challenge", challenge));
            params.push(("code_challenge_method", "S256"));
        }
        Self(
            params
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// The parameters.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub(crate) fn set(mut self, name: &str, value: &str) -> Self {
        self = self.without(name);
        self.0.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn without(mut self, name: &str) -> Self {
        self.0.retain(|(k, _)| k != name);
        self
    }

    pub(crate) fn redirect_uri(&self) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == "redirect_uri")
            .map_or("", |(_, v)| v.as_str())
    }
}

/// A PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2).
pub(crate) fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    (verifier, challenge)
}

/// Registers a client at [`CB`] (and [`BYE`] after logout) with the authorization code and
/// refresh grants.
pub(crate) async fn client(
    s: &Server,
    public: bool,
    first_party: bool,
) -> (String, Option<String>) {
    s.register_client(NewClient {
        name: format!("App {}", uuid::Uuid::new_v4().simple()),
        public,
        redirect_uris: vec![CB.into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        first_party,
        post_logout_redirect_uris: vec![BYE.into()],
        ..NewClient::default()
    })
    .await
}

/// `grant_type=authorization_code` for a public client.
pub(crate) async fn redeem(
    s: &Server,
    client_id: &str,
    code: &str,
    verifier: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
        ("client_id", client_id),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    s.token(&form).await
}

/// `grant_type=authorization_code` for a confidential client (client_secret_post).
async fn redeem_confidential(
    s: &Server,
    (client_id, secret): (&str, &str),
    code: &str,
    verifier: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
        ("client_id", client_id),
        ("client_secret", secret),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    s.token(&form).await
}

fn error_of(answer: &(u16, serde_json::Value)) -> (u16, Option<&str>) {
    (answer.0, answer.1["error"].as_str())
}

async fn userinfo_get(s: &Server, token: &str) -> (u16, serde_json::Value) {
    let response = s
        .client
        .get(s.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert!(status < 500);
    (status, response.json().await.unwrap_or_default())
}

async fn userinfo_post(s: &Server, token: &str) -> (u16, serde_json::Value) {
    let response = s
        .client
        .post(s.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert!(status < 500);
    (status, response.json().await.unwrap_or_default())
}

/// The JOSE header of a JWT.
fn jose_header(token: &str) -> serde_json::Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

/// An ID token's claims, verified against the published JWKS for `aud = client_id` and
/// `iss = issuer`.
pub(crate) async fn verify_id_token(
    s: &Server,
    token: &str,
    client_id: &str,
) -> Claims<serde_json::Map<String, serde_json::Value>> {
    id_token_verifier(s, client_id)
        .await
        .verify(token)
        .await
        .unwrap_or_else(|e| panic!("the ID token does not verify: {e:?}"))
}

/// A verifier of ID tokens for `client_id`, with the keys the server publishes.
async fn id_token_verifier(s: &Server, client_id: &str) -> Verifier {
    let jwks: JwkSet = s
        .client
        .get(s.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys: Vec<VerifyingKey> = jwks
        .keys
        .iter()
        .filter_map(|jwk| VerifyingKey::from_jwk(jwk).ok())
        .collect();
    Verifier::with_keys(
        keys,
        Validation::new()
            .issuer(s.warden.config().issuer.clone())
            .audience(client_id),
    )
}

/// OpenID Connect Core §3.1.3.6 (SHA-256 for RS256; SHA-512 for EdDSA on Ed25519).
fn at_hash(alg: &str, access_token: &str) -> String {
    let algorithm = if alg == "EdDSA" {
        &digest::SHA512
    } else {
        &digest::SHA256
    };
    let hash = digest::digest(algorithm, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&hash.as_ref()[..hash.as_ref().len() / 2])
}

fn now() -> i64 {
    warden_server::domain::now()
}

// --- 1. the flow --------------------------------------------------------------------------

pub async fn authorization_code_flow_with_pkce_gives_tokens_id_token_and_userinfo(s: &Server) {
    s.role("reader", &["items"]).await;
    let password = s
        .user_with_email("alice", "alice@example.com", &["reader"])
        .await;
    let (client_id, secret) = client(s, true, false).await;
    assert!(secret.is_none(), "a public client has no secret");
    let browser = Browser::new(s);
    let (verifier, challenge) = pkce();
    let request = Req::new(&client_id, Some(&challenge))
        .set("scope", "openid profile email items admin")
        .set("state", "state with spaces & symbols/?=");

    // Not signed in: the login form, posting to the issuer, carrying the request and a token.
    let page = browser.authorize(&request).await;
    assert!(page.is_login(), "{}", page.body);
    assert_eq!(
        page.form_action().as_deref(),
        Some(format!("{}/authorize/login", s.base).as_str())
    );
    assert!(page.body.contains("id=\"username\""));
    assert!(
        page.body
            .contains("<button type=\"submit\">Sign in</button>")
    );
    assert!(page.field("csrf_token").is_some_and(|t| !t.is_empty()));
    assert_eq!(page.field("client_id"), Some(client_id.clone()));
    assert_eq!(page.field("code_challenge"), Some(challenge.clone()));
    assert!(page.cookie_set("warden_csrf").is_some());

    let before_login = now();
    let consent = browser.login(&page, "alice", &password).await;
    let after_login = now();
    assert!(consent.is_consent(), "{}", consent.body);
    assert!(consent.cookie_set("warden_session").is_some());
    // The consent page names what the client would get: not `admin`, which alice lacks.
    let listed = {
        let start = consent.body.find("<ul id=\"scopes\">").unwrap();
        let end = start + consent.body[start..].find("</ul>").unwrap();
        consent.body[start..end].to_owned()
    };
    assert!(listed.contains("items"), "{listed}");
    assert!(listed.contains("your email address"), "{listed}");
    assert!(!listed.contains("admin"), "{listed}");

    let answer = browser.consent(&consent, "allow").await;
    let params = answer.redirect_to(CB);
    assert_eq!(
        params.get("state").map(String::as_str),
        Some("state with spaces & symbols/?=")
    );
    assert_eq!(
        params.get("iss"),
        Some(&s.warden.config().issuer),
        "RFC 9207"
    );
    assert_eq!(
        answer.header("cache-control"),
        Some("no-store"),
        "the code is not cached"
    );
    let code = &params["code"];

    let (status, tokens) = redeem(s, &client_id, code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    // RFC 6749 §5.1: the type is case-insensitive (the contract writes `Bearer`).
    assert!(
        tokens["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer")),
        "{tokens}"
    );
    let scope: Vec<&str> = tokens["scope"].as_str().unwrap().split(' ').collect();
    for expected in ["openid", "profile", "email", "items"] {
        assert!(scope.contains(&expected), "{scope:?}");
    }
    assert!(!scope.contains(&"admin"), "never more than the roles give");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();

    // The ID token: RS256 by default, for this client, with the nonce and the at_hash.
    let header = jose_header(&id_token);
    assert_eq!(header["alg"], "RS256");
    assert_ne!(header["typ"], "at+jwt", "an ID token is no access token");
    let claims = verify_id_token(s, &id_token, &client_id).await;
    assert_eq!(
        claims.iss.as_deref(),
        Some(s.warden.config().issuer.as_str())
    );
    assert_eq!(claims.aud.0, vec![client_id.clone()]);
    assert_eq!(claims.extra["nonce"], "n-1");
    assert_eq!(claims.extra["azp"], client_id.as_str());
    let auth_time = i64::try_from(claims.auth_time.unwrap()).unwrap();
    // The password alone (RFC 8176), and the level it reaches.
    assert_eq!(claims.amr, Some(vec!["pwd".to_owned()]));
    assert_eq!(claims.acr.as_deref(), Some("urn:warden:acr:pwd"));
    assert!(
        (before_login..=after_login).contains(&auth_time),
        "auth_time {auth_time} is when alice logged in"
    );
    assert_eq!(claims.extra["at_hash"], at_hash("RS256", &access).as_str());
    let sub = claims.sub.clone().unwrap();

    // UserInfo, by GET and by POST.
    for (status, info) in [
        userinfo_get(s, &access).await,
        userinfo_post(s, &access).await,
    ] {
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["sub"], sub.as_str());
        assert_eq!(info["preferred_username"], "alice");
        assert_eq!(info["email"], "alice@example.com");
    }
    // The ID token is not an access token.
    assert_eq!(userinfo_get(s, &id_token).await.0, 401);

    // The refresh token works for this client and rotates.
    let (status, refreshed) = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client_id),
        ])
        .await;
    assert_eq!(status, 200, "{refreshed}");
    let new_refresh = refreshed["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, refresh, "rotated");
    let new_access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(userinfo_get(s, new_access).await.0, 200);

    // A client registered for EdDSA ID tokens, first party: the same browser session gives a
    // code at once (no login, no consent).
    let (eddsa_client, _) = s
        .register_client(NewClient {
            name: "EdDSA app".into(),
            public: true,
            redirect_uris: vec![CB.into()],
            grant_types: vec!["authorization_code".into()],
            first_party: true,
            id_token_alg: Some("EdDSA".into()),
            ..NewClient::default()
        })
        .await;
    let (verifier, challenge) = pkce();
    let page = browser
        .authorize(&Req::new(&eddsa_client, Some(&challenge)).set("nonce", "n-2"))
        .await;
    let params = page.redirect_to(CB);
    let (status, tokens) = redeem(s, &eddsa_client, &params["code"], Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(
        tokens.get("refresh_token").is_none(),
        "no refresh grant, no refresh token"
    );
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(jose_header(id_token)["alg"], "EdDSA");
    let claims = verify_id_token(s, id_token, &eddsa_client).await;
    assert_eq!(claims.extra["nonce"], "n-2");
    assert_eq!(claims.sub.as_deref(), Some(sub.as_str()));
    assert_eq!(
        claims.extra["at_hash"],
        at_hash("EdDSA", tokens["access_token"].as_str().unwrap()).as_str()
    );
    // …and an ID token for one client is not one for another.
    assert!(
        id_token_verifier(s, &client_id)
            .await
            .verify::<serde_json::Value>(id_token)
            .await
            .is_err()
    );
}

// --- 2. code replay -----------------------------------------------------------------------

pub async fn authorization_code_replay_revokes_what_the_code_gave(s: &Server) {
    let password = s.user("replayed", &[]).await;
    let (client_id, _) = client(s, true, true).await;
    let browser = Browser::new(s);
    let (verifier, challenge) = pkce();
    let params = browser
        .code(
            &Req::new(&client_id, Some(&challenge)),
            "replayed",
            &password,
        )
        .await;
    let code = &params["code"];

    let (status, first) = redeem(s, &client_id, code, Some(&verifier)).await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(userinfo_get(s, access).await.0, 200);
    // The refresh token is used (rotated) before the replay: the family dies all the same.
    let (status, rotated) = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &client_id),
        ])
        .await;
    assert_eq!(status, 200);
    let rotated_refresh = rotated["refresh_token"].as_str().unwrap();

    // The replay: refused, with nothing in the answer…
    let replay = redeem(s, &client_id, code, Some(&verifier)).await;
    assert_eq!(error_of(&replay), (400, Some("invalid_grant")));
    assert!(replay.1.get("access_token").is_none());
    // …and what the first redemption gave is revoked (RFC 6749 §4.1.2, RFC 9700 §4.5).
    assert_eq!(
        userinfo_get(s, access).await.0,
        401,
        "the code's access token is revoked"
    );
    for token in [refresh, rotated_refresh] {
        let answer = s
            .token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", &client_id),
            ])
            .await;
        assert_eq!(
            error_of(&answer),
            (400, Some("invalid_grant")),
            "the refresh family is revoked"
        );
    }
    // A third attempt is refused too.
    let again = redeem(s, &client_id, code, Some(&verifier)).await;
    assert_eq!(error_of(&again), (400, Some("invalid_grant")));
}

/// A code past its expiry is refused; the same code stored unexpired works (the control).
pub async fn authorization_expired_codes_are_refused(s: &Server) {
    use warden_server::storage::{AuthorizationCode, Storage};
    s.user("late", &[]).await;
    let user = s.warden.user("late").await.unwrap();
    let (client_id, _) = client(s, true, true).await;
    let (verifier, challenge) = pkce();
    let store = async |code: &str, expires_in: i64| {
        let at = now();
        let hash = digest::digest(&digest::SHA256, code.as_bytes());
        let code_hash: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        s.warden
            .storage()
            .insert_authorization_code(&AuthorizationCode {
                code_hash,
                client_id: client_id.clone(),
                user_id: user.id.clone(),
                redirect_uri: CB.into(),
                scope: "openid".into(),
                nonce: None,
                code_challenge: Some(challenge.clone()),
                auth_time: at - 120,
                issued_at: at - 120,
                expires_at: at + expires_in,
                used_at: None,
                refresh_family_id: None,
                access_jti: None,
                access_expires_at: None,
                replayed_at: None,
                amr: "pwd".into(),
                dpop_jkt: None,
            })
            .await
            .unwrap();
    };
    store("an-expired-code", -1).await;
    let answer = redeem(s, &client_id, "an-expired-code", Some(&verifier)).await;
    assert_eq!(error_of(&answer), (400, Some("invalid_grant")));
    store("a-live-code", 30).await;
    let answer = redeem(s, &client_id, "a-live-code", Some(&verifier)).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
}

// --- 3. PKCE ------------------------------------------------------------------------------

pub async fn authorization_pkce_is_required_and_cannot_be_downgraded(s: &Server) {
    let password = s.user("pkce", &[]).await;
    let (public, _) = client(s, true, true).await;
    let browser = Browser::new(s);
    let issuer = s.warden.config().issuer.clone();
    let (verifier, challenge) = pkce();

    // Public clients must send an S256 challenge (RFC 9700 §2.1.1); the error goes back to the
    // (valid) redirect URI with state and iss.
    let short = "too-short-to-be-a-challenge";
    for request in [
        Req::new(&public, None),
        Req::new(&public, Some(&challenge)).set("code_challenge_method", "plain"),
        Req::new(&public, Some(&verifier)).set("code_challenge_method", "plain"),
        Req::new(&public, Some(&challenge)).without("code_challenge_method"),
        Req::new(&public, Some(short)),
        Req::new(&public, None).set("code_challenge_method", "S256"),
    ] {
        let page = browser.authorize(&request).await;
        let params = page.redirect_to(CB);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some("invalid_request"),
            "{:?}",
            request.0
        );
        assert_eq!(params.get("state").map(String::as_str), Some("st-1"));
        assert_eq!(params.get("iss"), Some(&issuer));
        assert!(!params.contains_key("code"));
    }

    // A wrong verifier: invalid_grant, and the code is spent (no guessing the verifier).
    let params = browser
        .code(&Req::new(&public, Some(&challenge)), "pkce", &password)
        .await;
    let (wrong, _) = pkce();
    let answer = redeem(s, &public, &params["code"], Some(&wrong)).await;
    assert_eq!(error_of(&answer), (400, Some("invalid_grant")));
    assert!(answer.1.get("access_token").is_none());
    let answer = redeem(s, &public, &params["code"], Some(&verifier)).await;
    assert_eq!(error_of(&answer), (400, Some("invalid_grant")));
    // Not even a verifier of the wrong shape gets through (a challenge sent as the verifier).
    let params = browser
        .code(&Req::new(&public, Some(&challenge)), "pkce", &password)
        .await;
    let answer = redeem(s, &public, &params["code"], Some(&challenge)).await;
    assert_eq!(error_of(&answer), (400, Some("invalid_grant")));

    // No verifier for a code issued with a challenge.
    let params = browser
        .code(&Req::new(&public, Some(&challenge)), "pkce", &password)
        .await;
    let answer = redeem(s, &public, &params["code"], None).await;
    assert_eq!(error_of(&answer), (400, Some("invalid_grant")));

    // The right verifier works (the control).
    let params = browser
        .code(&Req::new(&public, Some(&challenge)), "pkce", &password)
        .await;
    let answer = redeem(s, &public, &params["code"], Some(&verifier)).await;
    assert_eq!(answer.0, 200, "{}", answer.1);

    // A confidential client may go without PKCE, but a verifier for a code issued without a
    // challenge is refused: PKCE cannot be downgraded (RFC 9700 §4.8.2).
    let (confidential, secret) = client(s, false, true).await;
    let secret = secret.unwrap();
    let params = browser
        .code(&Req::new(&confidential, None), "pkce", &password)
        .await;
    let answer = redeem_confidential(
        s,
        (&confidential, &secret),
        &params["code"],
        Some(&verifier),
    )
    .await;
    assert_eq!(error_of(&answer), (400, Some("invalid_grant")));
    let params = browser
        .code(&Req::new(&confidential, None), "pkce", &password)
        .await;
    let answer = redeem_confidential(s, (&confidential, &secret), &params["code"], None).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    // With a challenge, the confidential client needs the verifier as well.
    let params = browser
        .code(
            &Req::new(&confidential, Some(&challenge)),
            "pkce",
            &password,
        )
        .await;
    let answer = redeem_confidential(s, (&confidential, &secret), &params["code"], None).await;
    assert_eq!(error_of(&answer), (400, Some("invalid_grant")));
}

// --- 4. redirect URIs ---------------------------------------------------------------------

pub async fn authorization_redirect_uris_match_exactly(s: &Server) {
    let password = s.user("redirected", &[]).await;
    let (client_id, _) = client(s, true, true).await;
    let browser = Browser::new(s);
    let (verifier, challenge) = pkce();
    // Signed in, so a valid request would redirect with a code at once: the strongest case.
    browser
        .code(
            &Req::new(&client_id, Some(&challenge)),
            "redirected",
            &password,
        )
        .await;

    for variant in [
        "https://app.example.com/cb/x",
        "https://app.example.com/cb/",
        "https://app.example.com/c",
        "https://app.example.com/CB",
        "https://APP.example.com/cb",
        "https://app.example.com:8443/cb",
        "https://app.example.com:443/cb",
        "https://app.example.com/cb/../cb",
        "https://app.example.com/x/../cb",
        "https://app.example.com/cb#x",
        "https://app.example.com/cb?x=1",
        "https://app.example.com/cb?",
        "http://app.example.com/cb",
        "https://app.example.com.evil.com/cb",
        "https://app.example.com@evil.com/cb",
        "https://evil.com/cb",
        "//app.example.com/cb",
        "/cb",
        " https://app.example.com/cb",
        "https://app.example.com/cb%20",
        "https://app.example.com/%63b",
    ] {
        for request in [
            Req::new(&client_id, Some(&challenge)).set("redirect_uri", variant),
            // Even with an error that would otherwise go back to the client.
            Req::new(&client_id, None)
                .set("redirect_uri", variant)
                .set("response_type", "token"),
        ] {
            let page = browser.authorize(&request).await;
            assert!(
                page.is_error_page(400),
                "{variant}: {} {:?}",
                page.status,
                page.location()
            );
        }
    }
    // No redirect_uri at all: a page too (OpenID Connect requires one).
    let page = browser
        .authorize(&Req::new(&client_id, Some(&challenge)).without("redirect_uri"))
        .await;
    assert!(page.is_error_page(400));

    // The forms carry the request in hidden fields: one edited on the way (or forged by the
    // user) is checked again, and never redirected anywhere unregistered.
    let fresh = Browser::new(s);
    let login = fresh
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    let page = fresh
        .submit(
            &login,
            &[
                ("username", "redirected"),
                ("password", &password),
                ("redirect_uri", "https://evil.com/cb"),
            ],
        )
        .await;
    assert!(
        page.is_error_page(400),
        "{} {:?}",
        page.status,
        page.location()
    );
    assert!(
        page.cookie_set("warden_session").is_none(),
        "no password is checked for an invalid request"
    );
    let (consenting, _) = client(s, true, false).await;
    let page = fresh
        .authorize(&Req::new(&consenting, Some(&challenge)))
        .await;
    let page = fresh.login(&page, "redirected", &password).await;
    assert!(page.is_consent(), "{}", page.status);
    let page = fresh
        .submit(
            &page,
            &[
                ("decision", "allow"),
                ("redirect_uri", "https://evil.com/cb"),
            ],
        )
        .await;
    assert!(
        page.is_error_page(400),
        "{} {:?}",
        page.status,
        page.location()
    );

    // At the token endpoint, the redirect_uri must be the one of the request.
    for wrong in [Some("https://app.example.com/cb/x"), None] {
        let params = browser
            .code(
                &Req::new(&client_id, Some(&challenge)),
                "redirected",
                &password,
            )
            .await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", params["code"].as_str()),
            ("client_id", client_id.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        if let Some(uri) = wrong {
            form.push(("redirect_uri", uri));
        }
        let answer = s.token(&form).await;
        assert_eq!(error_of(&answer), (400, Some("invalid_grant")), "{wrong:?}");
    }

    // A loopback redirect URI (native apps, RFC 8252 §7.3): any port, but only that path.
    let (native, _) = s
        .register_client(NewClient {
            name: "Native app".into(),
            public: true,
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            grant_types: vec!["authorization_code".into()],
            first_party: true,
            ..NewClient::default()
        })
        .await;
    let loopback = "http://127.0.0.1:51004/cb";
    let params = browser
        .code(
            &Req::new(&native, Some(&challenge)).set("redirect_uri", loopback),
            "redirected",
            &password,
        )
        .await;
    let answer = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &params["code"]),
            ("client_id", &native),
            ("code_verifier", &verifier),
            ("redirect_uri", loopback),
        ])
        .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    for variant in [
        "http://127.0.0.1:51004/other",
        "http://127.0.0.1:51004/cb/",
        "http://localhost:51004/cb",
        "http://127.0.0.1.evil.com:51004/cb",
        "http://127.0.0.1:51004@evil.com/cb",
        "http://evil.com@127.0.0.1:51004/cb",
        "https://127.0.0.1:51004/cb",
        "http://[::1]:51004/cb",
        "http://127.0.0.2:51004/cb",
    ] {
        let page = browser
            .authorize(&Req::new(&native, Some(&challenge)).set("redirect_uri", variant))
            .await;
        assert!(page.is_error_page(400), "{variant}: {}", page.status);
    }
    // The port at the token endpoint must be the one of the request.
    let params = browser
        .code(
            &Req::new(&native, Some(&challenge)).set("redirect_uri", loopback),
            "redirected",
            &password,
        )
        .await;
    let answer = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &params["code"]),
            ("client_id", &native),
            ("code_verifier", &verifier),
            ("redirect_uri", "http://127.0.0.1:51005/cb"),
        ])
        .await;
    assert_eq!(error_of(&answer), (400, Some("invalid_grant")));
}

// --- 5. bad requests ----------------------------------------------------------------------

pub async fn authorization_bad_requests_are_pages_or_redirected_errors(s: &Server) {
    let (client_id, _) = client(s, true, false).await;
    let browser = Browser::new(s);
    let issuer = s.warden.config().issuer.clone();
    let (_, challenge) = pkce();

    // Before the client and its redirect URI are known: a page, never a redirect.
    for request in [
        Req::new("no-such-client", Some(&challenge)),
        Req::new(&client_id, Some(&challenge)).without("client_id"),
        Req::new(&"x".repeat(200), Some(&challenge)),
    ] {
        let page = browser.authorize(&request).await;
        assert!(page.is_error_page(400), "{:?}: {}", request.0, page.status);
    }

    // After: back to the client with error, state and iss.
    for (request, error) in [
        (
            Req::new(&client_id, Some(&challenge)).set("response_type", "token"),
            "unsupported_response_type",
        ),
        (
            Req::new(&client_id, Some(&challenge)).set("response_type", "code id_token"),
            "unsupported_response_type",
        ),
        (
            Req::new(&client_id, Some(&challenge)).without("response_type"),
            "invalid_request",
        ),
        (
            Req::new(&client_id, Some(&challenge)).set("prompt", "none login"),
            "invalid_request",
        ),
        (
            Req::new(&client_id, Some(&challenge)).set("prompt", "bogus"),
            "invalid_request",
        ),
        (
            Req::new(&client_id, Some(&challenge)).set("max_age", "-1"),
            "invalid_request",
        ),
        (
            Req::new(&client_id, Some(&challenge)).set("request", "eyJhbGciOiJub25lIn0.e30."),
            "request_not_supported",
        ),
    ] {
        let page = browser.authorize(&request).await;
        let params = page.redirect_to(CB);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some(error),
            "{:?}",
            request.0
        );
        assert_eq!(params.get("state").map(String::as_str), Some("st-1"));
        assert_eq!(params.get("iss"), Some(&issuer));
        assert!(!params.contains_key("code"));
    }

    // A client without the authorization code grant.
    let (machine, _) = s
        .register_client(NewClient {
            name: "Machine".into(),
            public: false,
            redirect_uris: vec![CB.into()],
            grant_types: vec!["client_credentials".into()],
            ..NewClient::default()
        })
        .await;
    let params = browser
        .authorize(&Req::new(&machine, Some(&challenge)))
        .await
        .redirect_to(CB);
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("unauthorized_client")
    );

    // A repeated parameter (RFC 6749 §3.1) is refused with a page, whichever it is.
    let base = format!(
        "response_type=code&client_id={client_id}&redirect_uri={}&code_challenge={challenge}\
         &code_challenge_method=S256&state=st-1",
        urlencode(CB)
    );
    for repeated in [
        format!("{base}&client_id={client_id}"),
        format!("{base}&redirect_uri={}", urlencode("https://evil.com/cb")),
        format!("{base}&state=other"),
        format!("{base}&code_challenge={challenge}"),
    ] {
        let page = browser.get(&format!("/authorize?{repeated}")).await;
        assert!(page.is_error_page(400), "{repeated}: {}", page.status);
    }

    // An over-long state is not echoed.
    let long = "s".repeat(2000);
    let params = browser
        .authorize(&Req::new(&client_id, Some(&challenge)).set("state", &long))
        .await
        .redirect_to(CB);
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("invalid_request")
    );
    assert!(!params.contains_key("state"));
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

// --- 6. code injection --------------------------------------------------------------------

pub async fn authorization_code_works_only_for_its_client(s: &Server) {
    let password = s.user("injected", &[]).await;
    let (a, a_secret) = client(s, false, true).await;
    let a_secret = a_secret.unwrap();
    let (b, b_secret) = client(s, false, true).await;
    let b_secret = b_secret.unwrap();
    let (public, _) = client(s, true, true).await;
    let browser = Browser::new(s);
    let params = browser
        .code(&Req::new(&a, None), "injected", &password)
        .await;
    let code = &params["code"];

    // B, with its own valid secret, gets nothing for A's code (RFC 9700 §4.5).
    let answer = redeem_confidential(s, (&b, &b_secret), code, None).await;
    assert_eq!(error_of(&answer), (400, Some("invalid_grant")));
    assert!(answer.1.get("access_token").is_none());
    // Nor with A's client_id and B's secret, nor A's id without a secret, nor as a public client.
    let answer = redeem_confidential(s, (&a, &b_secret), code, None).await;
    assert_eq!(answer.0, 401, "{}", answer.1);
    assert_eq!(answer.1["error"], "invalid_client");
    let answer = redeem(s, &a, code, None).await;
    assert_eq!(answer.0, 401, "{}", answer.1);
    assert!(answer.1.get("access_token").is_none());
    let answer = redeem(s, &public, code, None).await;
    assert_eq!(error_of(&answer), (400, Some("invalid_grant")));
    // Without any client authentication (the built-in docs client).
    let answer = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
        ])
        .await;
    assert!(matches!(answer.0, 400 | 401), "{}", answer.1);
    assert!(answer.1.get("access_token").is_none());

    // What the implementation does: the code is bound to A and the failed attempts of others
    // do not spend it, so A (the legitimate holder) still redeems it, once.
    let answer = redeem_confidential(s, (&a, &a_secret), code, None).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let claims = verify_id_token(s, answer.1["id_token"].as_str().unwrap(), &a).await;
    assert_eq!(claims.extra["azp"], a.as_str());
    let answer = redeem_confidential(s, (&b, &b_secret), code, None).await;
    assert_eq!(error_of(&answer), (400, Some("invalid_grant")));
}

// --- 7. CSRF ------------------------------------------------------------------------------

pub async fn authorization_forms_need_the_csrf_cookie_and_token(s: &Server) {
    let password = s.user("forged", &[]).await;
    let (client_id, _) = client(s, true, false).await;
    let (_, challenge) = pkce();
    let request = Req::new(&client_id, Some(&challenge));
    let victim = Browser::new(s);
    let login = victim.authorize(&request).await;
    assert!(login.is_login());
    let creds = [("username", "forged"), ("password", password.as_str())];

    // A cross-site post carries no anti-CSRF cookie (an attacker's own client here).
    let attacker = Browser::new(s);
    let forged = attacker
        .post("/authorize/login", &with_fields(login.fields(), &creds))
        .await;
    assert_eq!(forged.status, 403);
    assert!(forged.cookie_set("warden_session").is_none());
    assert!(forged.location().is_none());
    // The victim's cookie with a wrong, missing or someone else's token.
    let other = Browser::new(s).authorize(&request).await;
    let others_token = other.field("csrf_token").unwrap();
    for token in ["wrong", "", others_token.as_str()] {
        let page = victim
            .post(
                "/authorize/login",
                &with_fields(login.fields(), &[creds[0], creds[1], ("csrf_token", token)]),
            )
            .await;
        assert_eq!(page.status, 403, "token {token:?}");
        assert!(page.cookie_set("warden_session").is_none());
        assert!(page.location().is_none());
    }
    let fields: Vec<_> = login
        .fields()
        .into_iter()
        .filter(|(k, _)| k != "csrf_token")
        .collect();
    let page = victim
        .post("/authorize/login", &with_fields(fields, &creds))
        .await;
    assert_eq!(page.status, 403);
    assert!(page.cookie_set("warden_session").is_none());

    // The real form works.
    let consent = victim.login(&login, "forged", &password).await;
    assert!(consent.is_consent());
    let session = consent.cookie_value("warden_session").unwrap();

    // The consent form: the victim's session cookie alone (as a cross-site post would send it
    // under SameSite=None) is not enough.
    let post_consent = |cookie: String, token: Option<String>| {
        let form = with_fields(
            consent
                .fields()
                .into_iter()
                .filter(|(k, _)| k != "csrf_token")
                .collect(),
            &[("decision", "allow")],
        );
        let mut form = form;
        if let Some(token) = token {
            form.push(("csrf_token".into(), token));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let url = s.url("/authorize/consent");
        async move {
            Page::of(
                http.post(url)
                    .header("cookie", cookie)
                    .form(&form)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let token = consent.field("csrf_token").unwrap();
    for (cookie, token) in [
        (format!("warden_session={session}"), Some(token.clone())),
        (format!("warden_session={session}"), None),
        (
            format!("warden_session={session}; warden_csrf=planted"),
            Some(token.clone()),
        ),
        (
            format!("warden_session={session}; warden_csrf=planted"),
            Some(others_token.clone()),
        ),
    ] {
        let page = post_consent(cookie.clone(), token).await;
        assert_eq!(page.status, 403, "{cookie}");
        assert!(page.location().is_none(), "{cookie}");
    }
    let page = victim
        .submit(&consent, &[("decision", "allow"), ("csrf_token", "wrong")])
        .await;
    assert_eq!(page.status, 403);
    assert!(page.location().is_none());
    // Nothing was consented meanwhile: the consent page is still what the victim sees.
    assert!(victim.authorize(&request).await.is_consent());

    // The real form works.
    let answer = victim.consent(&consent, "allow").await;
    assert!(answer.redirect_to(CB).contains_key("code"));
}

// --- 8. clickjacking, caching, cookies ----------------------------------------------------

fn assert_protected(page: &Page, what: &str) {
    assert_eq!(page.header("x-frame-options"), Some("DENY"), "{what}");
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        page.header("cache-control")
            .is_some_and(|c| c.contains("no-store")),
        "{what}"
    );
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{what}"
    );
    // The page's URL holds the request; no Referer leaks it (RFC 9700 §4.2.4).
    assert!(
        page.body
            .contains("<meta name=\"referrer\" content=\"no-referrer\">"),
        "{what}"
    );
}

/// A `Set-Cookie` with the attributes of the browser flows' cookies.
fn assert_cookie(set_cookie: &str, secure: bool) {
    let attributes: Vec<String> = set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attributes.iter().any(|a| a == "httponly"), "{set_cookie}");
    assert!(
        attributes.iter().any(|a| a == "samesite=lax"),
        "{set_cookie}"
    );
    assert!(attributes.iter().any(|a| a == "path=/"), "{set_cookie}");
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain")),
        "{set_cookie}"
    );
    assert_eq!(
        attributes.iter().any(|a| a == "secure"),
        secure,
        "{set_cookie}"
    );
}

pub async fn authorization_pages_cannot_be_framed_or_cached(s: &Server) {
    let password = s.user("framed", &[]).await;
    let (client_id, _) = client(s, true, false).await;
    let (verifier, challenge) = pkce();
    let browser = Browser::new(s);
    let request = Req::new(&client_id, Some(&challenge));

    let login = browser.authorize(&request).await;
    assert!(login.is_login());
    assert_protected(&login, "login page");
    assert_cookie(&login.cookie_set("warden_csrf").unwrap(), false);

    let failed = browser.login(&login, "framed", "wrong password").await;
    assert!(failed.is_login());
    assert_protected(&failed, "login page after a failure");

    let consent = browser.login(&login, "framed", &password).await;
    assert!(consent.is_consent());
    assert_protected(&consent, "consent page");
    let session = consent.cookie_set("warden_session").unwrap();
    assert_cookie(&session, false);
    assert!(
        session.to_ascii_lowercase().contains("max-age="),
        "the session cookie ends with the session: {session}"
    );

    let error = browser
        .authorize(&Req::new("no-such-client", Some(&challenge)))
        .await;
    assert_protected(&error, "error page");
    let confirm = browser.get("/logout").await;
    assert_eq!(confirm.status, 200);
    assert_protected(&confirm, "logout confirmation");

    let answer = browser.consent(&consent, "allow").await;
    let params = answer.redirect_to(CB);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    // The token response is not cached either (RFC 6749 §5.1), nor is UserInfo.
    let response = s
        .client
        .post(s.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", params["code"].as_str()),
            ("redirect_uri", CB),
            ("client_id", client_id.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let tokens: serde_json::Value = response.json().await.unwrap();
    let response = s
        .client
        .get(s.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
}

/// Under an `https` issuer the cookies are `Secure` and `__Host-` prefixed (bound to the
/// origin: a sibling subdomain can neither read nor plant them), and an unprefixed cookie a
/// sibling could plant is not taken for one. The test still talks plain HTTP to the server,
/// so it handles the cookies itself.
async fn https_issuer_cookies_are_host_prefixed(s: &Server) {
    let issuer = s.warden.config().issuer.clone();
    assert!(issuer.starts_with("https://"));
    let password = s.user("secure", &[]).await;
    let (client_id, _) = client(s, true, true).await;
    let (_, challenge) = pkce();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let request = Req::new(&client_id, Some(&challenge));
    let login = Page::of(
        http.get(s.url("/authorize"))
            .query(&request.0)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(login.is_login());
    assert_eq!(
        login.form_action(),
        Some(format!("{issuer}/authorize/login"))
    );
    let csrf_set = login.cookie_set("__Host-warden_csrf").unwrap();
    assert_cookie(&csrf_set, true);
    assert!(login.cookie_set("warden_csrf").is_none());
    let csrf = login.cookie_value("__Host-warden_csrf").unwrap();
    let form = with_fields(
        login.fields(),
        &[("username", "secure"), ("password", &password)],
    );
    let post = |cookie: String| {
        let request = http
            .post(s.url("/authorize/login"))
            .header("cookie", cookie)
            .form(&form);
        async move { Page::of(request.send().await.unwrap()).await }
    };

    // An unprefixed cookie is not this deployment's: refused.
    let page = post(format!("warden_csrf={csrf}")).await;
    assert_eq!(page.status, 403);
    assert!(page.cookie_set("warden_session").is_none());
    assert!(page.cookie_set("__Host-warden_session").is_none());

    let page = post(format!("__Host-warden_csrf={csrf}")).await;
    let params = page.redirect_to(CB);
    assert!(params.contains_key("code"));
    assert_eq!(params.get("iss"), Some(&issuer));
    let session_set = page.cookie_set("__Host-warden_session").unwrap();
    assert_cookie(&session_set, true);
    assert!(page.cookie_set("warden_session").is_none());
    let session = page.cookie_value("__Host-warden_session").unwrap();

    // The prefixed session cookie signs the browser in; an unprefixed one does not.
    let silent = request.clone().set("prompt", "none");
    let probe = |cookie: String| {
        let get = http
            .get(s.url("/authorize"))
            .query(&silent.0)
            .header("cookie", cookie);
        async move { Page::of(get.send().await.unwrap()).await }
    };
    let params = probe(format!("__Host-warden_session={session}"))
        .await
        .redirect_to(CB);
    assert!(params.contains_key("code"), "{params:?}");
    let params = probe(format!("warden_session={session}"))
        .await
        .redirect_to(CB);
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("login_required")
    );
}

mod https_issuer {
    use crate::backend::{Options, Server};

    fn options() -> Options {
        Options {
            issuer: Some("https://auth.example.test".into()),
            ..Options::default()
        }
    }

    #[tokio::test]
    async fn sqlite() {
        let server = Server::sqlite(options()).await;
        super::https_issuer_cookies_are_host_prefixed(&server).await;
        server.finish().await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some(server) = Server::postgres(options()).await else {
            return;
        };
        super::https_issuer_cookies_are_host_prefixed(&server).await;
        server.finish().await;
    }
}

// --- 9. prompts and consent ---------------------------------------------------------------

pub async fn authorization_prompts_and_remembered_consent(s: &Server) {
    let password = s.user("prompted", &[]).await;
    let (client_id, _) = client(s, true, false).await;
    let (first_party, _) = client(s, true, true).await;
    let (_, challenge) = pkce();
    let issuer = s.warden.config().issuer.clone();
    let browser = Browser::new(s);
    let request = Req::new(&client_id, Some(&challenge)).set("scope", "openid profile");
    let error_for = |page: &Page| {
        let params = page.redirect_to(CB);
        assert_eq!(params.get("state").map(String::as_str), Some("st-1"));
        assert_eq!(params.get("iss"), Some(&issuer));
        assert_eq!(params.contains_key("code"), !params.contains_key("error"));
        params.get("error").cloned()
    };

    // prompt=none without a session: login_required, nothing shown.
    let page = browser
        .authorize(&request.clone().set("prompt", "none"))
        .await;
    assert_eq!(error_for(&page).as_deref(), Some("login_required"));

    // Logged in but not consented: the consent page; prompt=none says consent_required.
    let login = browser.authorize(&request).await;
    let consent = browser.login(&login, "prompted", &password).await;
    assert!(consent.is_consent());
    assert!(
        consent.body.contains("prompted"),
        "the consent names the user"
    );
    let page = browser
        .authorize(&request.clone().set("prompt", "none"))
        .await;
    assert_eq!(error_for(&page).as_deref(), Some("consent_required"));

    // prompt=login asks for the password again despite the session, even for a first-party
    // client; logging in then satisfies it.
    let page = browser
        .authorize(&request.clone().set("prompt", "login"))
        .await;
    assert!(page.is_login(), "{}", page.status);
    let fp = Req::new(&first_party, Some(&challenge));
    let page = browser.authorize(&fp.clone().set("prompt", "login")).await;
    assert!(page.is_login(), "{}", page.status);
    let after = browser.login(&page, "prompted", &password).await;
    assert_eq!(error_for(&after), None);

    // Deny: access_denied, and nothing is remembered.
    let page = browser.authorize(&request).await;
    let denied = browser.consent(&page, "deny").await;
    assert_eq!(error_for(&denied).as_deref(), Some("access_denied"));
    let page = browser.authorize(&request).await;
    assert!(page.is_consent());

    // Allow: a code; the consent is remembered for these scopes.
    let allowed = browser.consent(&page, "allow").await;
    assert_eq!(error_for(&allowed), None);
    let again = browser.authorize(&request).await;
    assert_eq!(error_for(&again), None, "no consent page the second time");
    let page = browser
        .authorize(&request.clone().set("prompt", "none"))
        .await;
    assert_eq!(error_for(&page), None);
    // A subset needs no new consent; a new scope does, and prompt=consent always asks.
    let page = browser
        .authorize(&request.clone().set("scope", "openid"))
        .await;
    assert_eq!(error_for(&page), None);
    let page = browser
        .authorize(&request.clone().set("scope", "openid profile email"))
        .await;
    assert!(page.is_consent(), "a new scope asks again");
    let page = browser
        .authorize(&request.clone().set("prompt", "consent"))
        .await;
    assert!(page.is_consent());
    // The consent is per user: another user in another browser is asked.
    let other_password = s.user("prompted2", &[]).await;
    let other = Browser::new(s);
    let page = other.authorize(&request).await;
    let page = other.login(&page, "prompted2", &other_password).await;
    assert!(page.is_consent());

    // A first-party client never asks.
    let fresh = Browser::new(s);
    let page = fresh.authorize(&fp).await;
    let page = fresh.login(&page, "prompted", &password).await;
    assert_eq!(
        error_for(&page),
        None,
        "first party: straight back with a code"
    );

    // max_age: a session older than that asks for the password again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let page = fresh.authorize(&fp.clone().set("max_age", "0")).await;
    assert!(page.is_login());
    let page = fresh
        .authorize(&fp.clone().set("max_age", "0").set("prompt", "none"))
        .await;
    assert_eq!(error_for(&page).as_deref(), Some("login_required"));
    let page = fresh.authorize(&fp.clone().set("max_age", "3600")).await;
    assert_eq!(error_for(&page), None);
}

// --- 10. logout ---------------------------------------------------------------------------

pub async fn authorization_logout_ends_the_session_without_open_redirects(s: &Server) {
    let password = s.user("leaving", &[]).await;
    let (client_id, _) = client(s, true, true).await;
    let (other_client, _) = s
        .register_client(NewClient {
            name: "Other".into(),
            public: true,
            redirect_uris: vec!["https://other.example.com/cb".into()],
            grant_types: vec!["authorization_code".into()],
            first_party: true,
            post_logout_redirect_uris: vec!["https://other.example.com/bye".into()],
            ..NewClient::default()
        })
        .await;
    let browser = Browser::new(s);
    let (verifier, challenge) = pkce();
    let sign_in = async |browser: &Browser| {
        let params = browser
            .code(
                &Req::new(&client_id, Some(&challenge)),
                "leaving",
                &password,
            )
            .await;
        let (status, tokens) = redeem(s, &client_id, &params["code"], Some(&verifier)).await;
        assert_eq!(status, 200);
        (
            tokens["id_token"].as_str().unwrap().to_owned(),
            tokens["access_token"].as_str().unwrap().to_owned(),
        )
    };
    let (id_token, access_token) = sign_in(&browser).await;
    assert!(browser.signed_in(&client_id).await);

    // Never an open redirector (RFC 9700 §4.11): a return address the client did not register,
    // one registered by another client, or any without knowing the client, is a page.
    let logout = |params: Vec<(&'static str, String)>| {
        let request = browser.http.get(s.url("/logout")).query(&params).send();
        async move { Page::of(request.await.unwrap()).await }
    };
    for params in [
        vec![
            ("id_token_hint", id_token.clone()),
            (
                "post_logout_redirect_uri",
                "https://evil.example/bye".into(),
            ),
        ],
        vec![
            ("id_token_hint", id_token.clone()),
            ("post_logout_redirect_uri", format!("{BYE}/x")),
        ],
        vec![
            ("id_token_hint", id_token.clone()),
            (
                "post_logout_redirect_uri",
                "https://other.example.com/bye".into(),
            ),
        ],
        vec![("post_logout_redirect_uri", BYE.into())],
        vec![
            ("client_id", other_client.clone()),
            ("post_logout_redirect_uri", BYE.into()),
        ],
        vec![
            ("id_token_hint", id_token.clone()),
            ("client_id", other_client.clone()),
            (
                "post_logout_redirect_uri",
                "https://other.example.com/bye".into(),
            ),
        ],
        // An access token is no ID token hint.
        vec![
            ("id_token_hint", access_token.clone()),
            ("post_logout_redirect_uri", BYE.into()),
        ],
        vec![
            ("id_token_hint", "not.a.jwt".into()),
            ("post_logout_redirect_uri", BYE.into()),
        ],
    ] {
        let page = logout(params.clone()).await;
        assert!(
            page.is_error_page(400),
            "{params:?}: {} {:?}",
            page.status,
            page.location()
        );
    }
    assert!(browser.signed_in(&client_id).await, "nothing ended");

    // Without a hint (a cross-site link): a confirmation form, and the session lives on.
    let confirm = browser.get("/logout").await;
    assert_eq!(confirm.status, 200);
    assert_eq!(
        confirm.form_action(),
        Some(format!("{}/logout", s.warden.config().issuer))
    );
    assert!(confirm.field("csrf_token").is_some());
    assert!(confirm.body.contains("name=\"confirm\" value=\"yes\""));
    assert!(browser.signed_in(&client_id).await);
    // A forged confirmation changes nothing.
    let forged = browser
        .submit(&confirm, &[("confirm", "yes"), ("csrf_token", "forged")])
        .await;
    assert_eq!(forged.status, 200);
    assert!(forged.location().is_none());
    assert!(browser.signed_in(&client_id).await);
    let attacker = Browser::new(s);
    attacker
        .post(
            "/logout",
            &with_fields(confirm.fields(), &[("confirm", "yes")]),
        )
        .await;
    assert!(browser.signed_in(&client_id).await);
    // An ID token of another user (leaked, or the attacker's own) is no confirmation either.
    let other_password = s.user("someone", &[]).await;
    let someone = Browser::new(s);
    let params = someone
        .code(
            &Req::new(&client_id, Some(&challenge)),
            "someone",
            &other_password,
        )
        .await;
    let (_, tokens) = redeem(s, &client_id, &params["code"], Some(&verifier)).await;
    let page = logout(vec![
        ("id_token_hint", tokens["id_token"].as_str().unwrap().into()),
        ("post_logout_redirect_uri", BYE.into()),
    ])
    .await;
    assert_eq!(page.status, 200, "asks first");
    assert!(page.location().is_none());
    assert!(browser.signed_in(&client_id).await);

    // The real confirmation signs out.
    let done = browser.submit(&confirm, &[("confirm", "yes")]).await;
    assert_eq!(done.status, 200);
    assert!(done.location().is_none());
    assert!(!browser.signed_in(&client_id).await);
    let page = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    assert!(page.is_login());

    // With a valid hint and a registered return address: back there with the state, signed out.
    let (id_token, _) = sign_in(&browser).await;
    assert!(browser.signed_in(&client_id).await);
    let page = logout(vec![
        ("id_token_hint", id_token.clone()),
        ("post_logout_redirect_uri", BYE.into()),
        ("state", "bye state".into()),
    ])
    .await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location(),
        Some(format!("{BYE}?state=bye+state").as_str())
    );
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with("warden_session=")
                && c.to_ascii_lowercase().contains("max-age=0"))
    );
    assert!(!browser.signed_in(&client_id).await);
    assert!(
        browser
            .authorize(&Req::new(&client_id, Some(&challenge)))
            .await
            .is_login()
    );
    // By POST too, and with client_id alongside the matching hint.
    sign_in(&browser).await;
    let page = Page::of(
        browser
            .http
            .post(s.url("/logout"))
            .form(&[
                ("id_token_hint", id_token.as_str()),
                ("client_id", client_id.as_str()),
                ("post_logout_redirect_uri", BYE),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some(BYE));
    assert!(!browser.signed_in(&client_id).await);
}

// --- 11. wrong password -------------------------------------------------------------------

pub async fn authorization_wrong_password_shows_the_form_again_and_is_throttled(s: &Server) {
    let password = s.user("mistyped", &[]).await;
    let (client_id, _) = client(s, true, true).await;
    let (_, challenge) = pkce();
    let browser = Browser::new(s);
    let login = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;

    let wrong = browser.login(&login, "mistyped", "not the password").await;
    assert!(wrong.is_login(), "{}", wrong.status);
    assert!(wrong.body.contains("role=\"alert\""));
    assert!(wrong.cookie_set("warden_session").is_none());
    assert!(wrong.location().is_none());
    // The request survives the failure.
    assert_eq!(wrong.field("client_id"), Some(client_id.clone()));
    // An unknown user gets the same answer.
    let unknown = browser
        .login(&login, "nobody-here", "not the password")
        .await;
    assert!(unknown.is_login());
    let alert = |page: &Page| {
        let start = page.body.find("role=\"alert\"").unwrap();
        page.body[start..start + page.body[start..].find("</p>").unwrap()].to_owned()
    };
    assert_eq!(alert(&wrong), alert(&unknown));
    // What was typed is escaped when shown again.
    let injected = browser
        .login(&login, "\"><script>alert(1)</script>", "x")
        .await;
    assert!(injected.is_login());
    assert!(!injected.body.contains("<script>"));

    // Ten failures per account and address (the default); then even the right password
    // waits.
    for _ in 1..10 {
        let page = browser.login(&wrong, "mistyped", "not the password").await;
        assert!(page.is_login());
    }
    let throttled = browser.login(&wrong, "mistyped", &password).await;
    assert!(throttled.is_error_page(429), "{}", throttled.status);
    assert!(
        throttled
            .header("retry-after")
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|v| v >= 1)
    );
    assert!(throttled.cookie_set("warden_session").is_none());
}

/// Issue 11: throttling counts failures. A user signing in again and again with the right
/// password (a test suite, a kiosk, many tabs) is never refused, and neither is the password
/// grant after those sign-ins; the failure budget is still whole afterwards.
pub async fn authorization_successful_logins_are_not_throttled(s: &Server) {
    let password = s.user("regular", &[]).await;
    let (client_id, _) = client(s, true, true).await;
    for i in 0..30 {
        // A fresh browser each time: no session, so the login form is shown and posted.
        let browser = Browser::new(s);
        let (_, challenge) = pkce();
        let login = browser
            .authorize(&Req::new(&client_id, Some(&challenge)))
            .await;
        assert!(login.is_login(), "sign-in {i}: {}", login.status);
        let page = browser.login(&login, "regular", &password).await;
        assert!(
            page.status == 303 && page.cookie_set("warden_session").is_some(),
            "sign-in {i} was refused: {} {}",
            page.status,
            page.body
        );
        assert!(page.redirect_to(CB).contains_key("code"));
    }
    let (status, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "regular"),
            ("password", &password),
        ])
        .await;
    assert_eq!(status, 200, "{body}");

    // Failures are still counted: ten per account and address (the default), then 429.
    let browser = Browser::new(s);
    let (_, challenge) = pkce();
    let mut page = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    for _ in 0..10 {
        page = browser.login(&page, "regular", "not the password").await;
        assert!(page.is_login(), "{}", page.status);
    }
    let throttled = browser.login(&page, "regular", &password).await;
    assert!(throttled.is_error_page(429), "{}", throttled.status);
}

// --- 12. disabled users -------------------------------------------------------------------

pub async fn authorization_disabled_user_session_no_longer_authorizes(s: &Server) {
    let password = s.user("disabled-later", &[]).await;
    let (client_id, _) = client(s, true, true).await;
    let (verifier, challenge) = pkce();
    let browser = Browser::new(s);
    let params = browser
        .code(
            &Req::new(&client_id, Some(&challenge)),
            "disabled-later",
            &password,
        )
        .await;
    assert!(browser.signed_in(&client_id).await);

    s.warden.set_disabled("disabled-later", true).await.unwrap();
    // The session no longer authorizes: the login page, or login_required.
    let page = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    assert!(page.is_login(), "{} {:?}", page.status, page.location());
    assert!(!browser.signed_in(&client_id).await);
    // A code issued before is worth nothing now.
    let answer = redeem(s, &client_id, &params["code"], Some(&verifier)).await;
    assert_eq!(error_of(&answer), (400, Some("invalid_grant")));
    // The right password does not log a disabled user in (and says nothing more).
    let again = browser.login(&page, "disabled-later", &password).await;
    assert!(again.is_login());
    assert!(again.body.contains("role=\"alert\""));
    assert!(again.cookie_set("warden_session").is_none());

    // Re-enabled, the old session stays ended: the user signs in again.
    s.warden
        .set_disabled("disabled-later", false)
        .await
        .unwrap();
    assert!(!browser.signed_in(&client_id).await);
    let params = browser
        .code(
            &Req::new(&client_id, Some(&challenge)),
            "disabled-later",
            &password,
        )
        .await;
    let answer = redeem(s, &client_id, &params["code"], Some(&verifier)).await;
    assert_eq!(answer.0, 200);
}

// --- malformed input ----------------------------------------------------------------------

pub async fn authorization_malformed_input_is_4xx(s: &Server) {
    let password = s.user("malformed", &[]).await;
    let (client_id, _) = client(s, true, true).await;
    let (_, challenge) = pkce();
    let browser = Browser::new(s);
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // An over-long query: 414, a page.
    let huge = Req::new(&client_id, Some(&challenge)).set("pad", &"a".repeat(9 * 1024));
    let page = browser.authorize(&huge).await;
    assert!(page.is_error_page(414), "{}", page.status);
    let page = browser
        .get(&format!("/logout?state={}", "a".repeat(17 * 1024)))
        .await;
    assert!(page.is_error_page(414), "{}", page.status);

    // Broken encodings in the query.
    for query in [
        "client_id=%FF%FE&redirect_uri=%E0%80",
        "%ZZ=%&&&==&client_id",
    ] {
        let page = browser.get(&format!("/authorize?{query}")).await;
        assert!(page.is_error_page(400), "{query}: {}", page.status);
    }

    // The forms take only application/x-www-form-urlencoded.
    let login = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    assert!(login.is_login());
    for path in ["/authorize/login", "/authorize/consent", "/logout"] {
        for (content_type, body) in [
            (
                Some("application/json"),
                b"{\"username\":\"malformed\"}".to_vec(),
            ),
            (Some("text/plain"), b"username=malformed".to_vec()),
            (None, b"username=malformed".to_vec()),
            (
                Some("multipart/form-data; boundary=x"),
                b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--".to_vec(),
            ),
        ] {
            let mut request = browser.http.post(s.url(path)).body(body);
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let page = Page::of(request.send().await.unwrap()).await;
            assert!(
                (400..500).contains(&page.status) && page.location().is_none(),
                "{path} {content_type:?}: {}",
                page.status
            );
            assert!(page.cookie_set("warden_session").is_none());
        }
        // Bytes that are no UTF-8, a repeated field, an over-long body.
        let mut fields = url_encoded(&login.fields());
        fields.extend_from_slice(b"&username=\xff\xfe&password=%FF%FE");
        for body in [
            fields,
            format!(
                "{}&client_id=again",
                String::from_utf8(url_encoded(&login.fields())).unwrap()
            )
            .into_bytes(),
            format!("password={}", "a".repeat(20 * 1024)).into_bytes(),
        ] {
            let page = Page::of(
                browser
                    .http
                    .post(s.url(path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert!(
                (200..500).contains(&page.status) && page.status != 303,
                "{path}: {}",
                page.status
            );
            assert!(page.cookie_set("warden_session").is_none());
        }
    }

    // Cookies that are no UTF-8, too long, or doubled (one could have been planted) sign
    // nobody in.
    let probe = Req::new(&client_id, Some(&challenge)).set("prompt", "none");
    let session_value = {
        // The browser's own session cookie, read back from a fresh login in a raw client.
        let page = Page::of(
            raw.get(s.url("/authorize"))
                .query(&Req::new(&client_id, Some(&challenge)).0)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let csrf = page.cookie_value("warden_csrf").unwrap();
        let page = Page::of(
            raw.post(s.url("/authorize/login"))
                .header("cookie", format!("warden_csrf={csrf}"))
                .form(&with_fields(
                    page.fields(),
                    &[("username", "malformed"), ("password", &password)],
                ))
                .send()
                .await
                .unwrap(),
        )
        .await;
        page.cookie_value("warden_session").unwrap()
    };
    let control = HeaderValue::from_str(&format!("warden_session={session_value}")).unwrap();
    let with_cookie = |cookie: HeaderValue| {
        let request = raw
            .get(s.url("/authorize"))
            .query(&probe.0)
            .header("cookie", cookie);
        async move { Page::of(request.send().await.unwrap()).await }
    };
    let params = with_cookie(control.clone()).await.redirect_to(CB);
    assert!(params.contains_key("code"), "the control: {params:?}");
    for cookie in [
        HeaderValue::from_bytes(b"warden_session=\xff\xfe\xfd").unwrap(),
        HeaderValue::from_str(&format!("warden_session={}", "a".repeat(4000))).unwrap(),
        HeaderValue::from_str(&format!(
            "warden_session={session_value}; warden_session=planted"
        ))
        .unwrap(),
        HeaderValue::from_str(&format!(
            "warden_session=planted; warden_session={session_value}"
        ))
        .unwrap(),
        HeaderValue::from_static("warden_session="),
        HeaderValue::from_static("warden_session"),
    ] {
        let params = with_cookie(cookie.clone()).await.redirect_to(CB);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some("login_required"),
            "{cookie:?}"
        );
    }

    // The token endpoint: a missing, over-long or unknown code.
    for code in [None, Some("x".repeat(300)), Some("unknown".into())] {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", client_id.clone()),
            ("redirect_uri", CB.to_owned()),
        ];
        if let Some(code) = code.clone() {
            form.push(("code", code));
        }
        let response = s
            .client
            .post(s.url("/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{code:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            matches!(
                body["error"].as_str(),
                Some("invalid_request" | "invalid_grant")
            ),
            "{body}"
        );
    }
}

/// Concurrent redemptions of one code (an attacker racing the client with a stolen code):
/// one wins at most, and since the code was replayed, what the winner got is revoked too
/// (RFC 6749 §4.1.2), whichever request came first.
///
/// Concurrent redemptions of one code: exactly one wins, and since the others are replays,
/// nothing the winner got survives (RFC 6749 §4.1.2), however the requests interleave.
pub async fn authorization_concurrent_redemptions_issue_once_and_revoke(s: &Server) {
    let password = s.user("raced", &[]).await;
    let (client_id, _) = client(s, true, true).await;
    let browser = Browser::new(s);
    let mut survivors = Vec::new();
    for round in 0..10 {
        let (verifier, challenge) = pkce();
        let params = browser
            .code(&Req::new(&client_id, Some(&challenge)), "raced", &password)
            .await;
        let code = params["code"].clone();
        let answers = redeem_concurrently(s, &client_id, &code, &verifier, 4).await;
        let winners: Vec<_> = answers
            .iter()
            .filter(|(status, _)| *status == 200)
            .collect();
        assert!(winners.len() <= 1, "one code, {} token sets", winners.len());
        for answer in &answers {
            assert!(
                answer.0 == 200 || error_of(answer) == (400, Some("invalid_grant")),
                "{answer:?}"
            );
        }
        if let Some((_, tokens)) = winners.first() {
            let access = tokens["access_token"].as_str().unwrap();
            let refresh = tokens["refresh_token"].as_str().unwrap();
            let access_alive = userinfo_get(s, access).await.0 == 200;
            let refresh_alive =
                s.token(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh),
                    ("client_id", &client_id),
                ])
                .await
                .0 == 200;
            if access_alive || refresh_alive {
                survivors.push(format!(
                    "round {round}: access token alive: {access_alive}, refresh token alive: \
                     {refresh_alive}"
                ));
            }
        }
    }
    assert!(
        survivors.is_empty(),
        "SERVER BUG — a replay racing the first redemption leaves its tokens valid:\n{}",
        survivors.join("\n")
    );
}

/// `n` redemptions of `code` at once, each on its own task; the answers.
async fn redeem_concurrently(
    s: &Server,
    client_id: &str,
    code: &str,
    verifier: &str,
    n: usize,
) -> Vec<(u16, serde_json::Value)> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let request = s.client.post(s.url("/token")).form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CB),
                ("client_id", client_id),
                ("code_verifier", verifier),
            ]);
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                (status, response.json().await.unwrap_or_default())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// NUL bytes (`%00`) in any parameter are malformed input, never a server error. PostgreSQL
/// refuses NUL in `text`, so a value reaching a query unchecked fails there (SQLite takes it).
///
/// `client_id`, `username` and `nonce` with a NUL are refused with a 4xx on both backends
/// (PostgreSQL cannot store a NUL; it once answered 503 and logged an error per request).
pub async fn authorization_nul_bytes_are_4xx(s: &Server) {
    let password = s.user("nul", &[]).await;
    let (client_id, _) = client(s, true, true).await;
    let (_, challenge) = pkce();
    let browser = Browser::new(s);
    let mut server_errors = Vec::new();
    let mut check = |what: String, status: u16| {
        if status >= 500 {
            server_errors.push(format!("{what} -> {status}"));
        }
    };
    let get = async |browser: &Browser, query: String| {
        browser
            .http
            .get(s.url(&format!("/authorize?{query}")))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let base = |overrides: &[(&str, &str)]| {
        let request = Req::new(&client_id, Some(&challenge));
        let mut pairs = Vec::new();
        for (k, v) in &request.0 {
            let v = overrides
                .iter()
                .find(|(name, _)| name == k)
                .map_or(urlencode(v), |(_, raw)| (*raw).to_owned());
            pairs.push(format!("{k}={v}"));
        }
        pairs.join("&")
    };
    // Not signed in.
    for (name, raw) in [
        ("client_id", "%00"),
        ("client_id", "a%00b"),
        ("redirect_uri", "https%3A%2F%2Fapp.example.com%2Fcb%00"),
        ("state", "s%00"),
        ("nonce", "n%00"),
        ("scope", "openid%00"),
    ] {
        let status = get(&browser, base(&[(name, raw)])).await;
        check(format!("GET /authorize {name}={raw} (signed out)"), status);
    }
    // The login form.
    let login = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    assert!(login.is_login());
    for (name, value) in [
        ("username", "nul\0"),
        ("password", "\0"),
        ("client_id", "\0"),
        ("nonce", "n\0"),
    ] {
        let mut fields = with_fields(
            login.fields(),
            &[("username", "nul"), ("password", "wrong")],
        );
        fields = with_fields(fields, &[(name, value)]);
        let page = browser
            .http
            .post(s.url("/authorize/login"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        check(
            format!("POST /authorize/login {name}=%00"),
            page.status().as_u16(),
        );
    }
    // Signed in: the code is stored with the request's nonce and state.
    browser
        .code(&Req::new(&client_id, Some(&challenge)), "nul", &password)
        .await;
    for (name, raw) in [
        ("client_id", "%00"),
        ("state", "s%00"),
        ("nonce", "n%00"),
        ("scope", "openid%00"),
    ] {
        let status = get(&browser, base(&[(name, raw)])).await;
        check(format!("GET /authorize {name}={raw} (signed in)"), status);
    }
    // The token endpoint.
    for form in [
        vec![
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "\0"),
            ("redirect_uri", CB),
        ],
        vec![
            ("grant_type", "authorization_code"),
            ("code", "x\0"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", CB),
        ],
        vec![
            ("grant_type", "password"),
            ("username", "nul\0"),
            ("password", "x"),
        ],
    ] {
        let (status, _) = s.token(&form).await;
        check(format!("POST /token {form:?}"), status);
    }
    // Logout.
    for query in [
        format!("client_id=%00&post_logout_redirect_uri={}", urlencode(BYE)),
        format!(
            "client_id={client_id}&post_logout_redirect_uri={}&state=%00",
            urlencode(BYE)
        ),
        "id_token_hint=%00".to_owned(),
    ] {
        let status = browser
            .http
            .get(s.url(&format!("/logout?{query}")))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        check(format!("GET /logout?{query}"), status);
    }
    assert!(
        server_errors.is_empty(),
        "SERVER BUG — NUL bytes give server errors:\n{}",
        server_errors.join("\n")
    );
}

fn url_encoded(fields: &[(String, String)]) -> Vec<u8> {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        serializer.append_pair(k, v);
    }
    serializer.finish().into_bytes()
}
