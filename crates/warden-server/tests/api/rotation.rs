//! `warden keys rotate` reaches a running server: new tokens get the new key, tokens signed
//! before stay valid for their lifetime, and the JWKS publishes the retired, current and next
//! keys.

use warden::jwt::Algorithm;
use warden_server::domain::keys::{self, MasterKey};
use warden_server::domain::now;

use warden_server::config::Config;
use warden_server::storage::{AnyStorage, Storage};

use crate::backend::{Server, drop_postgres_database, new_postgres_database};

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
    let old_kid = s.warden.ring().unwrap().current_kid();

    // What `warden keys rotate` does, against the same database and master key…
    let master = MasterKey::load(&s.warden.config().master_key_file, false).unwrap();
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
            s.warden.ring().unwrap()
        )
        .await
        .unwrap()
    );
    assert!(
        !keys::reload(
            s.warden.storage(),
            &master,
            Algorithm::EdDSA,
            s.warden.ring().unwrap()
        )
        .await
        .unwrap(),
        "idempotent"
    );
    assert_eq!(s.warden.ring().unwrap().current_kid(), new_kid);

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

/// Instances started at the same moment on one empty database (several `warden serve`
/// behind a load balancer) all sign with, and publish, the same first keys: one candidate
/// per algorithm is stored, the others are dropped.
async fn instances_started_together_agree_on_the_first_keys(database_url: String) {
    const INSTANCES: usize = 6;
    let dir = std::env::temp_dir().join(format!("warden-keys-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = Config {
        database_url,
        master_key_file: dir.join("warden.key"),
        ..Config::default()
    };
    // Migrated once, as a deployment's first start would; the instances then race.
    let first = AnyStorage::connect(&config.database_url).await.unwrap();
    first.migrate().await.unwrap();
    let master = std::sync::Arc::new(MasterKey::load(&config.master_key_file, true).unwrap());
    let mut starting = Vec::new();
    for _ in 0..INSTANCES {
        let config = config.clone();
        let master = master.clone();
        starting.push(tokio::spawn(async move {
            let storage = AnyStorage::connect(&config.database_url).await.unwrap();
            warden_server::domain::Warden::start(storage, config, &master)
                .await
                .unwrap()
        }));
    }
    let mut instances = Vec::new();
    for task in starting {
        instances.push(task.await.unwrap());
    }
    let at = u64::try_from(now()).unwrap();
    let published = instances[0].jwks(at);
    assert_eq!(published.keys.len(), 2, "one EdDSA and one RS256 key");
    for instance in &instances {
        assert_eq!(
            instance.jwks(at),
            published,
            "every instance publishes the same keys"
        );
    }
    assert_eq!(
        first.signing_keys().await.unwrap().len(),
        2,
        "one key per algorithm stored"
    );
    drop(instances);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn instances_started_together_agree_on_the_first_keys_sqlite() {
    let dir = std::env::temp_dir().join(format!("warden-keys-db-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("warden.db").display());
    instances_started_together_agree_on_the_first_keys(url).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn instances_started_together_agree_on_the_first_keys_postgres() {
    let Some((url, name)) = new_postgres_database().await else {
        return;
    };
    instances_started_together_agree_on_the_first_keys(url).await;
    drop_postgres_database(&name).await;
}
