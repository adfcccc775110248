//! `warden::password`: argon2id round trips, hashes written by Python (bcrypt, pwdlib,
//! argon2-cffi), rehash detection, bounds, and the hashing pool under load.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::Poll;

use serde::Deserialize;
use warden::password::{
    HashingPool, MAX_PASSWORD_BYTES, Params, PasswordError, PasswordHasher, PoolConfig, PoolError,
    Verified,
};
use warden::{AuthError, Denied};

/// Small parameters for tests that hash many times; never use them in production.
const FAST: Params = Params {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

/// One hasher at OWASP's parameters, made once (it computes a hash when built).
fn owasp() -> &'static PasswordHasher {
    static HASHER: OnceLock<PasswordHasher> = OnceLock::new();
    HASHER.get_or_init(|| PasswordHasher::new(Params::default()).unwrap())
}

#[derive(Deserialize)]
struct Fixtures {
    versions: serde_json::Value,
    fixtures: Vec<Fixture>,
}

#[derive(Deserialize)]
struct Fixture {
    generator: String,
    scheme: String,
    password: String,
    hash: String,
    needs_rehash: bool,
    note: String,
}

fn fixtures() -> Fixtures {
    let json = include_str!("fixtures/python_password_hashes.json");
    serde_json::from_str(json).unwrap()
}

#[test]
fn argon2id_round_trip_at_owasp_params() {
    let hasher = owasp();
    let stored = hasher.hash("correct horse battery staple").unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    assert_eq!(
        hasher.verify("correct horse battery staple", &stored),
        Ok(Verified::Valid {
            needs_rehash: false
        })
    );
    assert_eq!(
        hasher.verify("correct horse battery stapler", &stored),
        Ok(Verified::Invalid)
    );
    assert_eq!(hasher.verify("", &stored), Ok(Verified::Invalid));
}

#[test]
fn every_python_hash_verifies_and_reports_rehash() {
    let fixtures = fixtures();
    assert!(fixtures.versions["bcrypt"].is_string());
    let schemes: Vec<&str> = fixtures
        .fixtures
        .iter()
        .map(|f| f.scheme.as_str())
        .collect();
    for prefix in ["$2a$", "$2b$", "$2y$", "$argon2id$", "$argon2i$"] {
        assert!(
            fixtures.fixtures.iter().any(|f| f.hash.starts_with(prefix)),
            "no fixture for {prefix}"
        );
    }
    assert!(schemes.contains(&"bcrypt") && schemes.contains(&"argon2id"));
    for generator in ["bcrypt", "pwdlib", "argon2-cffi"] {
        assert!(fixtures.fixtures.iter().any(|f| f.generator == generator));
    }

    for f in &fixtures.fixtures {
        let context = format!("{} {} ({})", f.generator, f.hash, f.note);
        assert_eq!(
            owasp().verify(&f.password, &f.hash),
            Ok(Verified::Valid {
                needs_rehash: f.needs_rehash
            }),
            "{context}"
        );
        assert_eq!(owasp().needs_rehash(&f.hash), f.needs_rehash, "{context}");
        let wrong = format!("{}!", f.password);
        assert_eq!(
            owasp().verify(&wrong, &f.hash),
            Ok(Verified::Invalid),
            "{context}"
        );
    }
}

#[test]
fn non_ascii_and_colon_passwords_are_covered() {
    let fixtures = fixtures();
    assert!(fixtures.fixtures.iter().any(|f| !f.password.is_ascii()));
    assert!(fixtures.fixtures.iter().any(|f| f.password.contains(':')));
    assert!(fixtures.fixtures.iter().any(|f| f.password.len() == 72));
}

#[test]
fn bcrypt_hash_of_72_bytes_refuses_longer_passwords() {
    let fixture = fixtures()
        .fixtures
        .into_iter()
        .find(|f| f.scheme == "bcrypt" && f.password.len() == 72)
        .unwrap();
    assert!(
        owasp()
            .verify(&fixture.password, &fixture.hash)
            .unwrap()
            .is_valid()
    );
    // bcrypt reads 72 bytes only: anything appended would match by truncation. Refused.
    for suffix in ["x", "anything at all", "é"] {
        let longer = format!("{}{suffix}", fixture.password);
        assert_eq!(
            owasp().verify(&longer, &fixture.hash),
            Ok(Verified::Invalid)
        );
    }
}

