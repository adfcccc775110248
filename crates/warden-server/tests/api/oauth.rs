//! Token revocation (RFC 7009) and introspection (RFC 7662).

use serde_json::{Value, json};
use warden::jwt::{Claims, Issuer};
use warden_server::storage::Storage;

use crate::backend::Server;

/// How a request authenticates its client.
#[derive(Clone, Copy)]
enum As<'a> {
    /// No credentials at all.
    Nobody,
    /// `Authorization: Basic` (client_secret_basic).
    Basic(&'a str, &'a str),
    /// `client_id` and `client_secret` in the body (client_secret_post).
    Post(&'a str, &'a str),
    /// `client_id` alone (a public client).
    Public(&'a str),
}

/// POSTs `form` to `path` as `who`; (status, headers, JSON body or `Null`).
async fn post(
    s: &Server,
    path: &str,
    who: As<'_>,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let mut request = s.client.post(s.url(path));
    match who {
        As::Nobody => {}
        As::Basic(id, secret) => request = request.basic_auth(id, Some(secret)),
        As::Post(id, secret) => form.extend([("client_id", id), ("client_secret", secret)]),
        As::Public(id) => form.push(("client_id", id)),
    }
    let response = request.form(&form).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

async fn revoke(s: &Server, who: As<'_>, token: &str, hint: Option<&str>) -> u16 {
    let mut form = vec![("token", token)];
    form.extend(hint.map(|h| ("token_type_hint", h)));
    let (status, headers, _) = post(s, "/revoke", who, &form).await;
    if status == 200 {
        assert_eq!(headers["cache-control"], "no-store");
    }
    status
}

async fn introspect(s: &Server, who: As<'_>, token: &str, hint: Option<&str>) -> Value {
    let mut form = vec![("token", token)];
    form.extend(hint.map(|h| ("token_type_hint", h)));
    let (status, headers, body) = post(s, "/introspect", who, &form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    body
}

async fn refresh(s: &Server, who: As<'_>, token: &str) -> (u16, Value) {
    let (status, _, body) = post(
        s,
        "/token",
        who,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await;
    (status, body)
}

/// A user logged in through `who` with the password grant: (access, refresh).
async fn login(s: &Server, who: As<'_>, username: &str) -> (String, String) {
    let password = s.user(username, &[]).await;
    let (status, _, body) = post(
        s,
        "/token",
        who,
        &[
            ("grant_type", "password"),
            ("username", username),
            ("password", &password),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// A confidential client that may log users in and refresh: (id, secret).
async fn app(s: &Server) -> (String, String) {
    s.confidential_client(&["password", "refresh_token", "client_credentials"], &[])
        .await
}

/// Exactly what RFC 7662 §2.2 allows for any token that is not active.
fn inactive() -> Value {
    json!({"active": false})
}

pub async fn revoking_a_refresh_token_kills_its_family(s: &Server) {
    let docs = As::Public("warden-docs");
    let (_, first) = login(s, As::Nobody, "rita").await;
    let (status, body) = refresh(s, docs, &first).await;
    assert_eq!(status, 200);
    let second = body["refresh_token"].as_str().unwrap().to_owned();

    // A public client revokes its own tokens by `client_id` (RFC 7009 §2.1): the token
    // presented and the rest of its family.
    assert_eq!(revoke(s, docs, &first, Some("refresh_token")).await, 200);
    for token in [&first, &second] {
        let (status, body) = refresh(s, docs, token).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
    // Revoking again, or with the wrong hint, is still a success.
    assert_eq!(revoke(s, docs, &second, Some("access_token")).await, 200);

    // A confidential client, either authentication method.
    let (id, secret) = app(s).await;
    let (_, token) = login(s, As::Post(&id, &secret), "rita2").await;
    assert_eq!(revoke(s, As::Post(&id, &secret), &token, None).await, 200);
    let (status, _) = refresh(s, As::Basic(&id, &secret), &token).await;
    assert_eq!(status, 400);
    let introspected = introspect(s, As::Basic(&id, &secret), &token, None).await;
    assert_eq!(introspected, inactive());
}

pub async fn revoking_an_access_token_denylists_it(s: &Server) {
    let (id, secret) = app(s).await;
    let me = As::Basic(&id, &secret);
    let (access, refresh_token) = login(s, me, "sam").await;
    assert_eq!(s.me(&access).await, 200);
    assert_eq!(introspect(s, me, &access, None).await["active"], true);

    assert_eq!(revoke(s, me, &access, Some("access_token")).await, 200);
    assert_eq!(s.me(&access).await, 401, "our own routes refuse it");
    assert_eq!(introspect(s, me, &access, None).await, inactive());
    // Idempotent; and the hint only orders the lookups.
    assert_eq!(revoke(s, me, &access, Some("refresh_token")).await, 200);

    // The refresh token is another grant's worth: it still works, and its new access token too.
    let (status, body) = refresh(s, me, &refresh_token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.me(body["access_token"].as_str().unwrap()).await, 200);

    // A client's own (client_credentials) token is revocable too.
    let (status, _, body) = post(s, "/token", me, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 200);
    let own = body["access_token"].as_str().unwrap();
    assert_eq!(introspect(s, me, own, None).await["active"], true);
    assert_eq!(revoke(s, me, own, None).await, 200);
    assert_eq!(introspect(s, me, own, None).await, inactive());
}

pub async fn revoking_another_clients_token_does_nothing(s: &Server) {
    let (a_id, a_secret) = app(s).await;
    let (b_id, b_secret) = app(s).await;
    let a = As::Basic(&a_id, &a_secret);
    let b = As::Basic(&b_id, &b_secret);
    let (access, refresh_token) = login(s, a, "tess").await;

    // RFC 7009 §2.2: 200 all the same, so the answer reveals nothing.
    assert_eq!(revoke(s, b, &access, None).await, 200);
    assert_eq!(revoke(s, b, &refresh_token, None).await, 200);
    assert_eq!(
        revoke(s, As::Public("warden-docs"), &refresh_token, None).await,
        200
    );
    assert_eq!(s.me(&access).await, 200, "the access token still works");
    assert_eq!(introspect(s, b, &access, None).await["active"], true);
    let (status, _) = refresh(s, a, &refresh_token).await;
    assert_eq!(status, 200, "the refresh token still works");
}

pub async fn revoking_unknown_tokens_succeeds(s: &Server) {
    let (id, secret) = app(s).await;
    let me = As::Basic(&id, &secret);
    let long = "x".repeat(10_000);
    for token in [
        "not-a-token",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.e30.",
        long.as_str(),
    ] {
        for hint in [
            None,
            Some("access_token"),
            Some("refresh_token"),
            Some("id_token"),
        ] {
            assert_eq!(
                revoke(s, me, token, hint).await,
                200,
                "{token:.20} {hint:?}"
            );
        }
    }
}

pub async fn revocation_and_introspection_require_client_auth(s: &Server) {
    let (id, secret) = app(s).await;
    let (access, _) = login(s, As::Basic(&id, &secret), "uma").await;
    let swagger_empty = |path: &str| {
        s.client
            .post(s.url(path))
            .header("authorization", "Basic Og==")
            .form(&[("token", access.as_str())])
            .send()
    };
    for path in ["/revoke", "/introspect"] {
        for who in [
            As::Nobody,
            As::Basic(&id, "wrong-secret"),
            As::Post(&id, "wrong-secret"),
            As::Basic("no-such-client", &secret),
            // A confidential client must present its secret.
            As::Public(&id),
        ] {
            let (status, headers, body) = post(s, path, who, &[("token", &access)]).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("invalid_client"))
            );
            assert_eq!(headers["www-authenticate"], "Basic");
            assert_eq!(headers["cache-control"], "no-store");
        }
        let response = swagger_empty(path).await.unwrap();
        assert_eq!(
            response.status(),
            401,
            "an empty Basic is no authentication"
        );
    }
    // Public clients may revoke their own tokens, but never introspect (RFC 7662 §4: the
    // server decides who may; here, confidential clients only).
    let (status, headers, body) = post(
        s,
        "/introspect",
        As::Public("warden-docs"),
        &[("token", &access)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert_eq!(headers["www-authenticate"], "Basic");
    assert_eq!(s.me(&access).await, 200, "nothing was revoked");
}

pub async fn introspection_describes_active_tokens(s: &Server) {
    s.role("reader", &["items"]).await;
    let (id, secret) = app(s).await;
    let (other_id, other_secret) = app(s).await;
    let password = s.user("vera", &["reader"]).await;
    let (status, _, body) = post(
        s,
        "/token",
        As::Basic(&id, &secret),
        &[
            ("grant_type", "password"),
            ("username", "vera"),
            ("password", &password),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let access = body["access_token"].as_str().unwrap();
    let refresh_token = body["refresh_token"].as_str().unwrap();
    let user = s
        .warden
        .storage()
        .user_by_username("vera")
        .await
        .unwrap()
        .unwrap();

    // Any confidential client may introspect (the resource server's view), with either
    // authentication method and whatever the hint.
    let resource_server = As::Post(&other_id, &other_secret);
    let answer = introspect(s, resource_server, access, None).await;
    let exp = answer["exp"].as_u64().unwrap();
    let iat = answer["iat"].as_u64().unwrap();
    assert_eq!(exp - iat, s.warden.config().access_token_ttl);
    // How vera signed in, as the token's claims say: her password, just now.
    assert!(answer["auth_time"].as_u64().unwrap().abs_diff(iat) <= 2);
    assert_eq!(
        answer,
        json!({
            "active": true,
            "scope": "items",
            "client_id": id,
            "username": "vera",
            "sub": user.id,
            "exp": exp,
            "iat": iat,
            "iss": s.base,
            "aud": s.base,
            "jti": answer["jti"],
            "token_type": "Bearer",
            "auth_time": answer["auth_time"],
            "acr": "urn:warden:acr:pwd",
            "amr": ["pwd"],
        })
    );
    assert!(answer["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(
        introspect(s, resource_server, access, Some("refresh_token")).await,
        answer
    );

    let answer = introspect(s, As::Basic(&id, &secret), refresh_token, None).await;
    let exp = answer["exp"].as_u64().unwrap();
    let iat = answer["iat"].as_u64().unwrap();
    assert_eq!(exp - iat, s.warden.config().refresh_token_ttl);
    assert_eq!(
        answer,
        json!({
            "active": true,
            "scope": "items",
            "client_id": id,
            "username": "vera",
            "sub": user.id,
            "exp": exp,
            "iat": iat,
            "token_type": "refresh_token",
        })
    );
    assert_eq!(
        introspect(s, resource_server, refresh_token, Some("access_token")).await,
        answer
    );

    // A client's own token: no username, the client is the subject.
    let (_, _, body) = post(
        s,
        "/token",
        As::Basic(&id, &secret),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let answer = introspect(
        s,
        resource_server,
        body["access_token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["sub"], id.as_str());
    assert_eq!(answer["client_id"], id.as_str());
    assert!(answer.get("username").is_none());
}

pub async fn introspection_of_inactive_tokens_says_only_that(s: &Server) {
    let (id, secret) = app(s).await;
    let me = As::Basic(&id, &secret);
    let (access, first) = login(s, me, "wes").await;
    let user = s
        .warden
        .storage()
        .user_by_username("wes")
        .await
        .unwrap()
        .unwrap();

    // Signed by our current key, for our audience, but expired an hour ago.
    let issuer = Issuer::new(s.warden.ring().unwrap().clone(), s.base.clone());
    let claims: Claims = Claims {
        sub: Some(user.id.clone()),
        aud: s.base.as_str().into(),
        client_id: Some(id.clone()),
        scope: Some(String::new()),
        jti: Some(uuid::Uuid::new_v4().to_string()),
        ..Claims::default()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = issuer
        .sign_with(&claims, "at+jwt", now - 3600, 600)
        .unwrap();
    let fresh = issuer.sign_with(&claims, "at+jwt", now, 600).unwrap();
    assert_eq!(
        introspect(s, me, &fresh, None).await["active"],
        true,
        "the same claims, unexpired, are active"
    );
    // One of our JWTs with its signature damaged.
    let (first_part, rest) = access.split_once('.').unwrap();
    let tampered = format!("{first_part}.{rest}x");

    let (status, body) = refresh(s, me, &first).await;
    assert_eq!(status, 200);
    let second = body["refresh_token"].as_str().unwrap().to_owned();

    for (case, token) in [
        ("expired access token", expired.as_str()),
        ("garbage", "garbage"),
        ("tampered access token", tampered.as_str()),
        ("used refresh token", first.as_str()),
        ("empty-looking token", " "),
    ] {
        for hint in [None, Some("access_token"), Some("refresh_token")] {
            assert_eq!(
                introspect(s, me, token, hint).await,
                inactive(),
                "{case} {hint:?}"
            );
        }
    }
    assert_eq!(introspect(s, me, &second, None).await["active"], true);
    assert_eq!(introspect(s, me, &access, None).await["active"], true);

    // A disabled user's tokens are inactive, access and refresh alike.
    s.warden.set_disabled("wes", true).await.unwrap();
    assert_eq!(introspect(s, me, &access, None).await, inactive());
    assert_eq!(introspect(s, me, &second, None).await, inactive());
}

pub async fn malformed_revocation_and_introspection_requests_are_400(s: &Server) {
    let (id, secret) = app(s).await;
    for path in ["/revoke", "/introspect"] {
        let send = |body: String, content_type: &'static str| {
            s.client
                .post(s.url(path))
                .basic_auth(&id, Some(&secret))
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let form = "application/x-www-form-urlencoded";
        let cases: Vec<(&str, String, &str)> = vec![
            ("repeated token", "token=a&token=b".into(), form),
            (
                "repeated hint",
                "token=a&token_type_hint=access_token&token_type_hint=refresh_token".into(),
                form,
            ),
            ("json body", r#"{"token":"a"}"#.into(), "application/json"),
            ("no content type", "token=a".into(), "text/plain"),
            ("missing token", "token_type_hint=access_token".into(), form),
            ("empty token", "token=".into(), form),
            (
                "huge body",
                format!("token={}", "a".repeat(32 * 1024)),
                form,
            ),
            (
                "credentials twice",
                format!("token=a&client_secret={secret}"),
                form,
            ),
        ];
        for (case, body, content_type) in cases {
            let response = send(body, content_type).await.unwrap();
            assert_eq!(response.status(), 400, "{path}: {case}");
            assert_eq!(response.headers()["cache-control"], "no-store");
            let json: Value = response.json().await.unwrap();
            assert_eq!(json["error"], "invalid_request", "{path}: {case}");
        }
        let get = s.client.get(s.url(path)).send().await.unwrap();
        assert_eq!(get.status(), 405, "{path}: POST only");
    }
}

pub async fn discovery_lists_revocation_and_introspection(s: &Server) {
    let metadata: Value = s
        .client
        .get(s.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["revocation_endpoint"], s.url("/revoke"));
    assert_eq!(metadata["introspection_endpoint"], s.url("/introspect"));
    assert_eq!(
        metadata["revocation_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none"
        ])
    );
    assert_eq!(
        metadata["introspection_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    let doc: Value = s
        .client
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/revoke", "/introspect"] {
        let operation = &doc["paths"][path]["post"];
        assert_eq!(operation["tags"], json!(["oauth2"]), "{path}");
        assert!(
            operation["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object(),
            "{path}"
        );
    }
}
