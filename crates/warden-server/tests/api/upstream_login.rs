//! Signing in through an upstream provider, over real HTTP: the login page's button, the
//! provider (a misbehaving-on-demand OpenID provider from `upstream-fixtures`, in process),
//! the callback, and what it does to local accounts — sign-up, linking only by a verified
//! email on both sides with the administrator's consent, proving an existing account first,
//! disabled accounts, second factors, role mapping — and the callback attacks.

use std::collections::BTreeMap;

use serde_json::Value;
use upstream_fixtures::{FakeIdp, FakeUser, Misbehaviour};
use warden_server::domain::{ProviderKind, ProviderSettings};
use warden_server::storage::Storage;

use crate::authorization::{Browser, CB, Page, Req, client, pkce, redeem, verify_id_token};
use crate::backend::Server;

const PROVIDER: &str = "corp";

/// The settings a test starts from: `idp` as provider `corp`, nothing trusted.
fn settings(idp: &FakeIdp) -> ProviderSettings {
    ProviderSettings {
        id: PROVIDER.into(),
        display_name: "Corp IdP".into(),
        issuer: Some(idp.issuer()),
        client_id: idp.client_id(),
        ..settings_for_tests()
    }
}

/// A provider registered at the server, the IdP knowing the server's callback.
async fn provider(s: &Server, change: impl FnOnce(&mut ProviderSettings)) -> FakeIdp {
    let idp = FakeIdp::start().await;
    idp.add_redirect_uri(s.url(&format!("/authorize/upstream/{PROVIDER}/callback")));
    let mut settings = settings(&idp);
    change(&mut settings);
    s.warden
        .create_provider(settings, Some(idp.client_secret().into()), None)
        .await
        .unwrap();
    idp
}

/// The browser's trip: the login page, the provider's button, the provider, back at the
/// callback. The page the callback answers.
async fn through_upstream(s: &Server, browser: &Browser, request: &Req) -> Page {
    let login = browser.authorize(request).await;
    assert!(login.is_login(), "{}", login.body);
    assert!(
        login.body.contains("Sign in with Corp IdP"),
        "{}",
        login.body
    );
    let fields = login.form_fields(&format!("upstream-{PROVIDER}"));
    let leave = browser
        .post(&format!("/authorize/upstream/{PROVIDER}"), &fields)
        .await;
    assert_eq!(leave.status, 303, "{}", leave.body);
    let at_idp = leave.location().unwrap().to_owned();
    callback_from(s, browser, &at_idp).await
}

/// Follows the provider's authorization URL (which signs its configured user in) back to
/// the server's callback in `browser`.
async fn callback_from(s: &Server, browser: &Browser, at_idp: &str) -> Page {
    let back = callback_url(at_idp).await;
    let path = back
        .strip_prefix(&s.base)
        .expect("back at the server")
        .to_owned();
    browser.get(&path).await
}

async fn callback_url(at_idp: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = http.get(at_idp).send().await.unwrap();
    assert_eq!(answer.status(), 302, "{:?}", answer.text().await);
    answer.headers()["location"].to_str().unwrap().to_owned()
}

/// The ID token's claims after redeeming the code `page` redirects with.
async fn id_token(
    s: &Server,
    client_id: &str,
    verifier: &str,
    page: &Page,
) -> serde_json::Map<String, Value> {
    let params = page.redirect_to(CB);
    let code = params
        .get("code")
        .unwrap_or_else(|| panic!("no code: {params:?}\n{}", page.body));
    let (status, tokens) = redeem(s, client_id, code, Some(verifier)).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = verify_id_token(s, tokens["id_token"].as_str().unwrap(), client_id).await;
    let mut all = claims.extra.clone();
    all.insert("sub".into(), claims.sub.clone().into());
    all.insert("amr".into(), serde_json::to_value(&claims.amr).unwrap());
    all.insert("acr".into(), serde_json::to_value(&claims.acr).unwrap());
    all
}

async fn events(s: &Server) -> Vec<(String, String)> {
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
        .map(|e| (e.event, e.outcome))
        .collect()
}

