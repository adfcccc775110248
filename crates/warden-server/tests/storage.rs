//! One storage test suite, run against both backends.
//!
//! Every test is a generic `async fn(S: Storage)`; [`backend_tests!`] instantiates the
//! whole list for SQLite (a fresh temporary file per test) and for PostgreSQL (a fresh
//! database per test on the server at `WARDEN_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, dropped afterwards even when the test
//! fails). When PostgreSQL is unreachable its tests are skipped with a note on stderr, or
//! fail when `CI=true`.
//!
//! Two submodules check the SQL itself, on both backends: `storage/statements.rs` prepares
//! every statement the storage can run, `storage/schema.rs` compares the migrated schemas.
//!
//! `cargo test -p warden-server --test storage`

use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::SqlitePool;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use uuid::Uuid;
use warden_server::storage::{
    ApiKey, AuditEvent, AuditFilter, AuthorizationCode, BrowserSession, Client, CodeTokens,
    Consent, KeyStatus, LinkedIdentity, PostgresStorage, PushedRequest, RefreshToken, Role,
    SqliteStorage, Storage, StorageError, StoredPasskey, StoredSigningKey, UpstreamLogin,
    UpstreamProvider, User, WebauthnCeremony,
};

#[path = "storage/schema.rs"]
mod schema;
#[path = "storage/statements.rs"]
mod statements;

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// What to tear down after a test.
enum Cleanup {
    Sqlite {
        path: PathBuf,
        pool: SqlitePool,
    },
    Postgres {
        admin_url: String,
        database: String,
        pool: Option<PgPool>,
    },
}

impl Cleanup {
    async fn run(self) {
        match self {
            Cleanup::Sqlite { path, pool } => {
                pool.close().await;
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    match std::fs::remove_file(&file) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => eprintln!("could not remove {}: {e}", path.display()),
                    }
                }
            }
            Cleanup::Postgres {
                admin_url,
                database,
                pool,
            } => {
                if let Some(pool) = pool {
                    pool.close().await;
                }
                let dropped = async {
                    let mut admin = PgConnection::connect(&admin_url).await?;
                    sqlx::query(AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await?;
                    admin.close().await
                };
                if let Err(e) = dropped.await {
                    eprintln!("could not drop test database {database}: {e}");
                }
            }
        }
    }
}

/// A migrated SQLite database in a fresh temporary file, opened by URL.
async fn fresh_sqlite() -> Option<(SqliteStorage, Cleanup)> {
    let path = std::env::temp_dir().join(format!("warden-test-{}.db", Uuid::new_v4().simple()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let storage = SqliteStorage::connect(&url)
        .await
        .expect("open the SQLite file");
    storage.migrate().await.expect("migrate SQLite");
    let cleanup = Cleanup::Sqlite {
        path,
        pool: storage.pool().clone(),
    };
    Some((storage, cleanup))
}

fn postgres_admin_url() -> String {
    std::env::var("WARDEN_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A migrated PostgreSQL database of its own, or `None` (skip) when the server is
/// unreachable outside CI.
async fn fresh_postgres() -> Option<(PostgresStorage, Cleanup)> {
    let admin_url = postgres_admin_url();
    let options = PgConnectOptions::from_str(&admin_url).expect("WARDEN_TEST_POSTGRES_URL");
    // The URL may hold a password: name only the host.
    let server = format!("{}:{}", options.get_host(), options.get_port());
    let connected = tokio::time::timeout(
        Duration::from_secs(10),
        PgConnection::connect_with(&options),
    )
    .await;
    let mut admin = match connected {
        Ok(Ok(admin)) => admin,
        failed => {
            let why = match failed {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_owned(),
            };
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!(
                    "PostgreSQL unreachable at {server} ({why}); CI=true requires it \
                     (set WARDEN_TEST_POSTGRES_URL)"
                );
            }
            eprintln!("skipping PostgreSQL test: unreachable at {server} ({why})");
            return None;
        }
    };
    let database = format!("warden_test_{}", Uuid::new_v4().simple());
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin)
        .await
        .expect("create the test database");
    admin.close().await.expect("close the admin connection");

    let cleanup = |pool: Option<PgPool>| Cleanup::Postgres {
        admin_url: admin_url.clone(),
        database: database.clone(),
        pool,
    };
    let connected = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options.database(&database))
        .await;
    let pool = match connected {
        Ok(pool) => pool,
        Err(e) => {
            cleanup(None).run().await;
            panic!("connect to the test database: {e}");
        }
    };
    let storage = PostgresStorage::from_pool(pool.clone());
    if let Err(e) = storage.migrate().await {
        cleanup(Some(pool)).run().await;
        panic!("migrate PostgreSQL: {e}");
    }
    Some((storage, cleanup(Some(pool))))
}

/// Runs `test` on the fixture's storage, always cleans up, then reports the test's panic.
async fn run<S, F, Fut>(fixture: Option<(S, Cleanup)>, test: F)
where
    S: Storage,
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some((storage, cleanup)) = fixture else {
        return;
    };
    // A task of its own, so a panic comes back as a value and the cleanup still runs.
    let outcome = tokio::spawn(test(storage)).await;
    cleanup.run().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

/// Runs `test` on a migrated SQLite and a migrated PostgreSQL database, always cleans both
/// up, then reports the test's panic. Skipped (with the note) when PostgreSQL is unreachable
/// outside CI.
async fn run_on_both<F, Fut>(test: F)
where
    F: FnOnce(SqliteStorage, PostgresStorage) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some((sqlite, sqlite_cleanup)) = fresh_sqlite().await else {
        return;
    };
    let Some((postgres, postgres_cleanup)) = fresh_postgres().await else {
        sqlite_cleanup.run().await;
        return;
    };
    let outcome = tokio::spawn(test(sqlite, postgres)).await;
    sqlite_cleanup.run().await;
    postgres_cleanup.run().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

/// Instantiates every test of the suite for one backend, in a module named after it.
macro_rules! backend_tests {
    ($backend:ident, $fresh:expr) => {
        mod $backend {
            use super::*;

            backend_tests!(@each $fresh;
                migrations_are_idempotent,
                ping_answers,
                users_roundtrip,
                username_conflict,
                set_user_email_changes_only_the_email,
                password_hash_is_replaced_only_if_unchanged,
                password_hash_is_replaced_once_under_concurrency,
                disabled_flag_is_set_alone,
                user_roles_set_and_replace,
                role_scopes,
                list_users_paginates_by_username,
                usernames_sort_bytewise,
                disabled_flag,
                delete_user_cascades,
                clients_crud,
                client_openid_fields_roundtrip,
                refresh_token_insert_and_lookup,
                rotate_refresh_token_once,
                rotate_exactly_once_under_concurrency,
                revocation_never_misses_a_racing_rotation,
                concurrent_transactions_all_succeed,
                revoke_refresh_family,
                revoke_user_refresh_tokens,
                revoked_token_cannot_be_rotated,
                api_keys_lifecycle,
                signing_keys_lifecycle,
                first_signing_key_is_stored_once_under_concurrency,
                audit_filters_newest_first,
                audit_batches_keep_order_and_fail_whole,
                listings_are_capped,
                purge_expired_deletes_only_expired,
                access_token_denylist,
                user_for_access_token_honours_the_denylist,
                purge_expired_deletes_expired_denylist_entries,
                authorization_code_insert_and_lookup,
                consume_authorization_code_once,
                consume_authorization_code_exactly_once_under_concurrency,
                replayed_codes_are_marked_once,
                replays_racing_keep_one_replay_time,
                purge_expired_deletes_expired_codes_and_sessions,
                browser_sessions_lifecycle,
                consents_put_replace_get,
                delete_user_cascades_to_codes_sessions_consents,
                delete_client_cascades_to_codes_and_consents,
                totp_pending_confirmed_and_steps_taken_once,
                totp_step_is_taken_once_under_concurrency,
                recovery_codes_are_replaced_and_used_once,
                second_factors_go_with_the_user,
                roles_and_clients_keep_their_mfa_policy,
                sessions_codes_and_refresh_tokens_keep_their_amr,
                passkeys_registered_listed_renamed_removed,
                passkey_counter_only_rises_once_under_concurrency,
                ceremony_is_taken_once,
                pushed_request_is_taken_once_and_purged,
                client_update_replaces_the_registration,
                ceremony_is_taken_once_under_concurrency,
                purge_expired_deletes_expired_ceremonies,
                passkeys_and_ceremonies_go_with_the_user,
                upstream_providers_crud,
                identities_link_touch_unlink,
                user_with_identity_is_created_whole_or_not_at_all,
                upstream_login_is_taken_once_and_never_expired,
                upstream_login_is_taken_once_under_concurrency,
                identities_go_with_the_user_and_the_provider,
                unlinking_keeps_the_last_identity_under_concurrency,
            );
        }
    };
    (@each $fresh:expr; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                run($fresh, super::$test).await;
            }
        )*
    };
}

backend_tests!(sqlite, fresh_sqlite().await);
backend_tests!(postgres, fresh_postgres().await);

// ---------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------

const T0: i64 = 1_700_000_000;

fn new_id() -> String {
    Uuid::new_v4().to_string()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn user(username: &str) -> User {
    User {
        id: new_id(),
        username: username.to_owned(),
        email: Some(format!("{username}@example.com")),
        email_verified: false,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".to_owned(),
        disabled: false,
        roles: Vec::new(),
        created_at: T0,
        updated_at: T0,
    }
}

fn client(client_id: &str, created_at: i64) -> Client {
    Client {
        client_id: client_id.to_owned(),
        name: format!("Client {client_id}"),
        secret_hash: Some(
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        ),
        public: false,
        redirect_uris: strings(&["https://app.example.com/cb", "http://127.0.0.1:8080/cb"]),
        grant_types: strings(&["authorization_code", "refresh_token"]),
        scopes: strings(&["openid", "profile", "users:read"]),
        created_at,
        first_party: false,
        post_logout_redirect_uris: Vec::new(),
        id_token_alg: "RS256".to_owned(),
        require_mfa: false,
        // Round-trips with the rest (the tests compare whole records).
        require_par: client_id.len().is_multiple_of(2),
        jwks: Some(format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{client_id}"}}]}}"#
        )),
        dpop_bound: !client_id.len().is_multiple_of(2),
        registration_token_hash: Some(format!("rat-{client_id}")),
    }
}

/// A random SHA-256-hex-shaped digest.
fn digest() -> String {
    format!("{:064x}", Uuid::new_v4().as_u128())
}

fn auth_code(user_id: &str, client_id: &str, expires_at: i64) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: digest(),
        client_id: client_id.to_owned(),
        user_id: user_id.to_owned(),
        redirect_uri: "https://app.example.com/cb".to_owned(),
        scope: "openid profile".to_owned(),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
        auth_time: T0 - 30,
        issued_at: T0,
        expires_at,
        used_at: None,
        refresh_family_id: None,
        access_jti: None,
        access_expires_at: None,
        replayed_at: None,
        amr: "pwd".into(),
        dpop_jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into()),
    }
}

/// What a redemption issues: a refresh family and an access token.
fn issued(at: i64) -> CodeTokens {
    CodeTokens {
        refresh_family_id: Some(new_id()),
        access_jti: new_id(),
        access_expires_at: at + 900,
    }
}

fn session(user_id: &str, expires_at: i64) -> BrowserSession {
    BrowserSession {
        id_hash: digest(),
        user_id: user_id.to_owned(),
        auth_time: T0,
        expires_at,
        amr: "pwd".into(),
    }
}

/// A user and a client, stored, for the records that reference both.
async fn owner_and_client<S: Storage>(s: &S, username: &str, client_id: &str) -> (User, Client) {
    let u = user(username);
    s.create_user(&u).await.unwrap();
    let c = client(client_id, T0);
    s.create_client(&c).await.unwrap();
    (u, c)
}

fn token(user_id: Option<&str>, family_id: &str, expires_at: i64) -> RefreshToken {
    RefreshToken {
        id: new_id(),
        family_id: family_id.to_owned(),
        token_hash: format!("{:064x}", Uuid::new_v4().as_u128()),
        user_id: user_id.map(str::to_owned),
        client_id: "web".to_owned(),
        scope: "openid profile".to_owned(),
        issued_at: T0,
        expires_at,
        used_at: None,
        revoked_at: None,
        auth_time: None,
        amr: None,
        // Round-trips with the rest (the tests compare whole records).
        dpop_jkt: Some(format!("jkt-of-{family_id}")),
    }
}

fn api_key(user_id: &str, created_at: i64) -> ApiKey {
    ApiKey {
        id: Uuid::new_v4().simple().to_string(),
        user_id: user_id.to_owned(),
        name: "ci".to_owned(),
        hash: format!("{:064x}", Uuid::new_v4().as_u128()),
        scopes: strings(&["deploy", "read"]),
        created_at,
        expires_at: Some(created_at + 86_400),
        last_used_at: None,
        revoked_at: None,
    }
}

fn signing_key(kid: &str, status: KeyStatus, created_at: i64) -> StoredSigningKey {
    StoredSigningKey {
        kid: kid.to_owned(),
        alg: "EdDSA".to_owned(),
        encrypted_private_key: vec![0, 1, 2, 0xfe, 0xff, 0, b'k', b'e', b'y'],
        status,
        created_at,
    }
}

fn event(at: i64, name: &str, actor: Option<&str>) -> AuditEvent {
    AuditEvent {
        id: new_id(),
        at,
        event: name.to_owned(),
        actor: actor.map(str::to_owned),
        client_id: Some("web".to_owned()),
        ip: Some("203.0.113.7".to_owned()),
        outcome: if name.ends_with("failure") {
            "failure"
        } else {
            "success"
        }
        .to_owned(),
        detail: None,
    }
}

