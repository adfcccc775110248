//! Refresh-token rotation, reuse detection and concurrent refreshes.

use crate::backend::Server;

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

async fn refresh(s: &Server, token: &str) -> (u16, serde_json::Value) {
    s.token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
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

    // `second` was used; after the grace window a second use is taken for theft (RFC 9700
    // §4.14.2): refused, and the whole family — including `third` — is revoked.
    tokio::time::sleep(std::time::Duration::from_secs(
        s.warden.config().refresh_reuse_grace + 1,
    ))
    .await;
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
    assert!(!winners.is_empty(), "at least one refresh succeeds");
    // Within the grace window, concurrent uses are siblings, not theft: every token issued
    // still refreshes.
    for (_, body) in winners {
        let next = body["refresh_token"].as_str().unwrap();
        let (status, _) = refresh(s, next).await;
        assert_eq!(status, 200);
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
