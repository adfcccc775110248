//! Password hashing at OWASP's argon2id parameters, verification, legacy bcrypt (cost 12,
//! pwdlib's default), an unknown user, and one verification through the hashing pool.
//!
//! Each argon2id call takes tens of milliseconds, so samples are few and short:
//! `cargo bench -p warden --bench password` finishes in well under a minute.

use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use std::hint::black_box;
use warden::password::{HashingPool, Params, PasswordHasher, PoolConfig};

fn bench(c: &mut Criterion) {
    let hasher = PasswordHasher::new(Params::default()).expect("hasher");
    let stored = hasher.hash("correct horse battery staple").expect("hash");
    let bcrypt_12 = bcrypt::hash("correct horse battery staple", 12).expect("bcrypt hash");

    let mut group = c.benchmark_group("password");
    group
        .sample_size(10)
        // Flat: the same iteration count in every sample, as criterion advises for runs
        // of milliseconds and more.
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    group.bench_function("argon2id/hash (m=19456,t=2,p=1)", |b| {
        b.iter(|| {
            hasher
                .hash(black_box("correct horse battery staple"))
                .expect("hash")
        })
    });
    group.bench_function("argon2id/verify", |b| {
        b.iter(|| {
            hasher
                .verify(black_box("correct horse battery staple"), &stored)
                .expect("verify")
        })
    });
    group.bench_function("argon2id/verify_unknown_user", |b| {
        b.iter(|| {
            hasher
                .verify_unknown_user(black_box("correct horse battery staple"))
                .expect("verify")
        })
    });
    group.bench_function("bcrypt/verify (cost 12)", |b| {
        b.iter(|| {
            hasher
                .verify(black_box("correct horse battery staple"), &bcrypt_12)
                .expect("verify")
        })
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let pool = HashingPool::new(hasher.clone(), PoolConfig::with_workers(1)).expect("pool");
    group.bench_function("pool/verify (1 worker, from async)", |b| {
        b.iter(|| {
            runtime
                .block_on(pool.verify(black_box("correct horse battery staple"), &stored))
                .expect("verify")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