fn usernames(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

fn audit_ids(events: &[AuditEvent]) -> Vec<&str> {
    events.iter().map(|e| e.id.as_str()).collect()
}

fn key_ids(keys: &[ApiKey]) -> Vec<&str> {
    keys.iter().map(|k| k.id.as_str()).collect()
}

// ---------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------

async fn migrations_are_idempotent<S: Storage>(s: S) {
    // The fixture migrated once already.
    s.migrate().await.unwrap();
    s.migrate().await.unwrap();
    let u = user("after-migrations");
    s.create_user(&u).await.unwrap();
    assert_eq!(s.user_by_id(&u.id).await.unwrap(), Some(u));
}

async fn ping_answers<S: Storage>(s: S) {
    s.ping().await.unwrap();
}

async fn users_roundtrip<S: Storage>(s: S) {
    let mut alice = user("alice");
    alice.roles = strings(&["admin", "viewer"]);
    s.create_user(&alice).await.unwrap();
    let mut no_email = user("bob");
    no_email.email = None;
    s.create_user(&no_email).await.unwrap();

    assert_eq!(
        s.user_by_id(&alice.id).await.unwrap().as_ref(),
        Some(&alice)
    );
    assert_eq!(
        s.user_by_username("alice").await.unwrap().as_ref(),
        Some(&alice)
    );
    assert_eq!(
        s.user_by_username("bob").await.unwrap().as_ref(),
        Some(&no_email)
    );
    assert_eq!(s.user_by_id(&new_id()).await.unwrap(), None);
    assert_eq!(
        s.user_by_username("Alice").await.unwrap(),
        None,
        "case-sensitive"
    );
    assert_eq!(s.count_users().await.unwrap(), 2);

    // update_user changes email, password hash, disabled, updated_at; not username or roles.
    let mut changed = alice.clone();
    changed.email = None;
    changed.password_hash = "$2b$12$legacylegacylegacylegacyleOTKAxrDo0bVvm6WsNlkmpV9wsN6".into();
    changed.disabled = true;
    changed.updated_at = T0 + 60;
    changed.username = "mallory".into();
    changed.roles = strings(&["root"]);
    changed.created_at = T0 + 60;
    s.update_user(&changed).await.unwrap();
    let stored = s.user_by_id(&alice.id).await.unwrap().unwrap();
    assert_eq!(
        stored,
        User {
            email: None,
            password_hash: changed.password_hash.clone(),
            disabled: true,
            updated_at: T0 + 60,
            ..alice.clone()
        }
    );
    assert_eq!(s.user_by_username("mallory").await.unwrap(), None);

    let missing = user("ghost");
    assert!(matches!(
        s.update_user(&missing).await,
        Err(StorageError::NotFound("user"))
    ));
}

async fn set_user_email_changes_only_the_email<S: Storage>(s: S) {
    let alice = user("alice");
    s.create_user(&alice).await.unwrap();
    s.set_user_email(&alice.id, Some("new@example.com"), T0 + 30)
        .await
        .unwrap();
    assert_eq!(
        s.user_by_id(&alice.id).await.unwrap().unwrap(),
        User {
            email: Some("new@example.com".into()),
            updated_at: T0 + 30,
            ..alice.clone()
        }
    );
    s.set_user_email_verified(&alice.id, true, T0 + 40)
        .await
        .unwrap();
    let stored = s.user_by_id(&alice.id).await.unwrap().unwrap();
    assert!(stored.email_verified);
    assert_eq!(stored.updated_at, T0 + 40);
    s.set_user_email(&alice.id, None, T0 + 60).await.unwrap();
    let stored = s.user_by_id(&alice.id).await.unwrap().unwrap();
    assert_eq!((stored.email, stored.updated_at), (None, T0 + 60));
    assert!(!stored.email_verified, "a changed address is unverified");
    assert!(matches!(
        s.set_user_email_verified(&new_id(), true, T0).await,
        Err(StorageError::NotFound("user"))
    ));
    assert!(matches!(
        s.set_user_email(&new_id(), None, T0).await,
        Err(StorageError::NotFound("user"))
    ));
}

async fn password_hash_is_replaced_only_if_unchanged<S: Storage>(s: S) {
    let alice = user("alice");
    s.create_user(&alice).await.unwrap();
    // The stored hash is still the one expected: replaced.
    assert!(
        s.replace_password_hash(
            &alice.id,
            Some(&alice.password_hash),
            "$argon2id$new",
            T0 + 10
        )
        .await
        .unwrap()
    );
    // A stale expectation (the password changed meanwhile): nothing written.
    assert!(
        !s.replace_password_hash(
            &alice.id,
            Some(&alice.password_hash),
            "$argon2id$stale",
            T0 + 20
        )
        .await
        .unwrap()
    );
    let stored = s.user_by_id(&alice.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.password_hash.as_str(), stored.updated_at),
        ("$argon2id$new", T0 + 10)
    );
    // Unconditional, and only the hash.
    s.set_user_disabled(&alice.id, true, T0 + 25).await.unwrap();
    assert!(
        s.replace_password_hash(&alice.id, None, "$argon2id$admin-reset", T0 + 30)
            .await
            .unwrap()
    );
    let stored = s.user_by_id(&alice.id).await.unwrap().unwrap();
    assert!(
        stored.disabled,
        "a password write never re-enables an account"
    );
    assert!(matches!(
        s.replace_password_hash(&new_id(), None, "x", T0).await,
        Err(StorageError::NotFound("user"))
    ));
}

