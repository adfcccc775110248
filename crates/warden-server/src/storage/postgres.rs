//! [`Storage`] on PostgreSQL.
//!
//! Statements run at the default READ COMMITTED isolation: every conditional `UPDATE`
//! re-checks its `WHERE` clause against the row's latest committed version once it holds
//! the row lock, which is what makes [`Storage::rotate_refresh_token`] exactly-once.

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder};

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
static MIGRATOR: Migrator = sqlx::sqlx_macros::migrate!("./migrations/postgres");

/// Connections of the pool made by [`PostgresStorage::connect`].
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// The columns of [`UserRow`], roles aggregated in position order.
macro_rules! select_user {
    () => {
        "SELECT u.id, u.username, u.email, u.password_hash, u.disabled, \
                COALESCE((SELECT json_agg(r.role_name ORDER BY r.position) \
                            FROM user_roles r WHERE r.user_id = u.id)::text, '[]') AS roles, \
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

/// The advisory lock taken while the first signing key of an algorithm is stored (an
/// arbitrary constant: "warden-k" in ASCII).
const FIRST_SIGNING_KEY_LOCK: i64 = 0x7761_7264_656e_2d6b;

/// PostgreSQL storage: a connection pool, cheap to clone.
#[derive(Debug, Clone)]
pub struct PostgresStorage {
    pool: PgPool,
}

impl PostgresStorage {
    /// Connects to `url` (e.g. `postgres://warden@localhost/warden`) with a pool of
    /// [`DEFAULT_MAX_CONNECTIONS`]. Does not migrate: call [`Storage::migrate`].
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

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection; calls made afterwards fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The error for an insert that referenced a missing user or client (a foreign-key
    /// violation): `NotFound("user")` when the user is missing, else `NotFound("client")`.
    async fn missing_owner(&self, user_id: &str) -> StorageError {
        let user: std::result::Result<Option<i32>, _> =
            sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await;
        match user {
            Ok(None) => StorageError::NotFound("user"),
            Ok(Some(_)) => StorageError::NotFound("client"),
            Err(e) => db(e),
        }
    }
}

impl Storage for PostgresStorage {
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "INSERT INTO users (id, username, email, password_hash, disabled, created_at, \
                                updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
        sqlx::query_as::<_, UserRow>(concat!(select_user!(), "WHERE u.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(User::try_from)
            .transpose()
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(concat!(select_user!(), "WHERE u.username = $1"))
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
                "WHERE u.username > $1 ORDER BY u.username LIMIT $2"
            ))
            .bind(after),
            None => sqlx::query_as::<_, UserRow>(concat!(
                select_user!(),
                "ORDER BY u.username LIMIT $1"
            )),
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
            "UPDATE users SET email = $1, password_hash = $2, disabled = $3, updated_at = $4 \
             WHERE id = $5",
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
        let done = sqlx::query("UPDATE users SET email = $1, updated_at = $2 WHERE id = $3")
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
                "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND password_hash = $4",
            )
            .bind(hash)
            .bind(updated_at)
            .bind(user_id)
            .bind(expected),
            None => sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
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
        let done = sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Locking the user's row serializes concurrent replacements of their roles.
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        if exists.is_none() {
            return Err(StorageError::NotFound("user"));
        }
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
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
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    // --- roles

    async fn put_role(&self, role: &Role) -> Result<()> {
        sqlx::query(
            "INSERT INTO roles (name, scopes) VALUES ($1, $2) \
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
            "SELECT name, scopes FROM roles WHERE name = ANY($1) ORDER BY name",
        )
        .bind(names)
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("DELETE FROM user_roles WHERE role_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let done = sqlx::query("DELETE FROM roles WHERE name = $1")
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
        sqlx::query_as::<_, ClientRow>(concat!(select_client!(), "WHERE client_id = $1"))
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
        let done = sqlx::query("DELETE FROM clients WHERE client_id = $1")
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
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
            "WHERE code_hash = $1"
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
        // One statement: concurrent callers queue on the row lock, and each re-checks the
        // `WHERE` clause against the version the previous one committed, so exactly one
        // sees the code still unused.
        let done = sqlx::query(
            "UPDATE authorization_codes \
             SET used_at = $1, refresh_family_id = $2, access_jti = $3, access_expires_at = $4 \
             WHERE code_hash = $5 AND used_at IS NULL",
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
        sqlx::query("UPDATE authorization_codes SET replayed_at = COALESCE(replayed_at, $1) WHERE code_hash = $2")
            .bind(at)
            .bind(code_hash)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(sqlx::query_as::<_, AuthorizationCodeRow>(concat!(
            select_authorization_code!(),
            "WHERE code_hash = $1"
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
             VALUES ($1, $2, $3, $4)",
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
             WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(BrowserSession::from))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM browser_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM browser_sessions WHERE user_id = $1")
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
            "INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4) \
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
             WHERE user_id = $1 AND client_id = $2",
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
            "WHERE token_hash = $1"
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        lock_family(&mut tx, &successor.family_id).await?;
        // Concurrent callers queue on the row lock, and each re-checks the `WHERE` clause
        // against the version the previous one committed, so exactly one sees the row
        // still unused.
        let done = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 \
             WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        lock_family(&mut tx, family_id).await?;
        // Taken after the lock, this statement's snapshot holds every successor that a
        // rotation committed before it.
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(family_id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn revoke_user_refresh_tokens(&self, user_id: &str, at: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
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
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) \
             ON CONFLICT (jti) DO UPDATE \
             SET expires_at = GREATEST(revoked_access_tokens.expires_at, excluded.expires_at)",
        )
        .bind(jti)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn is_access_token_revoked(&self, jti: &str) -> Result<bool> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM revoked_access_tokens WHERE jti = $1")
                .bind(jti)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        Ok(found.is_some())
    }

    async fn user_for_access_token(&self, id: &str, jti: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(concat!(
            select_user!(),
            "WHERE u.id = $1 AND NOT EXISTS \
               (SELECT 1 FROM revoked_access_tokens WHERE jti = $2)"
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
        sqlx::query_as::<_, ApiKeyRow>(concat!(select_api_key!(), "WHERE id = $1"))
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
            "WHERE user_id = $1 ORDER BY created_at DESC, seq DESC"
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
            "ORDER BY created_at DESC, seq DESC LIMIT $1"
        ))
        .bind(cap(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows::convert(rows)
    }

    async fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_api_key(&self, id: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
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
             VALUES ($1, $2, $3, $4, $5, $6)",
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        // READ COMMITTED lets two `INSERT … WHERE NOT EXISTS` both insert; the lock (held
        // until commit) makes the check and the insert one step across connections.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FIRST_SIGNING_KEY_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let done = sqlx::query(
            "INSERT INTO signing_keys (kid, alg, encrypted_private_key, status, created_at) \
             SELECT $1, $2, $3, 'current', $4 \
              WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE alg = $2 AND status = 'current')",
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
            sqlx::query("UPDATE signing_keys SET status = $1, retired_until = $2 WHERE kid = $3")
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
        let Some(mut query) = rows::audit_batch_insert::<Postgres>(events) else {
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
        // Only the filters given appear in the statement, so the plan can use the
        // `(actor, at)` index.
        let mut query = QueryBuilder::<Postgres>::new(
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
        let mut tx = self.pool.begin().await.map_err(db)?;
        let tokens = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let keys =
            sqlx::query("DELETE FROM signing_keys WHERE status = 'retired' AND retired_until < $1")
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        let revoked = sqlx::query("DELETE FROM revoked_access_tokens WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let codes = sqlx::query("DELETE FROM authorization_codes WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let sessions = sqlx::query("DELETE FROM browser_sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let events = sqlx::query("DELETE FROM audit_events WHERE at < $1")
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
    tx: &mut sqlx::Transaction<'static, Postgres>,
    user_id: &str,
    roles: &[String],
) -> Result<()> {
    if roles.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO user_roles (user_id, role_name, position) \
         SELECT $1, r.name, r.position::integer \
           FROM unnest($2::text[]) WITH ORDINALITY AS r (name, position)",
    )
    .bind(user_id)
    .bind(rows::unique_roles(roles))
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

/// Serialises the transactions that rotate or revoke one refresh-token family: under READ
/// COMMITTED an `UPDATE … WHERE family_id` does not see a successor inserted by a
/// transaction that commits while it waits for a row lock, so both take this lock first.
async fn lock_family(tx: &mut sqlx::Transaction<'_, Postgres>, family_id: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(family_id)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

/// Stores a refresh token, on the pool or inside a transaction.
async fn insert_refresh_token<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    token: &RefreshToken,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, token_hash, user_id, client_id, scope, \
                                     issued_at, expires_at, used_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
