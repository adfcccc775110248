//! The storage chosen at start-up from the database URL: SQLite or PostgreSQL behind one
//! type, so the HTTP layer is not generic.

use super::*;

/// SQLite or PostgreSQL.
#[derive(Clone)]
pub enum AnyStorage {
    /// The embedded default.
    Sqlite(SqliteStorage),
    /// For more than one machine.
    Postgres(PostgresStorage),
}

impl AnyStorage {
    /// Connects to `url` (`sqlite:…` or `postgres://…`).
    pub async fn connect(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(SqliteStorage::connect(url).await?))
        } else {
            Ok(Self::Postgres(PostgresStorage::connect(url).await?))
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

impl Storage for AnyStorage {
    async fn migrate(&self) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.migrate().await,
            Self::Postgres(s) => s.migrate().await,
        }
    }

    async fn ping(&self) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.ping().await,
            Self::Postgres(s) => s.ping().await,
        }
    }

    async fn create_user(&self, user: &User) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.create_user(user).await,
            Self::Postgres(s) => s.create_user(user).await,
        }
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        match self {
            Self::Sqlite(s) => s.user_by_id(id).await,
            Self::Postgres(s) => s.user_by_id(id).await,
        }
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        match self {
            Self::Sqlite(s) => s.user_by_username(username).await,
            Self::Postgres(s) => s.user_by_username(username).await,
        }
    }

    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
        match self {
            Self::Sqlite(s) => s.list_users(after, limit).await,
            Self::Postgres(s) => s.list_users(after, limit).await,
        }
    }

    async fn count_users(&self) -> Result<u64> {
        match self {
            Self::Sqlite(s) => s.count_users().await,
            Self::Postgres(s) => s.count_users().await,
        }
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.update_user(user).await,
            Self::Postgres(s) => s.update_user(user).await,
        }
    }

    async fn set_user_email(
        &self,
        user_id: &str,
        email: Option<&str>,
        updated_at: i64,
    ) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.set_user_email(user_id, email, updated_at).await,
            Self::Postgres(s) => s.set_user_email(user_id, email, updated_at).await,
        }
    }

    async fn replace_password_hash(
        &self,
        user_id: &str,
        expected: Option<&str>,
        hash: &str,
        updated_at: i64,
    ) -> Result<bool> {
        match self {
            Self::Sqlite(s) => {
                s.replace_password_hash(user_id, expected, hash, updated_at)
                    .await
            }
            Self::Postgres(s) => {
                s.replace_password_hash(user_id, expected, hash, updated_at)
                    .await
            }
        }
    }

    async fn set_user_disabled(
        &self,
        user_id: &str,
        disabled: bool,
        updated_at: i64,
    ) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.set_user_disabled(user_id, disabled, updated_at).await,
            Self::Postgres(s) => s.set_user_disabled(user_id, disabled, updated_at).await,
        }
    }

    async fn set_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.set_user_roles(user_id, roles).await,
            Self::Postgres(s) => s.set_user_roles(user_id, roles).await,
        }
    }

    async fn delete_user(&self, id: &str) -> Result<bool> {
        match self {
            Self::Sqlite(s) => s.delete_user(id).await,
            Self::Postgres(s) => s.delete_user(id).await,
        }
    }

    async fn put_role(&self, role: &Role) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.put_role(role).await,
            Self::Postgres(s) => s.put_role(role).await,
        }
    }

    async fn roles(&self, names: &[String]) -> Result<Vec<Role>> {
        match self {
            Self::Sqlite(s) => s.roles(names).await,
            Self::Postgres(s) => s.roles(names).await,
        }
    }

    async fn list_roles(&self) -> Result<Vec<Role>> {
        match self {
            Self::Sqlite(s) => s.list_roles().await,
            Self::Postgres(s) => s.list_roles().await,
        }
    }

    async fn delete_role(&self, name: &str) -> Result<bool> {
        match self {
            Self::Sqlite(s) => s.delete_role(name).await,
            Self::Postgres(s) => s.delete_role(name).await,
        }
    }

    async fn create_client(&self, client: &Client) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.create_client(client).await,
            Self::Postgres(s) => s.create_client(client).await,
        }
    }

    async fn client(&self, client_id: &str) -> Result<Option<Client>> {
        match self {
            Self::Sqlite(s) => s.client(client_id).await,
            Self::Postgres(s) => s.client(client_id).await,
        }
    }

    async fn list_clients(&self) -> Result<Vec<Client>> {
        match self {
            Self::Sqlite(s) => s.list_clients().await,
            Self::Postgres(s) => s.list_clients().await,
        }
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool> {
        match self {
            Self::Sqlite(s) => s.delete_client(client_id).await,
            Self::Postgres(s) => s.delete_client(client_id).await,
        }
    }

    async fn insert_authorization_code(&self, code: &AuthorizationCode) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.insert_authorization_code(code).await,
            Self::Postgres(s) => s.insert_authorization_code(code).await,
        }
    }

    async fn authorization_code_by_hash(
        &self,
        code_hash: &str,
    ) -> Result<Option<AuthorizationCode>> {
        match self {
            Self::Sqlite(s) => s.authorization_code_by_hash(code_hash).await,
            Self::Postgres(s) => s.authorization_code_by_hash(code_hash).await,
        }
    }

    async fn consume_authorization_code(
        &self,
        code_hash: &str,
        at: i64,
        tokens: &CodeTokens,
    ) -> Result<bool> {
        match self {
            Self::Sqlite(s) => s.consume_authorization_code(code_hash, at, tokens).await,
            Self::Postgres(s) => s.consume_authorization_code(code_hash, at, tokens).await,
        }
    }

    async fn mark_code_replayed(
        &self,
        code_hash: &str,
        at: i64,
    ) -> Result<Option<AuthorizationCode>> {
        match self {
            Self::Sqlite(s) => s.mark_code_replayed(code_hash, at).await,
            Self::Postgres(s) => s.mark_code_replayed(code_hash, at).await,
        }
    }

    async fn insert_session(&self, session: &BrowserSession) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.insert_session(session).await,
            Self::Postgres(s) => s.insert_session(session).await,
        }
    }

    async fn session_by_hash(&self, id_hash: &str) -> Result<Option<BrowserSession>> {
        match self {
            Self::Sqlite(s) => s.session_by_hash(id_hash).await,
            Self::Postgres(s) => s.session_by_hash(id_hash).await,
        }
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool> {
        match self {
            Self::Sqlite(s) => s.delete_session(id_hash).await,
            Self::Postgres(s) => s.delete_session(id_hash).await,
        }
    }

    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64> {
        match self {
            Self::Sqlite(s) => s.delete_user_sessions(user_id).await,
            Self::Postgres(s) => s.delete_user_sessions(user_id).await,
        }
    }

    async fn put_consent(&self, consent: &Consent) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.put_consent(consent).await,
            Self::Postgres(s) => s.put_consent(consent).await,
        }
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> Result<Option<Consent>> {
        match self {
            Self::Sqlite(s) => s.consent(user_id, client_id).await,
            Self::Postgres(s) => s.consent(user_id, client_id).await,
        }
    }

    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.insert_refresh_token(token).await,
            Self::Postgres(s) => s.insert_refresh_token(token).await,
        }
    }

    async fn refresh_token_by_hash(&self, token_hash: &str) -> Result<Option<RefreshToken>> {
        match self {
            Self::Sqlite(s) => s.refresh_token_by_hash(token_hash).await,
            Self::Postgres(s) => s.refresh_token_by_hash(token_hash).await,
        }
    }

    async fn rotate_refresh_token(
        &self,
        id: &str,
        at: i64,
        successor: &RefreshToken,
    ) -> Result<bool> {
        match self {
            Self::Sqlite(s) => s.rotate_refresh_token(id, at, successor).await,
            Self::Postgres(s) => s.rotate_refresh_token(id, at, successor).await,
        }
    }

    async fn revoke_refresh_family(&self, family_id: &str, at: i64) -> Result<u64> {
        match self {
            Self::Sqlite(s) => s.revoke_refresh_family(family_id, at).await,
            Self::Postgres(s) => s.revoke_refresh_family(family_id, at).await,
        }
    }

    async fn revoke_user_refresh_tokens(&self, user_id: &str, at: i64) -> Result<u64> {
        match self {
            Self::Sqlite(s) => s.revoke_user_refresh_tokens(user_id, at).await,
            Self::Postgres(s) => s.revoke_user_refresh_tokens(user_id, at).await,
        }
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.revoke_access_token(jti, expires_at).await,
            Self::Postgres(s) => s.revoke_access_token(jti, expires_at).await,
        }
    }

    async fn is_access_token_revoked(&self, jti: &str) -> Result<bool> {
        match self {
            Self::Sqlite(s) => s.is_access_token_revoked(jti).await,
            Self::Postgres(s) => s.is_access_token_revoked(jti).await,
        }
    }

    async fn user_for_access_token(&self, id: &str, jti: &str) -> Result<Option<User>> {
        match self {
            Self::Sqlite(s) => s.user_for_access_token(id, jti).await,
            Self::Postgres(s) => s.user_for_access_token(id, jti).await,
        }
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.insert_api_key(key).await,
            Self::Postgres(s) => s.insert_api_key(key).await,
        }
    }

    async fn api_key(&self, id: &str) -> Result<Option<ApiKey>> {
        match self {
            Self::Sqlite(s) => s.api_key(id).await,
            Self::Postgres(s) => s.api_key(id).await,
        }
    }

    async fn list_api_keys(&self, user_id: &str) -> Result<Vec<ApiKey>> {
        match self {
            Self::Sqlite(s) => s.list_api_keys(user_id).await,
            Self::Postgres(s) => s.list_api_keys(user_id).await,
        }
    }

    async fn list_all_api_keys(&self, limit: u32) -> Result<Vec<ApiKey>> {
        match self {
            Self::Sqlite(s) => s.list_all_api_keys(limit).await,
            Self::Postgres(s) => s.list_all_api_keys(limit).await,
        }
    }

    async fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool> {
        match self {
            Self::Sqlite(s) => s.revoke_api_key(id, at).await,
            Self::Postgres(s) => s.revoke_api_key(id, at).await,
        }
    }

    async fn touch_api_key(&self, id: &str, at: i64) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.touch_api_key(id, at).await,
            Self::Postgres(s) => s.touch_api_key(id, at).await,
        }
    }

    async fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.insert_signing_key(key).await,
            Self::Postgres(s) => s.insert_signing_key(key).await,
        }
    }

    async fn insert_first_signing_key(&self, key: &StoredSigningKey) -> Result<bool> {
        match self {
            Self::Sqlite(s) => s.insert_first_signing_key(key).await,
            Self::Postgres(s) => s.insert_first_signing_key(key).await,
        }
    }

    async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>> {
        match self {
            Self::Sqlite(s) => s.signing_keys().await,
            Self::Postgres(s) => s.signing_keys().await,
        }
    }

    async fn set_signing_key_status(&self, kid: &str, status: KeyStatus) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.set_signing_key_status(kid, status).await,
            Self::Postgres(s) => s.set_signing_key_status(kid, status).await,
        }
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.append_audit(event).await,
            Self::Postgres(s) => s.append_audit(event).await,
        }
    }

    async fn append_audit_batch(&self, events: &[AuditEvent]) -> Result<()> {
        match self {
            Self::Sqlite(s) => s.append_audit_batch(events).await,
            Self::Postgres(s) => s.append_audit_batch(events).await,
        }
    }

    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        match self {
            Self::Sqlite(s) => s.list_audit(filter).await,
            Self::Postgres(s) => s.list_audit(filter).await,
        }
    }

    async fn purge_expired(&self, now: i64, audit_before: i64) -> Result<u64> {
        match self {
            Self::Sqlite(s) => s.purge_expired(now, audit_before).await,
            Self::Postgres(s) => s.purge_expired(now, audit_before).await,
        }
    }
}
