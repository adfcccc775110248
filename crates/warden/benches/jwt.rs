//! Token signing and verification per algorithm, and the same EdDSA token verified by the
//! `jsonwebtoken` crate for reference (it re-parses the key on every call).
//!
//! `cargo bench -p warden --bench jwt`

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value};
use warden::jwt::{Algorithm, Claims, Issuer, KeyRing, SigningKey, Validation, Verifier};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let claims = Claims::<Map<String, Value>> {
        sub: Some("alice".into()),
        aud: "api".into(),
        scope: Some("me items".into()),
        ..Claims::default()
    };
    let mut group = c.benchmark_group("jwt");
    group.sample_size(50);
    for alg in [
        Algorithm::EdDSA,
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::HS256,
    ] {
        let ring = KeyRing::new(SigningKey::generate(alg).expect("key"));
        let issuer = Issuer::new(ring.clone(), "https://auth.example.com");
        let verifier = Verifier::with_ring(
            ring,
            Validation::new()
                .issuer("https://auth.example.com")
                .audience("api")
                .access_tokens(),
        );
        let token = issuer.access_token(&claims, 3600).expect("token");
        group.bench_function(format!("verify/{alg}"), |b| {
            b.iter(|| {
                runtime
                    .block_on(verifier.verify::<Map<String, Value>>(&token))
                    .expect("valid")
            })
        });
        group.bench_function(format!("sign/{alg}"), |b| {
            b.iter(|| issuer.access_token(&claims, 3600).expect("token"))
        });

        if alg == Algorithm::EdDSA {
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(
                serde_json::to_value(&issuer.ring().jwks(0).keys[0]).expect("jwk"),
            )
            .expect("jwk");
            let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("key");
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
            validation.set_issuer(&["https://auth.example.com"]);
            validation.set_audience(&["api"]);
            group.bench_function("verify/EdDSA (jsonwebtoken crate)", |b| {
                b.iter(|| jsonwebtoken::decode::<Value>(&token, &key, &validation).expect("valid"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
