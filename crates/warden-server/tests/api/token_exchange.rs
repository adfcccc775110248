//! Token exchange (RFC 8693): a registered client trades a user's access token for a
//! narrower one naming itself as the actor; everything the server does not support is
//! refused, not ignored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::backend::Server;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// A user's access token with `scope` (the docs client's password grant).
async fn user_token(s: &Server, user: &str, scope: &str) -> String {
    let password = s.user(user, &["reader"]).await;
    let (status, body) = s
        .token(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", &password),
            ("scope", scope),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn exchange(s: &Server, id: &str, secret: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let mut full = vec![
        ("grant_type", GRANT),
        ("client_id", id),
        ("client_secret", secret),
    ];
    full.extend_from_slice(form);
    s.token(&full).await
}

pub async fn token_exchange_narrows_and_names_the_actor(s: &Server) {
    s.role("reader", &["me", "items", "orders"]).await;
    let subject = user_token(s, "tess", "me items orders").await;
    let (id, secret) = s.confidential_client(&[GRANT], &[]).await;
    let (status, body) = exchange(
        s,
        &id,
        &secret,
        &[
            ("subject_token", &subject),
            ("subject_token_type", ACCESS),
            ("audience", "https://orders.example.com"),
            ("scope", "orders"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "orders");
    assert!(body.get("refresh_token").is_none());
    let original = claims(&subject);
    let exchanged = claims(body["access_token"].as_str().unwrap());
    assert_eq!(exchanged["sub"], original["sub"], "the same user");
    assert_eq!(exchanged["aud"], "https://orders.example.com");
    assert_eq!(exchanged["scope"], "orders");
    assert_eq!(
        exchanged["act"],
        json!({ "sub": id }),
        "delegation: the client acted"
    );
    assert_eq!(exchanged["client_id"], id);
    assert!(
        exchanged["exp"].as_u64() <= original["exp"].as_u64(),
        "never outlives its subject"
    );
    assert_ne!(exchanged["jti"], original["jti"]);
    // Meant for another API: Warden's own refuses it.
    assert_eq!(s.me(body["access_token"].as_str().unwrap()).await, 401);
    // Without audience and scope: the subject token's, and the exchanged token works here.
    let (status, body) = exchange(
        s,
        &id,
        &secret,
        &[("subject_token", &subject), ("subject_token_type", ACCESS)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let again = body["access_token"].as_str().unwrap();
    assert_eq!(s.me(again).await, 200);
    // Exchanged again by the same client: the actor chain grows (RFC 8693 §4.1).
    let (status, body) = exchange(
        s,
        &id,
        &secret,
        &[
            ("subject_token", again),
            ("subject_token_type", ACCESS),
            ("scope", "me"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["act"],
        json!({ "sub": id, "act": { "sub": id } })
    );
}

pub async fn token_exchange_refuses_what_it_does_not_do(s: &Server) {
    s.role("reader", &["me", "items"]).await;
    let subject = user_token(s, "uma", "me items").await;
    let (id, secret) = s.confidential_client(&[GRANT], &[]).await;
    let good = [
        ("subject_token", subject.as_str()),
        ("subject_token_type", ACCESS),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut form: Vec<(&str, &str)> = good.to_vec();
        form.extend_from_slice(extra);
        form
    };
    for (case, form, error) in [
        (
            "a wider scope",
            with(&[("scope", "me admin")]),
            "invalid_scope",
        ),
        (
            "actor_token",
            with(&[("actor_token", "x"), ("actor_token_type", ACCESS)]),
            "invalid_request",
        ),
        (
            "resource",
            with(&[("resource", "https://api.example.com")]),
            "invalid_target",
        ),
        (
            "a refresh token asked for",
            with(&[(
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:refresh_token",
            )]),
            "invalid_request",
        ),
        (
            "an ID token as subject",
            vec![
                ("subject_token", subject.as_str()),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:id_token",
                ),
            ],
            "invalid_request",
        ),
        (
            "no subject_token_type",
            vec![("subject_token", subject.as_str())],
            "invalid_request",
        ),
        (
            "no subject_token",
            vec![("subject_token_type", ACCESS)],
            "invalid_request",
        ),
        (
            "a forged subject_token",
            vec![
                ("subject_token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
                ("subject_token_type", ACCESS),
            ],
            "invalid_request",
        ),
    ] {
        let (status, body) = exchange(s, &id, &secret, &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{case}: {body}"
        );
    }
    // A client not registered for the grant, or one that does not authenticate.
    let (other, other_secret) = s.confidential_client(&["client_credentials"], &[]).await;
    let (status, body) = exchange(s, &other, &other_secret, &good).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let (status, _) = s
        .token(&[
            ("grant_type", GRANT),
            ("client_id", "warden-docs"),
            ("subject_token", &subject),
            ("subject_token_type", ACCESS),
        ])
        .await;
    assert!(status == 400 || status == 401, "{status}");
    // A client's own token (client_credentials) has no user to delegate.
    let (svc, svc_secret) = s.confidential_client(&["client_credentials"], &[]).await;
    let (_, body) = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &svc),
            ("client_secret", &svc_secret),
        ])
        .await;
    let service_token = body["access_token"].as_str().unwrap().to_owned();
    let (status, _) = exchange(
        s,
        &id,
        &secret,
        &[
            ("subject_token", &service_token),
            ("subject_token_type", ACCESS),
        ],
    )
    .await;
    assert_eq!(status, 400);
    // Revoked, or the user disabled: the subject token no longer counts.
    let revoked = user_token(s, "vic", "me").await;
    let response = s
        .client
        .post(s.url("/revoke"))
        // By the client it was issued to (RFC 7009 §2.1), the public docs client.
        .form(&[("token", revoked.as_str()), ("client_id", "warden-docs")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _) = exchange(
        s,
        &id,
        &secret,
        &[("subject_token", &revoked), ("subject_token_type", ACCESS)],
    )
    .await;
    assert_eq!(status, 400, "revoked");
    s.warden.set_disabled("uma", true).await.unwrap();
    let (status, _) = exchange(s, &id, &secret, &good).await;
    assert_eq!(status, 400, "disabled");
}
