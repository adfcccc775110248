//! Strong authentication over real HTTP: TOTP set up through the API and at a forced login,
//! the `password` grant with `otp`, the second step of the browser login, recovery codes,
//! step-up with `acr_values`, the recent-factor rule, the administrator's reset, and the
//! `amr`/`acr`/`auth_time` claims that tell a resource server how the user signed in.
//!
//! Codes are computed from the secret the server hands out; independent TOTP
//! implementations (pyotp, oathtool) check the same server in `tests/interop`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use warden::jwt::{Claims, Issuer};
use warden::totp::Totp;
use warden_server::domain::NewClient;
use warden_server::storage::{Role, Storage};

use crate::authorization::{Browser, CB, Page, Req, client, pkce, redeem, verify_id_token};
use crate::backend::Server;

const ACR_MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
const ACR_PWD: &str = "urn:warden:acr:pwd";

fn now() -> u64 {
    u64::try_from(warden_server::domain::now()).unwrap()
}

/// RFC 4648 base32 (no padding) to bytes.
fn base32(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text.bytes().filter(|c| *c != b'=') {
        let index = ALPHABET.iter().position(|a| *a == c).expect("base32") as u32;
        value = (value << 5) | index;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

/// An authenticator app holding the secret the server showed.
pub(crate) struct App(Totp);

impl App {
    fn new(secret_base32: &str, account: &str) -> Self {
        Self(Totp::from_secret(&base32(secret_base32), "Warden", account).unwrap())
    }

    /// The code `steps` time steps from now.
    fn code(&self, steps: i64) -> String {
        let at = now().checked_add_signed(steps * 30).unwrap();
        self.0.code_at(at)
    }
}

/// Waits until at least three seconds into a 30-second step, so a short sequence of codes
/// for the previous, current and next steps stays within the server's ±1 window.
async fn early_in_a_step() {
    while now() % 30 < 3 || now() % 30 > 20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A token's claims, unverified (the server's own tokens, read by the test).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn password_grant(
    s: &Server,
    username: &str,
    password: &str,
    otp: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ];
    if let Some(otp) = otp {
        form.push(("otp", otp));
    }
    s.token(&form).await
}

async fn access_token(s: &Server, username: &str, password: &str, otp: Option<&str>) -> String {
    let (status, body) = password_grant(s, username, password, otp).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A request with a bearer token (or `X-API-Key` when it starts with `wdn_`).
async fn call(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    credential: &str,
    body: Option<Value>,
) -> (u16, Value, Option<String>) {
    let mut request = s.client.request(method, s.url(path));
    request = if credential.starts_with("wdn_") {
        request.header("X-API-Key", credential)
    } else {
        request.bearer_auth(credential)
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert!(status < 500, "{status} at {path}");
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        challenge,
    )
}

/// Sets up TOTP for `username` through the API; the app and the recovery codes.
pub(crate) async fn enrol(s: &Server, username: &str, password: &str) -> (App, Vec<String>) {
    let token = access_token(s, username, password, None).await;
    let (status, setup, _) = call(
        s,
        reqwest::Method::POST,
        "/users/me/factors/totp",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{setup}");
    let app = App::new(setup["secret"].as_str().unwrap(), username);
    early_in_a_step().await;
    let (status, confirmed, _) = call(
        s,
        reqwest::Method::POST,
        "/users/me/factors/totp/confirm",
        &token,
        Some(json!({"code": app.code(-1)})),
    )
    .await;
    assert_eq!(status, 200, "{confirmed}");
    let codes = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (app, codes)
}

/// An access token for `user_id` signed with the server's own key, claiming `amr` and
/// `auth_time` — what a login at that time would have given.
fn token_as_if(s: &Server, user_id: &str, amr: &[&str], auth_time: u64) -> String {
    let issuer = Issuer::new(s.warden.ring().unwrap().clone(), s.base.clone());
    let claims: Claims = Claims {
        sub: Some(user_id.to_owned()),
        aud: s.base.as_str().into(),
        client_id: Some("warden-docs".into()),
        scope: Some(String::new()),
        jti: Some(uuid::Uuid::new_v4().to_string()),
        auth_time: Some(auth_time),
        amr: Some(amr.iter().map(|a| (*a).to_owned()).collect()),
        ..Claims::default()
    };
    issuer.sign_with(&claims, "at+jwt", now(), 600).unwrap()
}

async fn audit_events(s: &Server) -> Vec<String> {
    s.warden.flush_audit().await;
    s.warden
        .storage()
        .list_audit(&warden_server::storage::AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

// --- the API and the password grant -------------------------------------------------------

pub async fn mfa_totp_set_up_then_required_by_the_password_grant(s: &Server) {
    let password = s.user("alice", &[]).await;
    // Before any factor: the password alone, and the token says so.
    let token = access_token(s, "alice", &password, None).await;
    let before = claims(&token);
    assert_eq!(before["amr"], json!(["pwd"]));
    assert_eq!(before["acr"], ACR_PWD);
    assert!(before["auth_time"].as_u64().unwrap().abs_diff(now()) <= 5);
    let (_, factors, _) = call(s, reqwest::Method::GET, "/users/me/factors", &token, None).await;
    assert_eq!(
        factors,
        json!({"totp": false, "passkeys": 0, "recovery_codes_left": 0})
    );

    let (status, setup, _) = call(
        s,
        reqwest::Method::POST,
        "/users/me/factors/totp",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{setup}");
    let uri = setup["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Warden:alice?"), "{uri}");
    assert!(uri.contains("issuer=Warden") && uri.contains("digits=6") && uri.contains("period=30"));
    let secret = setup["secret"].as_str().unwrap();
    assert!(uri.contains(&format!("secret={secret}")));
    assert_eq!(base32(secret).len(), 20, "160-bit secret");
    let svg = setup["qr_svg"].as_str().unwrap();
    assert!(svg.starts_with("<svg") && !svg.contains("<script"), "{svg}");
    // Asking again while pending shows the same secret.
    let (_, again, _) = call(
        s,
        reqwest::Method::POST,
        "/users/me/factors/totp",
        &token,
        None,
    )
    .await;
    assert_eq!(again["secret"], setup["secret"]);
    // Stored encrypted: the secret's bytes are nowhere in the row.
    let user = s
        .warden
        .storage()
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    let stored = s
        .warden
        .storage()
        .totp_factor(&user.id)
        .await
        .unwrap()
        .unwrap();
    let raw = base32(secret);
    assert!(
        !stored
            .encrypted_secret
            .windows(raw.len())
            .any(|w| w == raw.as_slice())
    );
    assert!(stored.confirmed_at.is_none());

    // Pending: logins do not ask for it yet.
    assert_eq!(password_grant(s, "alice", &password, None).await.0, 200);

    let app = App::new(secret, "alice");
    early_in_a_step().await;
    for wrong in ["000000", "12345", "1234567", "abcdef", "", &"9".repeat(100)] {
        let (status, body, _) = call(
            s,
            reqwest::Method::POST,
            "/users/me/factors/totp/confirm",
            &token,
            Some(json!({"code": wrong})),
        )
        .await;
        assert!(status == 400 || status == 422, "{wrong}: {status} {body}");
    }
    let (status, confirmed, _) = call(
        s,
        reqwest::Method::POST,
        "/users/me/factors/totp/confirm",
        &token,
        Some(json!({"code": app.code(-1)})),
    )
    .await;
    assert_eq!(status, 200, "{confirmed}");
    let codes: Vec<String> = serde_json::from_value(confirmed["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    assert_eq!(
        codes
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        10
    );
    // Confirmed once: confirming again is refused.
    let (status, _, _) = call(
        s,
        reqwest::Method::POST,
        "/users/me/factors/totp/confirm",
        &token,
        Some(json!({"code": app.code(0)})),
    )
    .await;
    assert_eq!(
        status, 401,
        "a factor exists now: changes need it, recently"
    );

    // The password alone no longer gives a token, and says what is missing.
    let (status, body) = password_grant(s, "alice", &password, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        body["error_description"].as_str().unwrap().contains("otp"),
        "{body}"
    );
    // A wrong code: refused like a wrong password.
    let (status, body) = password_grant(s, "alice", &password, Some("000000")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // A code with a wrong password: the password is checked first, alike for everyone.
    let (status, body) = password_grant(s, "alice", "wrong password!!", Some(&app.code(0))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("invalid"),
        "{body}"
    );

    // The current code: a token whose claims say two factors.
    let code = app.code(0);
    let (status, granted) = password_grant(s, "alice", &password, Some(&code)).await;
    assert_eq!(status, 200, "{granted}");
    let strong = claims(granted["access_token"].as_str().unwrap());
    assert_eq!(strong["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(strong["acr"], ACR_MFA);
    // The same code again, and the code before it: single use (RFC 6238 §5.2).
    assert_eq!(
        password_grant(s, "alice", &password, Some(&code)).await.0,
        400
    );
    assert_eq!(
        password_grant(s, "alice", &password, Some(&app.code(-1)))
            .await
            .0,
        400
    );
    assert!(
        audit_events(s)
            .await
            .iter()
            .any(|e| e == "mfa.totp_replayed")
    );

    // A refreshed token keeps how the user signed in.
    let (status, refreshed) = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", granted["refresh_token"].as_str().unwrap()),
            ("client_id", "warden-docs"),
        ])
        .await;
    assert_eq!(status, 200, "{refreshed}");
    let kept = claims(refreshed["access_token"].as_str().unwrap());
    assert_eq!(kept["amr"], strong["amr"]);
    assert_eq!(kept["auth_time"], strong["auth_time"]);

    // A recovery code, in any case and spacing, works once.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let (status, body) = password_grant(s, "alice", &password, Some(&typed)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    assert_eq!(
        password_grant(s, "alice", &password, Some(&codes[0]))
            .await
            .0,
        400
    );
    let (_, factors, _) = call(s, reqwest::Method::GET, "/users/me/factors", &token, None).await;
    assert_eq!(
        factors,
        json!({"totp": true, "passkeys": 0, "recovery_codes_left": 9})
    );
    let events = audit_events(s).await;
    for event in [
        "mfa.totp_enrolled",
        "mfa.recovery_codes_created",
        "mfa.recovery_code_used",
        "mfa.failure",
    ] {
        assert!(events.iter().any(|e| e == event), "{event} in {events:?}");
    }
}

pub async fn mfa_racing_submissions_of_one_code_win_once(s: &Server) {
    let password = s.user("bea", &[]).await;
    let (app, _) = enrol(s, "bea", &password).await;
    let code = app.code(0);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let request = s.client.post(s.url("/token")).form(&[
                ("grant_type", "password"),
                ("username", "bea"),
                ("password", password.as_str()),
                ("otp", code.as_str()),
            ]);
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert_eq!(
        answers.iter().filter(|s| **s == 200).count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers.iter().all(|s| *s == 200 || *s == 400),
        "{answers:?}"
    );
}

pub async fn mfa_wrong_codes_are_throttled_like_passwords(s: &Server) {
    let password = s.user("cid", &[]).await;
    let (app, _) = enrol(s, "cid", &password).await;
    let mut throttled = false;
    for _ in 0..12 {
        let (status, body) = password_grant(s, "cid", &password, Some("000000")).await;
        if status == 429 {
            throttled = true;
            break;
        }
        assert_eq!(status, 400, "{body}");
    }
    assert!(throttled, "wrong codes count in the login budget");
    // Throttled even with the right code now: the budget is the account's.
    assert_eq!(
        password_grant(s, "cid", &password, Some(&app.code(0)))
            .await
            .0,
        429
    );
}

pub async fn mfa_factor_changes_need_a_recent_second_factor(s: &Server) {
    s.role("self", &["me"]).await;
    let password = s.user("dan", &["self"]).await;
    let user = s
        .warden
        .storage()
        .user_by_username("dan")
        .await
        .unwrap()
        .unwrap();
    let fresh = access_token(s, "dan", &password, None).await;
    // An API key proves no person: never enough to change factors.
    let (status, key, _) = call(
        s,
        reqwest::Method::POST,
        "/users/me/api-keys",
        &fresh,
        Some(json!({"name": "k", "scopes": ["me"]})),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let key = key["key"].as_str().unwrap().to_owned();
    let (status, body, challenge) = call(
        s,
        reqwest::Method::POST,
        "/users/me/factors/totp",
        &key,
        None,
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let challenge = challenge.unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_user_authentication\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(&format!("acr_values=\"{ACR_MFA}\""))
            && challenge.contains("max_age=\"300\""),
        "{challenge}"
    );
    // A login ten minutes old is not recent either.
    let stale = token_as_if(s, &user.id, &["pwd"], now() - 600);
    assert_eq!(
        call(
            s,
            reqwest::Method::POST,
            "/users/me/factors/totp",
            &stale,
            None
        )
        .await
        .0,
        401
    );

    let (app, first_codes) = enrol(s, "dan", &password).await;
    // With a factor, a recent password is not enough: a recent second factor is.
    let password_only = token_as_if(s, &user.id, &["pwd"], now());
    let old_mfa = token_as_if(s, &user.id, &["pwd", "otp", "mfa"], now() - 301);
    for token in [&password_only, &old_mfa, &key] {
        assert_eq!(
            call(
                s,
                reqwest::Method::DELETE,
                "/users/me/factors/totp",
                token,
                None
            )
            .await
            .0,
            401
        );
        assert_eq!(
            call(
                s,
                reqwest::Method::POST,
                "/users/me/factors/recovery-codes",
                token,
                None
            )
            .await
            .0,
            401
        );
    }
    let strong = access_token(s, "dan", &password, Some(&app.code(0))).await;
    // Replacing an authenticator means removing it first.
    assert_eq!(
        call(
            s,
            reqwest::Method::POST,
            "/users/me/factors/totp",
            &strong,
            None
        )
        .await
        .0,
        403
    );
    let (status, renewed, _) = call(
        s,
        reqwest::Method::POST,
        "/users/me/factors/recovery-codes",
        &strong,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let renewed: Vec<String> = serde_json::from_value(renewed["recovery_codes"].clone()).unwrap();
    assert_eq!(renewed.len(), 10);
    // The old set is gone; the new one works.
    assert_eq!(
        password_grant(s, "dan", &password, Some(&first_codes[1]))
            .await
            .0,
        400
    );
    assert_eq!(
        password_grant(s, "dan", &password, Some(&renewed[0]))
            .await
            .0,
        200
    );

    assert_eq!(
        call(
            s,
            reqwest::Method::DELETE,
            "/users/me/factors/totp",
            &strong,
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            s,
            reqwest::Method::DELETE,
            "/users/me/factors/totp",
            &strong,
            None
        )
        .await
        .0,
        404
    );
    // Back to the password alone; the codes went with the authenticator.
    assert_eq!(password_grant(s, "dan", &password, None).await.0, 200);
    assert_eq!(
        password_grant(s, "dan", &password, Some(&renewed[1]))
            .await
            .0,
        200,
        "an otp is ignored without a factor"
    );
    let (_, factors, _) = call(s, reqwest::Method::GET, "/users/me/factors", &strong, None).await;
    assert_eq!(
        factors,
        json!({"totp": false, "passkeys": 0, "recovery_codes_left": 0})
    );
    assert!(
        audit_events(s)
            .await
            .iter()
            .any(|e| e == "mfa.totp_removed")
    );
}

pub async fn mfa_admin_reset_removes_factors_and_what_they_gave(s: &Server) {
    s.role("admin", &["admin", "me"]).await;
    let root_password = s.user("root", &["admin"]).await;
    let root = access_token(s, "root", &root_password, None).await;
    let password = s.user("eve", &[]).await;
    let (app, _) = enrol(s, "eve", &password).await;
    let (status, granted) = password_grant(s, "eve", &password, Some(&app.code(0))).await;
    assert_eq!(status, 200);
    let refresh = granted["refresh_token"].as_str().unwrap().to_owned();

    // Not an administrator: refused.
    let eve = granted["access_token"].as_str().unwrap();
    assert_eq!(
        call(
            s,
            reqwest::Method::POST,
            "/admin/users/eve/factors/reset",
            eve,
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(
        call(
            s,
            reqwest::Method::POST,
            "/admin/users/nobody/factors/reset",
            &root,
            None
        )
        .await
        .0,
        404
    );

    let (status, reset, _) = call(
        s,
        reqwest::Method::POST,
        "/admin/users/eve/factors/reset",
        &root,
        None,
    )
    .await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(reset["totp_removed"], true);
    assert_eq!(reset["recovery_codes_removed"], 10);
    assert!(reset["refresh_tokens_revoked"].as_u64().unwrap() >= 1);
    // What the old factors gave is gone; the password alone works again.
    assert_eq!(
        s.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "warden-docs")
        ])
        .await
        .0,
        400
    );
    assert_eq!(password_grant(s, "eve", &password, None).await.0, 200);
    assert!(audit_events(s).await.iter().any(|e| e == "mfa.reset"));
}

// --- the browser login --------------------------------------------------------------------

impl Page {
    fn is_second_factor(&self) -> bool {
        self.status == 200
            && self
                .form_action()
                .is_some_and(|a| a.ends_with("/authorize/second-factor"))
            && self.body.contains("name=\"code\"")
            && !self.body.contains("type=\"password\"")
    }

    fn is_enrolment(&self) -> bool {
        self.status == 200
            && self
                .form_action()
                .is_some_and(|a| a.ends_with("/authorize/enrol"))
            && self.body.contains("<svg")
    }

    /// The base32 secret shown on the enrolment page.
    fn secret(&self) -> String {
        let start = self.body.find("<code id=\"secret\">").unwrap() + "<code id=\"secret\">".len();
        let end = start + self.body[start..].find("</code>").unwrap();
        self.body[start..end].to_owned()
    }
}

pub async fn mfa_browser_login_asks_for_the_second_factor(s: &Server) {
    let password = s.user("fay", &[]).await;
    let (app, codes) = enrol(s, "fay", &password).await;
    let (client_id, _) = client(s, true, false).await;
    let browser = Browser::new(s);
    let (verifier, challenge) = pkce();
    let request = Req::new(&client_id, Some(&challenge));

    let login = browser.authorize(&request).await;
    let first_cookie;
    let step = {
        let page = browser.login(&login, "fay", &password).await;
        first_cookie = page.cookie_value("warden_session").unwrap();
        page
    };
    assert!(step.is_second_factor(), "{}", step.body);
    // Owing a code, the session gives nothing: not even with prompt=none.
    let silent = browser
        .authorize(&request.clone().set("prompt", "none"))
        .await;
    assert_eq!(
        silent.redirect_to(CB).get("error").map(String::as_str),
        Some("interaction_required")
    );
    // Coming back shows the code form again, not the password form.
    assert!(browser.authorize(&request).await.is_second_factor());

    let wrong = browser.submit(&step, &[("code", "000000")]).await;
    assert!(
        wrong.is_second_factor() && wrong.body.contains("role=\"alert\""),
        "{}",
        wrong.body
    );
    early_in_a_step().await;
    let consent = browser.submit(&wrong, &[("code", &app.code(0))]).await;
    assert!(consent.is_consent(), "{}", consent.body);
    // A new session id after the second factor (privilege change).
    let raised_cookie = consent.cookie_value("warden_session").unwrap();
    assert_ne!(raised_cookie, first_cookie);
    let answer = browser.consent(&consent, "allow").await;
    let code = answer.redirect_to(CB)["code"].clone();
    let (status, tokens) = redeem(s, &client_id, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = verify_id_token(s, tokens["id_token"].as_str().unwrap(), &client_id).await;
    let extra = serde_json::to_value(&id_token).unwrap();
    assert_eq!(extra["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(extra["acr"], ACR_MFA);
    assert!(extra["auth_time"].as_u64().unwrap().abs_diff(now()) <= 30);
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    // Signed in with two factors: the next request goes straight through.
    let (_, challenge) = pkce();
    let again = browser
        .authorize(&Req::new(&client_id, Some(&challenge)).set("prompt", "none"))
        .await;
    assert!(again.redirect_to(CB).contains_key("code"));

    // Another browser, with a recovery code: told how many are left, then on.
    let other = Browser::new(s);
    let (_, challenge) = pkce();
    let request = Req::new(&client_id, Some(&challenge));
    let login = other.authorize(&request).await;
    let step = other.login(&login, "fay", &password).await;
    let used = other.submit(&step, &[("code", &codes[3])]).await;
    assert!(used.body.contains("id=\"codes-left\""), "{}", used.body);
    assert!(used.body.contains("<strong>9</strong>"), "{}", used.body);
    let next = other.submit(&used, &[]).await;
    assert!(
        next.redirect_to(CB).contains_key("code"),
        "remembered consent: {}",
        next.body
    );
    // The continue form is no way around `prompt=login` later: only a fresh second factor
    // counts, and the form still needs this browser's anti-CSRF token.
    let forged = Browser::new(s).submit(&used, &[]).await;
    assert_eq!(forged.status, 403);
}

pub async fn mfa_required_by_role_or_client_forces_enrolment(s: &Server) {
    s.warden
        .storage()
        .put_role(&Role {
            name: "staff".into(),
            scopes: vec!["me".into()],
            require_mfa: true,
        })
        .await
        .unwrap();
    let password = s.user("gus", &["staff"]).await;
    // No factor yet: the password grant cannot enrol, and says where to go.
    let (status, body) = password_grant(s, "gus", &password, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("browser"),
        "{body}"
    );

    let (client_id, _) = client(s, true, true).await;
    let browser = Browser::new(s);
    let (verifier, challenge) = pkce();
    let request = Req::new(&client_id, Some(&challenge));
    let login = browser.authorize(&request).await;
    let enrolment = browser.login(&login, "gus", &password).await;
    assert!(enrolment.is_enrolment(), "{}", enrolment.body);
    assert!(!enrolment.body.contains("<script"), "the SVG is inert");
    let secret = enrolment.secret();
    // The otpauth:// link says the same secret (escaped for the attribute).
    assert!(
        enrolment.body.contains(&format!(
            "href=\"otpauth://totp/Warden:gus?secret={secret}&amp;"
        )),
        "{}",
        enrolment.body
    );
    let app = App::new(&secret, "gus");
    let wrong = browser.submit(&enrolment, &[("code", "000000")]).await;
    assert!(wrong.is_enrolment() && wrong.body.contains("role=\"alert\""));
    assert_eq!(
        wrong.secret(),
        secret,
        "a mistyped code keeps the same secret"
    );
    early_in_a_step().await;
    let shown = browser.submit(&wrong, &[("code", &app.code(0))]).await;
    let listed = shown.body.matches("<li><code>").count();
    assert_eq!(listed, 10, "{}", shown.body);
    let answer = browser.submit(&shown, &[]).await;
    let code = answer.redirect_to(CB)["code"].clone();
    let (status, tokens) = redeem(s, &client_id, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["acr"],
        ACR_MFA
    );
    // Now the password grant works with a code.
    assert_eq!(
        password_grant(s, "gus", &password, Some(&app.code(1)))
            .await
            .0,
        200
    );

    // A client that requires a second factor sends a user without one to enrolment too.
    let password = s.user("hal", &[]).await;
    let (strict, _) = s
        .register_client(NewClient {
            name: "Strict".into(),
            public: true,
            redirect_uris: vec![CB.into()],
            grant_types: vec!["authorization_code".into()],
            first_party: true,
            require_mfa: true,
            ..NewClient::default()
        })
        .await;
    let (_, challenge) = pkce();
    let browser = Browser::new(s);
    let login = browser
        .authorize(&Req::new(&strict, Some(&challenge)))
        .await;
    assert!(browser.login(&login, "hal", &password).await.is_enrolment());
    // Other clients do not ask hal for anything more.
    assert_eq!(password_grant(s, "hal", &password, None).await.0, 200);
}

pub async fn mfa_step_up_asks_only_for_the_missing_factor(s: &Server) {
    let discovery: Value = s
        .client
        .get(s.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["acr_values_supported"],
        json!([ACR_PWD, ACR_MFA, "phr", "phrh"])
    );
    assert!(
        discovery["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("amr"))
    );

    let password = s.user("ida", &[]).await;
    let (client_id, _) = client(s, true, true).await;
    let browser = Browser::new(s);
    let (_, challenge) = pkce();
    // Signed in with the password alone (no factor yet).
    let params = browser
        .code(&Req::new(&client_id, Some(&challenge)), "ida", &password)
        .await;
    assert!(params.contains_key("code"));
    // A request for two factors, from a user with none: set one up.
    let (_, challenge) = pkce();
    let mfa = Req::new(&client_id, Some(&challenge)).set("acr_values", ACR_MFA);
    assert!(browser.authorize(&mfa).await.is_enrolment());
    // A request accepting either level goes through on the password.
    let (_, challenge) = pkce();
    let either =
        Req::new(&client_id, Some(&challenge)).set("acr_values", &format!("{ACR_PWD} {ACR_MFA}"));
    assert!(
        browser
            .authorize(&either)
            .await
            .redirect_to(CB)
            .contains_key("code")
    );

    let (app, _) = enrol(s, "ida", &password).await;
    // The session's password is recent: only the code is asked for.
    let (verifier, challenge) = pkce();
    let mfa = Req::new(&client_id, Some(&challenge)).set("acr_values", ACR_MFA);
    let step = browser.authorize(&mfa).await;
    assert!(step.is_second_factor(), "{}", step.body);
    let answer = browser.submit(&step, &[("code", &app.code(0))]).await;
    let code = answer.redirect_to(CB)["code"].clone();
    let (status, tokens) = redeem(s, &client_id, &code, Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["acr"],
        ACR_MFA
    );
    // `max_age=0` asks for everything again: the password first.
    let (_, challenge) = pkce();
    let page = browser
        .authorize(&Req::new(&client_id, Some(&challenge)).set("max_age", "0"))
        .await;
    assert!(page.is_login(), "{}", page.body);
    // An oversized acr_values is refused, not stored.
    let (_, challenge) = pkce();
    let huge = browser
        .authorize(&Req::new(&client_id, Some(&challenge)).set("acr_values", &"x".repeat(2000)))
        .await;
    assert_eq!(
        huge.redirect_to(CB).get("error").map(String::as_str),
        Some("invalid_request")
    );
}