/// Concurrent rehashes of one expected hash (logins of one user that all upgrade its hash):
/// exactly one writes, and its hash is the one stored.
async fn password_hash_is_replaced_once_under_concurrency<S: Storage>(s: S) {
    const CALLERS: usize = 16;
    let alice = user("alice");
    s.create_user(&alice).await.unwrap();
    let mut expected = alice.password_hash.clone();
    for round in 0..5 {
        let start = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (s, id, expected, start) =
                    (s.clone(), alice.id.clone(), expected.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    let hash = format!("$argon2id$round-{round}-caller-{i}");
                    let wrote = s
                        .replace_password_hash(&id, Some(&expected), &hash, T0 + 10)
                        .await
                        .unwrap();
                    (hash, wrote)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for caller in callers {
            let (hash, wrote) = caller.await.unwrap();
            if wrote {
                winners.push(hash);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one caller replaces the expected hash"
        );
        let stored = s.user_by_id(&alice.id).await.unwrap().unwrap();
        assert_eq!(
            stored.password_hash, winners[0],
            "the winner's hash is stored"
        );
        expected = stored.password_hash;
    }
}

async fn disabled_flag_is_set_alone<S: Storage>(s: S) {
    let bob = user("bob");
    s.create_user(&bob).await.unwrap();
    s.set_user_disabled(&bob.id, true, T0 + 5).await.unwrap();
    assert_eq!(
        s.user_by_id(&bob.id).await.unwrap().unwrap(),
        User {
            disabled: true,
            updated_at: T0 + 5,
            ..bob.clone()
        }
    );
    s.set_user_disabled(&bob.id, false, T0 + 6).await.unwrap();
    assert!(!s.user_by_id(&bob.id).await.unwrap().unwrap().disabled);
    assert!(matches!(
        s.set_user_disabled(&new_id(), true, T0).await,
        Err(StorageError::NotFound("user"))
    ));
}

async fn username_conflict<S: Storage>(s: S) {
    let mut first = user("carol");
    first.roles = strings(&["viewer"]);
    s.create_user(&first).await.unwrap();

    // Same username, other id: refused, and none of its roles land anywhere.
    let mut second = user("carol");
    second.roles = strings(&["admin"]);
    assert!(matches!(
        s.create_user(&second).await,
        Err(StorageError::Conflict("username"))
    ));
    assert_eq!(s.user_by_id(&second.id).await.unwrap(), None);
    assert_eq!(
        s.user_by_id(&first.id).await.unwrap().unwrap().roles,
        strings(&["viewer"])
    );

    // Same id, other username: also a conflict.
    let mut same_id = user("dave");
    same_id.id = first.id.clone();
    assert!(matches!(
        s.create_user(&same_id).await,
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(s.user_by_username("dave").await.unwrap(), None);
    assert_eq!(s.count_users().await.unwrap(), 1);
}

async fn user_roles_set_and_replace<S: Storage>(s: S) {
    let mut u = user("erin");
    u.roles = strings(&["viewer", "admin"]);
    s.create_user(&u).await.unwrap();
    let roles = |s: S, id: String| async move { s.user_by_id(&id).await.unwrap().unwrap().roles };
    assert_eq!(
        roles(s.clone(), u.id.clone()).await,
        strings(&["viewer", "admin"]),
        "order kept"
    );

    // Replaced, duplicates dropped (first occurrence kept), order kept.
    s.set_user_roles(&u.id, &strings(&["ops", "admin", "ops", "auditor"]))
        .await
        .unwrap();
    assert_eq!(
        roles(s.clone(), u.id.clone()).await,
        strings(&["ops", "admin", "auditor"])
    );

    s.set_user_roles(&u.id, &[]).await.unwrap();
    assert_eq!(roles(s.clone(), u.id.clone()).await, Vec::<String>::new());

    s.set_user_roles(&u.id, &strings(&["viewer"]))
        .await
        .unwrap();
    assert_eq!(roles(s.clone(), u.id.clone()).await, strings(&["viewer"]));

    // Another user's roles are untouched.
    let mut other = user("frank");
    other.roles = strings(&["admin"]);
    s.create_user(&other).await.unwrap();
    s.set_user_roles(&u.id, &strings(&["ops"])).await.unwrap();
    assert_eq!(
        roles(s.clone(), other.id.clone()).await,
        strings(&["admin"])
    );

    assert!(matches!(
        s.set_user_roles(&new_id(), &strings(&["admin"])).await,
        Err(StorageError::NotFound("user"))
    ));
    // Roles come back on every read path.
    let listed = s.list_users(None, 10).await.unwrap();
    assert_eq!(listed[0].roles, strings(&["ops"]));
    assert_eq!(listed[1].roles, strings(&["admin"]));
    assert_eq!(
        s.user_by_username("erin").await.unwrap().unwrap().roles,
        strings(&["ops"])
    );
}

async fn role_scopes<S: Storage>(s: S) {
    let admin = Role {
        name: "admin".into(),
        scopes: strings(&["users:read", "users:write"]),
        require_mfa: false,
    };
    let viewer = Role {
        name: "viewer".into(),
        scopes: strings(&["users:read"]),
        require_mfa: false,
    };
    let empty = Role {
        name: "nobody".into(),
        scopes: Vec::new(),
        require_mfa: false,
    };
    s.put_role(&admin).await.unwrap();
    s.put_role(&viewer).await.unwrap();
    s.put_role(&empty).await.unwrap();
    assert_eq!(
        s.list_roles().await.unwrap(),
        vec![admin.clone(), empty.clone(), viewer.clone()]
    );

    // put_role replaces the scopes.
    let admin = Role {
        name: "admin".into(),
        scopes: strings(&["*", "users:write"]),
        require_mfa: false,
    };
    s.put_role(&admin).await.unwrap();
    assert_eq!(
        s.roles(&strings(&["viewer", "ghost", "admin"]))
            .await
            .unwrap(),
        vec![admin.clone(), viewer.clone()],
        "the existing ones, by name"
    );
    assert_eq!(s.roles(&[]).await.unwrap(), Vec::<Role>::new());
    assert_eq!(
        s.roles(&strings(&["ghost"])).await.unwrap(),
        Vec::<Role>::new()
    );

    // A user may hold a role not (yet) defined; deleting a role takes it from its users.
    let mut u = user("grace");
    u.roles = strings(&["admin", "viewer", "undefined"]);
    s.create_user(&u).await.unwrap();
    assert!(s.delete_role("admin").await.unwrap());
    assert!(!s.delete_role("admin").await.unwrap());
    assert_eq!(s.list_roles().await.unwrap(), vec![empty, viewer]);
    assert_eq!(
        s.user_by_id(&u.id).await.unwrap().unwrap().roles,
        strings(&["viewer", "undefined"])
    );
}

async fn list_users_paginates_by_username<S: Storage>(s: S) {
    // Inserted out of order.
    let names: Vec<String> = (0..25)
        .map(|i| format!("user-{:02}", (i * 7) % 25))
        .collect();
    for name in &names {
        s.create_user(&user(name)).await.unwrap();
    }
    assert_eq!(s.count_users().await.unwrap(), 25);

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = s.list_users(after.as_deref(), 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        pages += 1;
        after = page.last().map(|u| u.username.clone());
        seen.extend(page.into_iter().map(|u| u.username));
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|i| format!("user-{i:02}")).collect();
    assert_eq!(seen, expected);

    let page = s.list_users(Some("user-09"), 3).await.unwrap();
    assert_eq!(usernames(&page), ["user-10", "user-11", "user-12"]);
    // `after` need not be an existing username.
    let page = s.list_users(Some("user-095"), 2).await.unwrap();
    assert_eq!(usernames(&page), ["user-10", "user-11"]);
    assert!(s.list_users(Some("user-24"), 10).await.unwrap().is_empty());
    assert!(s.list_users(None, 0).await.unwrap().is_empty());
    assert_eq!(s.list_users(None, u32::MAX).await.unwrap().len(), 25);
}

async fn usernames_sort_bytewise<S: Storage>(s: S) {
    // Byte order on both backends, whatever PostgreSQL's locale: upper case before lower
    // case, UTF-8 multi-byte characters last.
    for name in ["émile", "alice", "Zed", "bob", "Bob"] {
        s.create_user(&user(name)).await.unwrap();
    }
    let all = s.list_users(None, 10).await.unwrap();
    assert_eq!(usernames(&all), ["Bob", "Zed", "alice", "bob", "émile"]);
    let rest = s.list_users(Some("Zed"), 10).await.unwrap();
    assert_eq!(usernames(&rest), ["alice", "bob", "émile"]);
    for name in ["viewer", "Admin", "admin"] {
        let role = Role {
            name: name.into(),
            scopes: Vec::new(),
            require_mfa: false,
        };
        s.put_role(&role).await.unwrap();
    }
    let roles: Vec<String> = s
        .list_roles()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(roles, ["Admin", "admin", "viewer"]);
}

async fn disabled_flag<S: Storage>(s: S) {
    let mut enabled = user("henry");
    let mut disabled = user("irene");
    disabled.disabled = true;
    s.create_user(&enabled).await.unwrap();
    s.create_user(&disabled).await.unwrap();
    assert!(!s.user_by_username("henry").await.unwrap().unwrap().disabled);
    assert!(s.user_by_username("irene").await.unwrap().unwrap().disabled);

    enabled.disabled = true;
    enabled.updated_at = T0 + 1;
    s.update_user(&enabled).await.unwrap();
    disabled.disabled = false;
    disabled.updated_at = T0 + 1;
    s.update_user(&disabled).await.unwrap();

    let listed = s.list_users(None, 10).await.unwrap();
    let flags: Vec<(&str, bool)> = listed
        .iter()
        .map(|u| (u.username.as_str(), u.disabled))
        .collect();
    assert_eq!(flags, [("henry", true), ("irene", false)]);
}

async fn delete_user_cascades<S: Storage>(s: S) {
    let mut gone = user("jack");
    gone.roles = strings(&["admin"]);
    let kept = user("kate");
    s.create_user(&gone).await.unwrap();
    s.create_user(&kept).await.unwrap();

    let gone_tokens = [
        token(Some(&gone.id), "f1", T0 + 100),
        token(Some(&gone.id), "f2", T0 + 100),
    ];
    let kept_token = token(Some(&kept.id), "f3", T0 + 100);
    for t in gone_tokens.iter().chain([&kept_token]) {
        s.insert_refresh_token(t).await.unwrap();
    }
    let gone_keys = [api_key(&gone.id, T0), api_key(&gone.id, T0 + 1)];
    let kept_key = api_key(&kept.id, T0);
    for k in gone_keys.iter().chain([&kept_key]) {
        s.insert_api_key(k).await.unwrap();
    }

    assert!(s.delete_user(&gone.id).await.unwrap());
    assert!(!s.delete_user(&gone.id).await.unwrap());
    assert_eq!(s.user_by_id(&gone.id).await.unwrap(), None);
    assert_eq!(s.count_users().await.unwrap(), 1);

    for t in &gone_tokens {
        assert_eq!(s.refresh_token_by_hash(&t.token_hash).await.unwrap(), None);
    }
    for k in &gone_keys {
        assert_eq!(s.api_key(&k.id).await.unwrap(), None);
    }
    assert!(s.list_api_keys(&gone.id).await.unwrap().is_empty());
    assert_eq!(s.revoke_user_refresh_tokens(&gone.id, T0).await.unwrap(), 0);

    // The other user keeps everything.
    assert_eq!(
        s.refresh_token_by_hash(&kept_token.token_hash)
            .await
            .unwrap(),
        Some(kept_token)
    );
    assert_eq!(s.api_key(&kept_key.id).await.unwrap(), Some(kept_key));

    // The roles went too: a user re-created with the same id starts with none.
    let mut again = user("jack");
    again.id = gone.id.clone();
    s.create_user(&again).await.unwrap();
    assert!(
        s.user_by_id(&gone.id)
            .await
            .unwrap()
            .unwrap()
            .roles
            .is_empty()
    );
}

async fn clients_crud<S: Storage>(s: S) {
    let confidential = client("web", T0);
    let public = Client {
        secret_hash: None,
        public: true,
        redirect_uris: strings(&["com.example.app:/cb"]),
        grant_types: strings(&["authorization_code"]),
        scopes: Vec::new(),
        ..client("mobile", T0 + 1)
    };
    s.create_client(&confidential).await.unwrap();
    s.create_client(&public).await.unwrap();

    assert_eq!(s.client("web").await.unwrap().as_ref(), Some(&confidential));
    assert_eq!(s.client("mobile").await.unwrap().as_ref(), Some(&public));
    assert_eq!(s.client("ghost").await.unwrap(), None);
    assert_eq!(
        s.list_clients().await.unwrap(),
        vec![confidential.clone(), public.clone()]
    );

    let duplicate = Client {
        name: "Other".into(),
        ..client("web", T0 + 2)
    };
    assert!(matches!(
        s.create_client(&duplicate).await,
        Err(StorageError::Conflict("client_id"))
    ));
    assert_eq!(s.client("web").await.unwrap(), Some(confidential));

    assert!(s.delete_client("web").await.unwrap());
    assert!(!s.delete_client("web").await.unwrap());
    assert_eq!(s.client("web").await.unwrap(), None);
    assert_eq!(s.list_clients().await.unwrap(), vec![public]);
}

async fn refresh_token_insert_and_lookup<S: Storage>(s: S) {
    let u = user("liam");
    s.create_user(&u).await.unwrap();
    let t = token(Some(&u.id), "family", T0 + 3600);
    s.insert_refresh_token(&t).await.unwrap();
    assert_eq!(
        s.refresh_token_by_hash(&t.token_hash)
            .await
            .unwrap()
            .as_ref(),
        Some(&t)
    );
    assert_eq!(
        s.refresh_token_by_hash(&"0".repeat(64)).await.unwrap(),
        None
    );

    // A token without a user (e.g. a client's own grant) round-trips too.
    let mut clients_own = token(None, "other-family", T0 + 3600);
    clients_own.used_at = Some(T0 + 5);
    clients_own.revoked_at = Some(T0 + 6);
    s.insert_refresh_token(&clients_own).await.unwrap();
    assert_eq!(
        s.refresh_token_by_hash(&clients_own.token_hash)
            .await
            .unwrap(),
        Some(clients_own)
    );

    // Same hash, other id.
    let duplicate = RefreshToken {
        id: new_id(),
        ..t.clone()
    };
    assert!(matches!(
        s.insert_refresh_token(&duplicate).await,
        Err(StorageError::Conflict("refresh_token"))
    ));
    // Unknown user.
    let orphan = token(Some(&new_id()), "family", T0 + 3600);
    assert!(matches!(
        s.insert_refresh_token(&orphan).await,
        Err(StorageError::NotFound("user"))
    ));
    assert_eq!(
        s.refresh_token_by_hash(&t.token_hash).await.unwrap(),
        Some(t)
    );
}

async fn rotate_refresh_token_once<S: Storage>(s: S) {
    let t = token(None, "family", T0 + 3600);
    s.insert_refresh_token(&t).await.unwrap();
    let (first, second) = (
        token(None, "family", T0 + 3600),
        token(None, "family", T0 + 3600),
    );
    assert!(
        s.rotate_refresh_token(&t.id, T0 + 10, &first)
            .await
            .unwrap()
    );
    assert!(
        !s.rotate_refresh_token(&t.id, T0 + 20, &second)
            .await
            .unwrap()
    );
    let stored = s
        .refresh_token_by_hash(&t.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.used_at, Some(T0 + 10), "the first use is kept");
    assert_eq!(stored.revoked_at, None);
    assert_eq!(
        s.refresh_token_by_hash(&first.token_hash).await.unwrap(),
        Some(first),
        "the successor is stored with the rotation"
    );
    assert_eq!(
        s.refresh_token_by_hash(&second.token_hash).await.unwrap(),
        None,
        "a losing rotation stores nothing"
    );
    let stray = token(None, "family", T0 + 3600);
    assert!(!s.rotate_refresh_token(&new_id(), T0, &stray).await.unwrap());
    assert_eq!(
        s.refresh_token_by_hash(&stray.token_hash).await.unwrap(),
        None
    );
}

/// A family revoked while a rotation of one of its tokens runs ends with every token of the
/// family revoked, the rotation's successor included, whichever commits first.
async fn revocation_never_misses_a_racing_rotation<S: Storage>(s: S) {
    for round in 0..20 {
        let family = format!("racing-{round}");
        let t = token(None, &family, T0 + 3600);
        s.insert_refresh_token(&t).await.unwrap();
        let successor = token(None, &family, T0 + 3600);
        let start = Arc::new(tokio::sync::Barrier::new(2));
        let rotation = {
            let (s, id, successor, start) =
                (s.clone(), t.id.clone(), successor.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                s.rotate_refresh_token(&id, T0 + 10, &successor)
                    .await
                    .unwrap()
            })
        };
        let revocation = {
            let (s, family, start) = (s.clone(), family.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                s.revoke_refresh_family(&family, T0 + 11).await.unwrap()
            })
        };
        let rotated = rotation.await.unwrap();
        revocation.await.unwrap();
        let stored = s
            .refresh_token_by_hash(&successor.token_hash)
            .await
            .unwrap();
        if rotated {
            let stored = stored.expect("a successful rotation stores its successor");
            assert_eq!(
                stored.revoked_at,
                Some(T0 + 11),
                "round {round}: the successor was revoked with its family"
            );
        } else {
            assert_eq!(stored, None, "round {round}");
        }
    }
}

async fn rotate_exactly_once_under_concurrency<S: Storage>(s: S) {
    const CALLERS: usize = 16;
    for round in 0..5 {
        let t = token(None, "family", T0 + 3600);
        s.insert_refresh_token(&t).await.unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (s, id, start) = (s.clone(), t.id.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    let at = T0 + 100 + i64::try_from(i).unwrap();
                    let successor = token(None, "family", T0 + 3600);
                    (
                        at,
                        s.rotate_refresh_token(&id, at, &successor).await.unwrap(),
                    )
                })
            })
            .collect();
        let mut winners = Vec::new();
        for caller in callers {
            let (at, won) = caller.await.unwrap();
            if won {
                winners.push(at);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one caller marks the token used"
        );
        let stored = s
            .refresh_token_by_hash(&t.token_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.used_at,
            Some(winners[0]),
            "the winner's time is stored"
        );
    }
}

