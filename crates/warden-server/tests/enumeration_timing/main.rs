//! Login takes the same time for an unknown user and a wrong password (no user enumeration by
//! timing, ASVS 2.2 / FastAPI PR #14908). Alone in its own test binary so no other test
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
}
