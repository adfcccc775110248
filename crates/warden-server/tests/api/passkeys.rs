//! Passkeys over real HTTP, on a server whose issuer is `http://localhost:PORT` (WebAuthn
//! needs a domain as relying party): registration through the JSON API, the passkey as a
//! second factor and alone at the login pages, `amr`/`acr` in the tokens, step-up to
//! `phr`, removal, the administrator's reset — and the attacks: an assertion without user
//! verification, a forged signature or client data, a replayed ceremony, another account's
//! credential, another origin or RP ID, garbage and oversized bodies, an expired ceremony,
//! a signature counter that goes back.
//!
//! The authenticator is webauthn-authenticator-rs's `SoftPasskey` (`new(true)`: it sets the
//! user-verified flag when asked to verify the user; an assertion without it is made by
//! asking it not to verify), driven with the JSON the server sends, as a browser would.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use warden_server::storage::{AuditFilter, Role, Storage, WebauthnCeremony};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::Url;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{
    CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
    UserVerificationPolicy,
};

use crate::authorization::{Browser, CB, Page, Req, client, pkce, redeem, with_fields};
use crate::backend::{Options, Server};

/// The options of the passkey scenarios: served as `localhost`.
pub fn localhost() -> Options {
    Options {
        localhost: true,
        ..Options::default()
    }
}

fn origin(s: &Server) -> Url {
    Url::parse(&s.base).unwrap()
}

