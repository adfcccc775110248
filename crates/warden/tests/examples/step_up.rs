use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use warden::MFA_ACR;
use warden::jwt::{Algorithm, Claims, Issuer, KeyRing, SigningKey};

use crate::support::{Answer, Example, answer};

const ISSUER: &str = "urn:warden:example";

struct Setup {
    ex: Example,
    /// Signs with the example's key.
    issuer: Issuer,
}

fn start() -> Setup {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    let ex = Example::start("step_up", &[("JWT_PRIVATE_KEY", &pem)]);
    Setup {
        ex,
        issuer: Issuer::new(KeyRing::new(key), ISSUER),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims of `johndoe` with `scope`, `amr` and `auth_time` (`None`: left out).
fn claims(scope: &str, amr: Option<&[&str]>, auth_time: Option<u64>) -> Claims {
    Claims {
        sub: Some("johndoe".into()),
        scope: Some(scope.into()),
        amr: amr.map(|amr| amr.iter().map(|m| (*m).to_owned()).collect()),
        auth_time,
        ..Claims::default()
    }
}

impl Setup {
    fn token(&self, claims: &Claims) -> String {
        self.issuer.access_token(claims, 600).unwrap()
    }

    async fn call(&self, method: reqwest::Method, path: &str, token: &str) -> Answer {
        answer(
            self.ex
                .client
                .request(method, self.ex.url(path))
                .bearer_auth(token)
                .send()
                .await,
        )
        .await
    }

    async fn pay(&self, token: &str) -> Answer {
        self.call(reqwest::Method::POST, "/payments", token).await
    }
}

const PWD: &[&str] = &["pwd"];
const MFA: &[&str] = &["pwd", "otp", "mfa"];

#[tokio::test]
async fn mfa_is_required_by_the_payment_route() {
    let s = start();
    let strong = s.token(&claims("items payments", Some(MFA), Some(now())));
    let ok = s.pay(&strong).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body, "paid by johndoe");

    let challenge = format!(
        r#"Bearer error="insufficient_user_authentication", error_description="Stronger authentication required", acr_values="{MFA_ACR}""#
    );
    for (case, token) in [
        (
            "password only",
            s.token(&claims("items payments", Some(PWD), Some(now()))),
        ),
        (
            "no amr",
            s.token(&claims("items payments", None, Some(now()))),
        ),
        (
            "no step-up claims at all",
            s.token(&claims("payments", None, None)),
        ),
    ] {
        let refused = s.pay(&token).await;
        assert_eq!(refused.status, 401, "{case}");
        assert_eq!(refused.challenges, [challenge.as_str()], "{case}");
        assert_eq!(
            refused.body,
            json!({"detail": "Stronger authentication required"}),
            "{case}"
        );
    }

    // The weak token is fine where no step-up is required.
    let weak = s.token(&claims("items payments", Some(PWD), Some(now())));
    let items = s.call(reqwest::Method::GET, "/items", &weak).await;
    assert_eq!(items.status, 200);
}

#[tokio::test]
async fn max_age_needs_a_recent_auth_time() {
    let s = start();
    let email = |token: String| {
        let s = &s;
        async move { s.call(reqwest::Method::PUT, "/account/email", &token).await }
    };
    let recent = email(s.token(&claims("", Some(PWD), Some(now() - 10)))).await;
    assert_eq!(recent.status, 200, "{:?}", recent.body);

    let challenge = r#"Bearer error="insufficient_user_authentication", error_description="More recent authentication required", max_age="300""#;
    for (case, auth_time) in [("stale", Some(now() - 1_000)), ("missing", None)] {
        let refused = email(s.token(&claims("", Some(MFA), auth_time))).await;
        assert_eq!(refused.status, 401, "{case}");
        assert_eq!(refused.challenges, [challenge], "{case}");
        assert_eq!(
            refused.body,
            json!({"detail": "More recent authentication required"})
        );
    }
}

#[tokio::test]
async fn acr_markers_accept_their_values() {
    let s = start();
    let with_acr = |acr: Option<&str>| {
        let mut c = claims("admin", Some(MFA), Some(now()));
        c.acr = acr.map(str::to_owned);
        s.token(&c)
    };
    for acr in ["phrh", "phr"] {
        let ok = s
            .call(reqwest::Method::GET, "/admin", &with_acr(Some(acr)))
            .await;
        assert_eq!(ok.status, 200, "{acr}");
    }
    for acr in [None, Some("mfa"), Some("PHR")] {
        let refused = s.call(reqwest::Method::GET, "/admin", &with_acr(acr)).await;
        assert_eq!(refused.status, 401, "{acr:?}");
        assert_eq!(
            refused.challenges,
            [
                r#"Bearer error="insufficient_user_authentication", error_description="Stronger authentication required", acr_values="phrh phr""#
            ]
        );
    }
}

#[tokio::test]
async fn bad_tokens_stay_invalid_token_and_scopes_stay_403() {
    let s = start();
    let strong = claims("items payments", Some(MFA), Some(now()));

    // Signed by another key, or expired: the token is refused before any step-up check.
    let other = Issuer::new(
        KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap()),
        ISSUER,
    );
    let forged = other.access_token(&strong, 600).unwrap();
    let expired = s
        .issuer
        .sign_with(&strong, "at+jwt", now() - 3_600, 600)
        .unwrap();
    for (case, token) in [("forged", forged), ("expired", expired)] {
        let refused = s.pay(&token).await;
        assert_eq!(refused.status, 401, "{case}");
        assert_eq!(
            refused.challenges,
            [r#"Bearer error="invalid_token""#],
            "{case}"
        );
        assert_eq!(
            refused.body,
            json!({"detail": "Could not validate credentials"})
        );
    }

    // Strong enough, but without the scope: 403 insufficient_scope.
    let no_scope = s.token(&claims("items", Some(MFA), Some(now())));
    let refused = s.pay(&no_scope).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.challenges,
        [r#"Bearer error="insufficient_scope", scope="payments""#]
    );
    // Weak and without the scope: the login is what must change first (401).
    let weak = s.token(&claims("items", Some(PWD), Some(now())));
    assert_eq!(s.pay(&weak).await.status, 401);
}

#[tokio::test]
async fn the_document_shows_each_requirement() {
    let s = start();
    let doc = s.ex.openapi().await;
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();

    let pay = op("/payments", "post");
    assert_eq!(pay["security"], json!([{"HTTPBearer": ["payments"]}]));
    assert_eq!(
        pay["x-step-up"],
        json!({"amr": ["mfa"], "suggested_acr_values": [MFA_ACR]})
    );
    let description = pay["description"].as_str().unwrap();
    assert!(
        description.starts_with("**Step-up authentication** (RFC 9470): multi-factor"),
        "{description}"
    );
    assert!(
        pay["responses"]["401"]["description"]
            .as_str()
            .unwrap()
            .contains("insufficient_user_authentication")
    );

    assert_eq!(
        op("/account/email", "put")["x-step-up"],
        json!({"max_age": 300})
    );
    assert_eq!(
        op("/admin", "get")["x-step-up"],
        json!({"acr": ["phrh", "phr"]})
    );
    let items = op("/items", "get");
    assert!(items.get("x-step-up").is_none());
    assert!(items.get("description").is_none());
}
