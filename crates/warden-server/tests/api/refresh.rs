//! Refresh-token rotation, reuse detection, concurrent refreshes and the optional grace for
//! a lost response (RFC 9700 §4.14.2).

use crate::backend::{Options, Server};

async fn login(s: &Server, user: &str) -> String {
    let password = s.user(user, &[]).await;
    let (_, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", &password),
        ])
        .await;
    body["refresh_token"].as_str().unwrap().to_owned()
}

/// Refreshes as the docs client, the public client `login` used (it identifies itself: only
/// the password grant may leave client authentication out).
async fn refresh(s: &Server, token: &str) -> (u16, serde_json::Value) {
    s.token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", "warden-docs"),
    ])
    .await
}

pub async fn refresh_rotates_and_reuse_revokes_the_family(s: &Server) {
    let first = login(s, "frank").await;
    let (status, body) = refresh(s, &first).await;
    assert_eq!(status, 200);
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second, "rotated");
    let (status, body) = refresh(s, &second).await;
    assert_eq!(status, 200);
    let third = body["refresh_token"].as_str().unwrap().to_owned();

    // `second` was used: by default a second use, however soon, is taken for theft (RFC
    // 9700 §4.14.2): refused, and the whole family — including `third` — is revoked.
    assert_eq!(
        s.warden.config().refresh_reuse_grace,
        0,
        "strict by default"
    );
    let (status, body) = refresh(s, &second).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = refresh(s, &third).await;
    assert_eq!(status, 400, "the family died with the reuse");

    // A refresh token works only for its client.
    let other = login(s, "frank2").await;
    let (id, secret) = s
        .confidential_client(&["refresh_token", "client_credentials"], &[])
        .await;
    let (status, _) = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &other),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(status, 400);
    // Scope never widens.
    let (status, body) = s
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &other),
            ("client_id", "warden-docs"),
            ("scope", "admin"),
        ])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

pub async fn concurrent_refreshes_never_fail_the_server(s: &Server) {
    let token = login(s, "grace").await;
    let results = futures_join(s, &token, 8).await;
    assert!(
        results
            .iter()
            .all(|(status, _)| *status == 200 || *status == 400),
        "{results:?}"
    );
    let winners: Vec<_> = results
        .iter()
        .filter(|(status, _)| *status == 200)
        .collect();
    // The token is used up atomically: exactly one use wins, and no sibling is minted.
    assert_eq!(winners.len(), 1, "{results:?}");
    // Under strict rotation the other uses are reuse: the family, the winner's new token
    // with it, is revoked.
    let next = winners[0].1["refresh_token"].as_str().unwrap();
    let (status, _) = refresh(s, next).await;
    assert_eq!(status, 400);
}

/// With a grace configured, a confidential client's retry of the same token (its first
/// response lost) gets the very same pair; once the successor has been used, a replay is
/// theft again. A public client gets no grace unless it is configured for public clients.
async fn grace_answers_a_retry_with_the_same_pair(s: &Server) {
    let password = s.user("retrier", &[]).await;
    let (id, secret) = s
        .confidential_client(&["password", "refresh_token"], &[])
        .await;
    let as_client = |extra: &[(&'static str, String)]| {
        let mut form: Vec<(&'static str, String)> =
            vec![("client_id", id.clone()), ("client_secret", secret.clone())];
        form.extend_from_slice(extra);
        form
    };
    let send = |form: Vec<(&'static str, String)>| async move {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        s.token(&pairs).await
    };
    let (_, body) = send(as_client(&[
        ("grant_type", "password".into()),
        ("username", "retrier".into()),
        ("password", password),
    ]))
    .await;
    let first = body["refresh_token"].as_str().unwrap().to_owned();
    let refresh_with = |token: &str| {
        as_client(&[
            ("grant_type", "refresh_token".into()),
            ("refresh_token", token.to_owned()),
        ])
    };

    let (status, answer) = send(refresh_with(&first)).await;
    assert_eq!(status, 200);
    let (status, again) = send(refresh_with(&first)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["refresh_token"], answer["refresh_token"],
        "no sibling"
    );
    assert_eq!(
        again["access_token"], answer["access_token"],
        "the same pair"
    );
    let second = answer["refresh_token"].as_str().unwrap().to_owned();

    // The successor is used: the client moved on, so `first` again is theft.
    let (status, body) = send(refresh_with(&second)).await;
    assert_eq!(status, 200);
    let third = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = send(refresh_with(&first)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = send(refresh_with(&third)).await;
    assert_eq!(status, 400, "the family died with the replay");

    // The docs client is public: no grace for it.
    let first = login(s, "public-retrier").await;
    let (status, _) = refresh(s, &first).await;
    assert_eq!(status, 200);
    let (status, body) = refresh(s, &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

/// `refresh_reuse_grace_public` extends the grace to public clients.
async fn grace_for_public_clients_only_when_configured(s: &Server) {
    let first = login(s, "public-grace").await;
    let (status, answer) = refresh(s, &first).await;
    assert_eq!(status, 200);
    let (status, again) = refresh(s, &first).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["refresh_token"], answer["refresh_token"]);
    assert_eq!(again["access_token"], answer["access_token"]);
}

mod grace {
    use super::*;

    fn options(public: bool) -> Options {
        Options {
            refresh_reuse_grace: Some(30),
            refresh_reuse_grace_public: public,
            ..Options::default()
        }
    }

    #[tokio::test]
    async fn sqlite() {
        let s = Server::sqlite(options(false)).await;
        grace_answers_a_retry_with_the_same_pair(&s).await;
        s.finish().await;
        let s = Server::sqlite(options(true)).await;
        grace_for_public_clients_only_when_configured(&s).await;
        s.finish().await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some(s) = Server::postgres(options(false)).await else {
            return;
        };
        grace_answers_a_retry_with_the_same_pair(&s).await;
        s.finish().await;
        let Some(s) = Server::postgres(options(true)).await else {
            return;
        };
        grace_for_public_clients_only_when_configured(&s).await;
        s.finish().await;
    }
}

async fn futures_join(s: &Server, token: &str, n: usize) -> Vec<(u16, serde_json::Value)> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let client = s.client.clone();
        let url = s.url("/token");
        let token = token.to_owned();
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                    ("client_id", "warden-docs"),
                ])
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (
                status,
                response
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_default(),
            )
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}