async fn concurrent_transactions_all_succeed<S: Storage>(s: S) {
    // Multi-statement writes from many tasks at once: none fails for a lock (SQLite waits
    // for the write lock instead of answering SQLITE_BUSY), none is lost.
    let shared = user("shared");
    s.create_user(&shared).await.unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (s, shared_id) = (s.clone(), shared.id.clone());
            tokio::spawn(async move {
                let mut u = user(&format!("writer-{i:02}"));
                u.roles = strings(&["a", "b"]);
                s.create_user(&u).await.unwrap();
                s.set_user_roles(&u.id, &[format!("role-{i}")])
                    .await
                    .unwrap();
                s.set_user_roles(&shared_id, &[format!("role-{i}"), "common".into()])
                    .await
                    .unwrap();
                s.purge_expired(T0, T0).await.unwrap();
                u.id
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let id = task.await.unwrap();
        let stored = s.user_by_id(&id).await.unwrap().unwrap();
        assert_eq!(stored.roles, [format!("role-{i}")]);
    }
    assert_eq!(s.count_users().await.unwrap(), 17);
    let shared_roles = s.user_by_id(&shared.id).await.unwrap().unwrap().roles;
    assert_eq!(
        shared_roles.len(),
        2,
        "one replacement won whole: {shared_roles:?}"
    );
    assert_eq!(shared_roles[1], "common");
}

async fn revoke_refresh_family<S: Storage>(s: S) {
    let a = token(None, "family-a", T0 + 3600);
    let b = token(None, "family-a", T0 + 3600);
    let mut already = token(None, "family-a", T0 + 3600);
    already.revoked_at = Some(T0 + 1);
    let other = token(None, "family-b", T0 + 3600);
    for t in [&a, &b, &already, &other] {
        s.insert_refresh_token(t).await.unwrap();
    }

    assert_eq!(
        s.revoke_refresh_family("family-a", T0 + 50).await.unwrap(),
        2
    );
    for t in [&a, &b] {
        let stored = s
            .refresh_token_by_hash(&t.token_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.revoked_at, Some(T0 + 50));
    }
    let stored = s
        .refresh_token_by_hash(&already.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.revoked_at,
        Some(T0 + 1),
        "an earlier revocation is kept"
    );
    let stored = s
        .refresh_token_by_hash(&other.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.revoked_at, None, "other families are untouched");

    assert_eq!(
        s.revoke_refresh_family("family-a", T0 + 60).await.unwrap(),
        0
    );
    assert_eq!(
        s.revoke_refresh_family("no-such-family", T0).await.unwrap(),
        0
    );
}

async fn revoke_user_refresh_tokens<S: Storage>(s: S) {
    let (mia, noah) = (user("mia"), user("noah"));
    s.create_user(&mia).await.unwrap();
    s.create_user(&noah).await.unwrap();
    let mine = [
        token(Some(&mia.id), "f1", T0 + 10),
        token(Some(&mia.id), "f2", T0 + 10),
    ];
    let theirs = token(Some(&noah.id), "f3", T0 + 10);
    let no_user = token(None, "f4", T0 + 10);
    for t in mine.iter().chain([&theirs, &no_user]) {
        s.insert_refresh_token(t).await.unwrap();
    }

    assert_eq!(
        s.revoke_user_refresh_tokens(&mia.id, T0 + 5).await.unwrap(),
        2
    );
    for t in &mine {
        let stored = s
            .refresh_token_by_hash(&t.token_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.revoked_at, Some(T0 + 5));
    }
    for t in [&theirs, &no_user] {
        let stored = s
            .refresh_token_by_hash(&t.token_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.revoked_at, None);
    }
    assert_eq!(
        s.revoke_user_refresh_tokens(&mia.id, T0 + 6).await.unwrap(),
        0
    );
}

async fn revoked_token_cannot_be_rotated<S: Storage>(s: S) {
    let t = token(None, "family", T0 + 3600);
    s.insert_refresh_token(&t).await.unwrap();
    assert_eq!(s.revoke_refresh_family("family", T0 + 1).await.unwrap(), 1);
    let successor = token(None, "family", T0 + 3600);
    assert!(
        !s.rotate_refresh_token(&t.id, T0 + 2, &successor)
            .await
            .unwrap()
    );
    let stored = s
        .refresh_token_by_hash(&t.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.used_at, None);
    assert_eq!(stored.revoked_at, Some(T0 + 1));

    // Inserted already revoked: the same.
    let mut revoked = token(None, "family-2", T0 + 3600);
    revoked.revoked_at = Some(T0);
    s.insert_refresh_token(&revoked).await.unwrap();
    assert!(
        !s.rotate_refresh_token(&revoked.id, T0 + 2, &successor)
            .await
            .unwrap()
    );
}

async fn api_keys_lifecycle<S: Storage>(s: S) {
    let (olga, paul) = (user("olga"), user("paul"));
    s.create_user(&olga).await.unwrap();
    s.create_user(&paul).await.unwrap();
    let k1 = api_key(&olga.id, T0);
    let k2 = api_key(&olga.id, T0 + 10);
    let k3 = ApiKey {
        expires_at: None,
        scopes: Vec::new(),
        ..api_key(&olga.id, T0 + 10)
    };
    let k4 = api_key(&paul.id, T0 + 5);
    for k in [&k1, &k2, &k3, &k4] {
        s.insert_api_key(k).await.unwrap();
    }

    assert_eq!(s.api_key(&k1.id).await.unwrap().as_ref(), Some(&k1));
    assert_eq!(s.api_key(&k3.id).await.unwrap().as_ref(), Some(&k3));
    assert_eq!(s.api_key("nope").await.unwrap(), None);
    // Newest first; k3 was created in the same second as k2, after it.
    let olgas = s.list_api_keys(&olga.id).await.unwrap();
    assert_eq!(olgas, vec![k3.clone(), k2.clone(), k1.clone()]);
    assert!(s.list_api_keys(&new_id()).await.unwrap().is_empty());
    let all = s.list_all_api_keys(10).await.unwrap();
    assert_eq!(key_ids(&all), [&k3.id, &k2.id, &k4.id, &k1.id]);
    let two = s.list_all_api_keys(2).await.unwrap();
    assert_eq!(key_ids(&two), [&k3.id, &k2.id]);

    s.touch_api_key(&k1.id, T0 + 100).await.unwrap();
    s.touch_api_key(&k1.id, T0 + 200).await.unwrap();
    s.touch_api_key("nope", T0).await.unwrap();
    assert_eq!(
        s.api_key(&k1.id).await.unwrap().unwrap().last_used_at,
        Some(T0 + 200)
    );
    assert_eq!(s.api_key(&k2.id).await.unwrap().unwrap().last_used_at, None);

    assert!(s.revoke_api_key(&k1.id, T0 + 300).await.unwrap());
    assert!(!s.revoke_api_key(&k1.id, T0 + 400).await.unwrap());
    assert!(!s.revoke_api_key("nope", T0).await.unwrap());
    let revoked = s.api_key(&k1.id).await.unwrap().unwrap();
    assert_eq!(
        revoked.revoked_at,
        Some(T0 + 300),
        "the first revocation is kept"
    );
    assert_eq!(s.api_key(&k2.id).await.unwrap().unwrap().revoked_at, None);

    let duplicate = ApiKey {
        name: "other".into(),
        ..api_key(&paul.id, T0)
    };
    let duplicate = ApiKey {
        id: k1.id.clone(),
        ..duplicate
    };
    assert!(matches!(
        s.insert_api_key(&duplicate).await,
        Err(StorageError::Conflict("api_key"))
    ));
    let orphan = api_key(&new_id(), T0);
    assert!(matches!(
        s.insert_api_key(&orphan).await,
        Err(StorageError::NotFound("user"))
    ));
}

async fn signing_keys_lifecycle<S: Storage>(s: S) {
    let current = signing_key("k-2024", KeyStatus::Current, T0);
    let next = signing_key("k-2025", KeyStatus::Next, T0 + 1);
    let retired = StoredSigningKey {
        alg: "ES256".into(),
        encrypted_private_key: Vec::new(),
        ..signing_key("k-2023", KeyStatus::Retired(T0 + 500), T0 + 1)
    };
    for k in [&current, &next, &retired] {
        s.insert_signing_key(k).await.unwrap();
    }
    // Oldest first; same second: in insertion order.
    assert_eq!(
        s.signing_keys().await.unwrap(),
        vec![current.clone(), next.clone(), retired.clone()]
    );

    // Rotation.
    s.set_signing_key_status("k-2025", KeyStatus::Current)
        .await
        .unwrap();
    s.set_signing_key_status("k-2024", KeyStatus::Retired(T0 + 1000))
        .await
        .unwrap();
    s.set_signing_key_status("k-2023", KeyStatus::Next)
        .await
        .unwrap();
    let statuses: Vec<(String, KeyStatus)> = s
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.kid, k.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("k-2024".to_owned(), KeyStatus::Retired(T0 + 1000)),
            ("k-2025".to_owned(), KeyStatus::Current),
            ("k-2023".to_owned(), KeyStatus::Next),
        ]
    );

    assert!(matches!(
        s.set_signing_key_status("ghost", KeyStatus::Current).await,
        Err(StorageError::NotFound("signing_key"))
    ));
    let duplicate = signing_key("k-2024", KeyStatus::Next, T0 + 2);
    assert!(matches!(
        s.insert_signing_key(&duplicate).await,
        Err(StorageError::Conflict("signing_key"))
    ));
}

/// Instances starting together on an empty database each offer a first key per algorithm:
/// exactly one per algorithm is stored, as the current key.
async fn first_signing_key_is_stored_once_under_concurrency<S: Storage>(s: S) {
    const CALLERS: usize = 16;
    for (round, alg) in ["EdDSA", "RS256", "ES256"].into_iter().enumerate() {
        let start = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (s, start) = (s.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    let key = StoredSigningKey {
                        alg: alg.to_owned(),
                        ..signing_key(&format!("{alg}-{i}"), KeyStatus::Current, T0)
                    };
                    (
                        key.kid.clone(),
                        s.insert_first_signing_key(&key).await.unwrap(),
                    )
                })
            })
            .collect();
        let mut winners = Vec::new();
        for caller in callers {
            let (kid, stored) = caller.await.unwrap();
            if stored {
                winners.push(kid);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: one first {alg} key is stored"
        );
        let current: Vec<_> = s
            .signing_keys()
            .await
            .unwrap()
            .into_iter()
            .filter(|k| k.alg == alg)
            .map(|k| (k.kid, k.status))
            .collect();
        assert_eq!(current, [(winners[0].clone(), KeyStatus::Current)]);
    }
}

async fn audit_filters_newest_first<S: Storage>(s: S) {
    let e1 = event(T0, "login.success", Some("alice"));
    let e2 = event(T0, "login.failure", Some("bob"));
    let e3 = event(T0 + 1, "token.issued", Some("alice"));
    // Same second as e3, appended after it: newer.
    let e4 = AuditEvent {
        detail: Some("bad password".into()),
        ..event(T0 + 1, "login.failure", Some("alice"))
    };
    let e5 = AuditEvent {
        ip: None,
        client_id: None,
        ..event(T0 + 2, "token.issued", None)
    };
    for e in [&e1, &e2, &e3, &e4, &e5] {
        s.append_audit(e).await.unwrap();
    }
    let list = |filter: AuditFilter| {
        let s = s.clone();
        async move { s.list_audit(&filter).await.unwrap() }
    };
    let filter = |limit: u32| AuditFilter {
        limit,
        ..AuditFilter::default()
    };

    let all = list(filter(100)).await;
    assert_eq!(
        all,
        vec![e5.clone(), e4.clone(), e3.clone(), e2.clone(), e1.clone()]
    );
    assert_eq!(audit_ids(&list(filter(2)).await), [&e5.id, &e4.id]);
    assert!(list(filter(0)).await.is_empty());

    let alice = AuditFilter {
        actor: Some("alice".into()),
        ..filter(100)
    };
    assert_eq!(
        audit_ids(&list(alice.clone()).await),
        [&e4.id, &e3.id, &e1.id]
    );
    let failures = AuditFilter {
        event: Some("login.failure".into()),
        ..filter(100)
    };
    assert_eq!(audit_ids(&list(failures).await), [&e4.id, &e2.id]);
    let since = AuditFilter {
        since: Some(T0 + 1),
        ..filter(100)
    };
    assert_eq!(
        audit_ids(&list(since).await),
        [&e5.id, &e4.id, &e3.id],
        "since is inclusive"
    );
    let all_three = AuditFilter {
        actor: Some("alice".into()),
        event: Some("login.failure".into()),
        since: Some(T0 + 1),
        limit: 100,
    };
    assert_eq!(list(all_three).await, vec![e4.clone()]);
    let alice_one = AuditFilter { limit: 1, ..alice };
    assert_eq!(audit_ids(&list(alice_one).await), [&e4.id]);
    let nobody = AuditFilter {
        actor: Some("nobody".into()),
        ..filter(100)
    };
    assert!(list(nobody).await.is_empty());

    let duplicate = AuditEvent {
        id: e1.id.clone(),
        ..event(T0 + 3, "x", None)
    };
    assert!(matches!(
        s.append_audit(&duplicate).await,
        Err(StorageError::Conflict("audit_event"))
    ));
}

