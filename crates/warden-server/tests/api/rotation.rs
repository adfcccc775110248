//! `warden keys rotate` reaches a running server: new tokens get the new key, tokens signed
//! before stay valid for their lifetime, and the JWKS publishes the retired, current and next
//! keys.

use warden::jwt::Algorithm;
use warden_server::domain::keys::{self, MasterKey};
use warden_server::domain::now;

use crate::backend::Server;

async fn login(s: &Server, password: &str) -> (u16, serde_json::Value) {
    s.token(&[
        ("grant_type", "password"),
        ("username", "rotor"),
        ("password", password),
    ])
    .await
}

pub async fn rotation_reaches_a_running_server(s: &Server) {
    let password = s.user("rotor", &[]).await;
    let (_, before) = login(s, &password).await;
    let old_token = before["access_token"].as_str().unwrap().to_owned();
    let old_kid = s.warden.ring().current_kid();

    // What `warden keys rotate` does, against the same database and master key…
    let master = MasterKey::load(&s.warden.config().master_key_file).unwrap();
    let new_kid = keys::rotate(
        s.warden.storage(),
        &master,
        Algorithm::EdDSA,
        now(),
        s.warden.config().access_token_ttl,
    )
    .await
    .unwrap();
    assert_ne!(new_kid, old_kid);
    // …and what the running server's periodic reload does.
    assert!(
        keys::reload(
            s.warden.storage(),
            &master,
            Algorithm::EdDSA,
            s.warden.ring()
        )
        .await
        .unwrap()
    );
    assert!(
        !keys::reload(
            s.warden.storage(),
            &master,
            Algorithm::EdDSA,
            s.warden.ring()
        )
        .await
        .unwrap(),
        "idempotent"
    );
    assert_eq!(s.warden.ring().current_kid(), new_kid);

    let (_, after) = login(s, &password).await;
    let new_token = after["access_token"].as_str().unwrap();
    assert_eq!(s.me(new_token).await, 200);
    assert_eq!(
        s.me(&old_token).await,
        200,
        "tokens of the retired key live out their lifetime"
    );
    let jwks: serde_json::Value = s
        .client
        .get(s.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The EdDSA ring was rotated; the RS256 ring (ID tokens) was not.
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kty"] == "OKP")
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 3, "retired, current and next: {kids:?}");
    assert_eq!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["kty"] == "RSA")
            .count(),
        1
    );
    assert!(kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()));
}
