//! [`Storage`](super::Storage) on PostgreSQL: connecting, and its migrations. The
//! statements and the implementation are shared with SQLite (`queries.rs`, `shared.rs`),
//! compiled here against PostgreSQL and its half of `dialect.rs`.
//!
//! Statements run at the default READ COMMITTED isolation; `dialect.rs` tells how the
//! shared statements stay exactly-once under it.

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::Result;
use super::dialect::postgres as dialect;
use super::rows::db;

// The shared statements and implementation, compiled here against this backend.
type Backend = PostgresStorage;
type Db = sqlx::Postgres;
#[path = "queries.rs"]
mod queries;
#[path = "shared.rs"]
mod shared;

// `sqlx::migrate!` is the same proc macro behind the `macros` feature, which this crate
// does not enable; the re-exported crate is what that macro expands to.
static MIGRATOR: Migrator = sqlx::sqlx_macros::migrate!("./migrations/postgres");

/// Connections of the pool made by [`PostgresStorage::connect`].
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// PostgreSQL storage: a connection pool, cheap to clone.
#[derive(Debug, Clone)]
pub struct PostgresStorage {
    pool: PgPool,
}

impl PostgresStorage {
    /// Connects to `url` (e.g. `postgres://warden@localhost/warden`) with a pool of
    /// [`DEFAULT_MAX_CONNECTIONS`]. Does not migrate: call
    /// [`Storage::migrate`](super::Storage::migrate).
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, DEFAULT_MAX_CONNECTIONS).await
    }

    /// Connects to `url` with a pool of at most `max_connections` connections.
    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Self> {
        let options = PgConnectOptions::from_str(url).map_err(db)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await
            .map_err(db)?;
        Ok(Self { pool })
    }

    /// Wraps a pool configured by the caller.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }
}
