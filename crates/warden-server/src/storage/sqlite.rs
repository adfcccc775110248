//! [`Storage`](super::Storage) on SQLite, the embedded default: opening the database, and
//! its migrations. The statements and the implementation are shared with PostgreSQL
//! (`queries.rs`, `shared.rs`), compiled here against SQLite and its half of `dialect.rs`.
//!
//! One database file in WAL mode (readers never block the single writer), foreign keys on,
//! a 5 s busy timeout, `synchronous = NORMAL`. Transactions that write start with
//! `BEGIN IMMEDIATE`, so they wait for the write lock (up to the busy timeout) instead of
//! failing when another connection commits between their read and their write.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::dialect::sqlite as dialect;
use super::rows::db;
use super::{Result, StorageError};

// The shared statements and implementation, compiled here against this backend.
type Backend = SqliteStorage;
type Db = sqlx::Sqlite;
#[path = "queries.rs"]
mod queries;
#[path = "shared.rs"]
mod shared;

// `sqlx::migrate!` is the same proc macro behind the `macros` feature, which this crate
// does not enable; the re-exported crate is what that macro expands to.
static MIGRATOR: Migrator = sqlx::sqlx_macros::migrate!("./migrations/sqlite");

/// How long a connection waits for a lock held by another before `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections of a file database's pool (WAL: many readers, one writer at a time).
const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// SQLite storage: a connection pool, cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteStorage {
    pool: SqlitePool,
}

impl SqliteStorage {
    /// Opens the database at `url`, e.g. `sqlite://./warden.db?mode=rwc` (`mode=rwc`
    /// creates the file) or `sqlite::memory:`. Does not migrate: call
    /// [`Storage::migrate`](super::Storage::migrate).
    ///
    /// A file database gets WAL journaling and a pool of 8 connections; an in-memory
    /// database exactly one connection, kept open for the life of the pool (every
    /// connection would otherwise see its own, empty database, and the data would vanish
    /// with the last connection).
    ///
    /// A file URL without a `mode=` parameter creates the file, like `mode=rwc`; a failure
    /// to open names its cause ([`StorageError::Open`]).
    pub async fn connect(url: &str) -> Result<Self> {
        let mut options = SqliteConnectOptions::from_str(url)
            .map_err(db)?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);
        let in_memory = is_in_memory(url);
        if !in_memory && !url.contains("mode=") {
            options = options.create_if_missing(true);
        }
        let file = options.get_filename().to_owned();
        let pool = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await
                .map_err(db)?
        } else {
            SqlitePoolOptions::new()
                .max_connections(DEFAULT_MAX_CONNECTIONS)
                .connect_with(options.journal_mode(SqliteJournalMode::Wal))
                .await
                .map_err(|e| open_error(&file, &e))?
        };
        Ok(Self { pool })
    }

    /// Wraps a pool configured by the caller (who then answers for its pragmas: this
    /// storage expects at least `foreign_keys = ON`, which sqlx sets by default).
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

/// Why the database file `file` could not be opened, in words an operator can act on
/// (SQLite itself says only "unable to open database file").
fn open_error(file: &std::path::Path, error: &sqlx::Error) -> StorageError {
    let shown = file.display();
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return StorageError::Open(format!(
            "cannot open {shown}: the directory {} does not exist",
            dir.display()
        ));
    }
    // SQLITE_NOTADB (26): the file exists but holds something else.
    if let sqlx::Error::Database(d) = error
        && (d.code().as_deref() == Some("26") || d.message().contains("not a database"))
    {
        return StorageError::Open(format!("cannot open {shown}: it is not a SQLite database"));
    }
    let probe = if file.exists() {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(file)
            .err()
    } else {
        None
    };
    match probe {
        Some(e) if e.kind() == std::io::ErrorKind::PermissionDenied => StorageError::Open(format!(
            "cannot open {shown}: permission denied (the server needs to read and write it)"
        )),
        _ => StorageError::Open(format!("cannot open {shown}: {error}")),
    }
}

/// Whether `url` names an in-memory database (`sqlite::memory:`, `sqlite://:memory:`,
/// `…?mode=memory`).
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}
