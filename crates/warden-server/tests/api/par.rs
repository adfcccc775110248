//! Pushed authorization requests (RFC 9126): `POST /par`, then `/authorize` with the
//! `request_uri` alone; single use, bound to the client, short-lived; required per client
//! or server-wide, and the pushed parameters cannot be changed in the login forms.

use serde_json::Value;
use warden_server::domain::NewClient;
use warden_server::storage::{PushedRequest, Storage};

use crate::authorization::{Browser, CB, Req, client, pkce, redeem};
use crate::backend::{Options, Server};

/// POSTs `form` to /par, with `basic` client authentication when given.
async fn push(s: &Server, form: &[(String, String)], basic: Option<(&str, &str)>) -> (u16, Value) {
    let mut request = s.client.post(s.url("/par")).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status == 201 {
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    (status, response.json().await.unwrap_or(Value::Null))
}

fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub async fn par_pushed_request_runs_the_code_flow_once(s: &Server) {
    s.role("reader", &["items"]).await;
    let password = s.user("paula", &["reader"]).await;
    let (client_id, secret) = s
        .register_client(NewClient {
            name: "Confidential".into(),
            redirect_uris: vec![CB.into()],
            grant_types: vec!["authorization_code".into()],
            ..NewClient::default()
        })
        .await;
    let secret = secret.unwrap();
    let (verifier, challenge) = pkce();
    let request = Req::new(&client_id, Some(&challenge)).set("scope", "openid items");
    let (status, body) = push(s, request.pairs(), Some((&client_id, &secret))).await;
    assert_eq!(status, 201, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert_eq!(body["expires_in"], 60);

    // The browser carries only client_id and request_uri; other query parameters are ignored.
    let browser = Browser::new(s);
    let path = format!(
        "/authorize?{}",
        query(&[
            ("client_id", &client_id),
            ("request_uri", &request_uri),
            ("scope", "admin")
        ])
    );
    let page = browser.get(&path).await;
    assert!(page.is_login(), "{}", page.body);
    assert_eq!(page.field("scope").as_deref(), Some("openid items"));
    let consent = browser.login(&page, "paula", &password).await;
    let answer = browser.consent(&consent, "allow").await;
    let params = answer.redirect_to(CB);
    assert_eq!(params.get("state").map(String::as_str), Some("st-1"));
    let (status, tokens) = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &params["code"]),
            ("redirect_uri", CB),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "items openid");

    // Single use: the same request_uri again is an error page, never a redirect.
    let again = Browser::new(s).get(&path).await;
    assert!(again.is_error_page(400), "{}", again.body);
    assert!(again.location().is_none());
}

pub async fn par_refuses_bad_pushes_and_foreign_or_stale_request_uris(s: &Server) {
    let (client_id, secret) = s
        .register_client(NewClient {
            name: "Confidential".into(),
            redirect_uris: vec![CB.into()],
            grant_types: vec!["authorization_code".into()],
            ..NewClient::default()
        })
        .await;
    let secret = secret.unwrap();
    let auth = Some((client_id.as_str(), secret.as_str()));
    let (_, challenge) = pkce();
    let good = Req::new(&client_id, Some(&challenge));

    // Client authentication as at /token: none, or a wrong secret, is invalid_client.
    let (status, body) = push(s, good.pairs(), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, _) = push(s, good.pairs(), Some((&client_id, "wrong"))).await;
    assert_eq!(status, 401);
    // What /authorize would refuse is refused here (400 invalid_request, RFC 9126 §2.3).
    for (case, request) in [
        (
            "request_uri pushed",
            good.clone().set("request_uri", "urn:x"),
        ),
        (
            "unregistered redirect_uri",
            good.clone().set("redirect_uri", "https://evil.example/cb"),
        ),
        (
            "another client's id",
            good.clone().set("client_id", "someone-else"),
        ),
        (
            "response_type token",
            good.clone().set("response_type", "token"),
        ),
        (
            "plain PKCE",
            good.clone().set("code_challenge_method", "plain"),
        ),
    ] {
        let (status, body) = push(s, request.pairs(), auth).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{case}: {body}"
        );
    }
    // A public client pushes with its client_id alone, and must use PKCE.
    let (public_id, _) = client(s, true, false).await;
    let (status, body) = push(s, Req::new(&public_id, None).pairs(), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    let (status, body) = push(s, Req::new(&public_id, Some(&challenge)).pairs(), None).await;
    assert_eq!(status, 201, "{body}");
    let public_uri = body["request_uri"].as_str().unwrap().to_owned();

    // Another client presenting it gets an error page — and does not use it up.
    let (status, body) = push(s, good.pairs(), auth).await;
    assert_eq!(status, 201);
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    let foreign = Browser::new(s)
        .get(&format!(
            "/authorize?{}",
            query(&[("client_id", &public_id), ("request_uri", &request_uri)])
        ))
        .await;
    assert!(foreign.is_error_page(400), "{}", foreign.body);
    let mine = Browser::new(s)
        .get(&format!(
            "/authorize?{}",
            query(&[("client_id", &client_id), ("request_uri", &request_uri)])
        ))
        .await;
    assert!(mine.is_login(), "{}", mine.body);
    // Without client_id, malformed, unknown: error pages.
    for bad in [
        query(&[("request_uri", &public_uri)]),
        query(&[
            ("client_id", &public_id),
            ("request_uri", "urn:ietf:params:oauth:request_uri:nope"),
        ]),
        query(&[
            ("client_id", &public_id),
            ("request_uri", "https://app.example.com/request.jwt"),
        ]),
    ] {
        let page = Browser::new(s).get(&format!("/authorize?{bad}")).await;
        assert!(page.is_error_page(400), "{bad}: {}", page.body);
    }
    // Expired (RFC 9126 §4): stored with a past expiry, refused.
    let stale_uri = "urn:ietf:params:oauth:request_uri:stale-one";
    let hash = hex_sha256(stale_uri);
    s.warden
        .storage()
        .insert_pushed_request(&PushedRequest {
            request_hash: hash,
            client_id: public_id.clone(),
            params: Req::new(&public_id, Some(&challenge))
                .pairs()
                .iter()
                .cloned()
                .collect(),
            expires_at: 1,
        })
        .await
        .unwrap();
    let page = Browser::new(s)
        .get(&format!(
            "/authorize?{}",
            query(&[("client_id", &public_id), ("request_uri", stale_uri)])
        ))
        .await;
    assert!(page.is_error_page(400), "{}", page.body);
}

