//! Cost of one rate-limit check: in memory (per key, hot and spread over many keys), the
//! client-address key of a proxied request, and one Redis round trip when the Redis at
//! 127.0.0.1:6379 answers (skipped with a message otherwise).
//!
//! `cargo bench -p warden --bench rate_limit` (about 30 s).

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use warden::rate_limit::{
    ClientIpKey, KeyExtractor, MemoryStore, Quota, RateLimitStore, RateLimiter, TrustedProxies,
};

/// Never limits, so every iteration takes the "allowed" path and updates the state.
const UNLIMITED: Quota = Quota::per_second(u32::MAX);

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn memory(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("memory");

    let store = MemoryStore::new(UNLIMITED);
    group.bench_function("store_check_hot_key", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(store.check(black_box("ip:192.0.2.1")).await) });
    });

    let store = MemoryStore::new(UNLIMITED);
    let keys: Vec<String> = (0..100_000).map(|i| format!("ip:10.{i}")).collect();
    let mut next = 0;
    group.bench_function("store_check_100k_keys", |b| {
        b.to_async(&rt).iter(|| {
            next = (next + 1) % keys.len();
            let (store, key) = (&store, &keys[next]);
            async move { black_box(store.check(key).await) }
        });
    });

    let limiter = RateLimiter::new(MemoryStore::new(UNLIMITED));
    group.bench_function("limiter_check_with_headers", |b| {
        b.to_async(&rt).iter(|| async {
            let permit = limiter.check(black_box("ip:192.0.2.1")).await;
            let mut headers = http::HeaderMap::new();
            if let Ok(permit) = permit {
                permit.append_headers(&mut headers);
            }
            black_box(headers)
        });
    });
    group.finish();
}

fn keys(c: &mut Criterion) {
    let extractor = ClientIpKey::new(TrustedProxies::new(["10.0.0.0/8"]).expect("CIDR"));
    let request = http::Request::get("/")
        .header("x-forwarded-for", "203.0.113.5, 198.51.100.7, 10.1.2.3")
        .body(())
        .expect("request");
    let (mut parts, ()) = request.into_parts();
    parts
        .extensions
        .insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 1], 4000))));
    c.bench_function("key/client_ip_behind_two_proxies", |b| {
        b.iter(|| black_box(extractor.extract(black_box(&parts))));
    });
}

#[cfg(feature = "redis")]
fn redis(c: &mut Criterion) {
    use warden::rate_limit::RedisStore;

    const URL: &str = "redis://127.0.0.1:6379";
    let rt = runtime();
    let prefix = format!("warden-bench:{}:", std::process::id());
    let connection = rt.block_on(async {
        let client = redis::Client::open(URL).ok()?;
        let connect = redis::aio::ConnectionManager::new(client);
        tokio::time::timeout(Duration::from_secs(2), connect)
            .await
            .ok()?
            .ok()
    });
    let Some(mut connection) = connection else {
        eprintln!("redis/store_check_one_round_trip: skipped, no Redis at {URL}");
        return;
    };
    let store = RedisStore::new(connection.clone(), prefix.clone(), UNLIMITED);
    if let Err(error) = rt.block_on(store.check("warm-up")) {
        eprintln!("redis/store_check_one_round_trip: skipped, {error}");
        return;
    }
    c.bench_function("redis/store_check_one_round_trip", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(store.check(black_box("ip:192.0.2.1")).await) });
    });
    // The bench's only keys.
    let _: Result<usize, _> = rt.block_on(
        redis::cmd("DEL")
            .arg(format!("{prefix}warm-up"))
            .arg(format!("{prefix}ip:192.0.2.1"))
            .query_async(&mut connection),
    );
}

#[cfg(not(feature = "redis"))]
fn redis(_: &mut Criterion) {
    eprintln!("redis/store_check_one_round_trip: skipped, feature `redis` is off");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = memory, keys, redis
}
criterion_main!(benches);
