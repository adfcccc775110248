//! Two server instances over one database and one Redis enforce one login budget, as
//! instances behind a load balancer must.

#[allow(dead_code)] // the API suite uses the rest of it
#[path = "../api/backend.rs"]
mod backend;

use backend::{Options, Server};
use warden_server::domain::NewAccount;

async fn attempt(s: &Server) -> (u16, serde_json::Value) {
    s.token(&[
        ("grant_type", "password"),
        ("username", "shared"),
        ("password", "wrong"),
    ])
    .await
}

const REDIS: &str = "redis://127.0.0.1:6379";

async fn redis_reachable() -> bool {
    let ok = tokio::net::TcpStream::connect("127.0.0.1:6379")
        .await
        .is_ok();
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("Redis at 127.0.0.1:6379 is unreachable under CI=true");
        }
        eprintln!("skipping: Redis unreachable");
    }
    ok
}

/// Deletes this test's keys.
async fn cleanup(prefix: &str) {
    let client = redis::Client::open(REDIS).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

/// Successes through either instance give their attempt back in Redis (issue 11): thirty
/// sign-ins alternating between two instances all succeed, and the failure budget the
/// instances share is still whole afterwards.
#[tokio::test]
async fn successes_through_either_instance_are_refunded_in_redis() {
    if !redis_reachable().await {
        return;
    }
    let prefix = format!("warden-test-{}:", uuid::Uuid::new_v4().simple());
    let options = Options {
        redis: Some((REDIS.into(), prefix.clone())),
        ..Options::default()
    };
    let a = Server::sqlite(options.clone()).await;
    let b = Server::sqlite(options).await;
    // The same account in each instance's database.
    let password = "a long enough password";
    for server in [&a, &b] {
        server
            .warden
            .create_user(NewAccount {
                username: "regular".into(),
                password: password.into(),
                email: None,
                roles: Vec::new(),
            })
            .await
            .unwrap();
    }
    let login = async |s: &Server, password: &str| {
        s.token(&[
            ("grant_type", "password"),
            ("username", "regular"),
            ("password", password),
        ])
        .await
        .0
    };
    for i in 0..30 {
        let server = if i % 2 == 0 { &a } else { &b };
        assert_eq!(login(server, password).await, 200, "sign-in {i}");
    }
    for i in 0..10 {
        let server = if i % 2 == 0 { &a } else { &b };
        assert_eq!(login(server, "wrong").await, 400, "failure {i}");
    }
    assert_eq!(login(&a, password).await, 429);
    assert_eq!(login(&b, password).await, 429);

    cleanup(&prefix).await;
    a.finish().await;
    b.finish().await;
}

#[tokio::test]
async fn two_instances_share_the_login_budget_through_redis() {
    if !redis_reachable().await {
        return;
    }
    let prefix = format!("warden-test-{}:", uuid::Uuid::new_v4().simple());
    let options = Options {
        redis: Some((REDIS.into(), prefix.clone())),
        ..Options::default()
    };
    let a = Server::sqlite(options.clone()).await;
    let b = Server::sqlite(options).await;
    // Ten attempts, alternating between the instances, spend the one budget…
    for i in 0..10 {
        let server = if i % 2 == 0 { &a } else { &b };
        assert_eq!(attempt(server).await.0, 400, "attempt {i}");
    }
    // …so both refuse the eleventh.
    assert_eq!(attempt(&a).await.0, 429);
    assert_eq!(attempt(&b).await.0, 429);

    cleanup(&prefix).await;
    a.finish().await;
    b.finish().await;
}
