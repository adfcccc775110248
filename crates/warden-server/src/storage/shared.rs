//! The [`Storage`] implementation, written once for SQLite and PostgreSQL.
//!
//! Compiled once per backend: `sqlite.rs` and `postgres.rs` each declare this file as their
//! `shared` module, so every method type-checks against the real driver. What it is
//! compiled against comes from that parent: `Backend` (the storage type), `Db` (the sqlx
//! driver), `MIGRATOR`, `dialect` (that backend's half of `dialect.rs`) and `queries` (the
//! statements, compiled the same way). Nothing here asks which backend it is: a difference
//! is a `dialect::` call, or a statement that invokes a `dialect::` macro.

use sqlx::{Executor, Pool, Transaction};

use super::{Backend, Db, MIGRATOR, dialect, queries as sql};
use crate::storage::rows::{
    self, ApiKeyRow, AuditEventRow, AuthorizationCodeRow, BrowserSessionRow, ClientRow, ConsentRow,
    LinkedIdentityRow, PasskeyRow, PushedRequestRow, RefreshTokenRow, RoleRow, SigningKeyRow,
    TotpFactorRow, UpstreamLoginRow, UpstreamProviderRow, UserRow, WebauthnCeremonyRow, cap,
    constraint, db,
};
use crate::storage::{
    ApiKey, AuditEvent, AuditFilter, AuthorizationCode, BrowserSession, Client, CodeTokens,
    Consent, KeyStatus, LinkedIdentity, PushedRequest, RefreshToken, Result, Role, Storage,
    StorageError, StoredPasskey, StoredSigningKey, TotpFactor, UpstreamLogin, UpstreamProvider,
    User, WebauthnCeremony,
};

impl Backend {
    /// The underlying pool.
    pub fn pool(&self) -> &Pool<Db> {
        &self.pool
    }

    /// Closes every connection; calls made afterwards fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Every SQL statement this backend runs, by name: the fixed ones, and a rendering of
    /// each one built at run time. For the test that prepares them all on a migrated
    /// database; not an interface.
    #[doc(hidden)]
    pub fn statements() -> Vec<(&'static str, String)> {
        sql::all()
    }

    /// The error for an insert that referenced a missing user or client (a foreign-key
    /// violation, which SQLite does not attribute): `NotFound("user")` when the user is
    /// missing, else `NotFound("client")`.
    async fn missing_owner(&self, user_id: &str) -> StorageError {
        self.missing_user_or(Some(user_id), "client").await
    }

    /// The error for an insert that referenced a missing user (when `user_id` is given) or
    /// a missing `other` record: `NotFound("user")` when the user is missing, else
    /// `NotFound(other)`.
    async fn missing_user_or(&self, user_id: Option<&str>, other: &'static str) -> StorageError {
        let Some(user_id) = user_id else {
            return StorageError::NotFound(other);
        };
        let user: std::result::Result<Option<i32>, _> = sqlx::query_scalar(sql::USER_EXISTS)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await;
        match user {
            Ok(None) => StorageError::NotFound("user"),
            Ok(Some(_)) => StorageError::NotFound(other),
            Err(e) => db(e),
        }
    }
}

impl Storage for Backend {
    async fn migrate(&self) -> Result<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(StorageError::Migration)
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query(sql::PING)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    // --- users

