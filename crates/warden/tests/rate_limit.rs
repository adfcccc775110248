//! Rate limiting over real HTTP: apps served on 127.0.0.1:0 with their peer addresses,
//! limited in memory and through the Redis at 127.0.0.1:6379.
//!
//! Redis tests use a unique key prefix each and delete their keys at the end (the keys
//! also expire within one window should a test fail first). When Redis is unreachable they
//! are skipped with a message, or fail when `CI=true`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use reqwest::{Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use warden::rate_limit::{
    ClientIpKey, CredentialKey, KeyExtractor, MemoryStore, ProxyHeader, Quota, RateLimitError,
    RateLimitLayer, RateLimitStore, RateLimiter, TrustedProxies,
};

/// Serves `app` on a free loopback port with `ConnectInfo<SocketAddr>`; returns its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{address}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn hello() -> Router {
    Router::new().route("/", get(|| async { "hello" }))
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap())
}

fn ratelimit(response: &Response) -> Option<&str> {
    header(response, "ratelimit")
}

/// Checks a 429 completely; returns its `Retry-After` in seconds.
async fn assert_limited(response: Response, policy: &str) -> u64 {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    let retry_after: u64 = header(&response, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry_after >= 1);
    assert_eq!(
        ratelimit(&response),
        Some(format!(r#""{policy}";r=0;t={retry_after}"#).as_str())
    );
    assert!(header(&response, "ratelimit-policy").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "detail": "Too Many Requests" }));
    retry_after
}

