//! [`Storage`] on SQLite, the embedded default.
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
use sqlx::{QueryBuilder, Sqlite};

use super::rows::{
    self, ApiKeyRow, AuditEventRow, AuthorizationCodeRow, BrowserSessionRow, ClientRow, ConsentRow,
    RefreshTokenRow, RoleRow, SigningKeyRow, UserRow, cap, constraint, db,
};
use super::{
    ApiKey, AuditEvent, AuditFilter, AuthorizationCode, BrowserSession, Client, CodeTokens,
    Consent, KeyStatus, RefreshToken, Result, Role, Storage, StorageError, StoredSigningKey, User,
};

// `sqlx::migrate!` is the same proc macro behind the `macros` feature, which this crate
// does not enable; the re-exported crate is what that macro expands to.
static MIGRATOR: Migrator = sqlx::sqlx_macros::migrate!("./migrations/sqlite");

/// How long a connection waits for a lock held by another before `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections of a file database's pool (WAL: many readers, one writer at a time).
const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// The columns of [`UserRow`], roles aggregated in position order.
macro_rules! select_user {
    () => {
        "SELECT u.id, u.username, u.email, u.password_hash, u.disabled, \
                (SELECT json_group_array(r.role_name ORDER BY r.position) \
                   FROM user_roles r WHERE r.user_id = u.id) AS roles, \
                u.created_at, u.updated_at \
           FROM users u "
    };
}

macro_rules! select_client {
    () => {
        "SELECT client_id, name, secret_hash, public, redirect_uris, grant_types, scopes, \
                created_at, first_party, post_logout_redirect_uris, id_token_alg \
           FROM clients "
    };
}

macro_rules! select_authorization_code {
    () => {
        "SELECT code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, \
                auth_time, issued_at, expires_at, used_at, refresh_family_id, access_jti, \
                access_expires_at, replayed_at \
           FROM authorization_codes "
    };
}

macro_rules! select_refresh_token {
    () => {
        "SELECT id, family_id, token_hash, user_id, client_id, scope, issued_at, expires_at, \
                used_at, revoked_at \
           FROM refresh_tokens "
    };
}

macro_rules! select_api_key {
    () => {
        "SELECT id, user_id, name, hash, scopes, created_at, expires_at, last_used_at, \
                revoked_at \
           FROM api_keys "
    };
}

/// SQLite storage: a connection pool, cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteStorage {
    pool: SqlitePool,
}

impl SqliteStorage {
    /// Opens the database at `url`, e.g. `sqlite://./warden.db?mode=rwc` (`mode=rwc`
    /// creates the file) or `sqlite::memory:`. Does not migrate: call [`Storage::migrate`].
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

    /// The underlying pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection; calls made afterwards fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The error for an insert that referenced a missing user or client (a foreign-key
    /// violation, which in SQLite does not say which): `NotFound("user")` when the user is
    /// missing, else `NotFound("client")`.
    async fn missing_owner(&self, user_id: &str) -> StorageError {
        let user: std::result::Result<Option<i64>, _> =
            sqlx::query_scalar("SELECT 1 FROM users WHERE id = ?")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await;
        match user {
            Ok(None) => StorageError::NotFound("user"),
            Ok(Some(_)) => StorageError::NotFound("client"),
            Err(e) => db(e),
        }
    }

    /// Starts a transaction holding the write lock from the start.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Sqlite>> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)
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

impl Storage for SqliteStorage {
    async fn migrate(&self) -> Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(StorageError::Migration)
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    // --- users

    async fn create_user(&self, user: &User) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO users (id, username, email, password_hash, disabled, created_at, \
                                updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.disabled)
        .bind(user.created_at)
        .bind(user.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(rows::user_insert_error)?;
        insert_roles(&mut tx, &user.id, &user.roles).await?;
        tx.commit().await.map_err(db)
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(concat!(select_user!(), "WHERE u.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(User::try_from)
            .transpose()
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(concat!(select_user!(), "WHERE u.username = ?"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(User::try_from)
            .transpose()
    }

    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
        // Two statements rather than `? IS NULL OR …`, so either walks the username index
        // from its starting point.
        let query = match after {
            Some(after) => sqlx::query_as::<_, UserRow>(concat!(
                select_user!(),
                "WHERE u.username > ? ORDER BY u.username LIMIT ?"
            ))
            .bind(after),
            None => {
                sqlx::query_as::<_, UserRow>(concat!(select_user!(), "ORDER BY u.username LIMIT ?"))
            }
        };
        let rows = query
            .bind(cap(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows::convert(rows)
    }

    async fn count_users(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(count.unsigned_abs())
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        let done = sqlx::query(
            "UPDATE users SET email = ?, password_hash = ?, disabled = ?, updated_at = ? \
             WHERE id = ?",
        )
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.disabled)
        .bind(user.updated_at)
        .bind(&user.id)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound("user"));
        }
        Ok(())
    }

    async fn set_user_email(
        &self,
        user_id: &str,
        email: Option<&str>,
        updated_at: i64,
    ) -> Result<()> {
        let done = sqlx::query("UPDATE users SET email = ?, updated_at = ? WHERE id = ?")
            .bind(email)
            .bind(updated_at)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound("user"));
        }
        Ok(())
    }