pub async fn upstream_sign_up_creates_an_account_keyed_by_subject(s: &Server) {
    let idp = provider(s, |p| p.allow_signup = true).await;
    let (client_id, _) = client(s, true, true).await;
    let (verifier, challenge) = pkce();
    let browser = Browser::new(s);
    let page = through_upstream(s, &browser, &Req::new(&client_id, Some(&challenge))).await;
    let claims = id_token(s, &client_id, &verifier, &page).await;
    assert_eq!(claims["amr"], serde_json::json!(["fed"]), "{claims:?}");
    assert_eq!(
        claims["acr"], "urn:warden:acr:pwd",
        "one factor, as far as we know"
    );
    let user_id = claims["sub"].as_str().unwrap().to_owned();
    let user = s
        .warden
        .storage()
        .user_by_id(&user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.username, "jane");
    assert_eq!(user.email.as_deref(), Some("jane@example.com"));
    assert!(
        !user.email_verified,
        "not trusted for email: not verified here"
    );
    // The password form cannot sign in to it (it has none).
    let (verifier2, challenge2) = pkce();
    let other = Browser::new(s);
    let login = other
        .authorize(&Req::new(&client_id, Some(&challenge2)))
        .await;
    let refused = other.login(&login, "jane", "").await;
    assert!(refused.is_login());

    // The same subject again, with another email upstream: the same account.
    idp.set_user(FakeUser {
        email: Some("jane.doe@example.org".into()),
        ..FakeUser::default()
    });
    let again = Browser::new(s);
    let page = through_upstream(s, &again, &Req::new(&client_id, Some(&challenge2))).await;
    let claims = id_token(s, &client_id, &verifier2, &page).await;
    assert_eq!(claims["sub"], user_id.as_str());
    let linked = s
        .warden
        .storage()
        .identities_of_user(&user_id)
        .await
        .unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].email.as_deref(), Some("jane.doe@example.org"));
    let events = events(s).await;
    assert!(
        events.contains(&("upstream_login".into(), "success".into())),
        "{events:?}"
    );
}

pub async fn upstream_without_sign_up_asks_to_prove_an_account_then_links(s: &Server) {
    let idp = provider(s, |_| {}).await;
    let password = s.user("alice", &[]).await;
    let (client_id, _) = client(s, true, true).await;
    let (verifier, challenge) = pkce();
    let request = Req::new(&client_id, Some(&challenge));
    let browser = Browser::new(s);
    let page = through_upstream(s, &browser, &request).await;
    assert!(page.is_login(), "{}", page.body);
    assert!(page.body.contains("will be linked"), "{}", page.body);
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with("warden_upstream_link="))
    );
    let page = browser.login(&page, "alice", &password).await;
    let claims = id_token(s, &client_id, &verifier, &page).await;
    let alice = s
        .warden
        .storage()
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claims["sub"], alice.id.as_str());
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    // Linked: the next sign-in through the provider goes straight to alice.
    let (verifier, challenge) = pkce();
    let next = Browser::new(s);
    let page = through_upstream(s, &next, &Req::new(&client_id, Some(&challenge))).await;
    let claims = id_token(s, &client_id, &verifier, &page).await;
    assert_eq!(claims["sub"], alice.id.as_str());
    assert_eq!(claims["amr"], serde_json::json!(["fed"]));
    let events = events(s).await;
    assert!(
        events.contains(&("identity_linked".into(), "success".into())),
        "{events:?}"
    );

    // A session that existed before the identity was verified never gets it: on a shared
    // browser, whoever is signed in is not who just signed in upstream.
    idp.set_user(FakeUser {
        sub: "someone-else".into(),
        email: None,
        ..FakeUser::default()
    });
    let carol_password = s.user("carol", &[]).await;
    let shared = Browser::new(s);
    let (_, challenge) = pkce();
    let request = Req::new(&client_id, Some(&challenge));
    let login = shared.authorize(&request).await;
    shared.login(&login, "carol", &carol_password).await;
    // `prompt=login`: the login page although carol is signed in, and its provider button.
    let again = Req::new(&client_id, Some(&challenge)).set("prompt", "login");
    let page = through_upstream(s, &shared, &again).await;
    assert!(page.body.contains("will be linked"), "{}", page.body);
    let page = shared.authorize(&request).await;
    assert_eq!(page.status, 303, "carol's session goes on: {}", page.body);
    assert!(
        s.warden
            .storage()
            .identity(PROVIDER, "someone-else")
            .await
            .unwrap()
            .is_none(),
        "linked to a session older than the upstream sign-in"
    );
}