#[tokio::test]
async fn burst_is_allowed_then_429_with_headers() {
    let limiter = RateLimiter::new(MemoryStore::new(Quota::per_minute(3)));
    let app = hello().layer(RateLimitLayer::new(
        limiter,
        ClientIpKey::new(TrustedProxies::none()),
    ));
    let base = serve(app).await;
    let client = client();

    for (remaining, reset) in [(2, 20), (1, 40), (0, 60)] {
        let response = client.get(&base).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, "ratelimit-policy"),
            Some(r#""default";q=3;w=60"#)
        );
        assert_eq!(
            ratelimit(&response),
            Some(format!(r#""default";r={remaining};t={reset}"#).as_str())
        );
        assert_eq!(response.text().await.unwrap(), "hello");
    }
    let response = client.get(&base).send().await.unwrap();
    assert_eq!(
        header(&response, "ratelimit-policy"),
        Some(r#""default";q=3;w=60"#)
    );
    let retry_after = assert_limited(response, "default").await;
    // One request is earned back every 20 s.
    assert!((19..=20).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn separate_keys_are_independent() {
    let limiter = RateLimiter::new(MemoryStore::new(Quota::per_minute(1)))
        .with_policy_name("per-credential")
        .unwrap();
    let app = hello().layer(RateLimitLayer::new(limiter, CredentialKey::authorization()));
    let base = serve(app).await;
    let client = client();
    let get = |auth: Option<&'static str>| {
        let request = client.get(&base);
        match auth {
            Some(auth) => request.header("authorization", auth),
            None => request,
        }
        .send()
    };

    assert_eq!(get(Some("Bearer alice")).await.unwrap().status(), 200);
    assert_limited(get(Some("Bearer alice")).await.unwrap(), "per-credential").await;
    assert_eq!(get(Some("Bearer bob")).await.unwrap().status(), 200);
    // No credentials: not metered by this layer (no RateLimit field), never limited.
    for _ in 0..3 {
        let response = get(None).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(ratelimit(&response), None);
    }
}

#[tokio::test]
async fn per_route_keys_count_each_route_pattern_once() {
    let limiter = RateLimiter::new(MemoryStore::new(Quota::per_minute(1)));
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .route("/b/{id}", get(|| async { "b" }))
        .layer(RateLimitLayer::new(
            limiter,
            ClientIpKey::new(TrustedProxies::none()).per_route(),
        ));
    let base = serve(app).await;
    let client = client();
    let status = async |path: &str| {
        client
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .status()
    };

    assert_eq!(status("/a").await, 200);
    assert_eq!(status("/a").await, 429);
    assert_eq!(status("/b/1").await, 200);
    // `/b/2` is the same route, `/b/{id}`: no fresh budget per path.
    assert_eq!(status("/b/2").await, 429);
    // Unmatched paths share one budget too.
    assert_eq!(status("/nope/1").await, 404);
    assert_eq!(status("/nope/2").await, 429);
}

#[tokio::test]
async fn forwarding_headers_count_only_from_trusted_proxies() {
    let quota = Quota::per_minute(1);
    // The test client connects from 127.0.0.1: here it is the trusted proxy.
    let behind_proxy = hello().layer(RateLimitLayer::new(
        RateLimiter::new(MemoryStore::new(quota)),
        ClientIpKey::new(TrustedProxies::new(["127.0.0.0/8"]).unwrap()),
    ));
    // Here it is not.
    let direct = hello().layer(RateLimitLayer::new(
        RateLimiter::new(MemoryStore::new(quota)),
        ClientIpKey::new(TrustedProxies::new(["10.0.0.0/8"]).unwrap()),
    ));
    let (behind_proxy, direct) = (serve(behind_proxy).await, serve(direct).await);
    let client = client();
    let status = async |base: &str, name: &str, value: &str| {
        client
            .get(base)
            .header(name, value)
            .send()
            .await
            .unwrap()
            .status()
    };
    let xff = "x-forwarded-for";

    assert_eq!(status(&behind_proxy, xff, "198.51.100.1").await, 200);
    assert_eq!(status(&behind_proxy, xff, "198.51.100.1").await, 429);
    // A lie left of the real client does not help: the right-most untrusted hop counts.
    assert_eq!(
        status(&behind_proxy, xff, "203.0.113.5, 198.51.100.1").await,
        429
    );
    assert_eq!(status(&behind_proxy, xff, "198.51.100.2").await, 200);
    // Malformed: the proxy's own address, 127.0.0.1, is the key.
    assert_eq!(status(&behind_proxy, xff, "garbage").await, 200);
    assert_eq!(status(&behind_proxy, xff, "[::1").await, 429);

    // From an untrusted peer, spoofed headers are ignored: one budget for 127.0.0.1.
    assert_eq!(status(&direct, xff, "198.51.100.1").await, 200);
    assert_eq!(status(&direct, xff, "198.51.100.2").await, 429);

    // RFC 7239 `Forwarded`, when configured.
    let forwarded = hello().layer(RateLimitLayer::new(
        RateLimiter::new(MemoryStore::new(quota)),
        ClientIpKey::new(
            TrustedProxies::new(["127.0.0.1"])
                .unwrap()
                .with_header(ProxyHeader::Forwarded),
        ),
    ));
    let forwarded = serve(forwarded).await;
    let v6 = r#"for="[2001:db8:cafe::17]:4711";proto=https"#;
    assert_eq!(status(&forwarded, "forwarded", v6).await, 200);
    // Same /64, same budget.
    assert_eq!(
        status(&forwarded, "forwarded", r#"for="[2001:db8:cafe::99]""#).await,
        429
    );
    assert_eq!(
        status(&forwarded, "forwarded", "for=198.51.100.1").await,
        200
    );
}

#[tokio::test]
async fn a_spent_key_is_let_through_again_once_a_unit_is_earned() {
    let quota = Quota::with_period(Duration::from_millis(300));
    let app = hello().layer(RateLimitLayer::new(
        RateLimiter::new(MemoryStore::new(quota)),
        ClientIpKey::new(TrustedProxies::none()),
    ));
    let base = serve(app).await;
    let client = client();

    assert_eq!(client.get(&base).send().await.unwrap().status(), 200);
    let retry_after = assert_limited(client.get(&base).send().await.unwrap(), "default").await;
    assert_eq!(retry_after, 1, "300 ms rounds up to 1 s");
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(client.get(&base).send().await.unwrap().status(), 200);
}

#[derive(Deserialize)]
struct Login {
    username: String,
}

/// Throttles per account in the handler, as a login endpoint does.
async fn login<S: RateLimitStore>(
    State(per_account): State<RateLimiter<S>>,
    Json(form): Json<Login>,
) -> Result<&'static str, RateLimitError> {
    let permit = per_account
        .check(&format!("login:{}", form.username))
        .await?;
    assert!(permit.is_metered());
    Ok("password checked")
}

#[tokio::test]
async fn handlers_check_keys_of_their_own() {
    let per_account = RateLimiter::new(MemoryStore::new(Quota::per_minute(2)))
        .with_policy_name("login")
        .unwrap();
    let app = Router::new()
        .route("/login", post(login::<MemoryStore>))
        .with_state(per_account);
    let base = serve(app).await;
    let client = client();
    let attempt = |username: &str| {
        client
            .post(format!("{base}/login"))
            .json(&json!({ "username": username, "password": "x" }))
            .send()
    };

    assert_eq!(attempt("alice").await.unwrap().status(), 200);
    assert_eq!(attempt("alice").await.unwrap().status(), 200);
    let refused = attempt("alice").await.unwrap();
    assert_eq!(
        header(&refused, "ratelimit-policy"),
        Some(r#""login";q=2;w=60"#)
    );
    let retry_after = assert_limited(refused, "login").await;
    assert!((29..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(attempt("bob").await.unwrap().status(), 200);
}

#[tokio::test]
async fn client_ip_keys_without_connect_info_answer_500() {
    let app = hello().layer(RateLimitLayer::new(
        RateLimiter::new(MemoryStore::new(Quota::per_minute(1))),
        ClientIpKey::new(TrustedProxies::none()),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Served without `into_make_service_with_connect_info`: a programming error, loud.
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let response = client().get(&base).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "detail": "Internal Server Error" }));
}

#[cfg(feature = "redis")]
mod redis_store {
    use std::hash::{BuildHasher, RandomState};
    use std::time::SystemTime;

    use redis::aio::ConnectionManager;
    use warden::rate_limit::{Decision, FailureMode, RedisStore, StoreError};

    use super::*;

    const REDIS_URL: &str = "redis://127.0.0.1:6379";

    /// A connection to the test Redis with a fresh key prefix, or `None` (skip) when
    /// Redis is unreachable; with `CI=true` an unreachable Redis fails the test.
    async fn redis_or_skip(test: &str) -> Option<(ConnectionManager, String)> {
        let connect = async {
            let client = redis::Client::open(REDIS_URL)?;
            let mut connection = ConnectionManager::new(client).await?;
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await?;
            Ok::<_, redis::RedisError>(connection)
        };
        let error = match tokio::time::timeout(Duration::from_secs(3), connect).await {
            Ok(Ok(connection)) => {
                let random = RandomState::new().hash_one((std::process::id(), SystemTime::now()));
                return Some((connection, format!("warden-test:{test}:{random:016x}:")));
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => "no answer within 3 s".to_owned(),
        };
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("Redis at {REDIS_URL} is unreachable and CI=true: {error}");
        }
        eprintln!("skipping {test}: Redis at {REDIS_URL} is unreachable ({error})");
        None
    }

    /// Deletes every key under `prefix` (SCAN + DEL); returns how many there were.
    async fn cleanup(connection: &mut ConnectionManager, prefix: &str) -> usize {
        let mut cursor = 0u64;
        let mut deleted = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .cursor_arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(connection)
                .await
                .unwrap();
            if !keys.is_empty() {
                let removed: usize = redis::cmd("DEL")
                    .arg(&keys)
                    .query_async(connection)
                    .await
                    .unwrap();
                deleted += removed;
            }
            if next == 0 {
                return deleted;
            }
            cursor = next;
        }
    }

    fn layer_app(store: RedisStore) -> Router {
        hello().layer(RateLimitLayer::new(
            RateLimiter::new(store),
            ClientIpKey::new(TrustedProxies::none()),
        ))
    }

    #[tokio::test]
    async fn redis_burst_then_429_and_keys_expire() {
        let Some((mut redis, prefix)) = redis_or_skip("burst").await else {
            return;
        };
        let store = RedisStore::new(redis.clone(), prefix.clone(), Quota::per_minute(2));
        let base = serve(layer_app(store)).await;
        let client = client();

        for (remaining, reset) in [(1, 30), (0, 60)] {
            let response = client.get(&base).send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(
                ratelimit(&response),
                Some(format!(r#""default";r={remaining};t={reset}"#).as_str())
            );
        }
        let retry_after = assert_limited(client.get(&base).send().await.unwrap(), "default").await;
        assert!((29..=30).contains(&retry_after), "{retry_after}");

        // One key, expiring when the burst is back (at most one window).
        let ttl: i64 = redis::cmd("PTTL")
            .arg(format!("{prefix}ip:127.0.0.1"))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!((1..=60_000).contains(&ttl), "{ttl}");
        assert_eq!(cleanup(&mut redis, &prefix).await, 1);
    }

    #[tokio::test]
    async fn redis_instances_with_one_prefix_share_the_budget() {
        let Some((mut redis, prefix)) = redis_or_skip("shared").await else {
            return;
        };
        // Two instances: separate connections, separate servers, one prefix.
        let quota = Quota::per_minute(4);
        let one = serve(layer_app(
            RedisStore::open(REDIS_URL, prefix.clone(), quota).unwrap(),
        ));
        let two = serve(layer_app(
            RedisStore::open(REDIS_URL, prefix.clone(), quota).unwrap(),
        ));
        let (one, two) = (one.await, two.await);
        let client = client();

        for (base, remaining) in [(&one, 3), (&two, 2), (&one, 1), (&two, 0)] {
            let response = client.get(base).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let want = format!(r#""default";r={remaining};"#);
            assert!(ratelimit(&response).unwrap().starts_with(&want));
        }
        assert_limited(client.get(&one).send().await.unwrap(), "default").await;
        assert_limited(client.get(&two).send().await.unwrap(), "default").await;

        // Another prefix is another budget.
        let other_prefix = format!("{prefix}other:");
        let three = serve(layer_app(
            RedisStore::open(REDIS_URL, other_prefix, quota).unwrap(),
        ))
        .await;
        assert_eq!(client.get(&three).send().await.unwrap().status(), 200);
        assert_eq!(cleanup(&mut redis, &prefix).await, 2);
    }

    #[tokio::test]
    async fn redis_checks_are_atomic_across_connections() {
        let Some((mut redis, prefix)) = redis_or_skip("atomic").await else {
            return;
        };
        let quota = Quota::per_hour(10);
        let stores = [
            RedisStore::open(REDIS_URL, prefix.clone(), quota).unwrap(),
            RedisStore::open(REDIS_URL, prefix.clone(), quota).unwrap(),
        ];
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..60 {
            let store = stores[i % 2].clone();
            tasks.spawn(async move { store.check("hot").await });
        }
        let mut allowed = 0;
        while let Some(decision) = tasks.join_next().await {
            if decision.unwrap().unwrap().is_allowed() {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 10);
        assert_eq!(cleanup(&mut redis, &prefix).await, 1);
    }

    #[tokio::test]
    async fn redis_store_refills_one_unit_per_interval() {
        let Some((mut redis, prefix)) = redis_or_skip("refill").await else {
            return;
        };
        let store = RedisStore::new(
            redis.clone(),
            prefix.clone(),
            Quota::with_period(Duration::from_millis(300)).with_burst(2),
        );
        assert!(store.check("k").await.unwrap().is_allowed());
        assert!(store.check("k").await.unwrap().is_allowed());
        let Decision::Limited { retry_after } = store.check("k").await.unwrap() else {
            panic!("the burst of 2 is spent");
        };
        assert!(retry_after <= Duration::from_millis(300), "{retry_after:?}");
        tokio::time::sleep(retry_after + Duration::from_millis(50)).await;
        match store.check("k").await.unwrap() {
            Decision::Allowed { remaining, .. } => assert_eq!(remaining, 0),
            limited => panic!("one unit was earned back: {limited:?}"),
        }
        cleanup(&mut redis, &prefix).await;
    }

    #[tokio::test]
    async fn redis_refund_gives_one_unit_back_and_never_more_than_the_burst() {
        let Some((mut redis, prefix)) = redis_or_skip("refund").await else {
            return;
        };
        let store = RedisStore::new(redis.clone(), prefix.clone(), Quota::per_minute(3));
        assert!(!store.refund("k").await.unwrap(), "nothing counted yet");
        for _ in 0..3 {
            assert!(store.check("k").await.unwrap().is_allowed());
        }
        assert!(!store.check("k").await.unwrap().is_allowed());
        assert!(store.refund("k").await.unwrap());
        match store.check("k").await.unwrap() {
            Decision::Allowed { remaining, .. } => assert_eq!(remaining, 0),
            limited => panic!("the refunded unit is usable again: {limited:?}"),
        }
        assert!(
            !store.check("k").await.unwrap().is_allowed(),
            "one unit only"
        );

        // Giving back all three deletes the key, as its expiry would; more refunds do
        // nothing, and the key has a fresh burst, not more.
        for _ in 0..3 {
            assert!(store.refund("k").await.unwrap());
        }
        let exists: i64 = redis::cmd("EXISTS")
            .arg(format!("{prefix}k"))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(exists, 0);
        assert!(!store.refund("k").await.unwrap());
        let mut allowed = 0;
        for _ in 0..10 {
            if store.check("k").await.unwrap().is_allowed() {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 3);
        assert_eq!(cleanup(&mut redis, &prefix).await, 1);
    }

    #[tokio::test]
    async fn redis_refunds_are_shared_and_keep_the_expiry() {
        let Some((mut redis, prefix)) = redis_or_skip("refund-shared").await else {
            return;
        };
        let quota = Quota::per_minute(2);
        let one = RedisStore::open(REDIS_URL, prefix.clone(), quota).unwrap();
        let two = RedisStore::open(REDIS_URL, prefix.clone(), quota).unwrap();
        assert!(one.check("k").await.unwrap().is_allowed());
        assert!(one.check("k").await.unwrap().is_allowed());
        assert!(!two.check("k").await.unwrap().is_allowed());
        // A refund through one instance is seen by the other.
        assert!(one.refund("k").await.unwrap());
        assert!(two.check("k").await.unwrap().is_allowed());
        assert!(two.refund("k").await.unwrap());
        // One unit still counted: the key expires when it is earned back (≤ 30 s).
        let ttl: i64 = redis::cmd("PTTL")
            .arg(format!("{prefix}k"))
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!((1..=30_000).contains(&ttl), "{ttl}");
        assert_eq!(cleanup(&mut redis, &prefix).await, 1);
    }

    /// A store without refunds: the provided method keeps every request counted.
    struct CountOnly(RedisStore);

    impl RateLimitStore for CountOnly {
        fn quota(&self) -> Quota {
            self.0.quota()
        }

        async fn check(&self, key: &str) -> Result<Decision, StoreError> {
            self.0.check(key).await
        }
    }

    #[tokio::test]
    async fn stores_without_refunds_keep_requests_counted() {
        let Some((mut redis, prefix)) = redis_or_skip("count-only").await else {
            return;
        };
        let limiter = RateLimiter::new(CountOnly(RedisStore::new(
            redis.clone(),
            prefix.clone(),
            Quota::per_minute(1),
        )));
        assert!(limiter.check("k").await.is_ok());
        assert!(!limiter.refund("k").await);
        assert!(limiter.check("k").await.is_err());
        assert_eq!(cleanup(&mut redis, &prefix).await, 1);
    }

    fn unreachable_store() -> RedisStore {
        // Port 1 on loopback: connection refused at once.
        RedisStore::open(
            "redis://127.0.0.1:1",
            "warden-test:down:",
            Quota::per_minute(1),
        )
        .unwrap()
        .with_timeout(Duration::from_secs(2))
    }

    #[tokio::test]
    async fn unreachable_redis_fails_open_by_default() {
        let store = unreachable_store();
        assert!(matches!(
            store.check("k").await,
            Err(StoreError::Backend(_) | StoreError::Timeout(_))
        ));
        assert!(matches!(
            store.refund("k").await,
            Err(StoreError::Backend(_) | StoreError::Timeout(_))
        ));
        assert!(!RateLimiter::new(store.clone()).refund("k").await);
        let base = serve(layer_app(store)).await;
        let client = client();
        for _ in 0..3 {
            let response = client.get(&base).send().await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(ratelimit(&response), None, "unmetered");
            assert_eq!(response.text().await.unwrap(), "hello");
        }
    }

    #[tokio::test]
    async fn unreachable_redis_fails_closed_with_503_when_asked() {
        let limiter = RateLimiter::new(unreachable_store()).with_failure_mode(FailureMode::Closed);
        let app = hello().layer(RateLimitLayer::new(
            limiter,
            ClientIpKey::new(TrustedProxies::none()),
        ));
        let base = serve(app).await;
        let response = client().get(&base).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&response, "retry-after"), Some("5"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({ "detail": "Service Unavailable" }));
    }

    #[tokio::test]
    async fn redis_limits_logins_in_handlers() {
        let Some((mut redis, prefix)) = redis_or_skip("login").await else {
            return;
        };
        let per_account = RateLimiter::new(RedisStore::new(
            redis.clone(),
            prefix.clone(),
            Quota::per_minute(1),
        ))
        .with_policy_name("login")
        .unwrap();
        let app = Router::new()
            .route("/login", post(login::<RedisStore>))
            .with_state(per_account);
        let base = serve(app).await;
        let client = client();
        let attempt = async |username: &str| {
            client
                .post(format!("{base}/login"))
                .json(&json!({ "username": username }))
                .send()
                .await
                .unwrap()
        };
        assert_eq!(attempt("alice").await.status(), 200);
        assert_limited(attempt("alice").await, "login").await;
        assert_eq!(attempt("bob").await.status(), 200);
        assert_eq!(cleanup(&mut redis, &prefix).await, 2);
    }
}
