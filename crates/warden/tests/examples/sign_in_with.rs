//! `sign_in_with`: the example application signs users in through oidc-provider (the
//! OpenID-certified npm package, started locally) and through a GitHub emulator, then holds
//! a cookie session; a callback opened in another browser is refused.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::Value;
use upstream_fixtures::{GitHubEmulator, OidcClient, OidcProvider, oidc_provider_sign_in};

use crate::support::{Example, secret};

/// A browser: a cookie jar, redirects shown rather than followed.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// A loopback port free right now (the providers must know the app's redirect URI before
/// the app starts).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Setup {
    app: Example,
    _idp: OidcProvider,
    github: GitHubEmulator,
}

async fn setup() -> Setup {
    let port = free_port();
    let app_url = format!("http://127.0.0.1:{port}");
    let client_secret = secret();
    let idp = OidcProvider::start(vec![OidcClient::new(
        "sign-in-example",
        &client_secret,
        format!("{app_url}/auth/oidc/callback"),
    )])
    .await;
    let github = GitHubEmulator::start().await;
    github.add_redirect_uri(format!("{app_url}/auth/github/callback"));
    let bind = format!("127.0.0.1:{port}");
    let app = Example::start(
        "sign_in_with",
        &[
            ("WARDEN_BIND", bind.as_str()),
            ("APP_URL", app_url.as_str()),
            ("OIDC_ISSUER", idp.issuer()),
            ("OIDC_CLIENT_ID", "sign-in-example"),
            ("OIDC_CLIENT_SECRET", client_secret.as_str()),
            ("GITHUB_CLIENT_ID", &github.client_id()),
            ("GITHUB_CLIENT_SECRET", &github.client_secret()),
            ("GITHUB_AUTHORIZE_URL", &github.authorize_url()),
            ("GITHUB_TOKEN_URL", &github.token_url()),
            ("GITHUB_API_URL", &github.api_base()),
        ],
    );
    Setup {
        app,
        _idp: idp,
        github,
    }
}

#[tokio::test]
async fn signs_in_through_oidc_provider_and_holds_a_session() {
    let setup = setup().await;
    let app = &setup.app;
    let browser = browser();
    let home = browser
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("/login/oidc") && home.contains("/login/github"),
        "{home}"
    );
    assert_eq!(
        browser.get(app.url("/me")).send().await.unwrap().status(),
        401
    );

    let start = browser.get(app.url("/login/oidc")).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let callback = oidc_provider_sign_in(&location(&start), "alice@example.com").await;
    assert!(
        callback.contains("iss="),
        "oidc-provider sends iss (RFC 9207): {callback}"
    );
    let done = browser.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 303, "{:?}", done.text().await);
    let me: Value = browser
        .get(app.url("/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["provider"], "oidc");
    assert_eq!(me["subject"], "alice@example.com");
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["email_verified"], true);

    // The same callback again: its state was used.
    let replay = browser.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), 400);
}

#[tokio::test]
async fn an_unverified_upstream_email_is_reported_unverified() {
    let setup = setup().await;
    let browser = browser();
    let start = browser
        .get(setup.app.url("/login/oidc"))
        .send()
        .await
        .unwrap();
    let callback = oidc_provider_sign_in(&location(&start), "bob+unverified@example.com").await;
    assert_eq!(browser.get(&callback).send().await.unwrap().status(), 303);
    let me: Value = browser
        .get(setup.app.url("/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "bob@example.com");
    assert_eq!(me["email_verified"], false);
}

#[tokio::test]
async fn a_callback_opened_in_another_browser_is_refused() {
    let setup = setup().await;
    let attacker = browser();
    let start = attacker
        .get(setup.app.url("/login/oidc"))
        .send()
        .await
        .unwrap();
    let callback = oidc_provider_sign_in(&location(&start), "mallory@example.com").await;
    let victim = browser();
    let answer = victim.get(&callback).send().await.unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["detail"], "Sign-in could not be completed");
    assert_eq!(
        victim
            .get(setup.app.url("/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn signs_in_through_the_github_emulator() {
    let setup = setup().await;
    let browser = browser();
    let start = browser
        .get(setup.app.url("/login/github"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    let at_github = browser.get(location(&start)).send().await.unwrap();
    let callback = location(&at_github);
    let done = browser.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 303);
    let me: Value = browser
        .get(setup.app.url("/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["provider"], "github");
    assert_eq!(me["subject"], "583231");
    assert_eq!(me["email_verified"], true);
    assert_eq!(setup.github.token_requests().len(), 1);
}