#[test]
fn weaker_and_stronger_argon2_params_need_rehash() {
    let weak = PasswordHasher::new(FAST).unwrap();
    let stored = weak.hash("pw").unwrap();
    assert_eq!(
        owasp().verify("pw", &stored),
        Ok(Verified::Valid { needs_rehash: true })
    );
    // The weak hasher itself sees its own hash as current…
    assert_eq!(
        weak.verify("pw", &stored),
        Ok(Verified::Valid {
            needs_rehash: false
        })
    );
    // …and an OWASP hash as different (stronger), to be rewritten with its own params.
    let owasp_hash = owasp().hash("pw").unwrap();
    assert!(weak.verify("pw", &owasp_hash).unwrap().needs_rehash());
    let more_iterations = PasswordHasher::new(Params {
        iterations: 2,
        ..FAST
    })
    .unwrap();
    assert!(
        more_iterations
            .verify("pw", &stored)
            .unwrap()
            .needs_rehash()
    );
}

#[test]
fn too_long_passwords_are_refused() {
    let hasher = PasswordHasher::new(FAST).unwrap();
    let stored = hasher.hash("pw").unwrap();
    let long = "é".repeat(MAX_PASSWORD_BYTES / 2 + 1);
    let too_long = PasswordError::TooLong {
        max: MAX_PASSWORD_BYTES,
    };
    assert_eq!(hasher.hash(&long), Err(too_long));
    assert_eq!(hasher.verify(&long, &stored), Err(too_long));
    assert_eq!(hasher.verify_optional(&long, None), Err(too_long));
    assert_eq!(Denied::from(too_long), Denied::InvalidCredentials);
    // Exactly at the bound is fine.
    let at_bound = "x".repeat(MAX_PASSWORD_BYTES);
    let stored = hasher.hash(&at_bound).unwrap();
    assert!(hasher.verify(&at_bound, &stored).unwrap().is_valid());
}

#[test]
fn unknown_formats_are_errors_never_valid() {
    let hasher = PasswordHasher::new(FAST).unwrap();
    for stored in [
        "",
        "hunter2",
        "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
        "$5$rounds=5000$saltsalt$Ab8Qf7YwGV2DXMU2wA6VvOeY6Mlp7e0BQ5Uu8aQz0B3",
        "$pbkdf2-sha256$29000$N2YMIWQsBWBMae09x1jrPQ$1t8iyB2A.WF/Z5JZv.lfCIhXXN33N23OSgQYThBYRfk",
        "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
    ] {
        assert_eq!(
            hasher.verify("hunter2", stored),
            Err(PasswordError::UnknownFormat),
            "{stored}"
        );
        assert!(hasher.needs_rehash(stored));
    }
}

#[test]
fn unknown_user_is_invalid() {
    let hasher = PasswordHasher::new(FAST).unwrap();
    assert_eq!(hasher.verify_unknown_user("hunter2"), Ok(Verified::Invalid));
    assert_eq!(
        hasher.verify_optional("hunter2", None),
        Ok(Verified::Invalid)
    );
}

#[test]
fn errors_and_debug_never_show_the_password() {
    let secret = "s3cr3t-passw0rd";
    let hasher = PasswordHasher::new(FAST).unwrap();
    let stored = hasher.hash(secret).unwrap();
    let long = secret.repeat(100);
    let outputs = [
        format!("{hasher:?}"),
        format!("{:?}", hasher.verify(secret, "nope")),
        format!("{:?}", hasher.verify(&long, &stored)),
        format!("{}", hasher.verify(&long, &stored).unwrap_err()),
        format!("{:?}", hasher.verify(secret, &stored)),
    ];
    for output in outputs {
        assert!(!output.contains(secret), "{output}");
    }
}

// The pool.

fn pool(workers: usize, queue_capacity: usize, params: Params) -> HashingPool {
    let config = PoolConfig {
        queue_capacity,
        retry_after_secs: 2,
        ..PoolConfig::with_workers(workers)
    };
    HashingPool::new(PasswordHasher::new(params).unwrap(), config).unwrap()
}

/// Polls `future` once: `Ready` if it finished without waiting.
async fn poll_once<F: Future>(mut future: Pin<&mut F>) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

