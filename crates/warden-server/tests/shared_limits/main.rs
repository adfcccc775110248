//! Two server instances over one database and one Redis enforce one login budget, as
//! instances behind a load balancer must.

#[allow(dead_code)] // the API suite uses the rest of it
#[path = "../api/backend.rs"]
mod backend;

use backend::{Options, Server};

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

    // Clean up this test's keys.
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
    a.finish().await;
    b.finish().await;
}
