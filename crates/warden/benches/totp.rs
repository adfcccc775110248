//! The TOTP check a second factor costs, next to the argon2id verification of the password
//! it follows, measured in the same run: a right code (found at the current step), a wrong
//! one (all three steps of the ±1 window tried), and making the QR code of a set-up.
//!
//! `cargo bench -p warden --features totp,password --bench totp` (well under a minute)

use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use std::hint::black_box;
use warden::password::{Params, PasswordHasher};
use warden::totp::Totp;

fn bench(c: &mut Criterion) {
    let totp = Totp::generate("Warden", "alice@example.com").expect("secret");
    let now = 1_800_000_000;
    let right = totp.code_at(now);
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };

    let mut group = c.benchmark_group("second_factor");
    group.bench_function("totp/verify right code", |b| {
        b.iter(|| {
            totp.verify(black_box(&right), black_box(now))
                .expect("valid")
        })
    });
    group.bench_function("totp/verify wrong code", |b| {
        b.iter(|| totp.verify(black_box(wrong), black_box(now)))
    });
    group.bench_function("totp/qr_svg", |b| b.iter(|| black_box(totp.qr_svg())));
    group.finish();

    // The baseline: what the password before it costs.
    let hasher = PasswordHasher::new(Params::default()).expect("hasher");
    let stored = hasher.hash("correct horse battery staple").expect("hash");
    let mut slow = c.benchmark_group("second_factor_baseline");
    slow.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    slow.bench_function("argon2id/verify", |b| {
        b.iter(|| {
            hasher
                .verify(black_box("correct horse battery staple"), &stored)
                .expect("verify")
        })
    });
    slow.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
