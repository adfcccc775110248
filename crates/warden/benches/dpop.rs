//! DPoP (issue 15): one proof checked by `DPoPVerifier::verify` (ES256 and EdDSA proofs, with
//! `ath` and the bound key, recorded in a `MemoryReplayStore`), next to one access token's
//! signature checked by an uncached `Verifier` (ES256 and EdDSA), in the same run.
//!
//! `cargo bench -p warden --features dpop --bench dpop`
//!
//! A proof is accepted once and within 300 s of its `iat`, so each sample verifies proofs made
//! for it just before (`iter_custom`: the making is not timed).

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use http::Method;
use warden::dpop::{DPoPVerifier, MemoryReplayStore, ProofAlgorithms, ProofKey, ProofRequest};
use warden::jwt::{
    Algorithm, Claims, Confirmation, Issuer, KeyRing, NoClaims, SigningKey, Validation, Verifier,
};

const PUBLIC_URL: &str = "https://bench.example";
const ISSUER: &str = "https://auth.example";

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("dpop");
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(4));

    // The access token's signature, verified on every call (the verifier's cache off).
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let ring = KeyRing::new(SigningKey::generate(alg).expect("key"));
        let issuer = Issuer::new(ring.clone(), ISSUER);
        let token = issuer
            .access_token(
                &Claims::<NoClaims> {
                    sub: Some("bench".into()),
                    scope: Some("bench".into()),
                    ..Claims::default()
                },
                3600,
            )
            .expect("token");
        let verifier = Verifier::with_ring(ring, Validation::new().issuer(ISSUER).access_tokens())
            .cache_capacity(0);
        group.bench_function(format!("jwt verify uncached/{alg}"), |b| {
            b.iter(|| {
                runtime
                    .block_on(verifier.verify::<NoClaims>(&token))
                    .expect("valid")
            })
        });
    }

    // One proof per request: signature, claims, htu, iat, ath, the bound key, the replay
    // store. The token is an EdDSA one bound to the proof key (its own check is above).
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).expect("key"));
    let issuer = Issuer::new(ring, ISSUER);
    let path = "/resource";
    let htu = format!("{PUBLIC_URL}{path}");
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let key = ProofKey::generate(alg).expect("proof key");
        let token = issuer
            .access_token(
                &Claims::<NoClaims> {
                    sub: Some("bench".into()),
                    scope: Some("bench".into()),
                    cnf: Some(Confirmation {
                        jkt: Some(key.jkt().into()),
                        ..Confirmation::default()
                    }),
                    ..Claims::default()
                },
                3600,
            )
            .expect("token");
        // Room for every proof of the run: none expires within it, and a full store refuses.
        let verifier = DPoPVerifier::new(PUBLIC_URL)
            .expect("public URL")
            .replay_store(MemoryReplayStore::new(4_000_000));
        group.bench_function(format!("proof verify/{alg}"), |b| {
            b.iter_custom(|iters| {
                let proofs: Vec<String> = (0..iters)
                    .map(|_| {
                        key.proof(&Method::GET, &htu, Some(&token), None)
                            .expect("proof")
                    })
                    .collect();
                let start = Instant::now();
                for proof in &proofs {
                    let request = ProofRequest::new(proof, &Method::GET, path)
                        .access_token(&token)
                        .bound_to(key.jkt())
                        .algorithms(ProofAlgorithms::DEFAULT);
                    runtime.block_on(verifier.verify(request)).expect("valid");
                }
                start.elapsed()
            })
        });
        group.bench_function(format!("proof make/{alg}"), |b| {
            b.iter(|| {
                key.proof(&Method::GET, &htu, Some(&token), None)
                    .expect("proof")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
