//! Login takes the same time for an unknown user and a wrong password (no user enumeration by
//! timing, ASVS 2.2 / FastAPI PR #14908), and for an account without a usable password
//! (`NO_PASSWORD`, made through an upstream provider). Alone in its own test binary so no other test
//! competes for the CPU while it measures; both backends, one after the other.

#[allow(dead_code)] // the API suite uses the rest of it
#[path = "../api/backend.rs"]
mod backend;

use std::time::{Duration, Instant};

use backend::{Options, Server};

/// Throttling off: this test makes fifty attempts on purpose.
fn unthrottled() -> Options {
    Options {
        login_attempts_per_account_ip: Some(0),
        login_attempts_per_account: Some(0),
        login_attempts_per_ip: Some(0),
        ..Options::default()
    }
}

const SAMPLES: usize = 25;

async fn medians(s: &Server) -> (f64, f64) {
    let password = s.user("victim", &[]).await;
    let wrong = [
        ("grant_type", "password"),
        ("username", "victim"),
        ("password", "not-the-password"),
    ];
    let unknown = [
        ("grant_type", "password"),
        ("username", "no-such-user"),
        ("password", password.as_str()),
    ];
    // Warm up connections and caches on both paths first.
    s.token(&wrong).await;
    s.token(&unknown).await;
    let mut w: Vec<Duration> = Vec::new();
    let mut u: Vec<Duration> = Vec::new();
    for i in 0..SAMPLES {
        // Alternate which goes first, so drift in machine load falls on both alike.
        for first in [i % 2 == 0, i % 2 == 1] {
            let (form, out) = if first {
                (&wrong, &mut w)
            } else {
                (&unknown, &mut u)
            };
            let t = Instant::now();
            assert_eq!(s.token(form).await.0, 400);
            out.push(t.elapsed());
        }
    }
    w.sort();
    u.sort();
    (w[SAMPLES / 2].as_secs_f64(), u[SAMPLES / 2].as_secs_f64())
}

fn check(backend: &str, (w, u): (f64, f64)) {
    let ratio = w.max(u) / w.min(u);
    eprintln!("{backend}: median wrong password {w:.4}s, unknown user {u:.4}s, ratio {ratio:.2}");
    assert!(
        ratio < 1.5,
        "{backend}: ratio {ratio:.2} (wrong password {w:.4}s, unknown user {u:.4}s)"
    );
}

#[tokio::test]
async fn unknown_user_and_wrong_password_take_the_same_time() {
    let sqlite = Server::sqlite(unthrottled()).await;
    check("sqlite", medians(&sqlite).await);
    sqlite.finish().await;
    if let Some(postgres) = Server::postgres(unthrottled()).await {
        check("postgres", medians(&postgres).await);
        postgres.finish().await;
    }
    passwordless_account_and_wrong_password_take_the_same_time().await;
}

/// An account without a usable password (made through an upstream provider) answers the
/// password grant exactly as a wrong password does, in the same time: the dummy hash is
/// verified for it as for an unknown user. Run after the test above, never beside it.
async fn passwordless_account_and_wrong_password_take_the_same_time() {
    use warden_server::storage::{Storage, User};
    let s = Server::sqlite(unthrottled()).await;
    s.user("victim", &[]).await;
    let now = warden_server::domain::now();
    s.warden
        .storage()
        .create_user(&User {
            id: uuid::Uuid::new_v4().to_string(),
            username: "upstream-only".into(),
            email: None,
            email_verified: false,
            password_hash: warden_server::domain::NO_PASSWORD.into(),
            disabled: false,
            roles: Vec::new(),
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    let wrong = [
        ("grant_type", "password"),
        ("username", "victim"),
        ("password", "not-the-password"),
    ];
    let passwordless = [
        ("grant_type", "password"),
        ("username", "upstream-only"),
        ("password", warden_server::domain::NO_PASSWORD),
    ];
    let (a, body_a) = s.token(&wrong).await;
    let (b, body_b) = s.token(&passwordless).await;
    assert_eq!((a, b), (400, 400));
    assert_eq!(body_a, body_b, "the same answer");
    let mut w: Vec<Duration> = Vec::new();
    let mut p: Vec<Duration> = Vec::new();
    for i in 0..SAMPLES {
        for first in [i % 2 == 0, i % 2 == 1] {
            let (form, out) = if first {
                (&wrong, &mut w)
            } else {
                (&passwordless, &mut p)
            };
            let t = Instant::now();
            assert_eq!(s.token(form).await.0, 400);
            out.push(t.elapsed());
        }
    }
    w.sort();
    p.sort();
    check(
        "sqlite, password-less account",
        (w[SAMPLES / 2].as_secs_f64(), p[SAMPLES / 2].as_secs_f64()),
    );
    s.finish().await;
}