async fn audit_batches_keep_order_and_fail_whole<S: Storage>(s: S) {
    s.append_audit_batch(&[]).await.unwrap();
    // Same second: the order of the batch is the order listed (newest = last appended).
    let batch: Vec<AuditEvent> = (0..300)
        .map(|_| event(T0, "token.issued", Some("svc")))
        .collect();
    s.append_audit_batch(&batch).await.unwrap();
    let listed = s
        .list_audit(&AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let expected: Vec<&str> = batch.iter().rev().map(|e| e.id.as_str()).collect();
    assert_eq!(audit_ids(&listed), expected);
    // One statement: a duplicate id refuses the whole batch, nothing half-written.
    let mixed = [event(T0 + 1, "login.success", None), batch[0].clone()];
    assert!(matches!(
        s.append_audit_batch(&mixed).await,
        Err(StorageError::Conflict("audit_event"))
    ));
    let after = s
        .list_audit(&AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(after.len(), 300);
}

async fn listings_are_capped<S: Storage>(s: S) {
    let mut appends = tokio::task::JoinSet::new();
    for i in 0..1001 {
        let s = s.clone();
        appends.spawn(async move { s.append_audit(&event(T0 + i, "token.issued", None)).await });
        // Keep the number in flight small (pools are small).
        if appends.len() >= 8 {
            appends.join_next().await.unwrap().unwrap().unwrap();
        }
    }
    while let Some(done) = appends.join_next().await {
        done.unwrap().unwrap();
    }
    let listed = s
        .list_audit(&AuditFilter {
            limit: u32::MAX,
            ..AuditFilter::default()
        })
        .await;
    let listed = listed.unwrap();
    assert_eq!(listed.len(), 1000);
    assert_eq!(listed[0].at, T0 + 1000, "newest first");
    assert_eq!(
        s.list_audit(&AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .len(),
        1000
    );
    assert!(s.list_all_api_keys(u32::MAX).await.unwrap().is_empty());
}

async fn purge_expired_deletes_only_expired<S: Storage>(s: S) {
    let now = T0 + 1000;

    let expired = token(None, "f", now - 1);
    let expired_used = RefreshToken {
        used_at: Some(T0),
        ..token(None, "f", now - 100)
    };
    let expired_revoked = RefreshToken {
        revoked_at: Some(T0),
        ..token(None, "f", now - 100)
    };
    let at_now = token(None, "f", now);
    let live = token(None, "f", now + 3600);
    let live_revoked = RefreshToken {
        revoked_at: Some(T0),
        ..token(None, "g", now + 3600)
    };
    for t in [
        &expired,
        &expired_used,
        &expired_revoked,
        &at_now,
        &live,
        &live_revoked,
    ] {
        s.insert_refresh_token(t).await.unwrap();
    }

    let gone_key = signing_key("retired-past", KeyStatus::Retired(now - 1), T0);
    let still_verifying = signing_key("retired-future", KeyStatus::Retired(now + 1), T0 + 1);
    let current = signing_key("current", KeyStatus::Current, T0 + 2);
    let next = signing_key("next", KeyStatus::Next, T0 + 3);
    for k in [&gone_key, &still_verifying, &current, &next] {
        s.insert_signing_key(k).await.unwrap();
    }

    let audit_before = now - 500;
    let old = event(audit_before - 1, "login.success", Some("alice"));
    let boundary = event(audit_before, "login.success", Some("alice"));
    let recent = event(now, "login.success", Some("alice"));
    for e in [&old, &boundary, &recent] {
        s.append_audit(e).await.unwrap();
    }

    assert_eq!(s.purge_expired(now, audit_before).await.unwrap(), 3 + 1 + 1);

    for t in [&expired, &expired_used, &expired_revoked] {
        assert_eq!(s.refresh_token_by_hash(&t.token_hash).await.unwrap(), None);
    }
    for t in [&at_now, &live, &live_revoked] {
        assert_eq!(
            s.refresh_token_by_hash(&t.token_hash)
                .await
                .unwrap()
                .as_ref(),
            Some(t)
        );
    }
    assert_eq!(
        s.signing_keys().await.unwrap(),
        vec![still_verifying, current, next]
    );
    let events = s
        .list_audit(&AuditFilter {
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(events, vec![recent, boundary]);

    assert_eq!(
        s.purge_expired(now, audit_before).await.unwrap(),
        0,
        "nothing left to purge"
    );
}

async fn access_token_denylist<S: Storage>(s: S) {
    let jti = new_id();
    assert!(!s.is_access_token_revoked(&jti).await.unwrap());
    s.revoke_access_token(&jti, T0 + 900).await.unwrap();
    assert!(s.is_access_token_revoked(&jti).await.unwrap());
    // Idempotent, and keeps the later expiry: an earlier one does not shorten the entry.
    s.revoke_access_token(&jti, T0 + 900).await.unwrap();
    s.revoke_access_token(&jti, T0 + 10).await.unwrap();
    assert!(s.is_access_token_revoked(&jti).await.unwrap());
    assert_eq!(s.purge_expired(T0 + 899, 0).await.unwrap(), 0);
    assert!(s.is_access_token_revoked(&jti).await.unwrap());
    // Other tokens are unaffected.
    assert!(!s.is_access_token_revoked(&new_id()).await.unwrap());
    assert!(!s.is_access_token_revoked("").await.unwrap());
}

async fn user_for_access_token_honours_the_denylist<S: Storage>(s: S) {
    let alice = user("alice");
    s.create_user(&alice).await.unwrap();
    let (live, revoked) = (new_id(), new_id());
    s.revoke_access_token(&revoked, T0 + 900).await.unwrap();

    let found = s.user_for_access_token(&alice.id, &live).await.unwrap();
    assert_eq!(
        found.as_ref(),
        s.user_by_id(&alice.id).await.unwrap().as_ref()
    );
    assert_eq!(found.map(|u| u.username), Some("alice".into()));
    assert_eq!(
        s.user_for_access_token(&alice.id, &revoked).await.unwrap(),
        None,
        "a denylisted token finds no user"
    );
    assert_eq!(
        s.user_for_access_token(&new_id(), &live).await.unwrap(),
        None
    );
    // Revoking later takes effect on the next lookup.
    s.revoke_access_token(&live, T0 + 900).await.unwrap();
    assert_eq!(
        s.user_for_access_token(&alice.id, &live).await.unwrap(),
        None
    );
}

async fn purge_expired_deletes_expired_denylist_entries<S: Storage>(s: S) {
    let now = T0 + 1000;
    let (expired, at_now, live) = (new_id(), new_id(), new_id());
    s.revoke_access_token(&expired, now - 1).await.unwrap();
    s.revoke_access_token(&at_now, now).await.unwrap();
    s.revoke_access_token(&live, now + 3600).await.unwrap();

    assert_eq!(s.purge_expired(now, 0).await.unwrap(), 1);
    assert!(!s.is_access_token_revoked(&expired).await.unwrap());
    assert!(s.is_access_token_revoked(&at_now).await.unwrap());
    assert!(s.is_access_token_revoked(&live).await.unwrap());
    assert_eq!(
        s.purge_expired(now, 0).await.unwrap(),
        0,
        "nothing left to purge"
    );
}

async fn client_openid_fields_roundtrip<S: Storage>(s: S) {
    let rp = Client {
        first_party: true,
        post_logout_redirect_uris: strings(&[
            "https://app.example.com/logged-out",
            "http://127.0.0.1:8080/bye",
        ]),
        id_token_alg: "EdDSA".into(),
        ..client("rp", T0)
    };
    let plain = client("plain", T0 + 1);
    s.create_client(&rp).await.unwrap();
    s.create_client(&plain).await.unwrap();
    assert_eq!(s.client("rp").await.unwrap().as_ref(), Some(&rp));
    let stored = s.client("plain").await.unwrap().unwrap();
    assert_eq!(
        (
            stored.first_party,
            stored.post_logout_redirect_uris.as_slice(),
            stored.id_token_alg.as_str()
        ),
        (false, &[] as &[String], "RS256")
    );
    assert_eq!(s.list_clients().await.unwrap(), vec![rp, plain]);
}

async fn authorization_code_insert_and_lookup<S: Storage>(s: S) {
    let (u, c) = owner_and_client(&s, "olivia", "web").await;
    let full = AuthorizationCode {
        used_at: Some(T0 + 1),
        refresh_family_id: Some(new_id()),
        access_jti: Some(new_id()),
        access_expires_at: Some(T0 + 900),
        replayed_at: Some(T0 + 2),
        ..auth_code(&u.id, &c.client_id, T0 + 60)
    };
    let bare = AuthorizationCode {
        nonce: None,
        code_challenge: None,
        scope: String::new(),
        ..auth_code(&u.id, &c.client_id, T0 + 60)
    };
    s.insert_authorization_code(&full).await.unwrap();
    s.insert_authorization_code(&bare).await.unwrap();
    assert_eq!(
        s.authorization_code_by_hash(&full.code_hash)
            .await
            .unwrap()
            .as_ref(),
        Some(&full)
    );
    assert_eq!(
        s.authorization_code_by_hash(&bare.code_hash)
            .await
            .unwrap()
            .as_ref(),
        Some(&bare)
    );
    assert_eq!(
        s.authorization_code_by_hash(&"0".repeat(64)).await.unwrap(),
        None
    );

    // Same hash, other content: refused, the stored one kept.
    let duplicate = AuthorizationCode {
        code_hash: full.code_hash.clone(),
        ..auth_code(&u.id, &c.client_id, T0 + 600)
    };
    assert!(matches!(
        s.insert_authorization_code(&duplicate).await,
        Err(StorageError::Conflict("authorization_code"))
    ));
    assert_eq!(
        s.authorization_code_by_hash(&full.code_hash).await.unwrap(),
        Some(full)
    );

    // Unknown user, unknown client (the user is reported first when both are missing).
    let orphan = auth_code(&new_id(), &c.client_id, T0 + 60);
    assert!(matches!(
        s.insert_authorization_code(&orphan).await,
        Err(StorageError::NotFound("user"))
    ));
    let orphan = auth_code(&u.id, "ghost", T0 + 60);
    assert!(matches!(
        s.insert_authorization_code(&orphan).await,
        Err(StorageError::NotFound("client"))
    ));
    let orphan = auth_code(&new_id(), "ghost", T0 + 60);
    assert!(matches!(
        s.insert_authorization_code(&orphan).await,
        Err(StorageError::NotFound("user"))
    ));
    assert_eq!(
        s.authorization_code_by_hash(&orphan.code_hash)
            .await
            .unwrap(),
        None
    );
}

async fn consume_authorization_code_once<S: Storage>(s: S) {
    let (u, c) = owner_and_client(&s, "paula", "web").await;
    let code = auth_code(&u.id, &c.client_id, T0 + 60);
    let other = auth_code(&u.id, &c.client_id, T0 + 60);
    s.insert_authorization_code(&code).await.unwrap();
    s.insert_authorization_code(&other).await.unwrap();

    let first = issued(T0 + 5);
    assert!(
        s.consume_authorization_code(&code.code_hash, T0 + 5, &first)
            .await
            .unwrap()
    );
    assert!(
        !s.consume_authorization_code(&code.code_hash, T0 + 6, &issued(T0 + 6))
            .await
            .unwrap()
    );
    let stored = s
        .authorization_code_by_hash(&code.code_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored,
        AuthorizationCode {
            used_at: Some(T0 + 5),
            refresh_family_id: first.refresh_family_id.clone(),
            access_jti: Some(first.access_jti.clone()),
            access_expires_at: Some(first.access_expires_at),
            ..code.clone()
        },
        "the first use and what it issued are kept, nothing else changes"
    );
    assert_eq!(
        s.authorization_code_by_hash(&other.code_hash)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        None,
        "other codes are untouched"
    );
    assert!(
        !s.consume_authorization_code(&"0".repeat(64), T0, &issued(T0))
            .await
            .unwrap()
    );

    // Inserted already used: cannot be consumed.
    let used = AuthorizationCode {
        used_at: Some(T0),
        ..auth_code(&u.id, &c.client_id, T0 + 60)
    };
    s.insert_authorization_code(&used).await.unwrap();
    assert!(
        !s.consume_authorization_code(&used.code_hash, T0 + 1, &issued(T0 + 1))
            .await
            .unwrap()
    );
    assert_eq!(
        s.authorization_code_by_hash(&used.code_hash)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        Some(T0)
    );
}

async fn consume_authorization_code_exactly_once_under_concurrency<S: Storage>(s: S) {
    const CALLERS: usize = 16;
    let (u, c) = owner_and_client(&s, "quinn", "web").await;
    for round in 0..5 {
        let code = auth_code(&u.id, &c.client_id, T0 + 60);
        s.insert_authorization_code(&code).await.unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (s, hash, start) = (s.clone(), code.code_hash.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    let at = T0 + 10 + i64::try_from(i).unwrap();
                    (
                        at,
                        s.consume_authorization_code(&hash, at, &issued(at))
                            .await
                            .unwrap(),
                    )
                })
            })
            .collect();
        let mut winners = Vec::new();
        for caller in callers {
            let (at, won) = caller.await.unwrap();
            if won {
                winners.push(at);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one caller consumes the code"
        );
        let stored = s
            .authorization_code_by_hash(&code.code_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.used_at,
            Some(winners[0]),
            "the winner's time is stored"
        );
    }
}

async fn replayed_codes_are_marked_once<S: Storage>(s: S) {
    let (u, c) = owner_and_client(&s, "rosa", "web").await;
    let code = auth_code(&u.id, &c.client_id, T0 + 60);
    s.insert_authorization_code(&code).await.unwrap();
    let first = issued(T0 + 5);
    assert!(
        s.consume_authorization_code(&code.code_hash, T0 + 5, &first)
            .await
            .unwrap()
    );
    // The replay sees what the redemption issued, and the first replay time is kept.
    let marked = s
        .mark_code_replayed(&code.code_hash, T0 + 7)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(marked.replayed_at, Some(T0 + 7));
    assert_eq!(marked.refresh_family_id, first.refresh_family_id);
    assert_eq!(
        marked.access_jti.as_deref(),
        Some(first.access_jti.as_str())
    );
    let again = s
        .mark_code_replayed(&code.code_hash, T0 + 9)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.replayed_at, Some(T0 + 7));
    // An access-only redemption records no family.
    let access_only = auth_code(&u.id, &c.client_id, T0 + 60);
    s.insert_authorization_code(&access_only).await.unwrap();
    let tokens = CodeTokens {
        refresh_family_id: None,
        ..issued(T0 + 5)
    };
    assert!(
        s.consume_authorization_code(&access_only.code_hash, T0 + 5, &tokens)
            .await
            .unwrap()
    );
    let stored = s
        .authorization_code_by_hash(&access_only.code_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.refresh_family_id, stored.replayed_at), (None, None));
    // A code that is gone.
    assert_eq!(
        s.mark_code_replayed(&"0".repeat(64), T0).await.unwrap(),
        None
    );
}

/// Replays of one used code racing each other all find what the redemption issued, and
/// all see one replay time: the first one stored.
async fn replays_racing_keep_one_replay_time<S: Storage>(s: S) {
    const CALLERS: usize = 16;
    let (u, c) = owner_and_client(&s, "rosa", "web").await;
    for round in 0..5 {
        let code = auth_code(&u.id, &c.client_id, T0 + 60);
        s.insert_authorization_code(&code).await.unwrap();
        let first = issued(T0 + 5);
        assert!(
            s.consume_authorization_code(&code.code_hash, T0 + 5, &first)
                .await
                .unwrap()
        );
        let start = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (s, hash, start) = (s.clone(), code.code_hash.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    let at = T0 + 10 + i64::try_from(i).unwrap();
                    s.mark_code_replayed(&hash, at).await.unwrap().unwrap()
                })
            })
            .collect();
        let mut seen = Vec::new();
        for caller in callers {
            let marked = caller.await.unwrap();
            assert_eq!(marked.refresh_family_id, first.refresh_family_id);
            assert_eq!(
                marked.access_jti.as_deref(),
                Some(first.access_jti.as_str())
            );
            seen.push(marked.replayed_at);
        }
        let stored = s
            .authorization_code_by_hash(&code.code_hash)
            .await
            .unwrap()
            .unwrap()
            .replayed_at;
        let times = T0 + 10..T0 + 10 + i64::try_from(CALLERS).unwrap();
        assert!(
            stored.is_some_and(|at| times.contains(&at)),
            "round {round}: one caller's time is stored: {stored:?}"
        );
        assert!(
            seen.iter().all(|at| *at == stored),
            "round {round}: every replay sees the first replay time: {seen:?}"
        );
    }
}

async fn purge_expired_deletes_expired_codes_and_sessions<S: Storage>(s: S) {
    let now = T0 + 1000;
    let (u, c) = owner_and_client(&s, "sam", "web").await;
    let expired_code = auth_code(&u.id, &c.client_id, now - 1);
    let expired_used = AuthorizationCode {
        used_at: Some(T0),
        ..auth_code(&u.id, &c.client_id, now - 100)
    };
    let code_at_now = auth_code(&u.id, &c.client_id, now);
    let live_code = auth_code(&u.id, &c.client_id, now + 60);
    for code in [&expired_code, &expired_used, &code_at_now, &live_code] {
        s.insert_authorization_code(code).await.unwrap();
    }
    let expired_session = session(&u.id, now - 1);
    let session_at_now = session(&u.id, now);
    let live_session = session(&u.id, now + 3600);
    for sess in [&expired_session, &session_at_now, &live_session] {
        s.insert_session(sess).await.unwrap();
    }

    assert_eq!(s.purge_expired(now, 0).await.unwrap(), 2 + 1);
    for code in [&expired_code, &expired_used] {
        assert_eq!(
            s.authorization_code_by_hash(&code.code_hash).await.unwrap(),
            None
        );
    }
    for code in [&code_at_now, &live_code] {
        assert_eq!(
            s.authorization_code_by_hash(&code.code_hash)
                .await
                .unwrap()
                .as_ref(),
            Some(code)
        );
    }
    assert_eq!(
        s.session_by_hash(&expired_session.id_hash).await.unwrap(),
        None
    );
    for sess in [&session_at_now, &live_session] {
        assert_eq!(
            s.session_by_hash(&sess.id_hash).await.unwrap().as_ref(),
            Some(sess)
        );
    }
    assert_eq!(
        s.purge_expired(now, 0).await.unwrap(),
        0,
        "nothing left to purge"
    );
}