/// A token's claims, unverified (the server's own tokens, read by the test).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn access_token(s: &Server, username: &str, password: &str) -> String {
    let (status, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A JSON API call with a bearer token; (status, body). Never a 5xx.
async fn call(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = s.client.request(method, s.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert!(status < 500, "{status} at {path}");
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Starts a registration: the ceremony id and the creation options.
async fn start_registration(s: &Server, token: &str) -> (String, CreationChallengeResponse) {
    let (status, started) = call(
        s,
        reqwest::Method::POST,
        "/users/me/factors/passkeys/registration",
        token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let options = started["options"].clone();
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    (
        started["ceremony"].as_str().unwrap().to_owned(),
        serde_json::from_value(options).unwrap(),
    )
}

/// Registers a passkey of `authenticator` for the holder of `token`; the API's answer.
async fn register(s: &Server, token: &str, authenticator: &mut SoftPasskey, name: &str) -> Value {
    let (ceremony, options) = start_registration(s, token).await;
    let credential = authenticator
        .do_registration(origin(s), options)
        .expect("the soft passkey registers");
    let (status, body) = call(
        s,
        reqwest::Method::POST,
        "/users/me/factors/passkeys",
        token,
        Some(json!({"ceremony": ceremony, "name": name, "credential": credential})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

/// A user with a passkey: (password, authenticator).
async fn user_with_passkey(s: &Server, username: &str) -> (String, SoftPasskey) {
    let password = s.user(username, &[]).await;
    let token = access_token(s, username, &password).await;
    let mut authenticator = SoftPasskey::new(true);
    register(s, &token, &mut authenticator, "Laptop").await;
    (password, authenticator)
}

async fn audit(s: &Server) -> Vec<(String, Option<String>)> {
    s.warden.flush_audit().await;
    s.warden
        .storage()
        .list_audit(&AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event, e.detail))
        .collect()
}

/// How many `mfa.passkey_failure` events say `reason`.
async fn failures(s: &Server, reason: &str) -> usize {
    audit(s)
        .await
        .iter()
        .filter(|(event, detail)| {
            event == "mfa.passkey_failure" && detail.as_deref().is_some_and(|d| d.contains(reason))
        })
        .count()
}

impl Page {
    fn offers_passkey(&self) -> bool {
        self.body.contains("id=\"passkey-form\"") && self.body.contains("/assets/webauthn.js")
    }

    fn is_second_factor_step(&self) -> bool {
        self.status == 200 && self.body.contains("Two-step verification")
    }
}

/// The passkey form's ceremony: starts it (`purpose`, and `username` to sign in by name),
/// the options and the ceremony cookie's value.
async fn start(
    browser: &Browser,
    page: &Page,
    purpose: &str,
    username: Option<&str>,
) -> (RequestChallengeResponse, String) {
    assert!(page.offers_passkey(), "no passkey form:\n{}", page.body);
    let mut extra = vec![("purpose", purpose)];
    if let Some(username) = username {
        extra.push(("username", username));
    }
    let form = with_fields(page.form_fields("passkey-form"), &extra);
    let answer = browser.post("/authorize/passkey/start", &form).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    let cookie = answer
        .cookie_set("warden_webauthn")
        .expect("a ceremony cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Max-Age=300"),
        "{cookie}"
    );
    let ceremony = answer.cookie_value("warden_webauthn").unwrap();
    (serde_json::from_str(&answer.body).unwrap(), ceremony)
}

/// Posts the passkey form with `credential` (its JSON, or anything).
async fn finish(browser: &Browser, page: &Page, purpose: &str, credential: &str) -> Page {
    let form = with_fields(
        page.form_fields("passkey-form"),
        &[("purpose", purpose), ("credential", credential)],
    );
    browser.post("/authorize/passkey", &form).await
}

fn json_of(credential: &PublicKeyCredential) -> String {
    serde_json::to_string(credential).unwrap()
}

/// Redeems the redirect's code: the access token's claims.
async fn tokens_of(s: &Server, page: &Page, client_id: &str, verifier: &str) -> Value {
    let code = page.redirect_to(CB)["code"].clone();
    let (status, tokens) = redeem(s, client_id, &code, Some(verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    claims(tokens["access_token"].as_str().unwrap())
}

// --- scenarios ----------------------------------------------------------------------------

pub async fn passkey_registered_then_second_factor_at_login(s: &Server) {
    let password = s.user("ana", &[]).await;
    let token = access_token(s, "ana", &password).await;
    let mut authenticator = SoftPasskey::new(true);
    let registered = register(s, &token, &mut authenticator, "  Laptop ").await;
    assert_eq!(registered["passkey"]["name"], "Laptop");
    assert_eq!(
        registered["passkey"]["synced"], false,
        "a soft key sets no BE flag"
    );
    assert_eq!(registered["recovery_codes"].as_array().unwrap().len(), 10);
    let id = registered["passkey"]["id"].as_str().unwrap().to_owned();
    // Listed, renamed, counted among the factors.
    let (status, listed) = call(
        s,
        reqwest::Method::GET,
        "/users/me/factors/passkeys",
        &token,
        None,
    )
    .await;
    assert_eq!((status, listed.as_array().unwrap().len()), (200, 1));
    let (status, renamed) = call(
        s,
        reqwest::Method::PATCH,
        &format!("/users/me/factors/passkeys/{id}"),
        &token,
        Some(json!({"name": "Work laptop"})),
    )
    .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (200, Some("Work laptop"))
    );
    let (_, factors) = call(s, reqwest::Method::GET, "/users/me/factors", &token, None).await;
    assert_eq!(factors["passkeys"], 1);
    // A second factor now: the password grant alone no longer gives a token.
    let (status, refused) = s
        .token(&[
            ("grant_type", "password"),
            ("username", "ana"),
            ("password", &password),
        ])
        .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // The browser: password, then "Use a passkey".
    let (client_id, _) = client(s, true, true).await;
    let browser = Browser::new(s);
    let (verifier, challenge) = pkce();
    let login = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    assert!(login.is_login() && login.offers_passkey(), "{}", login.body);
    let csp = login.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(!login.body.contains("<script>"), "no inline script");
    let step = browser.login(&login, "ana", &password).await;
    assert!(
        step.is_second_factor_step() && step.offers_passkey(),
        "{}",
        step.body
    );
    assert!(
        step.body.contains("name=\"code\""),
        "recovery codes still work"
    );
    let (options, _) = start(&browser, &step, "second-factor", None).await;
    assert_eq!(options.public_key.allow_credentials.len(), 1);
    let assertion = authenticator.do_authentication(origin(s), options).unwrap();
    let answer = finish(&browser, &step, "second-factor", &json_of(&assertion)).await;
    let claims = tokens_of(s, &answer, &client_id, &verifier).await;
    assert_eq!(claims["amr"], json!(["pwd", "hwk", "user", "pin", "mfa"]));
    assert_eq!(claims["acr"], "phrh");
    // The script is ours, static and cacheable.
    let script = browser.get("/assets/webauthn.js").await;
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.header("cache-control").unwrap().contains("max-age"));
    assert!(script.body.contains("parseRequestOptionsFromJSON"));
    let (status, listed) = call(
        s,
        reqwest::Method::GET,
        "/users/me/factors/passkeys",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(listed[0]["last_used_at"].as_i64().is_some());
}

pub async fn passkey_alone_signs_in_by_username(s: &Server) {
    let (_, mut authenticator) = user_with_passkey(s, "bea").await;
    let (client_id, _) = client(s, true, true).await;
    let browser = Browser::new(s);
    let (verifier, challenge) = pkce();
    let login = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    assert!(login.body.contains("autocomplete=\"username webauthn\""));
    let (options, _) = start(&browser, &login, "login", Some("bea")).await;
    let assertion = authenticator.do_authentication(origin(s), options).unwrap();
    let answer = finish(&browser, &login, "login", &json_of(&assertion)).await;
    let claims = tokens_of(s, &answer, &client_id, &verifier).await;
    assert_eq!(claims["amr"], json!(["hwk", "user", "pin", "mfa"]));
    assert_eq!(claims["acr"], "phrh");
    assert!(
        audit(s)
            .await
            .iter()
            .any(|(e, d)| e == "login.success" && d.as_deref() == Some("passkey"))
    );
    // Signed in: the next request needs nothing more.
    assert!(browser.signed_in(&client_id).await);

    // A name without an account, or without passkeys, looks like one with a passkey: one
    // credential allowed, the same one each time; the ceremony never succeeds.
    let other = Browser::new(s);
    let login = other
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    let (first, _) = start(&other, &login, "login", Some("nobody")).await;
    let (again, _) = start(&other, &login, "login", Some("nobody")).await;
    assert_eq!(first.public_key.allow_credentials.len(), 1);
    assert_eq!(
        first.public_key.allow_credentials[0].id,
        again.public_key.allow_credentials[0].id
    );
    assert_ne!(first.public_key.challenge, again.public_key.challenge);
    // Without a name: any passkey of this site (discoverable), and autofill asks for
    // conditional mediation.
    let (any, _) = start(&other, &login, "login", None).await;
    assert!(any.public_key.allow_credentials.is_empty());
    assert!(any.mediation.is_none());
    let (autofill, _) = start(&other, &login, "conditional", None).await;
    assert!(autofill.mediation.is_some());
}

pub async fn passkey_step_up_to_phr_and_removal(s: &Server) {
    let (password, mut authenticator) = user_with_passkey(s, "cy").await;
    let (client_id, _) = client(s, true, true).await;
    let browser = Browser::new(s);
    // A recovery code (an `otp`) as the second factor: `mfa`, not phishing-resistant.
    let token = access_token_with_recovery(s, "cy", &password).await;
    let (_, challenge) = pkce();
    let login = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    let step = browser.login(&login, "cy", &password).await;
    let code = token.1.clone();
    let answer = browser.submit(&step, &[("code", &code)]).await;
    let next = browser.submit(&answer, &[]).await;
    assert!(next.redirect_to(CB).contains_key("code"));
    // `acr_values=phr`: only a passkey will do, and only it is offered.
    let (verifier, challenge) = pkce();
    let phr = Req::new(&client_id, Some(&challenge)).set("acr_values", "phr");
    let step = browser.authorize(&phr).await;
    assert!(
        step.is_second_factor_step() && step.offers_passkey(),
        "{}",
        step.body
    );
    assert!(
        !step.body.contains("name=\"code\""),
        "a code cannot reach phr"
    );
    let (options, _) = start(&browser, &step, "second-factor", None).await;
    let assertion = authenticator.do_authentication(origin(s), options).unwrap();
    let answer = finish(&browser, &step, "second-factor", &json_of(&assertion)).await;
    let claims = tokens_of(s, &answer, &client_id, &verifier).await;
    assert_eq!(claims["acr"], "phrh");
    assert_eq!(
        claims["amr"],
        json!(["pwd", "otp", "mfa", "hwk", "user", "pin"])
    );
    // A user without a passkey cannot meet phr: the client is told so.
    let plain = s.user("dee", &[]).await;
    let other = Browser::new(s);
    let (_, challenge) = pkce();
    let login = other
        .authorize(&Req::new(&client_id, Some(&challenge)).set("acr_values", "phr"))
        .await;
    let answer = other.login(&login, "dee", &plain).await;
    assert_eq!(
        answer.redirect_to(CB).get("error").map(String::as_str),
        Some("unmet_authentication_requirements")
    );

    // Removing needs a recent second factor: the old token (password + code) is recent.
    let (_, listed) = call(
        s,
        reqwest::Method::GET,
        "/users/me/factors/passkeys",
        &token.0,
        None,
    )
    .await;
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let stale = s.user("eve", &[]).await;
    let eve = access_token(s, "eve", &stale).await;
    let (status, _) = call(
        s,
        reqwest::Method::DELETE,
        &format!("/users/me/factors/passkeys/{id}"),
        &eve,
        None,
    )
    .await;
    assert_eq!(status, 404, "not eve's");
    let (status, _) = call(
        s,
        reqwest::Method::DELETE,
        &format!("/users/me/factors/passkeys/{id}"),
        &token.0,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(
        audit(s)
            .await
            .iter()
            .any(|(e, _)| e == "mfa.passkey_removed")
    );
    let (_, factors) = call(s, reqwest::Method::GET, "/users/me/factors", &token.0, None).await;
    assert_eq!(factors["passkeys"], 0);
    assert_eq!(
        factors["recovery_codes_left"], 0,
        "the codes went with the last factor"
    );
}

/// A token from the password grant with one of the user's recovery codes (registering
/// their first passkey gave ten, which the test does not keep): a new set is made through
/// the domain. (token, another unused code).
async fn access_token_with_recovery(
    s: &Server,
    username: &str,
    password: &str,
) -> (String, String) {
    let user = s.warden.user(username).await.unwrap();
    let codes = s.warden.new_recovery_codes(&user, None).await.unwrap();
    let (status, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
            ("otp", &codes[0]),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    (
        body["access_token"].as_str().unwrap().to_owned(),
        codes[1].clone(),
    )
}

pub async fn passkey_admin_reset_removes_passkeys(s: &Server) {
    let (_, _) = user_with_passkey(s, "fox").await;
    let reset = s.warden.reset_second_factors("fox", None).await.unwrap();
    assert_eq!((reset.passkeys, reset.recovery_codes), (1, 10));
    let fox = s.warden.user("fox").await.unwrap();
    assert!(!s.warden.has_second_factor(&fox.id).await.unwrap());
    assert!(
        audit(s).await.iter().any(
            |(e, d)| e == "mfa.reset" && d.as_deref().is_some_and(|d| d.contains("1 passkeys"))
        )
    );
}

pub async fn passkey_bad_assertions_are_refused(s: &Server) {
    let (password, mut authenticator) = user_with_passkey(s, "gil").await;
    let (client_id, _) = client(s, true, true).await;
    let (_, challenge) = pkce();
    let request = Req::new(&client_id, Some(&challenge));
    let browser = Browser::new(s);
    let login = browser.authorize(&request).await;
    let step = browser.login(&login, "gil", &password).await;

    // Each attempt: a fresh ceremony, a bad assertion, the page again with a message.
    let refused = |page: &Page| {
        assert!(page.is_second_factor_step(), "{}", page.body);
        assert!(page.body.contains("role=\"alert\""), "{}", page.body);
    };
    // User verification off: the authenticator asked not to verify signs without UV.
    let (mut options, _) = start(&browser, &step, "second-factor", None).await;
    options.public_key.user_verification = UserVerificationPolicy::Discouraged_DO_NOT_USE;
    let no_uv = authenticator.do_authentication(origin(s), options).unwrap();
    refused(&finish(&browser, &step, "second-factor", &json_of(&no_uv)).await);
    assert_eq!(failures(s, "user verification").await, 1);
    // A forged signature.
    let (options, _) = start(&browser, &step, "second-factor", None).await;
    let mut forged = authenticator.do_authentication(origin(s), options).unwrap();
    let last = forged.response.signature.len() - 1;
    forged.response.signature[last] ^= 1;
    refused(&finish(&browser, &step, "second-factor", &json_of(&forged)).await);
    // Tampered client data (another challenge).
    let (options, _) = start(&browser, &step, "second-factor", None).await;
    let mut tampered = authenticator.do_authentication(origin(s), options).unwrap();
    let client_data = String::from_utf8(tampered.response.client_data_json.clone()).unwrap();
    let mut value: Value = serde_json::from_str(&client_data).unwrap();
    value["challenge"] = json!(URL_SAFE_NO_PAD.encode([7u8; 32]));
    tampered.response.client_data_json = value.to_string().into_bytes();
    refused(&finish(&browser, &step, "second-factor", &json_of(&tampered)).await);
    // Another origin (another port of localhost).
    let (options, _) = start(&browser, &step, "second-factor", None).await;
    let elsewhere = authenticator
        .do_authentication(Url::parse("http://localhost:1").unwrap(), options)
        .unwrap();
    refused(&finish(&browser, &step, "second-factor", &json_of(&elsewhere)).await);
    // Another RP ID (and origin): a sibling site.
    let (mut options, _) = start(&browser, &step, "second-factor", None).await;
    options.public_key.rp_id = "evil.localhost".into();
    let sibling_origin = Url::parse(&s.base.replace("localhost", "evil.localhost")).unwrap();
    if let Ok(sibling) = authenticator.do_authentication(sibling_origin, options) {
        refused(&finish(&browser, &step, "second-factor", &json_of(&sibling)).await);
    }
    // Another RP ID in the signed authenticator data (its first 32 bytes: the RP ID's hash).
    let (options, _) = start(&browser, &step, "second-factor", None).await;
    let mut other_rp = authenticator.do_authentication(origin(s), options).unwrap();
    let evil = digest::digest(&digest::SHA256, b"evil.example");
    other_rp.response.authenticator_data[..32].copy_from_slice(evil.as_ref());
    refused(&finish(&browser, &step, "second-factor", &json_of(&other_rp)).await);
    assert!(failures(s, "origin or RP ID mismatch").await >= 2);
    // Garbage, and an assertion without its ceremony.
    let (_, _) = start(&browser, &step, "second-factor", None).await;
    refused(&finish(&browser, &step, "second-factor", "{not json").await);
    refused(&finish(&browser, &step, "second-factor", "{\"id\":1}").await);
    // Another account's passkey, answering for gil's ceremony.
    let (_, mut hers) = user_with_passkey(s, "hal").await;
    let hal = s.warden.user("hal").await.unwrap();
    let hal_passkey = s
        .warden
        .storage()
        .passkeys(&hal.id)
        .await
        .unwrap()
        .remove(0);
    let (mut options, _) = start(&browser, &step, "second-factor", None).await;
    options.public_key.allow_credentials[0].id =
        URL_SAFE_NO_PAD.decode(&hal_passkey.credential_id).unwrap();
    let not_gils = hers.do_authentication(origin(s), options).unwrap();
    refused(&finish(&browser, &step, "second-factor", &json_of(&not_gils)).await);
    assert_eq!(failures(s, "credential of another account").await, 1);
    // Nothing of that signed gil in; the real thing still does.
    let (options, _) = start(&browser, &step, "second-factor", None).await;
    let good = authenticator.do_authentication(origin(s), options).unwrap();
    let answer = finish(&browser, &step, "second-factor", &json_of(&good)).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
}

pub async fn passkey_ceremonies_are_single_use_and_expire(s: &Server) {
    let (_, mut authenticator) = user_with_passkey(s, "ian").await;
    let (client_id, _) = client(s, true, true).await;
    let (_, challenge) = pkce();
    let browser = Browser::new(s);
    let login = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    let csrf = login.cookie_value("warden_csrf").unwrap();
    let (options, ceremony) = start(&browser, &login, "login", Some("ian")).await;
    let assertion = json_of(&authenticator.do_authentication(origin(s), options).unwrap());
    let answer = finish(&browser, &login, "login", &assertion).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    // The same ceremony and assertion again, from a copy of the cookies: refused.
    let form = with_fields(
        login.form_fields("passkey-form"),
        &[("purpose", "login"), ("credential", &assertion)],
    );
    let replay = browser
        .post_with_cookie(
            "/authorize/passkey",
            &form,
            &format!("warden_csrf={csrf}; warden_webauthn={ceremony}"),
        )
        .await;
    assert!(replay.is_login(), "{}", replay.body);
    assert!(replay.body.contains("already used"), "{}", replay.body);

    // A ceremony past its expiry.
    let other = Browser::new(s);
    let login = other
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    let (options, ceremony) = start(&other, &login, "login", Some("ian")).await;
    expire(s, &ceremony).await;
    let late = json_of(&authenticator.do_authentication(origin(s), options).unwrap());
    let answer = finish(&other, &login, "login", &late).await;
    assert!(
        answer.is_login() && answer.body.contains("expired"),
        "{}",
        answer.body
    );

    // The same through the JSON API: a registration's ceremony once, and not after expiry.
    let ian = s.warden.user("ian").await.unwrap();
    let token = token_now(s, &ian.id);
    let (ceremony, options) = start_registration(s, &token).await;
    let mut second = SoftPasskey::new(true);
    let credential = second.do_registration(origin(s), options).unwrap();
    let body = json!({"ceremony": ceremony, "name": "Phone", "credential": credential});
    let path = "/users/me/factors/passkeys";
    let (status, _) = call(s, reqwest::Method::POST, path, &token, Some(body.clone())).await;
    assert_eq!(status, 201);
    let (status, again) = call(s, reqwest::Method::POST, path, &token, Some(body)).await;
    assert_eq!(status, 400, "{again}");
    let (ceremony, options) = start_registration(s, &token).await;
    expire(s, &ceremony).await;
    let credential = SoftPasskey::new(true)
        .do_registration(origin(s), options)
        .unwrap();
    let (status, _) = call(
        s,
        reqwest::Method::POST,
        path,
        &token,
        Some(json!({"ceremony": ceremony, "name": "Late", "credential": credential})),
    )
    .await;
    assert_eq!(status, 400);
    // Someone else's registration ceremony is not mine.
    let (_, _) = user_with_passkey(s, "jo").await;
    let jo = s.warden.user("jo").await.unwrap();
    let jo_token = token_now(s, &jo.id);
    let (ceremony, options) = start_registration(s, &jo_token).await;
    let credential = SoftPasskey::new(true)
        .do_registration(origin(s), options)
        .unwrap();
    let (status, _) = call(
        s,
        reqwest::Method::POST,
        path,
        &token,
        Some(json!({"ceremony": ceremony, "name": "Stolen", "credential": credential})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(s.warden.storage().count_passkeys(&ian.id).await.unwrap(), 2);
}

/// An access token for `user_id` that says it comes from a passkey login just now.
fn token_now(s: &Server, user_id: &str) -> String {
    use warden::jwt::{Claims, Issuer};
    let now = u64::try_from(warden_server::domain::now()).unwrap();
    let issuer = Issuer::new(s.warden.ring().unwrap().clone(), s.base.clone());
    let claims: Claims = Claims {
        sub: Some(user_id.to_owned()),
        aud: s.base.as_str().into(),
        client_id: Some("warden-docs".into()),
        scope: Some(String::new()),
        jti: Some(uuid::Uuid::new_v4().to_string()),
        auth_time: Some(now),
        amr: Some(vec![
            "hwk".into(),
            "user".into(),
            "pin".into(),
            "mfa".into(),
        ]),
        ..Claims::default()
    };
    issuer.sign_with(&claims, "at+jwt", now, 600).unwrap()
}

/// Moves the ceremony `id` past its expiry.
async fn expire(s: &Server, id: &str) {
    let hash = digest::digest(&digest::SHA256, id.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let storage = s.warden.storage();
    let taken = storage
        .take_ceremony(&hash)
        .await
        .unwrap()
        .expect("the ceremony");
    storage
        .insert_ceremony(&WebauthnCeremony {
            expires_at: warden_server::domain::now() - 1,
            ..taken
        })
        .await
        .unwrap();
}

pub async fn passkey_counter_going_back_is_refused(s: &Server) {
    let (_, mut authenticator) = user_with_passkey(s, "kim").await;
    let (client_id, _) = client(s, true, true).await;
    let client_id = client_id.as_str();
    let sign_in = |browser: Browser| async move {
        let (_, challenge) = pkce();
        let login = browser
            .authorize(&Req::new(client_id, Some(&challenge)))
            .await;
        let (options, _) = start(&browser, &login, "login", Some("kim")).await;
        (browser, login, options)
    };
    let (browser, login, options) = sign_in(Browser::new(s)).await;
    let first = authenticator.do_authentication(origin(s), options).unwrap();
    assert_eq!(
        finish(&browser, &login, "login", &json_of(&first))
            .await
            .status,
        303
    );
    // The stored counter is ahead of the authenticator's (a clone used it meanwhile).
    let kim = s.warden.user("kim").await.unwrap();
    let stored = s
        .warden
        .storage()
        .passkeys(&kim.id)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(stored.sign_count, 1);
    let mut credential: Value = serde_json::from_str(&stored.passkey).unwrap();
    credential["cred"]["counter"] = json!(100);
    assert!(
        s.warden
            .storage()
            .use_passkey(&stored.id, &credential.to_string(), 100, false, 0)
            .await
            .unwrap()
    );
    let (browser, login, options) = sign_in(Browser::new(s)).await;
    let behind = authenticator.do_authentication(origin(s), options).unwrap();
    let answer = finish(&browser, &login, "login", &json_of(&behind)).await;
    assert!(
        answer.is_login() && answer.body.contains("role=\"alert\""),
        "{}",
        answer.body
    );
    assert_eq!(failures(s, "possible clone").await, 1);
}

pub async fn passkey_api_refuses_bad_bodies(s: &Server) {
    let password = s.user("lee", &[]).await;
    let token = access_token(s, "lee", &password).await;
    let path = "/users/me/factors/passkeys";
    let (ceremony, _) = start_registration(s, &token).await;
    for body in [
        json!({"ceremony": ceremony, "name": "x", "credential": {"id": 1}}),
        json!({"ceremony": ceremony, "name": "x", "credential": "garbage"}),
    ] {
        let (status, answer) = call(s, reqwest::Method::POST, path, &token, Some(body)).await;
        assert!((400..500).contains(&status), "{status} {answer}");
    }
    let (status, _) = call(
        s,
        reqwest::Method::POST,
        path,
        &token,
        Some(json!({"ceremony": "x", "name": "", "credential": {}})),
    )
    .await;
    assert_eq!(status, 422, "an empty name");
    // Over 16 KiB.
    let (status, _) = call(
        s,
        reqwest::Method::POST,
        path,
        &token,
        Some(json!({"ceremony": "x", "name": "x", "credential": {"pad": "x".repeat(20_000)}})),
    )
    .await;
    assert_eq!(status, 413);
    let response = s
        .client
        .post(s.url(path))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!((400..500).contains(&response.status().as_u16()));
    // A name too long, a passkey that is not there.
    let (status, _) = call(
        s,
        reqwest::Method::PATCH,
        &format!("{path}/{}", uuid::Uuid::new_v4()),
        &token,
        Some(json!({"name": "x".repeat(65)})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = call(
        s,
        reqwest::Method::PATCH,
        &format!("{path}/{}", uuid::Uuid::new_v4()),
        &token,
        Some(json!({"name": "ok"})),
    )
    .await;
    assert_eq!(status, 404);
    // Nothing of that was stored.
    let s_storage = s.warden.storage();
    assert_eq!(
        s_storage
            .count_passkeys(&s.warden.user("lee").await.unwrap().id)
            .await
            .unwrap(),
        0
    );
}

/// On the default issuer (`http://127.0.0.1:PORT`) passkeys are off: 404s, no buttons.
pub async fn passkeys_off_when_the_issuer_is_an_ip(s: &Server) {
    let password = s.user("max", &[]).await;
    let token = access_token(s, "max", &password).await;
    for (method, path) in [
        (
            reqwest::Method::POST,
            "/users/me/factors/passkeys/registration",
        ),
        (reqwest::Method::GET, "/users/me/factors/passkeys"),
    ] {
        let (status, body) = call(s, method, path, &token, None).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("Passkeys"));
    }
    let (client_id, _) = client(s, true, true).await;
    let browser = Browser::new(s);
    let (_, challenge) = pkce();
    let login = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    assert!(login.is_login());
    assert!(!login.body.contains("passkey") && !login.body.contains("<script"));
    assert!(
        !login
            .header("content-security-policy")
            .unwrap()
            .contains("script-src")
    );
    assert_eq!(browser.get("/assets/webauthn.js").await.status, 404);
    let form = with_fields(login.fields(), &[("purpose", "login")]);
    let start = browser.post("/authorize/passkey/start", &form).await;
    assert_eq!(start.status, 404);
}

pub async fn passkey_set_up_where_enrolment_is_forced(s: &Server) {
    s.warden
        .storage()
        .put_role(&Role {
            name: "staff".into(),
            scopes: vec![],
            require_mfa: true,
        })
        .await
        .unwrap();
    let password = s.user("ned", &["staff"]).await;
    let (client_id, _) = client(s, true, true).await;
    let browser = Browser::new(s);
    let (verifier, challenge) = pkce();
    let login = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    let enrolment = browser.login(&login, "ned", &password).await;
    assert!(
        enrolment.body.contains("<svg") && enrolment.offers_passkey(),
        "{}",
        enrolment.body
    );
    assert!(enrolment.body.contains("Set up a passkey instead"));
    let form = with_fields(
        enrolment.form_fields("passkey-form"),
        &[("purpose", "register")],
    );
    let answer = browser.post("/authorize/passkey/start", &form).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let options: CreationChallengeResponse = serde_json::from_str(&answer.body).unwrap();
    let mut authenticator = SoftPasskey::new(true);
    let credential = authenticator.do_registration(origin(s), options).unwrap();
    let shown = finish(
        &browser,
        &enrolment,
        "register",
        &serde_json::to_string(&credential).unwrap(),
    )
    .await;
    assert_eq!(
        shown.body.matches("<li><code>").count(),
        10,
        "{}",
        shown.body
    );
    let next = browser.submit(&shown, &[]).await;
    let claims = tokens_of(s, &next, &client_id, &verifier).await;
    assert_eq!(claims["amr"], json!(["pwd", "hwk", "user", "pin", "mfa"]));
    let ned = s.warden.user("ned").await.unwrap();
    assert_eq!(s.warden.storage().count_passkeys(&ned.id).await.unwrap(), 1);

    // With a factor already, the password alone never adds one.
    let other = Browser::new(s);
    let (_, challenge) = pkce();
    let login = other
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    let step = other.login(&login, "ned", &password).await;
    assert!(step.is_second_factor_step(), "{}", step.body);
    let form = with_fields(step.form_fields("passkey-form"), &[("purpose", "register")]);
    let refused = other.post("/authorize/passkey/start", &form).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let forged = with_fields(
        step.form_fields("passkey-form"),
        &[("purpose", "register"), ("credential", "{}")],
    );
    let refused = other.post("/authorize/passkey", &forged).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(s.warden.storage().count_passkeys(&ned.id).await.unwrap(), 1);
}
