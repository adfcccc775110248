//! Malformed requests: every one a clean 4xx.

use crate::backend::Server;

pub async fn malformed_token_requests_are_4xx(s: &Server) {
    let post = |body: String, content_type: &'static str| {
        s.client
            .post(s.url("/token"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases: Vec<(&str, String, &str, u16, &str)> = vec![
        (
            "json body",
            r#"{"grant_type":"password"}"#.into(),
            "application/json",
            400,
            "invalid_request",
        ),
        (
            "no grant type",
            "username=a&password=b".into(),
            "application/x-www-form-urlencoded",
            400,
            "invalid_request",
        ),
        (
            "unknown grant",
            "grant_type=magic".into(),
            "application/x-www-form-urlencoded",
            400,
            "unsupported_grant_type",
        ),
        (
            "repeated parameter",
            "grant_type=password&username=a&username=b&password=c".into(),
            "application/x-www-form-urlencoded",
            400,
            "invalid_request",
        ),
        (
            "missing password",
            "grant_type=password&username=a".into(),
            "application/x-www-form-urlencoded",
            400,
            "invalid_request",
        ),
        (
            "huge body",
            format!("grant_type=password&username={}", "a".repeat(32 * 1024)),
            "application/x-www-form-urlencoded",
            400,
            "invalid_request",
        ),
        (
            "bad utf-8 escapes",
            "grant_type=password&username=%ff%fe&password=x".into(),
            "application/x-www-form-urlencoded",
            400,
            "invalid_grant",
        ),
        (
            "empty refresh token",
            "grant_type=refresh_token&refresh_token=&client_id=warden-docs".into(),
            "application/x-www-form-urlencoded",
            400,
            "invalid_request",
        ),
    ];
    for (case, body, content_type, status, error) in cases {
        let response = post(body, content_type).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{case}");
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["error"], error, "{case}");
    }
    let bad_basic = s
        .client
        .post(s.url("/token"))
        .header("authorization", "Basic !!!")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_basic.status(), 401);
    let register = s
        .client
        .post(s.url("/users"))
        .json(&serde_json::json!({"username": "x", "password": "long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), 403, "registration is closed by default");
}
