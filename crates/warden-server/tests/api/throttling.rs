//! Login throttling counts failed attempts (issue 11): per account and address tightly, per
//! account loosely, per address for many users behind one NAT. A successful login gives its
//! attempt back, so no number of successes is ever refused, while rapid wrong passwords
//! still end in 429 with `Retry-After`.

use crate::backend::{Options, Server};

fn password_form<'a>(username: &'a str, password: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ]
}

/// A password grant, from `address` when given (`X-Forwarded-For`, believed when the server
/// trusts 127.0.0.1 as a proxy), else from 127.0.0.1.
async fn login_from(
    s: &Server,
    address: Option<&str>,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let mut request = s.client.post(s.url("/token"));
    if let Some(address) = address {
        request = request.header("x-forwarded-for", address);
    }
    request
        .form(&password_form(username, password))
        .send()
        .await
        .unwrap()
}

/// The `Retry-After` of a 429, checked to be there and sensible.
fn retry_after(response: &reqwest::Response) -> u64 {
    assert_eq!(response.status(), 429);
    let seconds: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&seconds), "Retry-After: {seconds}");
    seconds
}

pub async fn successful_logins_are_not_throttled(s: &Server) {
    let password = s.user("frequent", &[]).await;
    for i in 0..30 {
        let (status, body) = s.token(&password_form("frequent", &password)).await;
        assert_eq!(status, 200, "login {i}: {body}");
    }
    // The successes left the failure budget whole: ten failures (the default budget per
    // account and address), then 429, even for the right password.
    for i in 0..10 {
        let (status, body) = s.token(&password_form("frequent", "wrong-password")).await;
        assert_eq!(status, 400, "failure {i}: {body}");
    }
    let response = login_from(s, None, "frequent", &password).await;
    retry_after(&response);
}

/// Thirty wrong passwords at once: at most the budget's ten are checked, the others are
/// refused before any password work, each with `Retry-After`; then even the right password
/// waits. Counting happens before the password is verified, so parallel guesses cannot all
/// pass a check that has not yet counted any of them.
pub async fn rapid_wrong_passwords_end_in_429_with_retry_after(s: &Server) {
    let password = s.user("guessed", &[]).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let client = s.client.clone();
        let url = s.url("/token");
        tasks.spawn(async move {
            client
                .post(url)
                .form(&password_form("guessed", "wrong-password"))
                .send()
                .await
                .unwrap()
        });
    }
    let (mut failed, mut busy, mut throttled) = (0, 0, 0);
    while let Some(response) = tasks.join_next().await {
        let response = response.unwrap();
        match response.status().as_u16() {
            400 => failed += 1,
            // The hashing pool shed it: no password was checked (and nothing counted).
            503 => busy += 1,
            429 => {
                retry_after(&response);
                throttled += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(failed <= 10, "{failed} guesses checked, budget 10");
    assert!(failed + busy >= 10, "{failed} + {busy}");
    assert!(throttled >= 20, "{throttled} refused");
    // Sequentially now: whatever the pool shed is spent, then 429 for good.
    for _ in 0..busy {
        s.token(&password_form("guessed", "wrong-password")).await;
    }
    retry_after(&login_from(s, None, "guessed", "wrong-password").await);
    retry_after(&login_from(s, None, "guessed", &password).await);
    // An unknown name is throttled exactly alike.
    for _ in 0..10 {
        let (status, _) = s.token(&password_form("nobody-at-all", "x")).await;
        assert_eq!(status, 400);
    }
    retry_after(&login_from(s, None, "nobody-at-all", "x").await);
}

/// Many users behind one address (an office NAT, a kiosk, a test suite) are never refused
/// for succeeding: here 70 sign-ins from 127.0.0.1 under a per-address budget of 20. Failures
/// of different accounts from that address still spend that budget.
async fn many_users_behind_one_address_log_in(s: &Server) {
    let mut users = Vec::new();
    for i in 0..7 {
        let name = format!("office{i}");
        let password = s.user(&name, &[]).await;
        users.push((name, password));
    }
    for i in 0..70 {
        let (name, password) = &users[i % users.len()];
        let (status, body) = s.token(&password_form(name, password)).await;
        assert_eq!(status, 200, "sign-in {i} ({name}): {body}");
    }
    for i in 0..20 {
        let (status, _) = s
            .token(&password_form(&format!("stranger{i}"), "wrong-password"))
            .await;
        assert_eq!(status, 400, "failure {i}");
    }
    retry_after(&login_from(s, None, "stranger-last", "wrong-password").await);
}

fn per_address_options() -> Options {
    Options {
        login_attempts_per_ip: Some(20),
        ..Options::default()
    }
}

/// An attacker guessing from one address exhausts the budget of (account, his address), not
/// the account's: the user still signs in from elsewhere. Guessing from many addresses is
/// still capped by the looser per-account budget (15 here).
async fn an_attacker_elsewhere_cannot_lock_the_user_out(s: &Server) {
    let password = s.user("victim", &[]).await;
    let attacker = Some("203.0.113.66");
    let user = Some("198.51.100.7");
    for i in 0..30 {
        let response = login_from(s, attacker, "victim", "guess").await;
        if i < 10 {
            assert_eq!(response.status(), 400, "guess {i}");
        } else {
            retry_after(&response);
        }
    }
    let response = login_from(s, user, "victim", &password).await;
    assert_eq!(response.status(), 200, "the user is not locked out");
    assert_eq!(login_from(s, user, "victim", "typo").await.status(), 400);
    assert_eq!(login_from(s, user, "victim", &password).await.status(), 200);
    // Account budget: 15 failures from anywhere; 11 spent (10 guesses, 1 typo).
    let second = Some("192.0.2.44");
    for i in 0..4 {
        let response = login_from(s, second, "victim", "guess").await;
        assert_eq!(response.status(), 400, "second address, guess {i}");
    }
    retry_after(&login_from(s, second, "victim", "guess").await);
    retry_after(&login_from(s, user, "victim", &password).await);
}

fn proxied_options() -> Options {
    Options {
        trusted_proxies: vec!["127.0.0.1".into()],
        login_attempts_per_account: Some(15),
        ..Options::default()
    }
}

/// The scenarios that need options of their own, on both backends.
macro_rules! with_options {
    ($($scenario:ident: $options:expr),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let server = crate::backend::Server::sqlite($options).await;
                    super::$scenario(&server).await;
                    server.finish().await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    let Some(server) = crate::backend::Server::postgres($options).await else {
                        return;
                    };
                    super::$scenario(&server).await;
                    server.finish().await;
                }
            )+
        }
    };
}

with_options!(
    many_users_behind_one_address_log_in: super::per_address_options(),
    an_attacker_elsewhere_cannot_lock_the_user_out: super::proxied_options(),
);
