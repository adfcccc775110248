//! The per-request cost of an API key: parse (prefix, length, alphabet, CRC32) and verify
//! (SHA-256 or HMAC-SHA-256, constant-time comparison); and the cost of refusing a typo.
//!
//! `cargo bench -p warden --bench api_keys`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use warden::api_keys::ApiKeys;

fn bench(c: &mut Criterion) {
    let plain = ApiKeys::new("wdn").expect("prefix");
    let peppered = ApiKeys::new("wdn")
        .and_then(|keys| keys.with_pepper(&[7u8; 32]))
        .expect("pepper");

    let mut group = c.benchmark_group("api_keys");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, keys) in [("sha256", &plain), ("hmac-sha256", &peppered)] {
        let (plaintext, stored) = keys.generate().expect("key");
        group.bench_function(format!("parse+verify/{name}"), |b| {
            b.iter(|| {
                let parsed = keys
                    .parse(black_box(plaintext.as_str()))
                    .expect("well formed");
                assert!(keys.verify(&parsed, &stored));
            })
        });
    }

    let (plaintext, _) = plain.generate().expect("key");
    let mut typo = plaintext.as_str().to_owned();
    typo.replace_range(30..31, if &typo[30..31] == "a" { "b" } else { "a" });
    group.bench_function("parse/typo refused", |b| {
        b.iter(|| plain.parse(black_box(&typo)).expect_err("typo"))
    });
    group.bench_function("generate", |b| b.iter(|| plain.generate().expect("key")));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
