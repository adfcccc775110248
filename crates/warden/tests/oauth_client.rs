//! The "sign in with …" client against upstreams written by others: a misbehaving-on-demand
//! OpenID provider (one defect at a time) and a GitHub emulator, over real HTTP on loopback.
//! Every attack of the module's table is a test here.

use std::time::Duration;

use http::HeaderMap;
use http::header::{COOKIE, LOCATION, SET_COOKIE};
use upstream_fixtures::{FakeIdp, FakeUser, GitHubEmail, GitHubEmulator, GitHubUser, Misbehaviour};
use warden::jwt::JwtError;
use warden::oauth_client::{
    Callback, Endpoints, GitHubEndpoints, Provider, SignIn, SignInError, SignInErrorKind,
    UpstreamIdentity,
};

const APP: &str = "http://app.test";

fn callback_uri(id: &str) -> String {
    format!("{APP}/auth/{id}/callback")
}

async fn idp() -> FakeIdp {
    let idp = FakeIdp::start().await;
    idp.add_redirect_uri(callback_uri("corp"));
    idp.add_redirect_uri(callback_uri("other"));
    idp
}

fn oidc(idp: &FakeIdp, id: &str) -> Provider {
    Provider::openid_connect(id, idp.issuer())
        .client_id(idp.client_id())
        .client_secret(idp.client_secret())
        .redirect_uri(callback_uri(id))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn github(emulator: &GitHubEmulator) -> Provider {
    Provider::github("github")
        .client_id(emulator.client_id())
        .client_secret(emulator.client_secret())
        .github_endpoints(GitHubEndpoints {
            authorization: emulator.authorize_url(),
            token: emulator.token_url(),
            api: emulator.api_base(),
        })
        .redirect_uri(callback_uri("github"))
        .build()
        .unwrap()
}

/// A browser: its cookie jar (the binding cookie) and no redirect following.
struct Browser {
    cookie: Option<String>,
    http: reqwest::Client,
}

impl Browser {
    fn new() -> Self {
        Self {
            cookie: None,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(cookie) = &self.cookie {
            headers.insert(COOKIE, cookie.parse().unwrap());
        }
        headers
    }

    /// `GET /login/{provider}` on the app: the redirect, keeping the cookie.
    async fn start(&mut self, sign_in: &SignIn, provider: &str) -> String {
        let response = sign_in
            .start(provider, &self.headers(), Some("/home".into()))
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap();
        assert!(
            set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
            "{set_cookie}"
        );
        self.cookie = Some(set_cookie.split(';').next().unwrap().to_owned());
        response.headers()[LOCATION].to_str().unwrap().to_owned()
    }

    /// Follows the authorization URL at the provider (which signs the configured user in)
    /// to the app's callback: its query.
    async fn authorize(&self, url: &str) -> String {
        let response = self.http.get(url).send().await.unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(location.starts_with(APP), "{location}");
        location
            .split_once('?')
            .map(|(_, q)| q.to_owned())
            .unwrap_or_default()
    }

    async fn finish(
        &self,
        sign_in: &SignIn,
        provider: &str,
        query: &str,
    ) -> Result<UpstreamIdentity, SignInError> {
        sign_in
            .finish(provider, &self.headers(), &Callback::parse(query)?)
            .await
    }
}

/// A whole sign-in in one browser.
async fn sign_in_through(
    sign_in: &SignIn,
    provider: &str,
) -> Result<UpstreamIdentity, SignInError> {
    let mut browser = Browser::new();
    let url = browser.start(sign_in, provider).await;
    let query = browser.authorize(&url).await;
    browser.finish(sign_in, provider, &query).await
}

#[tokio::test]
async fn an_honest_provider_signs_the_user_in_with_pkce_nonce_and_userinfo() {
    let idp = idp().await;
    let sign_in = SignIn::new().provider(oidc(&idp, "corp"));
    let who = sign_in_through(&sign_in, "corp").await.unwrap();
    assert_eq!(who.provider, "corp");
    assert_eq!(who.issuer, idp.issuer());
    assert_eq!(who.subject, "248289761001");
    // Not in the ID token: read from UserInfo, whose sub matched.
    assert_eq!(who.email.as_deref(), Some("jane@example.com"));
    assert!(who.email_verified);
    assert_eq!(who.name.as_deref(), Some("Jane Doe"));
    assert_eq!(who.username.as_deref(), Some("jane"));
    assert_eq!(who.return_to.as_deref(), Some("/home"));
    assert!(who.tokens.is_none(), "tokens only when asked for");

    let authorization = &idp.authorization_requests()[0];
    let param = |name: &str| {
        authorization
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param("nonce").map(|n| n.len()), Some(43));
    assert_eq!(param("state").map(|n| n.len()), Some(43));
    assert_eq!(param("scope").as_deref(), Some("openid email profile"));
    let token = &idp.token_requests()[0];
    assert!(token.used_basic_auth(), "client_secret_basic by default");
    assert_eq!(token.param("code_verifier").map(str::len), Some(43));
}

#[tokio::test]
async fn claims_in_the_id_token_and_tokens_when_asked() {
    let idp = idp().await;
    idp.set_user(FakeUser {
        claims_in_id_token: true,
        email_verified: false,
        amr: Some(vec!["pwd".into(), "otp".into(), "mfa".into()]),
        acr: Some("phr".into()),
        ..FakeUser::default()
    });
    let provider = Provider::openid_connect("corp", idp.issuer())
        .client_id(idp.client_id())
        .client_secret(idp.client_secret())
        .redirect_uri(callback_uri("corp"))
        .keep_tokens()
        .build()
        .unwrap();
    let who = sign_in_through(&SignIn::new().provider(provider), "corp")
        .await
        .unwrap();
    assert!(
        !who.email_verified,
        "an unverified email is reported as such"
    );
    assert_eq!(who.amr, ["pwd", "otp", "mfa"]);
    assert_eq!(who.acr.as_deref(), Some("phr"));
    let tokens = who.tokens.expect("kept");
    assert!(tokens.id_token.is_some() && !tokens.access_token.is_empty());
    assert!(
        !format!("{tokens:?}").contains(&tokens.access_token),
        "Debug hides tokens"
    );
}

#[tokio::test]
async fn a_state_works_once() {
    let idp = idp().await;
    let sign_in = SignIn::new().provider(oidc(&idp, "corp"));
    let mut browser = Browser::new();
    let url = browser.start(&sign_in, "corp").await;
    let query = browser.authorize(&url).await;
    browser.finish(&sign_in, "corp", &query).await.unwrap();
    let replay = browser.finish(&sign_in, "corp", &query).await.unwrap_err();
    assert!(matches!(replay, SignInError::UnknownState), "{replay:?}");
    assert_eq!(replay.kind(), SignInErrorKind::Rejected);
    assert_eq!(
        idp.token_requests().len(),
        1,
        "a replayed callback reaches no upstream"
    );
}

#[tokio::test]
async fn a_missing_or_invented_state_is_refused() {
    let idp = idp().await;
    let sign_in = SignIn::new().provider(oidc(&idp, "corp"));
    let mut browser = Browser::new();
    browser.start(&sign_in, "corp").await;
    let missing = browser
        .finish(&sign_in, "corp", "code=abc")
        .await
        .unwrap_err();
    assert!(
        matches!(missing, SignInError::MalformedCallback(_)),
        "{missing:?}"
    );
    let invented = browser
        .finish(&sign_in, "corp", "code=abc&state=invented")
        .await
        .unwrap_err();
    assert!(
        matches!(invented, SignInError::UnknownState),
        "{invented:?}"
    );
}

#[tokio::test]
async fn a_callback_in_another_browser_is_login_csrf_and_refused() {
    let idp = idp().await;
    let sign_in = SignIn::new().provider(oidc(&idp, "corp"));
    // The attacker starts a sign-in and gets the callback URL for their own account…
    let mut attacker = Browser::new();
    let url = attacker.start(&sign_in, "corp").await;
    let query = attacker.authorize(&url).await;
    // …and makes the victim's browser open it: with the victim's own binding cookie, or none.
    let mut victim = Browser::new();
    victim.start(&sign_in, "corp").await;
    let error = victim.finish(&sign_in, "corp", &query).await.unwrap_err();
    assert!(matches!(error, SignInError::OtherBrowser), "{error:?}");
    let cookieless = Browser::new().finish(&sign_in, "corp", &query).await;
    assert!(cookieless.is_err());
    assert!(
        idp.token_requests().is_empty(),
        "the code was never redeemed"
    );
}

#[tokio::test]
async fn two_binding_cookies_are_trusted_neither() {
    let idp = idp().await;
    let sign_in = SignIn::new().provider(oidc(&idp, "corp"));
    let mut browser = Browser::new();
    let url = browser.start(&sign_in, "corp").await;
    let query = browser.authorize(&url).await;
    let planted = "__Host-warden-sign-in=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    browser.cookie = Some(format!("{}; {planted}", browser.cookie.clone().unwrap()));
    let error = browser.finish(&sign_in, "corp", &query).await.unwrap_err();
    assert!(matches!(error, SignInError::OtherBrowser), "{error:?}");
}

#[tokio::test]
async fn two_tabs_keep_one_binding_and_both_finish() {
    let idp = idp().await;
    let sign_in = SignIn::new().provider(oidc(&idp, "corp"));
    let mut browser = Browser::new();
    let first = browser.start(&sign_in, "corp").await;
    let cookie = browser.cookie.clone();
    let second = browser.start(&sign_in, "corp").await;
    assert_eq!(browser.cookie, cookie, "the binding cookie is reused");
    let q1 = browser.authorize(&first).await;
    let q2 = browser.authorize(&second).await;
    browser.finish(&sign_in, "corp", &q2).await.unwrap();
    browser.finish(&sign_in, "corp", &q1).await.unwrap();
}

#[tokio::test]
async fn a_response_delivered_to_another_providers_callback_is_a_mix_up() {
    let honest = idp().await;
    let other = idp().await;
    let sign_in = SignIn::new()
        .provider(oidc(&honest, "corp"))
        .provider(oidc(&other, "other"));
    let mut browser = Browser::new();
    let url = browser.start(&sign_in, "corp").await;
    let query = browser.authorize(&url).await;
    let error = browser.finish(&sign_in, "other", &query).await.unwrap_err();
    assert!(matches!(error, SignInError::WrongProvider), "{error:?}");
    assert!(honest.token_requests().is_empty() && other.token_requests().is_empty());
}

#[tokio::test]
async fn the_authorization_response_issuer_is_checked() {
    let idp = idp().await;
    let sign_in = SignIn::new().provider(oidc(&idp, "corp"));
    for misbehaviour in [
        Misbehaviour::WrongIssInCallback,
        Misbehaviour::NoIssInCallback,
    ] {
        idp.set_misbehaviour(misbehaviour.clone());
        let error = sign_in_through(&sign_in, "corp").await.unwrap_err();
        assert!(
            matches!(error, SignInError::IssuerMismatch),
            "{misbehaviour:?}: {error:?}"
        );
    }
    assert!(
        idp.token_requests().is_empty(),
        "no code redeemed at the wrong issuer"
    );
}

/// What a forged case must fail with.
type Expected = fn(&SignInError) -> bool;

#[tokio::test]
async fn forged_id_tokens_are_refused() {
    let idp = idp().await;
    let sign_in = SignIn::new().provider(oidc(&idp, "corp"));
    let cases: Vec<(Misbehaviour, Expected)> = vec![
        (Misbehaviour::AlgNone, |e| {
            matches!(
                e,
                SignInError::IdToken(JwtError::UnknownKey | JwtError::Malformed(_))
            )
        }),
        (Misbehaviour::Hs256WithPublicKey, |e| {
            matches!(e, SignInError::IdToken(JwtError::UnknownKey))
        }),
        (Misbehaviour::Unsigned, |e| {
            matches!(e, SignInError::IdToken(_))
        }),
        (Misbehaviour::SignedWithUnpublishedKey, |e| {
            matches!(e, SignInError::IdToken(JwtError::BadSignature))
        }),
        (Misbehaviour::UnknownKid, |e| {
            matches!(e, SignInError::IdToken(JwtError::UnknownKey))
        }),
        (Misbehaviour::WrongAudience, |e| {
            matches!(e, SignInError::IdToken(JwtError::WrongAudience))
        }),
        (Misbehaviour::ExtraUntrustedAudience, |e| {
            matches!(e, SignInError::UntrustedAudience)
        }),
        (Misbehaviour::WrongIssuerInIdToken, |e| {
            matches!(e, SignInError::IdToken(JwtError::WrongIssuer))
        }),
        (Misbehaviour::WrongNonce, |e| {
            matches!(e, SignInError::NonceMismatch)
        }),
        (Misbehaviour::MissingNonce, |e| {
            matches!(e, SignInError::NonceMismatch)
        }),
        (Misbehaviour::Expired, |e| {
            matches!(e, SignInError::IdToken(JwtError::Expired))
        }),
        (Misbehaviour::IssuedInFuture, |e| {
            matches!(e, SignInError::IdToken(JwtError::IssuedInFuture))
        }),
        (Misbehaviour::UserinfoSubMismatch, |e| {
            matches!(e, SignInError::SubjectMismatch)
        }),
    ];
    for (misbehaviour, expected) in cases {
        idp.set_misbehaviour(misbehaviour.clone());
        let error = sign_in_through(&sign_in, "corp").await.unwrap_err();
        assert!(expected(&error), "{misbehaviour:?}: {error:?}");
        assert_ne!(error.kind(), SignInErrorKind::Rejected, "{misbehaviour:?}");
    }
    idp.set_misbehaviour(Misbehaviour::None);
    sign_in_through(&sign_in, "corp")
        .await
        .expect("honest again");
}

#[tokio::test]
async fn a_hostile_or_broken_token_endpoint_is_an_upstream_failure() {
    let idp = idp().await;
    let sign_in = SignIn::new().provider(oidc(&idp, "corp"));
    for misbehaviour in [
        Misbehaviour::TokenRedirect,
        Misbehaviour::SlowToken(Duration::from_secs(5)),
        Misbehaviour::HugeToken,
        Misbehaviour::GarbageToken,
        Misbehaviour::UserinfoGarbage,
    ] {
        idp.set_misbehaviour(misbehaviour.clone());
        let error = sign_in_through(&sign_in, "corp").await.unwrap_err();
        assert!(
            matches!(error, SignInError::Upstream { .. }),
            "{misbehaviour:?}: {error:?}"
        );
        assert_eq!(error.kind(), SignInErrorKind::Unavailable);
    }
    assert_eq!(
        idp.redirect_target_hits(),
        0,
        "redirects are never followed"
    );
    idp.set_misbehaviour(Misbehaviour::TokenErrorWith200);
    let error = sign_in_through(&sign_in, "corp").await.unwrap_err();
    assert!(
        matches!(&error, SignInError::TokenEndpoint { error } if error == "invalid_grant"),
        "{error:?}"
    );
}

#[tokio::test]
async fn discovery_must_name_the_configured_issuer_and_a_failure_is_retried() {
    let idp = idp().await;
    let sign_in = SignIn::new().provider(oidc(&idp, "corp"));
    idp.set_misbehaviour(Misbehaviour::DiscoveryIssuerMismatch);
    let error = sign_in
        .start("corp", &HeaderMap::new(), None)
        .await
        .unwrap_err();
    assert!(matches!(error, SignInError::Discovery(_)), "{error:?}");
    idp.set_misbehaviour(Misbehaviour::SlowDiscovery(Duration::from_secs(5)));
    let error = sign_in
        .start("corp", &HeaderMap::new(), None)
        .await
        .unwrap_err();
    assert!(matches!(error, SignInError::Discovery(_)), "{error:?}");
    idp.set_misbehaviour(Misbehaviour::None);
    sign_in_through(&sign_in, "corp")
        .await
        .expect("discovered on the next sign-in");
}

#[tokio::test]
async fn a_refusal_upstream_is_reported_without_redeeming_anything() {
    let idp = idp().await;
    let sign_in = SignIn::new().provider(oidc(&idp, "corp"));
    let mut browser = Browser::new();
    let url = browser.start(&sign_in, "corp").await;
    let state = url
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let query = format!(
        "error=access_denied%3Cscript%3E&state={state}&iss={}",
        urlencode(&idp.issuer())
    );
    let error = browser.finish(&sign_in, "corp", &query).await.unwrap_err();
    assert!(
        matches!(&error, SignInError::Denied { error } if error == "access_deniedscript"),
        "{error:?}"
    );
}

#[tokio::test]
async fn explicit_endpoints_skip_discovery() {
    let idp = idp().await;
    let provider = Provider::openid_connect("corp", idp.issuer())
        .client_id(idp.client_id())
        .client_secret(idp.client_secret())
        .redirect_uri(callback_uri("corp"))
        .endpoints(Endpoints {
            authorization: idp.authorization_endpoint(),
            token: idp.token_endpoint(),
            userinfo: Some(idp.userinfo_endpoint()),
            jwks_uri: idp.jwks_uri(),
            authorization_response_iss: true,
        })
        .build()
        .unwrap();
    sign_in_through(&SignIn::new().provider(provider), "corp")
        .await
        .unwrap();
    assert_eq!(idp.discovery_requests(), 0);
}

#[test]
fn callbacks_are_parsed_strictly() {
    for query in ["code=a&code=b&state=s", "state=a&state=b", "iss=a&iss=b"] {
        assert!(
            matches!(
                Callback::parse(query),
                Err(SignInError::MalformedCallback(_))
            ),
            "{query}"
        );
    }
    let long = format!("code={}&state=s", "a".repeat(5000));
    assert!(Callback::parse(&long).is_err());
    assert!(
        Callback::parse(&"x=1&".repeat(3000)).is_err(),
        "query bounded"
    );
}

#[test]
fn bad_configuration_is_refused_at_build() {
    let base = || Provider::openid_connect("p", "https://idp.example").client_id("c");
    assert!(base().redirect_uri("not a url").build().is_err());
    assert!(base().redirect_uri("javascript:alert(1)").build().is_err());
    assert!(
        Provider::openid_connect("p", "ftp://idp")
            .client_id("c")
            .redirect_uri("https://a/cb")
            .build()
            .is_err()
    );
    assert!(
        Provider::github("g")
            .redirect_uri("https://a/cb")
            .build()
            .is_err(),
        "client id required"
    );
}

fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

// GitHub

fn octocat(emails: Vec<GitHubEmail>) -> GitHubUser {
    GitHubUser {
        emails,
        ..GitHubUser::default()
    }
}

fn email(address: &str, primary: bool, verified: bool) -> GitHubEmail {
    GitHubEmail {
        email: address.into(),
        primary,
        verified,
        visibility: None,
    }
}

#[tokio::test]
async fn github_signs_in_by_numeric_id_with_the_verified_primary_email() {
    let emulator = GitHubEmulator::start().await;
    let sign_in = SignIn::new().provider(github(&emulator));
    emulator.set_user(octocat(vec![
        email("old@example.com", false, true),
        email("octo@example.com", true, true),
    ]));
    let who = sign_in_through(&sign_in, "github").await.unwrap();
    assert_eq!(who.subject, "583231");
    assert_eq!(who.username.as_deref(), Some("octocat"));
    assert_eq!(who.email.as_deref(), Some("octo@example.com"));
    assert!(who.email_verified);
    let token = &emulator.token_requests()[0];
    assert_eq!(token.accept.as_deref(), Some("application/json"));
    assert!(
        token.param("code_verifier").is_some(),
        "PKCE with GitHub too"
    );
}

#[tokio::test]
async fn github_without_a_verified_primary_email_gives_no_email() {
    let emulator = GitHubEmulator::start().await;
    let sign_in = SignIn::new().provider(github(&emulator));
    for emails in [
        vec![email("octo@example.com", true, false)],
        vec![
            email("octo@example.com", true, false),
            email("other@example.com", false, true),
        ],
        vec![],
    ] {
        emulator.set_user(octocat(emails.clone()));
        let who = sign_in_through(&sign_in, "github").await.unwrap();
        assert_eq!(who.email, None, "{emails:?}");
        assert!(!who.email_verified);
    }
}

#[tokio::test]
async fn github_errors_sent_with_http_200_are_errors() {
    let emulator = GitHubEmulator::start().await;
    let sign_in = SignIn::new().provider(github(&emulator));
    let mut browser = Browser::new();
    let url = browser.start(&sign_in, "github").await;
    let query = browser.authorize(&url).await;
    let state = query
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let forged = format!("code=not-a-code&state={state}");
    let error = browser
        .finish(&sign_in, "github", &forged)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SignInError::TokenEndpoint { error } if error == "bad_verification_code"),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_issuer_in_a_github_callback_means_it_was_meant_for_another_provider() {
    let emulator = GitHubEmulator::start().await;
    let sign_in = SignIn::new().provider(github(&emulator));
    let mut browser = Browser::new();
    let url = browser.start(&sign_in, "github").await;
    let query = browser.authorize(&url).await;
    let error = browser
        .finish(
            &sign_in,
            "github",
            &format!("{query}&iss=https%3A%2F%2Fidp.example"),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, SignInError::IssuerMismatch), "{error:?}");
}

#[tokio::test]
async fn an_expired_pending_sign_in_is_refused_without_redeeming() {
    let idp = idp().await;
    let provider = oidc(&idp, "corp");
    let (url, pending) = provider.begin(None).await.unwrap();
    // Eleven minutes old: past SIGN_IN_LIFETIME (a store that kept it too long).
    let mut record = serde_json::to_value(&pending).unwrap();
    record["created_at"] = (record["created_at"].as_u64().unwrap() - 660).into();
    let stale = serde_json::from_value(record).unwrap();
    let query = Browser::new().authorize(&url).await;
    let error = provider
        .complete(stale, &Callback::parse(&query).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(error, SignInError::UnknownState), "{error:?}");
    assert!(idp.token_requests().is_empty());
    // The fresh record completes.
    provider
        .complete(pending, &Callback::parse(&query).unwrap())
        .await
        .unwrap();
}