#[tokio::test(flavor = "current_thread")]
async fn saturated_pool_sheds_immediately_and_runtime_stays_responsive() {
    // Slow enough that a job outlives the microseconds it takes to submit the others
    // (8 MiB × 8 passes). One worker, two waiting places: three jobs fill the pool.
    let slow = Params {
        memory_kib: 8 * 1024,
        iterations: 8,
        parallelism: 1,
    };
    let pool = Arc::new(pool(1, 2, slow));
    let stored = pool.hasher().hash("pw").unwrap();

    let mut pending = Vec::new();
    let mut shed = 0;
    let mut max_depth = 0;
    for _ in 0..12 {
        let (shared, stored) = (Arc::clone(&pool), stored.clone());
        let mut future = Box::pin(async move { shared.verify("pw", &stored).await });
        match poll_once(future.as_mut()).await {
            // Refused on the first poll: the caller never waited.
            Poll::Ready(Err(PoolError::Busy { retry_after_secs })) => {
                assert_eq!(retry_after_secs, 2);
                shed += 1;
            }
            Poll::Ready(other) => panic!("accepted jobs cannot be done already: {other:?}"),
            Poll::Pending => pending.push(future),
        }
        // Never more hashes at once than workers, nor more waiting than workers + queue.
        assert!(pool.in_flight() <= 1);
        assert!(pool.queue_depth() <= 3);
        max_depth = max_depth.max(pool.queue_depth());
    }
    assert!(shed >= 1, "a full pool must shed");
    assert!(!pending.is_empty());
    assert!(max_depth >= 1, "waiting jobs are reported");

    // While the pool hashes, this single-threaded runtime still runs other tasks.
    let other_route = tokio::spawn(async { "served" });
    assert_eq!(other_route.await.unwrap(), "served");
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;

    // Accepted jobs complete with correct answers.
    for future in pending {
        assert_eq!(
            future.await,
            Ok(Verified::Valid {
                needs_rehash: false
            })
        );
    }
    assert_eq!((pool.queue_depth(), pool.in_flight()), (0, 0));

    // Busy becomes 503 with Retry-After through a Principal's `?`.
    let denied = Denied::from(PoolError::Busy {
        retry_after_secs: 2,
    });
    assert_eq!(denied, Denied::Unavailable { retry_after: 2 });
    let response =
        axum::response::IntoResponse::into_response(AuthError::Unavailable { retry_after: 2 });
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
}

#[tokio::test(flavor = "current_thread")]
async fn a_login_storm_beyond_the_threads_waits_its_turn_and_is_served() {
    // The default configuration with 2 threads: 64 verifications at once, far more than the
    // threads. Each takes about a millisecond, so all can be answered well within the
    // default `max_wait`: none may be refused. (The pool used to take 2 running + 8 waiting
    // and answer the other 54 Busy at once.)
    let params = Params {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    let pool = Arc::new(
        HashingPool::new(
            PasswordHasher::new(params).unwrap(),
            PoolConfig::with_workers(2),
        )
        .unwrap(),
    );
    let stored = pool.hasher().hash("pw").unwrap();
    let valid = Ok(Verified::Valid {
        needs_rehash: false,
    });
    let mut waiting = Vec::new();
    for _ in 0..64 {
        let (shared, stored) = (Arc::clone(&pool), stored.clone());
        let mut future = Box::pin(async move { shared.verify("pw", &stored).await });
        match poll_once(future.as_mut()).await {
            Poll::Pending => waiting.push(future),
            // Answered already (this thread was preempted for a hash's time): fine.
            Poll::Ready(answer) => assert_eq!(answer, valid, "refused instead of queued"),
        }
    }
    assert!(pool.in_flight() <= 2, "never more hashes than threads");
    for future in waiting {
        assert_eq!(future.await, valid);
    }
    assert_eq!((pool.queue_depth(), pool.in_flight()), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_correct_under_concurrency() {
    let pool = Arc::new(pool(2, 64, FAST));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24 {
        let pool = Arc::clone(&pool);
        tasks.spawn(async move {
            let password = format!("password-{i}-pässwörd");
            let stored = pool.hash(&password).await.unwrap();
            let right = pool.verify(&password, &stored).await.unwrap();
            let wrong = pool.verify("password-x", &stored).await.unwrap();
            let unknown = pool.verify_optional(&password, None).await.unwrap();
            (right, wrong, unknown)
        });
    }
    let mut done = 0;
    while let Some(result) = tasks.join_next().await {
        let (right, wrong, unknown) = result.unwrap();
        assert_eq!(
            right,
            Verified::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(wrong, Verified::Invalid);
        assert_eq!(unknown, Verified::Invalid);
        done += 1;
    }
    assert_eq!(done, 24);
    assert_eq!((pool.queue_depth(), pool.in_flight()), (0, 0));
}

#[tokio::test]
async fn pool_reports_errors_of_the_hasher() {
    let pool = pool(1, 1, FAST);
    assert_eq!(
        pool.verify("pw", "$md5$nope").await,
        Err(PoolError::Password(PasswordError::UnknownFormat))
    );
    let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
    assert_eq!(
        pool.verify_optional(&long, None).await,
        Err(PoolError::Password(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES
        }))
    );
    // A caller that got its answer can submit again at once, even with no waiting room.
    let pool = pool_without_queue();
    for _ in 0..5 {
        let stored = pool.hash("pw").await.unwrap();
        assert!(pool.verify("pw", &stored).await.unwrap().is_valid());
    }
}

fn pool_without_queue() -> HashingPool {
    pool(1, 0, FAST)
}

#[tokio::test]
async fn dropping_the_pool_is_clean() {
    let pool = pool(2, 8, FAST);
    let stored = pool.hash("pw").await.unwrap();
    assert!(pool.verify("pw", &stored).await.unwrap().is_valid());
    drop(pool); // joins its threads; must not hang nor panic
}
