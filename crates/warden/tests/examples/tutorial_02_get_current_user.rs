use serde_json::json;

use crate::support::{Example, answer, secret, security};

#[tokio::test]
async fn the_known_token_is_the_current_user_and_others_are_refused() {
    let token = secret();
    let ex = Example::start("tutorial_02_get_current_user", &[("DEMO_TOKEN", &token)]);
    let a = answer(ex.get("/users/me").bearer_auth(&token).send().await).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body,
        json!({"username": "johndoe", "email": "john@example.com", "full_name": "John Doe", "disabled": null})
    );

    // FastAPI's chapter would "decode" any string; here an unknown token is refused.
    for other in ["johndoe", &format!("{token}x"), &token[1..]] {
        let a = answer(ex.get("/users/me").bearer_auth(other).send().await).await;
        assert_eq!(a.status, 401, "{other}");
        assert_eq!(a.challenges, [r#"Bearer error="invalid_token""#]);
        assert_eq!(a.body, json!({"detail": "Could not validate credentials"}));
    }

    let a = answer(ex.get("/users/me").send().await).await;
    assert_eq!((a.status, a.challenges), (401, vec!["Bearer".to_owned()]));

    let doc = ex.openapi().await;
    assert_eq!(
        security(&doc, "/users/me", "get"),
        json!([{"OAuth2PasswordBearer": []}])
    );
}