pub async fn upstream_links_by_email_only_when_verified_on_both_sides_and_trusted(s: &Server) {
    // (trust_email, upstream says verified, local verified) → linked automatically?
    let cases = [
        (true, true, true, true),
        (false, true, true, false),
        (true, false, true, false),
        (true, true, false, false),
    ];
    let (client_id, _) = client(s, true, true).await;
    for (n, (trust, upstream_verified, local_verified, links)) in cases.into_iter().enumerate() {
        let id = format!("idp{n}");
        let idp = FakeIdp::start().await;
        idp.add_redirect_uri(s.url(&format!("/authorize/upstream/{id}/callback")));
        let email = format!("user{n}@example.com");
        idp.set_user(FakeUser {
            sub: format!("upstream-{n}"),
            email: Some(email.clone()),
            email_verified: upstream_verified,
            ..FakeUser::default()
        });
        let mut settings = settings(&idp);
        settings.id = id.clone();
        settings.trust_email = trust;
        // Sign-up on: an email collision must still not create a second account.
        settings.allow_signup = true;
        s.warden
            .create_provider(settings, Some(idp.client_secret().into()), None)
            .await
            .unwrap();
        let username = format!("local{n}");
        s.user_with_email(&username, &email, &[]).await;
        let local = s
            .warden
            .storage()
            .user_by_username(&username)
            .await
            .unwrap()
            .unwrap();
        s.warden
            .storage()
            .set_user_email_verified(&local.id, local_verified, 0)
            .await
            .unwrap();

        let (verifier, challenge) = pkce();
        let browser = Browser::new(s);
        let login = browser
            .authorize(&Req::new(&client_id, Some(&challenge)))
            .await;
        let leave = browser
            .post(
                &format!("/authorize/upstream/{id}"),
                &login.form_fields(&format!("upstream-{id}")),
            )
            .await;
        let page = callback_from(s, &browser, leave.location().unwrap()).await;
        if links {
            let claims = id_token(s, &client_id, &verifier, &page).await;
            assert_eq!(claims["sub"], local.id.as_str(), "case {n}");
        } else {
            assert!(page.is_login(), "case {n}: {}", page.body);
            assert!(
                s.warden
                    .storage()
                    .identity(&id, &format!("upstream-{n}"))
                    .await
                    .unwrap()
                    .is_none(),
                "case {n}"
            );
            assert_eq!(
                s.warden
                    .storage()
                    .users_by_email(&email)
                    .await
                    .unwrap()
                    .len(),
                1,
                "case {n}: no second account"
            );
        }
    }
}

