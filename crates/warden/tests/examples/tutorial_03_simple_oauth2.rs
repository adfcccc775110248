use serde_json::{Value, json};

use crate::support::{Example, answer, secret, security};

fn start() -> (Example, String, String) {
    let password = secret();
    let alice = secret();
    let ex = Example::start(
        "tutorial_03_simple_oauth2",
        &[("DEMO_PASSWORD", &password), ("ALICE_PASSWORD", &alice)],
    );
    (ex, password, alice)
}

async fn login(ex: &Example, username: &str, password: &str) -> crate::support::Answer {
    answer(
        ex.post("/token")
            .form(&[("username", username), ("password", password)])
            .send()
            .await,
    )
    .await
}

#[tokio::test]
async fn password_for_an_opaque_token_then_the_current_user() {
    let (ex, password, _) = start();
    let a = login(&ex, "johndoe", &password).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["token_type"], "bearer");
    let token = a.body["access_token"].as_str().unwrap().to_owned();
    // Not the username, as in FastAPI's chapter: 256 random bits.
    assert_ne!(token, "johndoe");
    assert_eq!(token.len(), 43);
    // A second login gets another token; both work.
    let second = login(&ex, "johndoe", &password).await.body["access_token"].clone();
    assert_ne!(second, Value::String(token.clone()));

    let me = answer(ex.get("/users/me").bearer_auth(&token).send().await).await;
    assert_eq!(me.status, 200);
    assert_eq!(
        me.body,
        json!({"username": "johndoe", "email": "johndoe@example.com", "full_name": "John Doe", "disabled": false})
    );
    let me = answer(
        ex.get("/users/me")
            .bearer_auth(second.as_str().unwrap())
            .send()
            .await,
    )
    .await;
    assert_eq!(me.status, 200);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_tokens_are_refused() {
    let (ex, password, _) = start();
    for (user, pass) in [
        ("johndoe", "nope"),
        ("nobody", password.as_str()),
        ("JohnDoe", password.as_str()),
    ] {
        let a = login(&ex, user, pass).await;
        assert_eq!(a.status, 400, "{user}");
        assert_eq!(
            a.body,
            json!({"error": "invalid_grant", "error_description": "Incorrect username or password"})
        );
    }
    for token in ["johndoe", "not-a-token"] {
        let a = answer(ex.get("/users/me").bearer_auth(token).send().await).await;
        assert_eq!(a.status, 401, "{token}");
        assert_eq!(a.challenges, [r#"Bearer error="invalid_token""#]);
    }
    let a = answer(ex.get("/users/me").send().await).await;
    assert_eq!((a.status, a.challenges), (401, vec!["Bearer".to_owned()]));
}

#[tokio::test]
async fn an_inactive_user_is_forbidden() {
    let (ex, _, alice) = start();
    let a = login(&ex, "alice", &alice).await;
    assert_eq!(a.status, 200);
    let token = a.body["access_token"].as_str().unwrap();
    let me = answer(ex.get("/users/me").bearer_auth(token).send().await).await;
    assert_eq!(me.status, 403);
    assert_eq!(me.body, json!({"detail": "Inactive user"}));
}

#[tokio::test]
async fn openapi_documents_the_token_form_and_the_scheme() {
    let (ex, _, _) = start();
    let doc = ex.openapi().await;
    assert_eq!(
        security(&doc, "/users/me", "get"),
        json!([{"OAuth2PasswordBearer": []}])
    );
    assert_eq!(security(&doc, "/token", "post"), Value::Null);
    assert!(
        doc["paths"]["/token"]["post"]["requestBody"]["content"]
            ["application/x-www-form-urlencoded"]
            .is_object()
    );
}