    async fn create_user(&self, user: &User) -> Result<()> {
        let mut tx = dialect::begin_write(&self.pool).await?;
        insert_user(&mut tx, user).await?;
        tx.commit().await.map_err(db)
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(sql::USER_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(User::try_from)
            .transpose()
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(sql::USER_BY_USERNAME)
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(User::try_from)
            .transpose()
    }

    async fn users_by_email(&self, email: &str) -> Result<Vec<User>> {
        sqlx::query_as::<_, UserRow>(sql::USERS_BY_EMAIL)
            .bind(email)
            .bind(2_i64)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .into_iter()
            .map(User::try_from)
            .collect()
    }

    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
        let query = match after {
            Some(after) => sqlx::query_as::<_, UserRow>(sql::LIST_USERS_AFTER).bind(after),
            None => sqlx::query_as::<_, UserRow>(sql::LIST_USERS_FIRST),
        };
        let rows = query
            .bind(cap(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows::convert(rows)
    }

    async fn count_users(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar(sql::COUNT_USERS)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(count.unsigned_abs())
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        let done = sqlx::query(sql::UPDATE_USER)
            .bind(&user.email)
            .bind(&user.password_hash)
            .bind(user.disabled)
            .bind(user.updated_at)
            .bind(user.email_verified)
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
        let done = sqlx::query(sql::SET_USER_EMAIL)
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

    async fn set_user_email_verified(
        &self,
        user_id: &str,
        verified: bool,
        updated_at: i64,
    ) -> Result<()> {
        let done = sqlx::query(sql::SET_USER_EMAIL_VERIFIED)
            .bind(verified)
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
        // One conditional statement: SQLite runs it under the database's write lock, and
        // PostgreSQL re-checks `password_hash = $4` against the latest committed row once it
        // holds the row lock, so of concurrent callers expecting one hash exactly one writes.
        let done = match expected {
            Some(expected) => sqlx::query(sql::REPLACE_PASSWORD_HASH_IF)
                .bind(hash)
                .bind(updated_at)
                .bind(user_id)
                .bind(expected),
            None => sqlx::query(sql::REPLACE_PASSWORD_HASH)
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
        let done = sqlx::query(sql::SET_USER_DISABLED)
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
        let mut tx = dialect::begin_write(&self.pool).await?;
        // Locking the user's row (SQLite: the write lock held since `BEGIN IMMEDIATE`;
        // PostgreSQL: `FOR UPDATE`) serializes concurrent replacements of their roles.
        let exists: Option<i32> = sqlx::query_scalar(sql::LOCK_USER)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if exists.is_none() {
            return Err(StorageError::NotFound("user"));
        }
        sqlx::query(sql::DELETE_USER_ROLES)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        insert_roles(&mut tx, user_id, roles).await?;
        tx.commit().await.map_err(db)
    }

    async fn delete_user(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(sql::DELETE_USER)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    // --- roles

    async fn put_role(&self, role: &Role) -> Result<()> {
        sqlx::query(sql::PUT_ROLE)
            .bind(&role.name)
            .bind(rows::to_json(&role.scopes))
            .bind(role.require_mfa)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn roles(&self, names: &[String]) -> Result<Vec<Role>> {
        let rows = sqlx::query_as::<_, RoleRow>(sql::ROLES_NAMED)
            .bind(dialect::list(names))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows::convert(rows)
    }

    async fn list_roles(&self) -> Result<Vec<Role>> {
        let rows = sqlx::query_as::<_, RoleRow>(sql::LIST_ROLES)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows::convert(rows)
    }

    /// Deletes the role and takes it away from every user who had it.
    async fn delete_role(&self, name: &str) -> Result<bool> {
        let mut tx = dialect::begin_write(&self.pool).await?;
        sqlx::query(sql::DELETE_ROLE_FROM_USERS)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let done = sqlx::query(sql::DELETE_ROLE)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    // --- clients

    async fn create_client(&self, client: &Client) -> Result<()> {
        bind_client(sqlx::query(sql::INSERT_CLIENT), client)
            .bind(client.created_at)
            .execute(&self.pool)
            .await
            .map_err(constraint("client_id", None))?;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> Result<Option<Client>> {
        sqlx::query_as::<_, ClientRow>(sql::CLIENT_BY_ID)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(Client::try_from)
            .transpose()
    }

    /// Oldest first.
    async fn list_clients(&self) -> Result<Vec<Client>> {
        let rows = sqlx::query_as::<_, ClientRow>(sql::LIST_CLIENTS)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows::convert(rows)
    }

    async fn update_client(&self, client: &Client) -> Result<bool> {
        let done = bind_client(sqlx::query(sql::UPDATE_CLIENT), client)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool> {
        let done = sqlx::query(sql::DELETE_CLIENT)
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
        let inserted = sqlx::query(sql::INSERT_AUTHORIZATION_CODE)
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
            .bind(&code.amr)
            .bind(&code.dpop_jkt)
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
        Ok(
            sqlx::query_as::<_, AuthorizationCodeRow>(sql::AUTHORIZATION_CODE_BY_HASH)
                .bind(code_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?
                .map(AuthorizationCode::from),
        )
    }

    async fn consume_authorization_code(
        &self,
        code_hash: &str,
        at: i64,
        tokens: &CodeTokens,
    ) -> Result<bool> {
        // One statement. SQLite runs it under the database's write lock; on PostgreSQL
        // concurrent callers queue on the row lock, and each re-checks the `WHERE` clause
        // against the version the previous one committed. Either way, of concurrent callers
        // exactly one sees the code still unused.
        let done = sqlx::query(sql::CONSUME_AUTHORIZATION_CODE)
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
        sqlx::query(sql::MARK_CODE_REPLAYED)
            .bind(at)
            .bind(code_hash)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        self.authorization_code_by_hash(code_hash).await
    }

    // --- browser sessions

    /// `Conflict("browser_session")` on a duplicate hash; `NotFound("user")` when `user_id`
    /// names no user.
    async fn insert_session(&self, session: &BrowserSession) -> Result<()> {
        sqlx::query(sql::INSERT_SESSION)
            .bind(&session.id_hash)
            .bind(&session.user_id)
            .bind(session.auth_time)
            .bind(session.expires_at)
            .bind(&session.amr)
            .execute(&self.pool)
            .await
            .map_err(constraint("browser_session", Some("user")))?;
        Ok(())
    }

    async fn session_by_hash(&self, id_hash: &str) -> Result<Option<BrowserSession>> {
        Ok(sqlx::query_as::<_, BrowserSessionRow>(sql::SESSION_BY_HASH)
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(BrowserSession::from))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool> {
        let done = sqlx::query(sql::DELETE_SESSION)
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64> {
        let done = sqlx::query(sql::DELETE_USER_SESSIONS)
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
        let put = sqlx::query(sql::PUT_CONSENT)
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
        sqlx::query_as::<_, ConsentRow>(sql::CONSENT)
            .bind(user_id)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(Consent::try_from)
            .transpose()
    }

    // --- second factors

    async fn put_pending_totp(
        &self,
        user_id: &str,
        encrypted_secret: &[u8],
        at: i64,
    ) -> Result<bool> {
        let done = sqlx::query(sql::PUT_PENDING_TOTP)
            .bind(user_id)
            .bind(encrypted_secret)
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(constraint("totp_factor", Some("user")))?;
        Ok(done.rows_affected() > 0)
    }

    async fn totp_factor(&self, user_id: &str) -> Result<Option<TotpFactor>> {
        Ok(sqlx::query_as::<_, TotpFactorRow>(sql::TOTP_FACTOR)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(TotpFactor::from))
    }

    async fn use_totp_step(
        &self,
        user_id: &str,
        step: i64,
        at: i64,
        confirming: bool,
    ) -> Result<bool> {
        let done = sqlx::query(sql::USE_TOTP_STEP)
            .bind(step)
            .bind(at)
            .bind(user_id)
            .bind(confirming)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_totp(&self, user_id: &str) -> Result<bool> {
        let done = sqlx::query(sql::DELETE_TOTP)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        code_hashes: &[String],
        at: i64,
    ) -> Result<()> {
        let mut tx = dialect::begin_write(&self.pool).await?;
        sqlx::query(sql::DELETE_RECOVERY_CODES)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        for hash in code_hashes {
            sqlx::query(sql::INSERT_RECOVERY_CODE)
                .bind(user_id)
                .bind(hash)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(constraint("recovery_code", Some("user")))?;
        }
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn use_recovery_code(&self, user_id: &str, code_hash: &str, at: i64) -> Result<bool> {
        let done = sqlx::query(sql::USE_RECOVERY_CODE)
            .bind(at)
            .bind(user_id)
            .bind(code_hash)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn recovery_codes_left(&self, user_id: &str) -> Result<u64> {
        let count: i64 = sqlx::query_scalar(sql::RECOVERY_CODES_LEFT)
            .bind(user_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(count.unsigned_abs())
    }

    async fn delete_recovery_codes(&self, user_id: &str) -> Result<u64> {
        let done = sqlx::query(sql::DELETE_RECOVERY_CODES)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    // --- passkeys

    async fn insert_passkey(&self, passkey: &StoredPasskey) -> Result<()> {
        sqlx::query(sql::INSERT_PASSKEY)
            .bind(&passkey.id)
            .bind(&passkey.credential_id)
            .bind(&passkey.user_id)
            .bind(&passkey.name)
            .bind(&passkey.passkey)
            .bind(passkey.sign_count)
            .bind(passkey.backup_eligible)
            .bind(passkey.created_at)
            .bind(passkey.last_used_at)
            .execute(&self.pool)
            .await
            .map_err(constraint("passkey", Some("user")))?;
        Ok(())
    }

    async fn passkeys(&self, user_id: &str) -> Result<Vec<StoredPasskey>> {
        Ok(sqlx::query_as::<_, PasskeyRow>(sql::PASSKEYS_OF_USER)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .into_iter()
            .map(StoredPasskey::from)
            .collect())
    }

    async fn count_passkeys(&self, user_id: &str) -> Result<u64> {
        let count: i64 = sqlx::query_scalar(sql::COUNT_PASSKEYS)
            .bind(user_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(count.unsigned_abs())
    }

    async fn passkey_by_credential_id(&self, credential_id: &str) -> Result<Option<StoredPasskey>> {
        Ok(
            sqlx::query_as::<_, PasskeyRow>(sql::PASSKEY_BY_CREDENTIAL_ID)
                .bind(credential_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?
                .map(StoredPasskey::from),
        )
    }

    async fn rename_passkey(&self, user_id: &str, id: &str, name: &str) -> Result<bool> {
        let done = sqlx::query(sql::RENAME_PASSKEY)
            .bind(name)
            .bind(user_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn use_passkey(
        &self,
        id: &str,
        passkey: &str,
        sign_count: i64,
        backup_eligible: bool,
        at: i64,
    ) -> Result<bool> {
        let done = sqlx::query(sql::USE_PASSKEY)
            .bind(passkey)
            .bind(sign_count)
            .bind(backup_eligible)
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_passkey(&self, user_id: &str, id: &str) -> Result<bool> {
        let done = sqlx::query(sql::DELETE_PASSKEY)
            .bind(user_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_passkeys(&self, user_id: &str) -> Result<u64> {
        let done = sqlx::query(sql::DELETE_PASSKEYS)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn insert_ceremony(&self, ceremony: &WebauthnCeremony) -> Result<()> {
        sqlx::query(sql::INSERT_CEREMONY)
            .bind(&ceremony.id_hash)
            .bind(&ceremony.user_id)
            .bind(&ceremony.kind)
            .bind(&ceremony.state)
            .bind(ceremony.expires_at)
            .execute(&self.pool)
            .await
            .map_err(constraint("webauthn_ceremony", Some("user")))?;
        Ok(())
    }

    async fn insert_pushed_request(&self, request: &PushedRequest) -> Result<()> {
        sqlx::query(sql::INSERT_PUSHED_REQUEST)
            .bind(&request.request_hash)
            .bind(&request.client_id)
            .bind(rows::map_to_json(&request.params))
            .bind(request.expires_at)
            .execute(&self.pool)
            .await
            .map_err(constraint("pushed_request", Some("client")))?;
        Ok(())
    }

    async fn take_pushed_request(
        &self,
        request_hash: &str,
        client_id: &str,
    ) -> Result<Option<PushedRequest>> {
        sqlx::query_as::<_, PushedRequestRow>(sql::TAKE_PUSHED_REQUEST)
            .bind(request_hash)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(PushedRequest::try_from)
            .transpose()
    }

    async fn take_ceremony(&self, id_hash: &str) -> Result<Option<WebauthnCeremony>> {
        Ok(sqlx::query_as::<_, WebauthnCeremonyRow>(sql::TAKE_CEREMONY)
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(WebauthnCeremony::from))
    }

    // --- upstream identity providers

    async fn create_upstream_provider(&self, provider: &UpstreamProvider) -> Result<()> {
        bind_upstream_provider(sqlx::query(sql::INSERT_UPSTREAM_PROVIDER), provider)
            .bind(provider.created_at)
            .bind(provider.updated_at)
            .execute(&self.pool)
            .await
            .map_err(constraint("upstream_provider", None))?;
        Ok(())
    }

    async fn update_upstream_provider(&self, provider: &UpstreamProvider) -> Result<()> {
        let done = bind_upstream_provider(sqlx::query(sql::UPDATE_UPSTREAM_PROVIDER), provider)
            .bind(provider.updated_at)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound("upstream_provider"));
        }
        Ok(())
    }

    async fn upstream_provider(&self, id: &str) -> Result<Option<UpstreamProvider>> {
        sqlx::query_as::<_, UpstreamProviderRow>(sql::UPSTREAM_PROVIDER_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(UpstreamProvider::try_from)
            .transpose()
    }

    async fn list_upstream_providers(&self) -> Result<Vec<UpstreamProvider>> {
        let rows = sqlx::query_as::<_, UpstreamProviderRow>(sql::LIST_UPSTREAM_PROVIDERS)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows::convert(rows)
    }

    async fn delete_upstream_provider(&self, id: &str) -> Result<bool> {
        let done = sqlx::query(sql::DELETE_UPSTREAM_PROVIDER)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    // --- linked identities

    async fn link_identity(&self, identity: &LinkedIdentity) -> Result<()> {
        match insert_identity(&self.pool, identity).await {
            Err(e) if rows::is_foreign_key_violation(&e) => Err(self
                .missing_user_or(Some(&identity.user_id), "upstream_provider")
                .await),
            done => done.map_err(constraint("linked_identity", None)),
        }
    }

    async fn identity(&self, provider_id: &str, subject: &str) -> Result<Option<LinkedIdentity>> {
        Ok(sqlx::query_as::<_, LinkedIdentityRow>(sql::LINKED_IDENTITY)
            .bind(provider_id)
            .bind(subject)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(LinkedIdentity::from))
    }

    async fn identities_of_user(&self, user_id: &str) -> Result<Vec<LinkedIdentity>> {
        Ok(
            sqlx::query_as::<_, LinkedIdentityRow>(sql::IDENTITIES_OF_USER)
                .bind(user_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?
                .into_iter()
                .map(LinkedIdentity::from)
                .collect(),
        )
    }

    async fn unlink_identity(&self, provider_id: &str, user_id: &str) -> Result<bool> {
        let done = sqlx::query(sql::UNLINK_IDENTITY)
            .bind(provider_id)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn unlink_identity_unless_last(
        &self,
        provider_id: &str,
        user_id: &str,
    ) -> Result<Option<bool>> {
        // The user's row is locked first (SQLite: the write lock held since `BEGIN
        // IMMEDIATE`; PostgreSQL: `FOR UPDATE`), so the identities read next include every
        // unlink committed by a concurrent caller, which waited for or held the same lock.
        let mut tx = dialect::begin_write(&self.pool).await?;
        let exists: Option<i32> = sqlx::query_scalar(sql::LOCK_USER)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if exists.is_none() {
            return Ok(None);
        }
        let identities = sqlx::query_as::<_, LinkedIdentityRow>(sql::IDENTITIES_OF_USER)
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?
            .into_iter()
            .map(LinkedIdentity::from)
            .collect::<Vec<_>>();
        if !identities.iter().any(|i| i.provider_id == provider_id) {
            return Ok(None);
        }
        if identities.len() < 2 {
            return Ok(Some(false));
        }
        sqlx::query(sql::UNLINK_IDENTITY)
            .bind(provider_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Some(true))
    }

    async fn touch_identity(
        &self,
        provider_id: &str,
        subject: &str,
        email: Option<&str>,
        email_verified: bool,
        at: i64,
    ) -> Result<bool> {
        let done = sqlx::query(sql::TOUCH_IDENTITY)
            .bind(email)
            .bind(email_verified)
            .bind(at)
            .bind(provider_id)
            .bind(subject)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_user_with_identity(
        &self,
        user: &User,
        identity: &LinkedIdentity,
    ) -> Result<()> {
        // One transaction: a failed link (a subject linked meanwhile, a provider deleted)
        // rolls the user back, so no account is left without its way to sign in.
        let mut tx = dialect::begin_write(&self.pool).await?;
        insert_user(&mut tx, user).await?;
        insert_identity(&mut *tx, identity)
            .await
            .map_err(constraint("linked_identity", Some("upstream_provider")))?;
        tx.commit().await.map_err(db)
    }

    // --- pending upstream logins

    async fn insert_upstream_login(&self, login: &UpstreamLogin) -> Result<()> {
        let inserted = sqlx::query(sql::INSERT_UPSTREAM_LOGIN)
            .bind(&login.state_hash)
            .bind(&login.provider_id)
            .bind(&login.browser_hash)
            .bind(&login.sealed_request)
            .bind(&login.purpose)
            .bind(&login.user_id)
            .bind(&login.return_to)
            .bind(login.expires_at)
            .execute(&self.pool)
            .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if rows::is_foreign_key_violation(&e) => Err(self
                .missing_user_or(login.user_id.as_deref(), "upstream_provider")
                .await),
            Err(e) => Err(constraint("upstream_login", None)(e)),
        }
    }

    async fn take_upstream_login(
        &self,
        state_hash: &str,
        now: i64,
    ) -> Result<Option<UpstreamLogin>> {
        // One statement: SQLite runs it under the write lock; on PostgreSQL concurrent
        // deletes queue on the row lock and the later ones find it gone.
        Ok(
            sqlx::query_as::<_, UpstreamLoginRow>(sql::TAKE_UPSTREAM_LOGIN)
                .bind(state_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?
                .map(UpstreamLogin::from),
        )
    }

    // --- refresh tokens

    /// `NotFound("user")` when `user_id` names no user.
    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<()> {
        insert_refresh_token(&self.pool, token).await
    }

    async fn refresh_token_by_hash(&self, token_hash: &str) -> Result<Option<RefreshToken>> {
        Ok(
            sqlx::query_as::<_, RefreshTokenRow>(sql::REFRESH_TOKEN_BY_HASH)
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?
                .map(RefreshToken::from),
        )
    }

    async fn rotate_refresh_token(
        &self,
        id: &str,
        at: i64,
        successor: &RefreshToken,
    ) -> Result<bool> {
        // Of concurrent callers exactly one sees the row still unused, and a family
        // revocation runs wholly before or after. SQLite: the database's write lock is held
        // from `BEGIN IMMEDIATE` to the commit. PostgreSQL: the family lock serialises this
        // with a revocation, and concurrent callers queue on the row lock, each re-checking
        // the `WHERE` clause against the version the previous one committed.
        let mut tx = dialect::begin_write(&self.pool).await?;
        dialect::lock_refresh_family(&mut tx, &successor.family_id).await?;
        let done = sqlx::query(sql::USE_REFRESH_TOKEN)
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
        let mut tx = dialect::begin_write(&self.pool).await?;
        dialect::lock_refresh_family(&mut tx, family_id).await?;
        // Taken after the lock (PostgreSQL) or under the write lock (SQLite), this
        // statement sees every successor that a rotation committed before it.
        let done = sqlx::query(sql::REVOKE_REFRESH_FAMILY)
            .bind(at)
            .bind(family_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn revoke_user_refresh_tokens(&self, user_id: &str, at: i64) -> Result<u64> {
        let done = sqlx::query(sql::REVOKE_USER_REFRESH_TOKENS)
            .bind(at)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    // --- revoked access tokens

    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<()> {
        sqlx::query(sql::REVOKE_ACCESS_TOKEN)
            .bind(jti)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn is_access_token_revoked(&self, jti: &str) -> Result<bool> {
        let found: Option<i32> = sqlx::query_scalar(sql::IS_ACCESS_TOKEN_REVOKED)
            .bind(jti)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(found.is_some())
    }

    async fn user_for_access_token(&self, id: &str, jti: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(sql::USER_FOR_ACCESS_TOKEN)
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
        sqlx::query(sql::INSERT_API_KEY)
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
        sqlx::query_as::<_, ApiKeyRow>(sql::API_KEY_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(ApiKey::try_from)
            .transpose()
    }

    async fn list_api_keys(&self, user_id: &str) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query_as::<_, ApiKeyRow>(sql::LIST_API_KEYS)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows::convert(rows)
    }

    /// Newest first, at most `limit` (≤ 1000).
    async fn list_all_api_keys(&self, limit: u32) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query_as::<_, ApiKeyRow>(sql::LIST_ALL_API_KEYS)
            .bind(cap(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows::convert(rows)
    }

    async fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool> {
        let done = sqlx::query(sql::REVOKE_API_KEY)
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_api_key(&self, id: &str, at: i64) -> Result<()> {
        sqlx::query(sql::TOUCH_API_KEY)
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
        sqlx::query(sql::INSERT_SIGNING_KEY)
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
        // The check and the insert are one step across connections: SQLite holds the write
        // lock from `BEGIN IMMEDIATE` to the commit; PostgreSQL, whose READ COMMITTED lets
        // two `INSERT … WHERE NOT EXISTS` both insert, takes an advisory lock first.
        let mut tx = dialect::begin_write(&self.pool).await?;
        dialect::lock_first_signing_key(&mut tx).await?;
        let done = sqlx::query(sql::INSERT_FIRST_SIGNING_KEY)
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
        let rows = sqlx::query_as::<_, SigningKeyRow>(sql::SIGNING_KEYS)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows::convert(rows)
    }

    async fn set_signing_key_status(&self, kid: &str, status: KeyStatus) -> Result<()> {
        let (status, retired_until) = rows::key_status_columns(status);
        let done = sqlx::query(sql::SET_SIGNING_KEY_STATUS)
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
        sqlx::query(sql::INSERT_AUDIT_EVENT)
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
        let Some(mut query) = sql::insert_audit_events(events) else {
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
        let rows = sql::list_audit(filter)
            .build_query_as::<AuditEventRow>()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        Ok(rows.into_iter().map(AuditEvent::from).collect())
    }

    // --- housekeeping

    async fn purge_expired(&self, now: i64, audit_before: i64) -> Result<u64> {
        let mut tx = dialect::begin_write(&self.pool).await?;
        let mut purged = 0;
        for (statement, before) in [
            (sql::PURGE_REFRESH_TOKENS, now),
            (sql::PURGE_SIGNING_KEYS, now),
            (sql::PURGE_REVOKED_ACCESS_TOKENS, now),
            (sql::PURGE_AUTHORIZATION_CODES, now),
            (sql::PURGE_BROWSER_SESSIONS, now),
            (sql::PURGE_WEBAUTHN_CEREMONIES, now),
            (sql::PURGE_PUSHED_REQUESTS, now),
            (sql::PURGE_UPSTREAM_LOGINS, now),
            (sql::PURGE_AUDIT_EVENTS, audit_before),
        ] {
            let done = sqlx::query(statement)
                .bind(before)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            purged += done.rows_affected();
        }
        tx.commit().await.map_err(db)?;
        Ok(purged)
    }
}

/// Inserts `user` and its roles inside `tx`. `Conflict("username")` when taken.
async fn insert_user(tx: &mut Transaction<'static, Db>, user: &User) -> Result<()> {
    sqlx::query(sql::INSERT_USER)
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.disabled)
        .bind(user.created_at)
        .bind(user.updated_at)
        .bind(user.email_verified)
        .execute(&mut **tx)
        .await
        .map_err(rows::user_insert_error)?;
    insert_roles(tx, &user.id, &user.roles).await
}

/// Binds `$1`…`$15` of a client's insert or update: every column but `created_at`, in the
/// order `INSERT_CLIENT` and `UPDATE_CLIENT` name them.
fn bind_client<'q>(
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>,
    client: &'q Client,
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments> {
    query
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(&client.secret_hash)
        .bind(client.public)
        .bind(rows::to_json(&client.redirect_uris))
        .bind(rows::to_json(&client.grant_types))
        .bind(rows::to_json(&client.scopes))
        .bind(client.first_party)
        .bind(rows::to_json(&client.post_logout_redirect_uris))
        .bind(&client.id_token_alg)
        .bind(client.require_mfa)
        .bind(client.require_par)
        .bind(&client.jwks)
        .bind(client.dpop_bound)
        .bind(&client.registration_token_hash)
}

/// Binds `$1`…`$18` of an upstream provider's insert or update: every column from the id
/// to `enabled`; the caller binds the times.
fn bind_upstream_provider<'q>(
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>,
    provider: &'q UpstreamProvider,
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments> {
    query
        .bind(&provider.id)
        .bind(&provider.display_name)
        .bind(&provider.kind)
        .bind(&provider.issuer)
        .bind(&provider.authorization_endpoint)
        .bind(&provider.token_endpoint)
        .bind(&provider.userinfo_endpoint)
        .bind(&provider.jwks_uri)
        .bind(&provider.api_base)
        .bind(&provider.client_id)
        .bind(&provider.client_secret_sealed)
        .bind(rows::to_json(&provider.scopes))
        .bind(provider.allow_signup)
        .bind(provider.trust_email)
        .bind(provider.trust_mfa)
        .bind(&provider.roles_claim)
        .bind(rows::map_to_json(&provider.role_map))
        .bind(provider.enabled)
}

/// Links an identity, on the pool or inside a transaction; the driver's error as is.
async fn insert_identity<'e>(
    executor: impl Executor<'e, Database = Db>,
    identity: &LinkedIdentity,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query(sql::INSERT_LINKED_IDENTITY)
        .bind(&identity.provider_id)
        .bind(&identity.subject)
        .bind(&identity.user_id)
        .bind(&identity.email)
        .bind(identity.email_verified)
        .bind(identity.linked_at)
        .bind(identity.last_login_at)
        .execute(executor)
        .await?;
    Ok(())
}

/// Inserts `roles` (first occurrence of each, in order) for `user_id`, which has none.
async fn insert_roles(
    tx: &mut Transaction<'static, Db>,
    user_id: &str,
    roles: &[String],
) -> Result<()> {
    if roles.is_empty() {
        return Ok(());
    }
    sqlx::query(sql::INSERT_USER_ROLES)
        .bind(user_id)
        .bind(dialect::list(&rows::unique_roles(roles)))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

/// Stores a refresh token, on the pool or inside a transaction.
async fn insert_refresh_token<'e>(
    executor: impl Executor<'e, Database = Db>,
    token: &RefreshToken,
) -> Result<()> {
    sqlx::query(sql::INSERT_REFRESH_TOKEN)
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
        .bind(token.auth_time)
        .bind(&token.amr)
        .bind(&token.dpop_jkt)
        .execute(executor)
        .await
        .map_err(constraint("refresh_token", Some("user")))?;
    Ok(())
}