pub async fn upstream_disabled_accounts_stay_disabled(s: &Server) {
    let _idp = provider(s, |p| p.allow_signup = true).await;
    let (client_id, _) = client(s, true, true).await;
    let (verifier, challenge) = pkce();
    let page = through_upstream(s, &Browser::new(s), &Req::new(&client_id, Some(&challenge))).await;
    let claims = id_token(s, &client_id, &verifier, &page).await;
    let user = s
        .warden
        .storage()
        .user_by_id(claims["sub"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    s.warden.set_disabled(&user.username, true).await.unwrap();
    let (_, challenge) = pkce();
    let page = through_upstream(s, &Browser::new(s), &Req::new(&client_id, Some(&challenge))).await;
    assert!(page.is_login(), "{}", page.body);
    assert!(page.body.contains("disabled"), "{}", page.body);
}

pub async fn upstream_sign_in_does_not_satisfy_mfa_unless_trusted(s: &Server) {
    let idp = provider(s, |_| {}).await;
    idp.set_user(FakeUser {
        amr: Some(vec!["pwd".into(), "otp".into(), "mfa".into()]),
        ..FakeUser::default()
    });
    let password = s.user("bob", &[]).await;
    crate::mfa::enrol(s, "bob", &password).await;
    let bob = s
        .warden
        .storage()
        .user_by_username("bob")
        .await
        .unwrap()
        .unwrap();
    let link = warden_server::storage::LinkedIdentity {
        provider_id: PROVIDER.into(),
        subject: FakeUser::default().sub,
        user_id: bob.id.clone(),
        email: None,
        email_verified: false,
        linked_at: 0,
        last_login_at: None,
    };
    s.warden.storage().link_identity(&link).await.unwrap();
    let (client_id, _) = client(s, true, true).await;
    let (_, challenge) = pkce();
    let page = through_upstream(s, &Browser::new(s), &Req::new(&client_id, Some(&challenge))).await;
    assert!(
        page.form_action()
            .is_some_and(|a| a.ends_with("/authorize/second-factor")),
        "the upstream's mfa is not ours to believe: {}",
        page.body
    );
    // Trusted for MFA: the upstream's amr counts.
    let mut trusted = settings(&idp);
    trusted.trust_mfa = true;
    s.warden
        .update_provider(
            PROVIDER,
            trusted,
            warden_server::domain::SecretChange::Keep,
            None,
        )
        .await
        .unwrap();
    let (verifier, challenge) = pkce();
    let page = through_upstream(s, &Browser::new(s), &Req::new(&client_id, Some(&challenge))).await;
    let claims = id_token(s, &client_id, &verifier, &page).await;
    assert_eq!(
        claims["amr"],
        serde_json::json!(["fed", "pwd", "otp", "mfa"])
    );
    assert_eq!(claims["acr"], warden::MFA_ACR);
}

pub async fn upstream_groups_map_to_roles_on_every_sign_in(s: &Server) {
    s.role("admin", &["admin"]).await;
    s.role("staff", &["staff"]).await;
    let idp = provider(s, |p| {
        p.allow_signup = true;
        p.roles_claim = Some("groups".into());
        p.role_map = BTreeMap::from([("idp-admins".into(), "admin".into())]);
    })
    .await;
    idp.set_user(FakeUser {
        groups: vec!["idp-admins".into(), "other".into()],
        ..FakeUser::default()
    });
    let (client_id, _) = client(s, true, true).await;
    let (verifier, challenge) = pkce();
    let page = through_upstream(s, &Browser::new(s), &Req::new(&client_id, Some(&challenge))).await;
    let claims = id_token(s, &client_id, &verifier, &page).await;
    let id = claims["sub"].as_str().unwrap().to_owned();
    assert_eq!(
        s.warden
            .storage()
            .user_by_id(&id)
            .await
            .unwrap()
            .unwrap()
            .roles,
        ["admin"]
    );
    // An unmapped role given locally stays; the mapped one follows the upstream.
    s.warden
        .storage()
        .set_user_roles(&id, &["staff".into(), "admin".into()])
        .await
        .unwrap();
    idp.set_user(FakeUser::default());
    let (_, challenge) = pkce();
    through_upstream(s, &Browser::new(s), &Req::new(&client_id, Some(&challenge))).await;
    assert_eq!(
        s.warden
            .storage()
            .user_by_id(&id)
            .await
            .unwrap()
            .unwrap()
            .roles,
        ["staff"]
    );
}

pub async fn upstream_callback_attacks_are_refused(s: &Server) {
    let idp = provider(s, |p| p.allow_signup = true).await;
    let (client_id, _) = client(s, true, true).await;
    let (_, challenge) = pkce();
    let request = Req::new(&client_id, Some(&challenge));

    // Replay: the same callback twice.
    let browser = Browser::new(s);
    let login = browser.authorize(&request).await;
    let leave = browser
        .post(
            &format!("/authorize/upstream/{PROVIDER}"),
            &login.form_fields("upstream-corp"),
        )
        .await;
    let back = callback_url(leave.location().unwrap()).await;
    let path = back.strip_prefix(&s.base).unwrap().to_owned();
    assert_eq!(browser.get(&path).await.status, 303);
    assert!(
        browser.get(&path).await.is_error_page(400),
        "a callback works once"
    );

    // Login CSRF: the attacker's callback in the victim's browser.
    let attacker = Browser::new(s);
    let login = attacker.authorize(&request).await;
    let leave = attacker
        .post(
            &format!("/authorize/upstream/{PROVIDER}"),
            &login.form_fields("upstream-corp"),
        )
        .await;
    let back = callback_url(leave.location().unwrap()).await;
    let victim = Browser::new(s);
    victim.authorize(&request).await;
    let page = victim.get(back.strip_prefix(&s.base).unwrap()).await;
    assert!(page.is_error_page(400), "{}", page.body);
    assert!(!victim.signed_in(&client_id).await);

    // Mix-up: a callback at another provider's route.
    let browser = Browser::new(s);
    let login = browser.authorize(&request).await;
    let leave = browser
        .post(
            &format!("/authorize/upstream/{PROVIDER}"),
            &login.form_fields("upstream-corp"),
        )
        .await;
    let back = callback_url(leave.location().unwrap()).await;
    let elsewhere = back.replace("/upstream/corp/", "/upstream/other/");
    assert!(
        browser
            .get(elsewhere.strip_prefix(&s.base).unwrap())
            .await
            .is_error_page(400)
    );

    // Malformed callbacks.
    for query in [
        "",
        "?code=x",
        "?state=x&state=y",
        &format!("?state={}", "a".repeat(9000)),
    ] {
        let page = browser
            .get(&format!("/authorize/upstream/{PROVIDER}/callback{query}"))
            .await;
        assert!(
            page.status == 400 || page.status == 414,
            "{query}: {}",
            page.status
        );
    }

    // Forged ID tokens and a broken upstream: back to the login page, saying so; nobody in.
    for (misbehaviour, says) in [
        (Misbehaviour::AlgNone, "could not be verified"),
        (Misbehaviour::WrongNonce, "could not be verified"),
        (Misbehaviour::UserinfoSubMismatch, "could not be verified"),
        (Misbehaviour::GarbageToken, "unavailable"),
        (Misbehaviour::TokenRedirect, "unavailable"),
    ] {
        idp.set_misbehaviour(misbehaviour.clone());
        let browser = Browser::new(s);
        let page = through_upstream(s, &browser, &request).await;
        assert!(
            page.is_login() && page.body.contains(says),
            "{misbehaviour:?}: {}",
            page.body
        );
        assert!(!browser.signed_in(&client_id).await, "{misbehaviour:?}");
    }
    assert_eq!(idp.redirect_target_hits(), 0);
    let events = events(s).await;
    assert!(
        events.contains(&("upstream_login".into(), "forged".into())),
        "{events:?}"
    );
}

pub async fn upstream_down_gives_the_login_page_not_a_5xx(s: &Server) {
    let idp = provider(s, |_| {}).await;
    let (client_id, _) = client(s, true, true).await;
    let (_, challenge) = pkce();
    let browser = Browser::new(s);
    let login = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    drop(idp); // discovery now finds nobody
    let page = browser
        .post(
            &format!("/authorize/upstream/{PROVIDER}"),
            &login.form_fields("upstream-corp"),
        )
        .await;
    assert!(page.is_login(), "{}: {}", page.status, page.body);
    assert!(page.body.contains("unavailable"), "{}", page.body);
    // An unknown provider, a forged form.
    let page = browser
        .post(
            "/authorize/upstream/nobody",
            &login.form_fields("upstream-corp"),
        )
        .await;
    assert_eq!(page.status, 404);
    let mut forged = login.form_fields("upstream-corp");
    forged.retain(|(k, _)| k != "csrf_token");
    forged.push(("csrf_token".into(), "forged".into()));
    assert_eq!(
        browser
            .post(&format!("/authorize/upstream/{PROVIDER}"), &forged)
            .await
            .status,
        403
    );
}

/// Warden federating to Warden: server `s` signs its users in through another Warden
/// (`upstream`, at `http://localhost:PORT` so the two servers' cookies never mix), where
/// the user types the password; the upstream's verified address is believed.
pub async fn upstream_warden_federates_to_another_warden(s: &Server) {
    let upstream = Server::sqlite(crate::backend::Options {
        localhost: true,
        ..Default::default()
    })
    .await;
    let password = upstream
        .user_with_email("ann", "ann@example.com", &[])
        .await;
    let ann = upstream
        .warden
        .storage()
        .user_by_username("ann")
        .await
        .unwrap()
        .unwrap();
    upstream
        .warden
        .storage()
        .set_user_email_verified(&ann.id, true, 0)
        .await
        .unwrap();
    let callback = s.url("/authorize/upstream/warden-a/callback");
    let (upstream_client, upstream_secret) = upstream
        .register_client(warden_server::domain::NewClient {
            name: "Downstream Warden".into(),
            public: false,
            redirect_uris: vec![callback.clone()],
            grant_types: vec!["authorization_code".into()],
            first_party: true,
            ..warden_server::domain::NewClient::default()
        })
        .await;
    let mut settings = ProviderSettings {
        id: "warden-a".into(),
        display_name: "Warden A".into(),
        issuer: Some(upstream.base.clone()),
        client_id: upstream_client,
        allow_signup: true,
        trust_email: true,
        ..settings_for_tests()
    };
    settings.kind = ProviderKind::Oidc;
    s.warden
        .create_provider(settings, upstream_secret.map(Into::into), None)
        .await
        .unwrap();

    let (client_id, _) = client(s, true, true).await;
    let (verifier, challenge) = pkce();
    let browser = Browser::new(s);
    let login = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    assert!(
        login.body.contains("Sign in with Warden A"),
        "{}",
        login.body
    );
    let leave = browser
        .post(
            "/authorize/upstream/warden-a",
            &login.form_fields("upstream-warden-a"),
        )
        .await;
    let at_upstream = leave.location().expect("to the upstream").to_owned();
    assert!(
        at_upstream.starts_with(&format!("{}/authorize?", upstream.base)),
        "{at_upstream}"
    );
    assert!(at_upstream.contains("code_challenge_method=S256") && at_upstream.contains("nonce="));
    // The upstream's own login page: the password there.
    let upstream_login = browser.get_url(&at_upstream).await;
    assert!(upstream_login.is_login(), "{}", upstream_login.body);
    let action = upstream_login.form_action().unwrap();
    let mut form = upstream_login.fields();
    form.push(("username".into(), "ann".into()));
    form.push(("password".into(), password));
    let back = browser.post_url(&action, &form).await;
    let to_callback = back
        .location()
        .unwrap_or_else(|| panic!("{}", back.body))
        .to_owned();
    assert!(to_callback.starts_with(&callback), "{to_callback}");
    assert!(
        to_callback.contains("iss="),
        "Warden sends iss (RFC 9207): {to_callback}"
    );
    let page = browser.get_url(&to_callback).await;
    let claims = id_token(s, &client_id, &verifier, &page).await;
    assert_eq!(claims["amr"], serde_json::json!(["fed"]));
    let user = s
        .warden
        .storage()
        .user_by_id(claims["sub"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.username, "ann");
    assert_eq!(user.email.as_deref(), Some("ann@example.com"));
    assert!(
        user.email_verified,
        "verified upstream, provider trusted for email"
    );
    let linked = s
        .warden
        .storage()
        .identities_of_user(&user.id)
        .await
        .unwrap();
    assert_eq!(linked[0].subject, ann.id, "keyed by the upstream's subject");
    upstream.finish().await;
}

/// GitHub (emulated: GitHub cannot be reached from here) as a provider of the server.
pub async fn upstream_github_signs_in_by_numeric_id(s: &Server) {
    use upstream_fixtures::{GitHubEmail, GitHubEmulator, GitHubUser};
    let github = GitHubEmulator::start().await;
    github.add_redirect_uri(s.url("/authorize/upstream/github/callback"));
    github.set_user(GitHubUser {
        emails: vec![GitHubEmail {
            email: "octo@example.com".into(),
            primary: true,
            verified: false,
            visibility: None,
        }],
        ..GitHubUser::default()
    });
    let settings = ProviderSettings {
        id: "github".into(),
        display_name: "GitHub".into(),
        kind: ProviderKind::GitHub,
        issuer: None,
        authorization_endpoint: Some(github.authorize_url()),
        token_endpoint: Some(github.token_url()),
        api_base: Some(github.api_base()),
        client_id: github.client_id(),
        allow_signup: true,
        trust_email: true,
        ..settings_for_tests()
    };
    s.warden
        .create_provider(settings, Some(github.client_secret().into()), None)
        .await
        .unwrap();
    let (client_id, _) = client(s, true, true).await;
    let (verifier, challenge) = pkce();
    let browser = Browser::new(s);
    let login = browser
        .authorize(&Req::new(&client_id, Some(&challenge)))
        .await;
    let leave = browser
        .post(
            "/authorize/upstream/github",
            &login.form_fields("upstream-github"),
        )
        .await;
    let page = callback_from(s, &browser, leave.location().unwrap()).await;
    let claims = id_token(s, &client_id, &verifier, &page).await;
    let user = s
        .warden
        .storage()
        .user_by_id(claims["sub"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.username, "octocat");
    assert_eq!(
        user.email, None,
        "the primary address is unverified at GitHub: not taken"
    );
    let linked = s
        .warden
        .storage()
        .identities_of_user(&user.id)
        .await
        .unwrap();
    assert_eq!(linked[0].subject, "583231");
}

/// Settings with everything off, for struct-update syntax.
fn settings_for_tests() -> ProviderSettings {
    ProviderSettings {
        id: String::new(),
        display_name: String::new(),
        kind: ProviderKind::Oidc,
        issuer: None,
        authorization_endpoint: None,
        token_endpoint: None,
        userinfo_endpoint: None,
        jwks_uri: None,
        api_base: None,
        client_id: String::new(),
        scopes: Vec::new(),
        allow_signup: false,
        trust_email: false,
        trust_mfa: false,
        roles_claim: None,
        role_map: BTreeMap::new(),
        enabled: true,
    }
}