async fn browser_sessions_lifecycle<S: Storage>(s: S) {
    let (tom, uma) = (user("tom"), user("uma"));
    s.create_user(&tom).await.unwrap();
    s.create_user(&uma).await.unwrap();
    let toms = [session(&tom.id, T0 + 3600), session(&tom.id, T0 + 7200)];
    let umas = session(&uma.id, T0 + 3600);
    for sess in toms.iter().chain([&umas]) {
        s.insert_session(sess).await.unwrap();
    }
    assert_eq!(
        s.session_by_hash(&toms[0].id_hash).await.unwrap().as_ref(),
        Some(&toms[0])
    );
    assert_eq!(s.session_by_hash(&"0".repeat(64)).await.unwrap(), None);

    let duplicate = BrowserSession {
        id_hash: toms[0].id_hash.clone(),
        ..session(&uma.id, T0 + 10)
    };
    assert!(matches!(
        s.insert_session(&duplicate).await,
        Err(StorageError::Conflict("browser_session"))
    ));
    assert_eq!(
        s.session_by_hash(&toms[0].id_hash).await.unwrap().as_ref(),
        Some(&toms[0])
    );
    let orphan = session(&new_id(), T0 + 3600);
    assert!(matches!(
        s.insert_session(&orphan).await,
        Err(StorageError::NotFound("user"))
    ));

    assert!(s.delete_session(&toms[0].id_hash).await.unwrap());
    assert!(!s.delete_session(&toms[0].id_hash).await.unwrap());
    assert_eq!(s.session_by_hash(&toms[0].id_hash).await.unwrap(), None);
    assert_eq!(
        s.session_by_hash(&toms[1].id_hash).await.unwrap().as_ref(),
        Some(&toms[1])
    );

    // Ends every session of the user, and only theirs.
    s.insert_session(&toms[0]).await.unwrap();
    assert_eq!(s.delete_user_sessions(&tom.id).await.unwrap(), 2);
    for sess in &toms {
        assert_eq!(s.session_by_hash(&sess.id_hash).await.unwrap(), None);
    }
    assert_eq!(
        s.session_by_hash(&umas.id_hash).await.unwrap().as_ref(),
        Some(&umas)
    );
    assert_eq!(s.delete_user_sessions(&tom.id).await.unwrap(), 0);
    assert_eq!(s.delete_user_sessions(&new_id()).await.unwrap(), 0);
}

async fn consents_put_replace_get<S: Storage>(s: S) {
    let (vera, web) = owner_and_client(&s, "vera", "web").await;
    let walt = user("walt");
    s.create_user(&walt).await.unwrap();
    let cli = client("cli", T0 + 1);
    s.create_client(&cli).await.unwrap();

    assert_eq!(s.consent(&vera.id, "web").await.unwrap(), None);
    let first = Consent {
        user_id: vera.id.clone(),
        client_id: web.client_id.clone(),
        scopes: strings(&["openid", "profile"]),
        granted_at: T0,
    };
    s.put_consent(&first).await.unwrap();
    assert_eq!(
        s.consent(&vera.id, "web").await.unwrap().as_ref(),
        Some(&first)
    );

    // Replaced whole: scopes and time.
    let second = Consent {
        scopes: strings(&["openid", "email", "offline_access"]),
        granted_at: T0 + 100,
        ..first.clone()
    };
    s.put_consent(&second).await.unwrap();
    assert_eq!(
        s.consent(&vera.id, "web").await.unwrap().as_ref(),
        Some(&second)
    );
    let emptied = Consent {
        scopes: Vec::new(),
        granted_at: T0 + 200,
        ..first.clone()
    };
    s.put_consent(&emptied).await.unwrap();
    assert_eq!(
        s.consent(&vera.id, "web").await.unwrap().as_ref(),
        Some(&emptied)
    );

    // Per user and per client.
    let walts = Consent {
        user_id: walt.id.clone(),
        client_id: cli.client_id.clone(),
        scopes: strings(&["openid"]),
        granted_at: T0 + 5,
    };
    s.put_consent(&walts).await.unwrap();
    assert_eq!(s.consent(&walt.id, "cli").await.unwrap(), Some(walts));
    assert_eq!(s.consent(&walt.id, "web").await.unwrap(), None);
    assert_eq!(s.consent(&vera.id, "cli").await.unwrap(), None);
    assert_eq!(
        s.consent(&vera.id, "web").await.unwrap().as_ref(),
        Some(&emptied)
    );

    let orphan = Consent {
        user_id: new_id(),
        ..first.clone()
    };
    assert!(matches!(
        s.put_consent(&orphan).await,
        Err(StorageError::NotFound("user"))
    ));
    let orphan = Consent {
        client_id: "ghost".into(),
        ..first
    };
    assert!(matches!(
        s.put_consent(&orphan).await,
        Err(StorageError::NotFound("client"))
    ));
}

async fn delete_user_cascades_to_codes_sessions_consents<S: Storage>(s: S) {
    let (gone, c) = owner_and_client(&s, "xena", "web").await;
    let kept = user("yuri");
    s.create_user(&kept).await.unwrap();
    let gone_code = auth_code(&gone.id, &c.client_id, T0 + 60);
    let kept_code = auth_code(&kept.id, &c.client_id, T0 + 60);
    let gone_session = session(&gone.id, T0 + 3600);
    let kept_session = session(&kept.id, T0 + 3600);
    let consent = |user_id: &str| Consent {
        user_id: user_id.to_owned(),
        client_id: c.client_id.clone(),
        scopes: strings(&["openid"]),
        granted_at: T0,
    };
    for code in [&gone_code, &kept_code] {
        s.insert_authorization_code(code).await.unwrap();
    }
    for sess in [&gone_session, &kept_session] {
        s.insert_session(sess).await.unwrap();
    }
    s.put_consent(&consent(&gone.id)).await.unwrap();
    s.put_consent(&consent(&kept.id)).await.unwrap();

    assert!(s.delete_user(&gone.id).await.unwrap());
    assert_eq!(
        s.authorization_code_by_hash(&gone_code.code_hash)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.session_by_hash(&gone_session.id_hash).await.unwrap(),
        None
    );
    assert_eq!(s.consent(&gone.id, &c.client_id).await.unwrap(), None);

    // The other user keeps everything.
    assert_eq!(
        s.authorization_code_by_hash(&kept_code.code_hash)
            .await
            .unwrap(),
        Some(kept_code)
    );
    assert_eq!(
        s.session_by_hash(&kept_session.id_hash).await.unwrap(),
        Some(kept_session)
    );
    assert_eq!(
        s.consent(&kept.id, &c.client_id).await.unwrap(),
        Some(consent(&kept.id))
    );

    // Nothing is left to come back with a user re-created under the same id.
    let mut again = user("xena");
    again.id = gone.id.clone();
    s.create_user(&again).await.unwrap();
    assert_eq!(s.consent(&gone.id, &c.client_id).await.unwrap(), None);
    assert_eq!(s.delete_user_sessions(&gone.id).await.unwrap(), 0);
}

async fn delete_client_cascades_to_codes_and_consents<S: Storage>(s: S) {
    let (u, gone) = owner_and_client(&s, "zoe", "gone").await;
    let kept = client("kept", T0 + 1);
    s.create_client(&kept).await.unwrap();
    let gone_code = auth_code(&u.id, &gone.client_id, T0 + 60);
    let kept_code = auth_code(&u.id, &kept.client_id, T0 + 60);
    for code in [&gone_code, &kept_code] {
        s.insert_authorization_code(code).await.unwrap();
    }
    let consent = |client_id: &str| Consent {
        user_id: u.id.clone(),
        client_id: client_id.to_owned(),
        scopes: strings(&["openid"]),
        granted_at: T0,
    };
    s.put_consent(&consent("gone")).await.unwrap();
    s.put_consent(&consent("kept")).await.unwrap();
    let sess = session(&u.id, T0 + 3600);
    s.insert_session(&sess).await.unwrap();

    assert!(s.delete_client("gone").await.unwrap());
    assert_eq!(
        s.authorization_code_by_hash(&gone_code.code_hash)
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.consent(&u.id, "gone").await.unwrap(), None);
    assert_eq!(
        s.authorization_code_by_hash(&kept_code.code_hash)
            .await
            .unwrap(),
        Some(kept_code)
    );
    assert_eq!(
        s.consent(&u.id, "kept").await.unwrap(),
        Some(consent("kept"))
    );
    assert_eq!(
        s.session_by_hash(&sess.id_hash).await.unwrap(),
        Some(sess),
        "sessions belong to the user, not to a client"
    );
}

// ---------------------------------------------------------------------------------------
// Backend-specific
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn sqlite_file_pragmas() {
    let (s, cleanup) = fresh_sqlite().await.unwrap();
    let checked = tokio::spawn({
        let pool = s.pool().clone();
        async move {
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(journal, "wal");
            let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(foreign_keys, 1);
            let busy_timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(busy_timeout, 5000);
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(synchronous, 1, "NORMAL");
        }
    })
    .await;
    cleanup.run().await;
    checked.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_in_memory_is_one_database() {
    let s = SqliteStorage::connect("sqlite::memory:").await.unwrap();
    s.migrate().await.unwrap();
    let u = user("memory");
    s.create_user(&u).await.unwrap();
    // Concurrent callers all see the same database.
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (s, id) = (s.clone(), u.id.clone());
            tokio::spawn(async move { s.user_by_id(&id).await.unwrap() })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.await.unwrap().as_ref(), Some(&u));
    }
    // Another in-memory storage is another database.
    let other = SqliteStorage::connect("sqlite::memory:").await.unwrap();
    other.migrate().await.unwrap();
    assert_eq!(other.count_users().await.unwrap(), 0);
    s.close().await;
    other.close().await;
}

#[tokio::test]
async fn postgres_connect_by_url() {
    // The admin database is enough to check that a URL connects; nothing is written.
    let Some((_, cleanup)) = fresh_postgres().await else {
        return;
    };
    let connected = PostgresStorage::connect_with(&postgres_admin_url(), 2).await;
    let pinged = match &connected {
        Ok(s) => s.ping().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Ok(s) = connected {
        s.close().await;
    }
    cleanup.run().await;
    pinged.unwrap();
}

// ---------------------------------------------------------------------------------------
// Second factors
// ---------------------------------------------------------------------------------------

async fn totp_pending_confirmed_and_steps_taken_once<S: Storage>(s: S) {
    let alice = user("alice");
    s.create_user(&alice).await.unwrap();
    assert_eq!(s.totp_factor(&alice.id).await.unwrap(), None);
    assert!(matches!(
        s.put_pending_totp(&new_id(), b"sealed", T0).await,
        Err(StorageError::NotFound("user"))
    ));
    assert!(s.put_pending_totp(&alice.id, b"first", T0).await.unwrap());
    // A pending one is replaced, with its step reset.
    assert!(
        s.put_pending_totp(&alice.id, b"second", T0 + 1)
            .await
            .unwrap()
    );
    let pending = s.totp_factor(&alice.id).await.unwrap().unwrap();
    assert_eq!(pending.encrypted_secret, b"second");
    assert_eq!(
        (
            pending.created_at,
            pending.confirmed_at,
            pending.last_used_step
        ),
        (T0 + 1, None, 0)
    );
    // A pending authenticator cannot be used to log in, only confirmed.
    assert!(
        !s.use_totp_step(&alice.id, 100, T0 + 2, false)
            .await
            .unwrap()
    );
    assert!(s.use_totp_step(&alice.id, 100, T0 + 2, true).await.unwrap());
    let confirmed = s.totp_factor(&alice.id).await.unwrap().unwrap();
    assert_eq!(
        (confirmed.confirmed_at, confirmed.last_used_step),
        (Some(T0 + 2), 100)
    );
    // Confirmed: never replaced by a new pending one, never confirmed again.
    assert!(
        !s.put_pending_totp(&alice.id, b"third", T0 + 3)
            .await
            .unwrap()
    );
    assert_eq!(
        s.totp_factor(&alice.id)
            .await
            .unwrap()
            .unwrap()
            .encrypted_secret,
        b"second"
    );
    assert!(!s.use_totp_step(&alice.id, 101, T0 + 3, true).await.unwrap());
    // Steps: the same or an earlier one is refused, a later one taken.
    assert!(
        !s.use_totp_step(&alice.id, 100, T0 + 3, false)
            .await
            .unwrap()
    );
    assert!(!s.use_totp_step(&alice.id, 99, T0 + 3, false).await.unwrap());
    assert!(
        s.use_totp_step(&alice.id, 101, T0 + 3, false)
            .await
            .unwrap()
    );
    let used = s.totp_factor(&alice.id).await.unwrap().unwrap();
    assert_eq!(
        (used.confirmed_at, used.last_used_step),
        (Some(T0 + 2), 101),
        "confirmation time kept"
    );
    assert!(
        !s.use_totp_step(&new_id(), 500, T0, false).await.unwrap(),
        "no such user"
    );
    assert!(s.delete_totp(&alice.id).await.unwrap());
    assert!(!s.delete_totp(&alice.id).await.unwrap());
    assert_eq!(s.totp_factor(&alice.id).await.unwrap(), None);
}

async fn totp_step_is_taken_once_under_concurrency<S: Storage>(s: S) {
    const CALLERS: usize = 16;
    let alice = user("alice");
    s.create_user(&alice).await.unwrap();
    s.put_pending_totp(&alice.id, b"sealed", T0).await.unwrap();
    assert!(s.use_totp_step(&alice.id, 10, T0, true).await.unwrap());
    for round in 0..5_i64 {
        let step = 11 + round;
        let start = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (s, id, start) = (s.clone(), alice.id.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    s.use_totp_step(&id, step, T0, false).await.unwrap()
                })
            })
            .collect();
        let mut won = 0;
        for caller in callers {
            won += usize::from(caller.await.unwrap());
        }
        assert_eq!(won, 1, "round {round}: one code, one login");
    }
}