    async fn replace_password_hash(
        &self,
        user_id: &str,
        expected: Option<&str>,
        hash: &str,
        updated_at: i64,
    ) -> Result<bool> {
        let done = match expected {
            Some(expected) => sqlx::query(
                "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?",
            )
            .bind(hash)
            .bind(updated_at)
            .bind(user_id)
            .bind(expected),
            None => sqlx::query("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?")
                .bind(hash)
                .bind(updated_at)
                .bind(user_id),
        }
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if done.rows_affected() == 1 {
            return Ok(true);
        }
        match self.user_by_id(user_id).await? {
            Some(_) => Ok(false),
            None => Err(StorageError::NotFound("user")),
        }
    }

    async fn set_user_disabled(
        &self,
        user_id: &str,
        disabled: bool,
        updated_at: i64,
    ) -> Result<()> {
        let done = sqlx::query("UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?")
            .bind(disabled)
            .bind(updated_at)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound("user"));
        }
        Ok(())
    }

    async fn set_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if exists.is_none() {
            return Err(StorageError::NotFound("user"));
        }
        sqlx::query("DELETE FROM user_roles WHERE user_id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_roles(&mut tx, user_id, roles).await?;
        tx.commit().await.map_err(db)
    }

    async fn delete_user(&self, id: &str) -> Result<bool> {
        // `ON DELETE CASCADE` takes the roles, refresh tokens, API keys, authorization codes,
        // browser sessions and consents with the user.
        let done = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    // --- roles

    async fn put_role(&self, role: &Role) -> Result<()> {
        sqlx::query(
            "INSERT INTO roles (name, scopes) VALUES (?, ?) \
             ON CONFLICT (name) DO UPDATE SET scopes = excluded.scopes",
        )
        .bind(&role.name)
        .bind(rows::to_json(&role.scopes))
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn roles(&self, names: &[String]) -> Result<Vec<Role>> {
        let rows = sqlx::query_as::<_, RoleRow>(
            "SELECT name, scopes FROM roles \
             WHERE name IN (SELECT value FROM json_each(?)) ORDER BY name",
        )
        .bind(rows::to_json(names))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows::convert(rows)
    }

    async fn list_roles(&self) -> Result<Vec<Role>> {
        let rows = sqlx::query_as::<_, RoleRow>("SELECT name, scopes FROM roles ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows::convert(rows)
    }

    /// Deletes the role and takes it away from every user who had it.
    async fn delete_role(&self, name: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM user_roles WHERE role_name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let done = sqlx::query("DELETE FROM roles WHERE name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    // --- clients

    async fn create_client(&self, client: &Client) -> Result<()> {
        sqlx::query(
            "INSERT INTO clients (client_id, name, secret_hash, public, redirect_uris, \
                                  grant_types, scopes, created_at, first_party, \
                                  post_logout_redirect_uris, id_token_alg) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(&client.secret_hash)
        .bind(client.public)
        .bind(rows::to_json(&client.redirect_uris))
        .bind(rows::to_json(&client.grant_types))
        .bind(rows::to_json(&client.scopes))
        .bind(client.created_at)
        .bind(client.first_party)
        .bind(rows::to_json(&client.post_logout_redirect_uris))
        .bind(&client.id_token_alg)
        .execute(&self.pool)
        .await
        .map_err(constraint("client_id", None))?;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> Result<Option<Client>> {
        sqlx::query_as::<_, ClientRow>(concat!(select_client!(), "WHERE client_id = ?"))
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(Client::try_from)
            .transpose()
    }

    /// Oldest first.
    async fn list_clients(&self) -> Result<Vec<Client>> {
        let rows = sqlx::query_as::<_, ClientRow>(concat!(
            select_client!(),
            "ORDER BY created_at, client_id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows::convert(rows)
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool> {
        // `ON DELETE CASCADE` takes the client's authorization codes and consents with it.
        let done = sqlx::query("DELETE FROM clients WHERE client_id = ?")
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    // --- authorization codes

    /// `NotFound("user")` when `user_id` names no user, else `NotFound("client")` when
    /// `client_id` names no client.
    async fn insert_authorization_code(&self, code: &AuthorizationCode) -> Result<()> {
        let inserted = sqlx::query(
            "INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, \
                                              scope, nonce, code_challenge, auth_time, \
                                              issued_at, expires_at, used_at, \
                                              refresh_family_id, access_jti, \
                                              access_expires_at, replayed_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&code.code_hash)
        .bind(&code.client_id)
        .bind(&code.user_id)
        .bind(&code.redirect_uri)
        .bind(&code.scope)
        .bind(&code.nonce)
        .bind(&code.code_challenge)
        .bind(code.auth_time)
        .bind(code.issued_at)
        .bind(code.expires_at)
        .bind(code.used_at)
        .bind(&code.refresh_family_id)
        .bind(&code.access_jti)
        .bind(code.access_expires_at)
        .bind(code.replayed_at)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if rows::is_foreign_key_violation(&e) => {
                Err(self.missing_owner(&code.user_id).await)
            }
            Err(e) => Err(constraint("authorization_code", None)(e)),
        }
    }

    async fn authorization_code_by_hash(
        &self,
        code_hash: &str,
    ) -> Result<Option<AuthorizationCode>> {
        Ok(sqlx::query_as::<_, AuthorizationCodeRow>(concat!(
            select_authorization_code!(),
            "WHERE code_hash = ?"
        ))
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(AuthorizationCode::from))
    }

    async fn consume_authorization_code(
        &self,
        code_hash: &str,
        at: i64,
        tokens: &CodeTokens,
    ) -> Result<bool> {
        // One statement: SQLite runs it under the database's write lock, so of concurrent
        // callers exactly one sees the code still unused.
        let done = sqlx::query(
            "UPDATE authorization_codes \
             SET used_at = ?, refresh_family_id = ?, access_jti = ?, access_expires_at = ? \
             WHERE code_hash = ? AND used_at IS NULL",
        )
        .bind(at)
        .bind(tokens.refresh_family_id.as_deref())
        .bind(&tokens.access_jti)
        .bind(tokens.access_expires_at)
        .bind(code_hash)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_code_replayed(
        &self,
        code_hash: &str,
        at: i64,
    ) -> Result<Option<AuthorizationCode>> {
        // Two statements are enough: what the redemption issued was written with `used_at`,
        // before any replay could see the code used.
        sqlx::query("UPDATE authorization_codes SET replayed_at = COALESCE(replayed_at, ?) WHERE code_hash = ?")
            .bind(at)
            .bind(code_hash)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(sqlx::query_as::<_, AuthorizationCodeRow>(concat!(
            select_authorization_code!(),
            "WHERE code_hash = ?"
        ))
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(AuthorizationCode::from))
    }

    // --- browser sessions

    /// `Conflict("browser_session")` on a duplicate hash; `NotFound("user")` when `user_id`
    /// names no user.
    async fn insert_session(&self, session: &BrowserSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO browser_sessions (id_hash, user_id, auth_time, expires_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(&session.id_hash)
        .bind(&session.user_id)
        .bind(session.auth_time)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await
        .map_err(constraint("browser_session", Some("user")))?;
        Ok(())
    }

    async fn session_by_hash(&self, id_hash: &str) -> Result<Option<BrowserSession>> {
        Ok(sqlx::query_as::<_, BrowserSessionRow>(
            "SELECT id_hash, user_id, auth_time, expires_at FROM browser_sessions \
             WHERE id_hash = ?",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(BrowserSession::from))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM browser_sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM browser_sessions WHERE user_id = ?")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    // --- consents

    /// `NotFound("user")` when `user_id` names no user, else `NotFound("client")` when
    /// `client_id` names no client.
    async fn put_consent(&self, consent: &Consent) -> Result<()> {
        let put = sqlx::query(
            "INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (user_id, client_id) \
             DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
        )
        .bind(&consent.user_id)
        .bind(&consent.client_id)
        .bind(rows::to_json(&consent.scopes))
        .bind(consent.granted_at)
        .execute(&self.pool)
        .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if rows::is_foreign_key_violation(&e) => {
                Err(self.missing_owner(&consent.user_id).await)
            }
            Err(e) => Err(db(e)),
        }
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> Result<Option<Consent>> {
        sqlx::query_as::<_, ConsentRow>(
            "SELECT user_id, client_id, scopes, granted_at FROM consents \
             WHERE user_id = ? AND client_id = ?",
        )
        .bind(user_id)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(Consent::try_from)
        .transpose()
    }

    // --- refresh tokens

    /// `NotFound("user")` when `user_id` names no user.
    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<()> {
        insert_refresh_token(&self.pool, token).await
    }

    async fn refresh_token_by_hash(&self, token_hash: &str) -> Result<Option<RefreshToken>> {
        Ok(sqlx::query_as::<_, RefreshTokenRow>(concat!(
            select_refresh_token!(),
            "WHERE token_hash = ?"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(RefreshToken::from))
    }

    async fn rotate_refresh_token(
        &self,
        id: &str,
        at: i64,
        successor: &RefreshToken,
    ) -> Result<bool> {
        // Under the database's write lock from the check to the commit: of concurrent
        // callers exactly one sees the row still unused, and a family revocation (one
        // statement, so also under the write lock) runs wholly before or after.
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE refresh_tokens SET used_at = ? \
             WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert_refresh_token(&mut *tx, successor).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn revoke_refresh_family(&self, family_id: &str, at: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(family_id)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn revoke_user_refresh_tokens(&self, user_id: &str, at: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(user_id)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    // --- revoked access tokens

    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?) \
             ON CONFLICT (jti) DO UPDATE \
             SET expires_at = max(revoked_access_tokens.expires_at, excluded.expires_at)",
        )
        .bind(jti)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn is_access_token_revoked(&self, jti: &str) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM revoked_access_tokens WHERE jti = ?")
                .bind(jti)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        Ok(found.is_some())
    }

    async fn user_for_access_token(&self, id: &str, jti: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(concat!(
            select_user!(),
            "WHERE u.id = ? AND NOT EXISTS \
               (SELECT 1 FROM revoked_access_tokens WHERE jti = ?)"
        ))
        .bind(id)
        .bind(jti)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(User::try_from)
        .transpose()
    }

    // --- API keys

    /// `NotFound("user")` when `user_id` names no user.
    async fn insert_api_key(&self, key: &ApiKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, hash, scopes, created_at, expires_at, \
                                   last_used_at, revoked_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.id)
        .bind(&key.user_id)
        .bind(&key.name)
        .bind(&key.hash)
        .bind(rows::to_json(&key.scopes))
        .bind(key.created_at)
        .bind(key.expires_at)
        .bind(key.last_used_at)
        .bind(key.revoked_at)
        .execute(&self.pool)
        .await
        .map_err(constraint("api_key", Some("user")))?;
        Ok(())
    }

    async fn api_key(&self, id: &str) -> Result<Option<ApiKey>> {
        sqlx::query_as::<_, ApiKeyRow>(concat!(select_api_key!(), "WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(ApiKey::try_from)
            .transpose()
    }

    async fn list_api_keys(&self, user_id: &str) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query_as::<_, ApiKeyRow>(concat!(
            select_api_key!(),
            "WHERE user_id = ? ORDER BY created_at DESC, seq DESC"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows::convert(rows)
    }

    /// Newest first, at most `limit` (≤ 1000).
    async fn list_all_api_keys(&self, limit: u32) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query_as::<_, ApiKeyRow>(concat!(
            select_api_key!(),
            "ORDER BY created_at DESC, seq DESC LIMIT ?"
        ))
        .bind(cap(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows::convert(rows)
    }

    async fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_api_key(&self, id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    // --- signing keys

    /// `Conflict("signing_key")` when the kid is taken.
    async fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<()> {
        let (status, retired_until) = rows::key_status_columns(key.status);
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, encrypted_private_key, status, retired_until, \
                                       created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.encrypted_private_key)
        .bind(status)
        .bind(retired_until)
        .bind(key.created_at)
        .execute(&self.pool)
        .await
        .map_err(constraint("signing_key", None))?;
        Ok(())
    }

    async fn insert_first_signing_key(&self, key: &StoredSigningKey) -> Result<bool> {
        // The write lock is held from the check to the commit.
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO signing_keys (kid, alg, encrypted_private_key, status, created_at) \
             SELECT ?1, ?2, ?3, 'current', ?4 \
              WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE alg = ?2 AND status = 'current')",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.encrypted_private_key)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await
        .map_err(constraint("signing_key", None))?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>> {
        let rows = sqlx::query_as::<_, SigningKeyRow>(
            "SELECT kid, alg, encrypted_private_key, status, retired_until, created_at \
             FROM signing_keys ORDER BY created_at, seq",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows::convert(rows)
    }

    async fn set_signing_key_status(&self, kid: &str, status: KeyStatus) -> Result<()> {
        let (status, retired_until) = rows::key_status_columns(status);
        let done =
            sqlx::query("UPDATE signing_keys SET status = ?, retired_until = ? WHERE kid = ?")
                .bind(status)
                .bind(retired_until)
                .bind(kid)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound("signing_key"));
        }
        Ok(())
    }

    // --- audit

    /// `Conflict("audit_event")` when the id is taken.
    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_events (id, at, event, actor, client_id, ip, outcome, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&event.id)
        .bind(event.at)
        .bind(&event.event)
        .bind(&event.actor)
        .bind(&event.client_id)
        .bind(&event.ip)
        .bind(&event.outcome)
        .bind(&event.detail)
        .execute(&self.pool)
        .await
        .map_err(constraint("audit_event", None))?;
        Ok(())
    }

    async fn append_audit_batch(&self, events: &[AuditEvent]) -> Result<()> {
        let Some(mut query) = rows::audit_batch_insert::<Sqlite>(events) else {
            return Ok(());
        };
        // Not kept as a prepared statement: every batch size is another statement, and a
        // per-connection cache of up to a hundred 256-row INSERTs costs tens of MiB.
        query
            .build()
            .persistent(false)
            .execute(&self.pool)
            .await
            .map_err(constraint("audit_event", None))?;
        Ok(())
    }

    /// Newest first (by `at`, then by insertion); `since` is inclusive.
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        // Only the filters given appear in the statement, so the planner can use the
        // `(actor, at)` index.
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT id, at, event, actor, client_id, ip, outcome, detail \
             FROM audit_events WHERE 1 = 1",
        );
        if let Some(actor) = &filter.actor {
            query.push(" AND actor = ").push_bind(actor.clone());
        }
        if let Some(event) = &filter.event {
            query.push(" AND event = ").push_bind(event.clone());
        }
        if let Some(since) = filter.since {
            query.push(" AND at >= ").push_bind(since);
        }
        query
            .push(" ORDER BY at DESC, seq DESC LIMIT ")
            .push_bind(cap(filter.limit));
        let rows = query
            .build_query_as::<AuditEventRow>()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        Ok(rows.into_iter().map(AuditEvent::from).collect())
    }

    // --- housekeeping

    async fn purge_expired(&self, now: i64, audit_before: i64) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let tokens = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let keys =
            sqlx::query("DELETE FROM signing_keys WHERE status = 'retired' AND retired_until < ?")
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        let revoked = sqlx::query("DELETE FROM revoked_access_tokens WHERE expires_at < ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let codes = sqlx::query("DELETE FROM authorization_codes WHERE expires_at < ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let sessions = sqlx::query("DELETE FROM browser_sessions WHERE expires_at < ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let events = sqlx::query("DELETE FROM audit_events WHERE at < ?")
            .bind(audit_before)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(tokens.rows_affected()
            + revoked.rows_affected()
            + keys.rows_affected()
            + codes.rows_affected()
            + sessions.rows_affected()
            + events.rows_affected())
    }
}

/// Inserts `roles` (first occurrence of each, in order) for `user_id`, which has none.
async fn insert_roles(
    tx: &mut sqlx::Transaction<'static, Sqlite>,
    user_id: &str,
    roles: &[String],
) -> Result<()> {
    if roles.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO user_roles (user_id, role_name, position) \
         SELECT ?, value, key FROM json_each(?)",
    )
    .bind(user_id)
    .bind(rows::to_json(&rows::unique_roles(roles)))
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

/// Stores a refresh token, on the pool or inside a transaction.
async fn insert_refresh_token<'e>(
    executor: impl sqlx::SqliteExecutor<'e>,
    token: &RefreshToken,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, token_hash, user_id, client_id, scope, \
                                     issued_at, expires_at, used_at, revoked_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&token.id)
    .bind(&token.family_id)
    .bind(&token.token_hash)
    .bind(&token.user_id)
    .bind(&token.client_id)
    .bind(&token.scope)
    .bind(token.issued_at)
    .bind(token.expires_at)
    .bind(token.used_at)
    .bind(token.revoked_at)
    .execute(executor)
    .await
    .map_err(constraint("refresh_token", Some("user")))?;
    Ok(())
}
