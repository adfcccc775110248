//! Passkey sign-in is not bound by argon2id: the server-side verification of one WebAuthn
//! assertion (the browser's JSON parsed, the stored ceremony state and credential parsed,
//! webauthn-rs's checks and one ES256 signature, the credential's counter updated and
//! serialised back), against one argon2id verification at the server's parameters — the
//! bound of the password grant. Both on one thread, so their inverses are per CPU-second.
//!
//! `cargo bench -p warden-server --bench passkeys`; `scripts/bench` runs it in a full run
//! and prints the ratio (issue 13 asks for ≥ 20×).

use criterion::{Criterion, criterion_group, criterion_main};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{Passkey, PasskeyAuthentication, PublicKeyCredential, Url, Uuid};

fn passkeys(c: &mut Criterion) {
    let issuer = "https://id.example.com";
    let origin = Url::parse(issuer).expect("origin");
    let webauthn = warden_server::domain::relying_party(issuer).expect("relying party");
    let mut authenticator = SoftPasskey::new(true);
    let (options, registration) = webauthn
        .start_passkey_registration(Uuid::new_v4(), "alice", "alice", None)
        .expect("start registration");
    let credential = authenticator
        .do_registration(origin.clone(), options)
        .expect("register");
    let passkey = webauthn
        .finish_passkey_registration(&credential, &registration)
        .expect("finish registration");
    let stored_passkey = serde_json::to_string(&passkey).expect("passkey");
    let (options, state) = webauthn
        .start_passkey_authentication(std::slice::from_ref(&passkey))
        .expect("start authentication");
    let stored_state = serde_json::to_string(&state).expect("state");
    let assertion = authenticator
        .do_authentication(origin, options)
        .expect("assertion");
    let posted = serde_json::to_string(&assertion).expect("assertion JSON");

    let mut group = c.benchmark_group("passkeys");
    group.bench_function("verify_assertion", |b| {
        b.iter(|| {
            let credential: PublicKeyCredential = serde_json::from_str(&posted).expect("posted");
            let state: PasskeyAuthentication =
                serde_json::from_str(&stored_state).expect("stored state");
            let mut passkey: Passkey = serde_json::from_str(&stored_passkey).expect("stored");
            let result = webauthn
                .finish_passkey_authentication(&credential, &state)
                .expect("verifies");
            passkey.update_credential(&result);
            serde_json::to_string(&passkey).expect("serialised")
        });
    });
    let hasher = warden::password::PasswordHasher::new(warden::password::Params::default())
        .expect("argon2id parameters");
    let hash = hasher.hash("correct horse battery staple").expect("hash");
    group.bench_function("argon2id_verify", |b| {
        b.iter(|| hasher.verify("correct horse battery staple", &hash));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = passkeys
}
criterion_main!(benches);