fn hex_sha256(value: &str) -> String {
    use std::fmt::Write;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    digest.as_ref().iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

pub async fn par_required_by_a_client_cannot_be_bypassed_or_altered(s: &Server) {
    s.role("reader", &["items"]).await;
    let password = s.user("quinn", &["reader"]).await;
    let (client_id, _) = s
        .register_client(NewClient {
            name: "PAR only".into(),
            public: true,
            redirect_uris: vec![CB.into()],
            grant_types: vec!["authorization_code".into()],
            require_par: true,
            ..NewClient::default()
        })
        .await;
    let (verifier, challenge) = pkce();
    let request = Req::new(&client_id, Some(&challenge)).set("scope", "openid");
    // Straight to /authorize: sent back with invalid_request (the redirect URI is its own).
    let browser = Browser::new(s);
    let answer = browser.authorize(&request).await;
    let params = answer.redirect_to(CB);
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("invalid_request")
    );

    // Pushed: the login form carries the pushed parameters under a mark.
    let (status, body) = push(s, request.pairs(), None).await;
    assert_eq!(status, 201, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap();
    let page = browser
        .get(&format!(
            "/authorize?{}",
            query(&[("client_id", &client_id), ("request_uri", request_uri)])
        ))
        .await;
    assert!(page.is_login(), "{}", page.body);
    assert!(page.field("par").is_some());
    // Changing a pushed parameter in the form (a wider scope) breaks the mark: refused.
    let altered = browser
        .submit(
            &page,
            &[
                ("scope", "openid items"),
                ("username", "quinn"),
                ("password", &password),
            ],
        )
        .await;
    assert_eq!(
        altered.redirect_to(CB).get("error").map(String::as_str),
        Some("invalid_request"),
        "{}",
        altered.body
    );
    // Unchanged, it goes through.
    let consent = browser.login(&page, "quinn", &password).await;
    let answer = browser.consent(&consent, "allow").await;
    let params = answer.redirect_to(CB);
    let (status, tokens) = redeem(s, &client_id, &params["code"], Some(&verifier)).await;
    assert_eq!(status, 200, "{tokens}");
}

pub fn par_everywhere() -> Options {
    Options {
        require_par: true,
        ..Options::default()
    }
}

pub async fn par_required_server_wide_is_advertised_and_enforced(s: &Server) {
    let metadata: Value = s.get_json("/.well-known/oauth-authorization-server").await;
    assert_eq!(
        metadata["pushed_authorization_request_endpoint"],
        s.url("/par")
    );
    assert_eq!(metadata["require_pushed_authorization_requests"], true);
    let (client_id, _) = client(s, true, false).await;
    let (_, challenge) = pkce();
    let answer = Browser::new(s)
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    assert_eq!(
        answer.redirect_to(CB).get("error").map(String::as_str),
        Some("invalid_request")
    );
}