async fn recovery_codes_are_replaced_and_used_once<S: Storage>(s: S) {
    let alice = user("alice");
    let bob = user("bob");
    s.create_user(&alice).await.unwrap();
    s.create_user(&bob).await.unwrap();
    let first: Vec<String> = (0..10).map(|_| digest()).collect();
    s.replace_recovery_codes(&alice.id, &first, T0)
        .await
        .unwrap();
    assert_eq!(s.recovery_codes_left(&alice.id).await.unwrap(), 10);
    assert_eq!(s.recovery_codes_left(&bob.id).await.unwrap(), 0);
    // Another user's code is not theirs.
    assert!(!s.use_recovery_code(&bob.id, &first[0], T0).await.unwrap());
    assert!(s.use_recovery_code(&alice.id, &first[0], T0).await.unwrap());
    assert!(
        !s.use_recovery_code(&alice.id, &first[0], T0 + 1)
            .await
            .unwrap(),
        "used once"
    );
    assert_eq!(s.recovery_codes_left(&alice.id).await.unwrap(), 9);
    // A new set replaces the old one whole.
    let second: Vec<String> = (0..10).map(|_| digest()).collect();
    s.replace_recovery_codes(&alice.id, &second, T0 + 2)
        .await
        .unwrap();
    assert_eq!(s.recovery_codes_left(&alice.id).await.unwrap(), 10);
    assert!(
        !s.use_recovery_code(&alice.id, &first[1], T0 + 3)
            .await
            .unwrap()
    );
    assert!(
        s.use_recovery_code(&alice.id, &second[1], T0 + 3)
            .await
            .unwrap()
    );
    // Racing uses of one code: one wins.
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let (s, id, code) = (s.clone(), alice.id.clone(), second[2].clone());
            tokio::spawn(async move { s.use_recovery_code(&id, &code, T0 + 4).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for caller in callers {
        won += usize::from(caller.await.unwrap());
    }
    assert_eq!(won, 1);
    assert_eq!(s.delete_recovery_codes(&alice.id).await.unwrap(), 10);
    assert_eq!(s.recovery_codes_left(&alice.id).await.unwrap(), 0);
    assert!(matches!(
        s.replace_recovery_codes(&new_id(), &first, T0).await,
        Err(StorageError::NotFound("user"))
    ));
}

async fn second_factors_go_with_the_user<S: Storage>(s: S) {
    let alice = user("alice");
    s.create_user(&alice).await.unwrap();
    s.put_pending_totp(&alice.id, b"sealed", T0).await.unwrap();
    s.replace_recovery_codes(&alice.id, &[digest()], T0)
        .await
        .unwrap();
    assert!(s.delete_user(&alice.id).await.unwrap());
    assert_eq!(s.totp_factor(&alice.id).await.unwrap(), None);
    assert_eq!(s.recovery_codes_left(&alice.id).await.unwrap(), 0);
}

async fn roles_and_clients_keep_their_mfa_policy<S: Storage>(s: S) {
    let strict = Role {
        name: "strict".into(),
        scopes: strings(&["a"]),
        require_mfa: true,
    };
    s.put_role(&strict).await.unwrap();
    assert_eq!(
        s.roles(&strings(&["strict"])).await.unwrap(),
        vec![strict.clone()]
    );
    s.put_role(&Role {
        require_mfa: false,
        ..strict.clone()
    })
    .await
    .unwrap();
    assert!(!s.list_roles().await.unwrap()[0].require_mfa, "replaced");
    let mut c = client("strict-client", T0);
    c.require_mfa = true;
    s.create_client(&c).await.unwrap();
    assert_eq!(s.client("strict-client").await.unwrap(), Some(c));
}

async fn sessions_codes_and_refresh_tokens_keep_their_amr<S: Storage>(s: S) {
    let (alice, c) = owner_and_client(&s, "alice", "app").await;
    let mut session = session(&alice.id, T0 + 3600);
    session.amr = "pwd otp mfa".into();
    s.insert_session(&session).await.unwrap();
    assert_eq!(
        s.session_by_hash(&session.id_hash).await.unwrap(),
        Some(session)
    );
    let mut code = auth_code(&alice.id, &c.client_id, T0 + 60);
    code.amr = "pwd otp mfa".into();
    s.insert_authorization_code(&code).await.unwrap();
    assert_eq!(
        s.authorization_code_by_hash(&code.code_hash).await.unwrap(),
        Some(code)
    );
    let mut t = token(Some(&alice.id), "family", T0 + 3600);
    t.auth_time = Some(T0 - 5);
    t.amr = Some("pwd otp mfa".into());
    s.insert_refresh_token(&t).await.unwrap();
    assert_eq!(
        s.refresh_token_by_hash(&t.token_hash).await.unwrap(),
        Some(t)
    );
}

// ---------------------------------------------------------------------------------------
// Passkeys and WebAuthn ceremonies
// ---------------------------------------------------------------------------------------

fn passkey(user_id: &str, credential_id: &str, created_at: i64) -> StoredPasskey {
    StoredPasskey {
        id: new_id(),
        credential_id: credential_id.to_owned(),
        user_id: user_id.to_owned(),
        name: "Laptop".into(),
        passkey: "{\"cred\":{}}".into(),
        sign_count: 0,
        backup_eligible: false,
        created_at,
        last_used_at: None,
    }
}

fn ceremony(user_id: Option<&str>, expires_at: i64) -> WebauthnCeremony {
    WebauthnCeremony {
        id_hash: digest(),
        user_id: user_id.map(str::to_owned),
        kind: "second_factor".into(),
        state: "{}".into(),
        expires_at,
    }
}

async fn passkeys_registered_listed_renamed_removed<S: Storage>(s: S) {
    let alice = user("alice");
    let bob = user("bob");
    s.create_user(&alice).await.unwrap();
    s.create_user(&bob).await.unwrap();
    assert!(s.passkeys(&alice.id).await.unwrap().is_empty());
    let first = passkey(&alice.id, "cred-1", T0);
    let mut second = passkey(&alice.id, "cred-2", T0 + 1);
    second.backup_eligible = true;
    s.insert_passkey(&first).await.unwrap();
    s.insert_passkey(&second).await.unwrap();
    assert_eq!(
        s.passkeys(&alice.id).await.unwrap(),
        vec![first.clone(), second.clone()],
        "oldest first, every field kept"
    );
    assert_eq!(s.count_passkeys(&alice.id).await.unwrap(), 2);
    assert_eq!(s.count_passkeys(&bob.id).await.unwrap(), 0);
    // A credential id is registered once, to anyone.
    assert!(matches!(
        s.insert_passkey(&passkey(&bob.id, "cred-1", T0)).await,
        Err(StorageError::Conflict("passkey"))
    ));
    assert!(matches!(
        s.insert_passkey(&passkey(&new_id(), "cred-9", T0)).await,
        Err(StorageError::NotFound("user"))
    ));
    assert_eq!(
        s.passkey_by_credential_id("cred-2").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(s.passkey_by_credential_id("cred-x").await.unwrap(), None);
    // Renamed and removed by their owner only.
    assert!(!s.rename_passkey(&bob.id, &first.id, "Mine").await.unwrap());
    assert!(
        s.rename_passkey(&alice.id, &first.id, "Phone")
            .await
            .unwrap()
    );
    assert_eq!(s.passkeys(&alice.id).await.unwrap()[0].name, "Phone");
    assert!(!s.delete_passkey(&bob.id, &first.id).await.unwrap());
    assert!(s.delete_passkey(&alice.id, &first.id).await.unwrap());
    assert!(!s.delete_passkey(&alice.id, &first.id).await.unwrap());
    assert_eq!(s.delete_passkeys(&alice.id).await.unwrap(), 1);
    assert_eq!(s.count_passkeys(&alice.id).await.unwrap(), 0);
}

async fn passkey_counter_only_rises_once_under_concurrency<S: Storage>(s: S) {
    let alice = user("alice");
    s.create_user(&alice).await.unwrap();
    let key = passkey(&alice.id, "cred-1", T0);
    s.insert_passkey(&key).await.unwrap();
    // An authenticator without a counter: 0 after 0, every time.
    assert!(
        s.use_passkey(&key.id, "{}", 0, false, T0 + 1)
            .await
            .unwrap()
    );
    assert!(s.use_passkey(&key.id, "{}", 0, true, T0 + 2).await.unwrap());
    let used = s.passkey_by_credential_id("cred-1").await.unwrap().unwrap();
    assert_eq!(
        (used.sign_count, used.backup_eligible, used.last_used_at),
        (0, true, Some(T0 + 2))
    );
    // A counter: only upwards, and never back to 0.
    assert!(
        s.use_passkey(&key.id, "{\"n\":5}", 5, true, T0 + 3)
            .await
            .unwrap()
    );
    assert!(!s.use_passkey(&key.id, "{}", 5, true, T0 + 4).await.unwrap());
    assert!(!s.use_passkey(&key.id, "{}", 4, true, T0 + 4).await.unwrap());
    assert!(!s.use_passkey(&key.id, "{}", 0, true, T0 + 4).await.unwrap());
    let used = s.passkey_by_credential_id("cred-1").await.unwrap().unwrap();
    assert_eq!((used.sign_count, used.passkey.as_str()), (5, "{\"n\":5}"));
    assert!(!s.use_passkey(&new_id(), "{}", 9, true, T0).await.unwrap());
    // Racing uses with one counter value: one wins.
    for round in 0..4_i64 {
        let counter = 6 + round;
        let start = Arc::new(tokio::sync::Barrier::new(8));
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (s, id, start) = (s.clone(), key.id.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    s.use_passkey(&id, "{}", counter, false, T0 + 5)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut won = 0;
        for caller in callers {
            won += usize::from(caller.await.unwrap());
        }
        assert_eq!(won, 1, "round {round}: one counter value, one use");
    }
}

async fn ceremony_is_taken_once<S: Storage>(s: S) {
    let alice = user("alice");
    s.create_user(&alice).await.unwrap();
    let mine = ceremony(Some(&alice.id), T0 + 300);
    let anyone = ceremony(None, T0 + 300);
    s.insert_ceremony(&mine).await.unwrap();
    s.insert_ceremony(&anyone).await.unwrap();
    assert!(matches!(
        s.insert_ceremony(&mine).await,
        Err(StorageError::Conflict("webauthn_ceremony"))
    ));
    assert!(matches!(
        s.insert_ceremony(&ceremony(Some(&new_id()), T0)).await,
        Err(StorageError::NotFound("user"))
    ));
    assert_eq!(
        s.take_ceremony(&mine.id_hash).await.unwrap(),
        Some(mine.clone())
    );
    assert_eq!(
        s.take_ceremony(&mine.id_hash).await.unwrap(),
        None,
        "taken once"
    );
    assert_eq!(
        s.take_ceremony(&anyone.id_hash).await.unwrap(),
        Some(anyone)
    );
    assert_eq!(s.take_ceremony(&digest()).await.unwrap(), None);
}

async fn client_update_replaces_the_registration<S: Storage>(s: S) {
    let original = client("updatable", T0);
    s.create_client(&original).await.unwrap();
    let updated = Client {
        name: "Renamed".into(),
        redirect_uris: strings(&["https://other.example.com/cb"]),
        grant_types: strings(&["client_credentials"]),
        scopes: Vec::new(),
        require_par: !original.require_par,
        dpop_bound: !original.dpop_bound,
        jwks: None,
        registration_token_hash: Some("rotated".into()),
        ..original.clone()
    };
    assert!(s.update_client(&updated).await.unwrap());
    assert_eq!(s.client("updatable").await.unwrap(), Some(updated));
    let ghost = client("ghost", T0);
    assert!(!s.update_client(&ghost).await.unwrap(), "nothing to update");
    assert_eq!(s.client("ghost").await.unwrap(), None);
}

async fn pushed_request_is_taken_once_and_purged<S: Storage>(s: S) {
    let app = client("par-app", T0);
    s.create_client(&app).await.unwrap();
    let pushed = |hash: String, expires_at: i64| PushedRequest {
        request_hash: hash,
        client_id: "par-app".into(),
        params: [
            ("client_id".to_owned(), "par-app".to_owned()),
            (
                "redirect_uri".to_owned(),
                "https://app.example.com/cb?x=1&y=é".to_owned(),
            ),
        ]
        .into_iter()
        .collect(),
        expires_at,
    };
    let live = pushed(digest(), T0 + 60);
    let expired = pushed(digest(), T0 - 1);
    s.insert_pushed_request(&live).await.unwrap();
    s.insert_pushed_request(&expired).await.unwrap();
    assert!(matches!(
        s.insert_pushed_request(&live).await,
        Err(StorageError::Conflict("pushed_request"))
    ));
    let mut orphan = pushed(digest(), T0 + 60);
    orphan.client_id = "nobody".into();
    assert!(matches!(
        s.insert_pushed_request(&orphan).await,
        Err(StorageError::NotFound("client"))
    ));
    assert!(s.purge_expired(T0, T0 - 86_400).await.unwrap() >= 1);
    assert_eq!(
        s.take_pushed_request(&expired.request_hash, "par-app")
            .await
            .unwrap(),
        None,
        "purged"
    );
    assert_eq!(
        s.take_pushed_request(&live.request_hash, "another-app")
            .await
            .unwrap(),
        None,
        "only its client takes it"
    );
    assert_eq!(
        s.take_pushed_request(&live.request_hash, "par-app")
            .await
            .unwrap(),
        Some(live.clone())
    );
    assert_eq!(
        s.take_pushed_request(&live.request_hash, "par-app")
            .await
            .unwrap(),
        None,
        "taken once"
    );
    // A deleted client takes its pushed requests with it.
    let again = pushed(digest(), T0 + 60);
    s.insert_pushed_request(&again).await.unwrap();
    s.delete_client("par-app").await.unwrap();
    assert_eq!(
        s.take_pushed_request(&again.request_hash, "par-app")
            .await
            .unwrap(),
        None
    );
}

async fn ceremony_is_taken_once_under_concurrency<S: Storage>(s: S) {
    const CALLERS: usize = 16;
    for round in 0..5 {
        let c = ceremony(None, T0 + 300);
        s.insert_ceremony(&c).await.unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (s, hash, start) = (s.clone(), c.id_hash.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    s.take_ceremony(&hash).await.unwrap()
                })
            })
            .collect();
        let mut taken = 0;
        for caller in callers {
            if let Some(got) = caller.await.unwrap() {
                assert_eq!(got, c);
                taken += 1;
            }
        }
        assert_eq!(taken, 1, "round {round}: one ceremony, one taker");
    }
}

async fn purge_expired_deletes_expired_ceremonies<S: Storage>(s: S) {
    let old = ceremony(None, T0 - 1);
    let live = ceremony(None, T0 + 300);
    s.insert_ceremony(&old).await.unwrap();
    s.insert_ceremony(&live).await.unwrap();
    assert_eq!(s.purge_expired(T0, 0).await.unwrap(), 1);
    assert_eq!(s.take_ceremony(&old.id_hash).await.unwrap(), None);
    assert_eq!(s.take_ceremony(&live.id_hash).await.unwrap(), Some(live));
}

async fn passkeys_and_ceremonies_go_with_the_user<S: Storage>(s: S) {
    let alice = user("alice");
    s.create_user(&alice).await.unwrap();
    s.insert_passkey(&passkey(&alice.id, "cred-1", T0))
        .await
        .unwrap();
    let c = ceremony(Some(&alice.id), T0 + 300);
    s.insert_ceremony(&c).await.unwrap();
    assert!(s.delete_user(&alice.id).await.unwrap());
    assert_eq!(s.passkey_by_credential_id("cred-1").await.unwrap(), None);
    assert_eq!(s.take_ceremony(&c.id_hash).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------
// Upstream identity providers
// ---------------------------------------------------------------------------------------

fn provider(id: &str) -> UpstreamProvider {
    UpstreamProvider {
        id: id.to_owned(),
        display_name: format!("Provider {id}"),
        kind: "oidc".to_owned(),
        issuer: Some(format!("https://{id}.example.com")),
        authorization_endpoint: None,
        token_endpoint: Some(format!("https://{id}.example.com/token")),
        userinfo_endpoint: None,
        jwks_uri: None,
        api_base: None,
        client_id: "warden".to_owned(),
        client_secret_sealed: Some(vec![0, 1, 2, 255]),
        scopes: strings(&["openid", "email", "profile"]),
        allow_signup: true,
        trust_email: false,
        trust_mfa: true,
        roles_claim: Some("groups".to_owned()),
        role_map: [("staff".to_owned(), "admin".to_owned())].into(),
        enabled: true,
        created_at: T0,
        updated_at: T0,
    }
}

fn identity(provider_id: &str, subject: &str, user_id: &str) -> LinkedIdentity {
    LinkedIdentity {
        provider_id: provider_id.to_owned(),
        subject: subject.to_owned(),
        user_id: user_id.to_owned(),
        email: Some(format!("{subject}@upstream.example")),
        email_verified: true,
        linked_at: T0,
        last_login_at: None,
    }
}

fn upstream_login(provider_id: &str, user_id: Option<&str>, expires_at: i64) -> UpstreamLogin {
    UpstreamLogin {
        state_hash: digest(),
        provider_id: provider_id.to_owned(),
        browser_hash: digest(),
        sealed_request: vec![9, 8, 7],
        purpose: if user_id.is_some() { "link" } else { "login" }.to_owned(),
        user_id: user_id.map(str::to_owned),
        return_to: Some("/authorize?client_id=x".to_owned()),
        expires_at,
    }
}

async fn upstream_providers_crud<S: Storage>(s: S) {
    let corp = provider("corp");
    let mut github = provider("github");
    github.kind = "github".to_owned();
    github.issuer = None;
    github.client_secret_sealed = None;
    github.role_map.clear();
    github.roles_claim = None;
    s.create_upstream_provider(&github).await.unwrap();
    s.create_upstream_provider(&corp).await.unwrap();
    assert!(matches!(
        s.create_upstream_provider(&corp).await,
        Err(StorageError::Conflict("upstream_provider"))
    ));
    assert_eq!(
        s.upstream_provider("corp").await.unwrap(),
        Some(corp.clone())
    );
    assert_eq!(s.upstream_provider("nope").await.unwrap(), None);
    assert_eq!(
        s.list_upstream_providers().await.unwrap(),
        vec![corp.clone(), github.clone()],
        "by id"
    );

    let changed = UpstreamProvider {
        display_name: "Corporate".into(),
        client_secret_sealed: None,
        scopes: strings(&["openid"]),
        role_map: [
            ("a".to_owned(), "x".to_owned()),
            ("b".to_owned(), "y".to_owned()),
        ]
        .into(),
        enabled: false,
        created_at: T0 + 999,
        updated_at: T0 + 60,
        ..corp.clone()
    };
    s.update_upstream_provider(&changed).await.unwrap();
    assert_eq!(
        s.upstream_provider("corp").await.unwrap(),
        Some(UpstreamProvider {
            created_at: T0,
            ..changed.clone()
        }),
        "everything but created_at"
    );
    assert!(matches!(
        s.update_upstream_provider(&provider("nope")).await,
        Err(StorageError::NotFound("upstream_provider"))
    ));
    assert!(s.delete_upstream_provider("corp").await.unwrap());
    assert!(!s.delete_upstream_provider("corp").await.unwrap());
    assert_eq!(s.list_upstream_providers().await.unwrap(), vec![github]);
}

async fn identities_link_touch_unlink<S: Storage>(s: S) {
    let alice = user("alice");
    let bob = user("bob");
    s.create_user(&alice).await.unwrap();
    s.create_user(&bob).await.unwrap();
    s.create_upstream_provider(&provider("corp")).await.unwrap();
    s.create_upstream_provider(&provider("other"))
        .await
        .unwrap();

    let mine = identity("corp", "sub-a", &alice.id);
    s.link_identity(&mine).await.unwrap();
    s.link_identity(&identity("other", "sub-a", &alice.id))
        .await
        .unwrap();
    // The subject is taken at this provider, and alice has an identity there already.
    assert!(matches!(
        s.link_identity(&identity("corp", "sub-a", &bob.id)).await,
        Err(StorageError::Conflict("linked_identity"))
    ));
    assert!(matches!(
        s.link_identity(&identity("corp", "sub-a2", &alice.id))
            .await,
        Err(StorageError::Conflict("linked_identity"))
    ));
    assert!(matches!(
        s.link_identity(&identity("corp", "sub-x", &new_id())).await,
        Err(StorageError::NotFound("user"))
    ));
    assert!(matches!(
        s.link_identity(&identity("nope", "sub-x", &bob.id)).await,
        Err(StorageError::NotFound("upstream_provider"))
    ));

    assert_eq!(
        s.identity("corp", "sub-a").await.unwrap(),
        Some(mine.clone())
    );
    assert_eq!(s.identity("corp", "sub-b").await.unwrap(), None);
    let listed = s.identities_of_user(&alice.id).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|i| i.provider_id.as_str())
            .collect::<Vec<_>>(),
        ["corp", "other"]
    );
    assert!(s.identities_of_user(&bob.id).await.unwrap().is_empty());

    assert!(
        s.touch_identity("corp", "sub-a", None, false, T0 + 100)
            .await
            .unwrap()
    );
    assert_eq!(
        s.identity("corp", "sub-a").await.unwrap(),
        Some(LinkedIdentity {
            email: None,
            email_verified: false,
            last_login_at: Some(T0 + 100),
            ..mine.clone()
        })
    );
    assert!(
        !s.touch_identity("corp", "sub-zzz", None, false, T0)
            .await
            .unwrap()
    );

    assert!(s.unlink_identity("corp", &alice.id).await.unwrap());
    assert!(!s.unlink_identity("corp", &alice.id).await.unwrap());
    assert_eq!(s.identity("corp", "sub-a").await.unwrap(), None);
    // Free again: bob may take the subject.
    s.link_identity(&identity("corp", "sub-a", &bob.id))
        .await
        .unwrap();
}

async fn user_with_identity_is_created_whole_or_not_at_all<S: Storage>(s: S) {
    s.create_upstream_provider(&provider("corp")).await.unwrap();
    s.put_role(&Role {
        name: "staff".into(),
        scopes: strings(&["me"]),
        require_mfa: false,
    })
    .await
    .unwrap();
    let mut carol = user("carol");
    carol.password_hash = "!no-password".into();
    carol.email_verified = true;
    carol.roles = strings(&["staff"]);
    let hers = identity("corp", "sub-c", &carol.id);
    s.create_user_with_identity(&carol, &hers).await.unwrap();
    assert_eq!(s.user_by_id(&carol.id).await.unwrap(), Some(carol.clone()));
    assert_eq!(s.identity("corp", "sub-c").await.unwrap(), Some(hers));

    // The subject is linked already: no user is left behind.
    let dave = user("dave");
    assert!(matches!(
        s.create_user_with_identity(&dave, &identity("corp", "sub-c", &dave.id))
            .await,
        Err(StorageError::Conflict("linked_identity"))
    ));
    assert_eq!(s.user_by_username("dave").await.unwrap(), None);
    // An unknown provider: neither.
    assert!(matches!(
        s.create_user_with_identity(&dave, &identity("gone", "sub-d", &dave.id))
            .await,
        Err(StorageError::NotFound("upstream_provider"))
    ));
    assert_eq!(s.user_by_username("dave").await.unwrap(), None);
    // A taken username: neither.
    let other_carol = user("carol");
    assert!(matches!(
        s.create_user_with_identity(&other_carol, &identity("corp", "sub-e", &other_carol.id))
            .await,
        Err(StorageError::Conflict("username"))
    ));
    assert_eq!(s.identity("corp", "sub-e").await.unwrap(), None);
}

async fn upstream_login_is_taken_once_and_never_expired<S: Storage>(s: S) {
    let alice = user("alice");
    s.create_user(&alice).await.unwrap();
    s.create_upstream_provider(&provider("corp")).await.unwrap();
    let login = upstream_login("corp", None, T0 + 300);
    let link = upstream_login("corp", Some(&alice.id), T0 + 300);
    s.insert_upstream_login(&login).await.unwrap();
    s.insert_upstream_login(&link).await.unwrap();
    assert!(matches!(
        s.insert_upstream_login(&login).await,
        Err(StorageError::Conflict("upstream_login"))
    ));
    assert!(matches!(
        s.insert_upstream_login(&upstream_login("corp", Some(&new_id()), T0))
            .await,
        Err(StorageError::NotFound("user"))
    ));
    assert!(matches!(
        s.insert_upstream_login(&upstream_login("nope", None, T0))
            .await,
        Err(StorageError::NotFound("upstream_provider"))
    ));

    assert_eq!(
        s.take_upstream_login(&login.state_hash, T0).await.unwrap(),
        Some(login.clone())
    );
    assert_eq!(
        s.take_upstream_login(&login.state_hash, T0).await.unwrap(),
        None,
        "taken once"
    );
    // At its expiry and after, refused (and left for the clean-up).
    assert_eq!(
        s.take_upstream_login(&link.state_hash, T0 + 300)
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.purge_expired(T0 + 301, 0).await.unwrap(), 1);
    assert_eq!(
        s.take_upstream_login(&link.state_hash, T0).await.unwrap(),
        None,
        "purged"
    );
    assert_eq!(s.take_upstream_login(&digest(), T0).await.unwrap(), None);
}

async fn upstream_login_is_taken_once_under_concurrency<S: Storage>(s: S) {
    const CALLERS: usize = 16;
    s.create_upstream_provider(&provider("corp")).await.unwrap();
    for round in 0..5 {
        let login = upstream_login("corp", None, T0 + 300);
        s.insert_upstream_login(&login).await.unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (s, hash, start) = (s.clone(), login.state_hash.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    s.take_upstream_login(&hash, T0).await.unwrap()
                })
            })
            .collect();
        let mut taken = 0;
        for caller in callers {
            if let Some(got) = caller.await.unwrap() {
                assert_eq!(got, login);
                taken += 1;
            }
        }
        assert_eq!(taken, 1, "round {round}: one state, one taker");
    }
}

