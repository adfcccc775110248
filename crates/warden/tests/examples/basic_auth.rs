use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::json;

use crate::support::{Example, answer, basic, security};

const CHALLENGE: &str = r#"Basic realm="warden-example", charset="UTF-8""#;
const PASSWORD: &str = "pa:ss wörd €";

fn start() -> Example {
    Example::start(
        "basic_auth",
        &[("BASIC_USERNAME", "stanley"), ("BASIC_PASSWORD", PASSWORD)],
    )
}

#[tokio::test]
async fn right_credentials_pass_even_with_colons_and_utf8() {
    let ex = start();
    let a = answer(
        ex.get("/users/me")
            .basic_auth("stanley", Some(PASSWORD))
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, json!({"username": "stanley"}));
}

#[tokio::test]
async fn missing_credentials_get_the_challenge() {
    let ex = start();
    let a = answer(ex.get("/users/me").send().await).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.challenges, [CHALLENGE]);
    assert_eq!(a.body, json!({"detail": "Not authenticated"}));
    // Another scheme in the header counts as no Basic credentials.
    let a = answer(ex.get("/users/me").bearer_auth("abc").send().await).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.challenges, [CHALLENGE]);
}

#[tokio::test]
async fn wrong_credentials_are_refused_alike() {
    let ex = start();
    for (user, password) in [
        ("stanley", "nope"),
        ("nobody", PASSWORD),
        ("Stanley", PASSWORD),
    ] {
        let a = answer(
            ex.get("/users/me")
                .basic_auth(user, Some(password))
                .send()
                .await,
        )
        .await;
        assert_eq!(a.status, 401, "{user}");
        assert_eq!(a.challenges, [CHALLENGE]);
        assert_eq!(a.body, json!({"detail": "Incorrect username or password"}));
    }
}

#[tokio::test]
async fn malformed_credentials_are_a_clean_401() {
    let ex = start();
    let cases: Vec<(&str, HeaderValue)> = vec![
        (
            "bad base64",
            HeaderValue::from_static("Basic !!!not-base64!!!"),
        ),
        ("no colon", basic(b"stanley")),
        ("not UTF-8", basic(b"stanley:\xff\xfe")),
        ("control character", basic(b"stan\x07ley:x")),
        (
            "raw non-ASCII header",
            HeaderValue::from_bytes(b"Basic \xc3\xa9t\xc3\xa9").expect("bytes"),
        ),
        (
            "oversized",
            HeaderValue::from_str(&format!("Basic {}", "A".repeat(9000))).expect("ascii"),
        ),
    ];
    for (case, value) in cases {
        let a = answer(
            ex.get("/users/me")
                .header(AUTHORIZATION, value)
                .send()
                .await,
        )
        .await;
        assert_eq!(a.status, 401, "{case}");
        assert_eq!(a.challenges, [CHALLENGE], "{case}");
        assert_eq!(
            a.body,
            json!({"detail": "Invalid authentication credentials"}),
            "{case}"
        );
    }
    // Two Authorization headers are refused, not guessed between.
    let a = answer(
        ex.get("/users/me")
            .header(
                AUTHORIZATION,
                basic(format!("stanley:{PASSWORD}").as_bytes()),
            )
            .header(AUTHORIZATION, basic(b"other:x"))
            .send()
            .await,
    )
    .await;
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn openapi_declares_basic_on_the_route() {
    let ex = start();
    let doc = ex.openapi().await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"],
        json!({"HTTPBasic": {"type": "http", "scheme": "basic"}})
    );
    assert_eq!(
        security(&doc, "/users/me", "get"),
        json!([{"HTTPBasic": []}])
    );
    assert!(doc["paths"]["/users/me"]["get"]["responses"]["401"].is_object());
}