async fn identities_go_with_the_user_and_the_provider<S: Storage>(s: S) {
    let alice = user("alice");
    let bob = user("bob");
    s.create_user(&alice).await.unwrap();
    s.create_user(&bob).await.unwrap();
    s.create_upstream_provider(&provider("corp")).await.unwrap();
    s.create_upstream_provider(&provider("other"))
        .await
        .unwrap();
    s.link_identity(&identity("corp", "a", &alice.id))
        .await
        .unwrap();
    s.link_identity(&identity("corp", "b", &bob.id))
        .await
        .unwrap();
    s.link_identity(&identity("other", "b", &bob.id))
        .await
        .unwrap();
    let pending = upstream_login("corp", Some(&alice.id), T0 + 300);
    s.insert_upstream_login(&pending).await.unwrap();

    assert!(s.delete_user(&alice.id).await.unwrap());
    assert_eq!(s.identity("corp", "a").await.unwrap(), None);
    assert_eq!(
        s.take_upstream_login(&pending.state_hash, T0)
            .await
            .unwrap(),
        None
    );

    let pending = upstream_login("corp", None, T0 + 300);
    s.insert_upstream_login(&pending).await.unwrap();
    assert!(s.delete_upstream_provider("corp").await.unwrap());
    assert_eq!(s.identity("corp", "b").await.unwrap(), None);
    assert_eq!(
        s.take_upstream_login(&pending.state_hash, T0)
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.identities_of_user(&bob.id).await.unwrap().len(), 1);
}

async fn unlinking_keeps_the_last_identity_under_concurrency<S: Storage>(s: S) {
    s.create_upstream_provider(&provider("corp")).await.unwrap();
    s.create_upstream_provider(&provider("other"))
        .await
        .unwrap();
    assert_eq!(
        s.unlink_identity_unless_last("corp", &new_id())
            .await
            .unwrap(),
        None,
        "no such user"
    );
    for round in 0..5 {
        let u = user(&format!("user{round}"));
        s.create_user(&u).await.unwrap();
        s.link_identity(&identity("corp", &format!("c{round}"), &u.id))
            .await
            .unwrap();
        s.link_identity(&identity("other", &format!("o{round}"), &u.id))
            .await
            .unwrap();
        assert_eq!(
            s.unlink_identity_unless_last("nope", &u.id).await.unwrap(),
            None
        );
        let start = Arc::new(tokio::sync::Barrier::new(2));
        let callers: Vec<_> = ["corp", "other"]
            .into_iter()
            .map(|provider_id| {
                let (s, user_id, start) = (s.clone(), u.id.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    s.unlink_identity_unless_last(provider_id, &user_id)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for caller in callers {
            outcomes.push(caller.await.unwrap());
        }
        outcomes.sort();
        assert_eq!(
            outcomes,
            [Some(false), Some(true)],
            "round {round}: one unlinked, one refused"
        );
        assert_eq!(s.identities_of_user(&u.id).await.unwrap().len(), 1);
    }
}
