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

/// Calls the method on the backend.
macro_rules! dispatch {
    ($self:ident.$method:ident($($arg:expr),*)) => {
        match $self {
            Self::Sqlite(s) => s.$method($($arg),*).await,
            Self::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

impl Storage for AnyStorage {
    async fn migrate(&self) -> Result<()> {
        dispatch!(self.migrate())
    }

    async fn ping(&self) -> Result<()> {
        dispatch!(self.ping())
    }

    async fn create_user(&self, user: &User) -> Result<()> {
        dispatch!(self.create_user(user))
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        dispatch!(self.user_by_id(id))
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        dispatch!(self.user_by_username(username))
    }

    async fn users_by_email(&self, email: &str) -> Result<Vec<User>> {
        dispatch!(self.users_by_email(email))
    }

    async fn list_users(&self, after: Option<&str>, limit: u32) -> Result<Vec<User>> {
        dispatch!(self.list_users(after, limit))
    }

    async fn count_users(&self) -> Result<u64> {
        dispatch!(self.count_users())
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        dispatch!(self.update_user(user))
    }

    async fn set_user_email(
        &self,
        user_id: &str,
        email: Option<&str>,
        updated_at: i64,
    ) -> Result<()> {
        dispatch!(self.set_user_email(user_id, email, updated_at))
    }

    async fn set_user_email_verified(
        &self,
        user_id: &str,
        verified: bool,
        updated_at: i64,
    ) -> Result<()> {
        dispatch!(self.set_user_email_verified(user_id, verified, updated_at))
    }

    async fn replace_password_hash(
        &self,
        user_id: &str,
        expected: Option<&str>,
        hash: &str,
        updated_at: i64,
    ) -> Result<bool> {
        dispatch!(self.replace_password_hash(user_id, expected, hash, updated_at))
    }

    async fn set_user_disabled(
        &self,
        user_id: &str,
        disabled: bool,
        updated_at: i64,
    ) -> Result<()> {
        dispatch!(self.set_user_disabled(user_id, disabled, updated_at))
    }

    async fn set_user_roles(&self, user_id: &str, roles: &[String]) -> Result<()> {
        dispatch!(self.set_user_roles(user_id, roles))
    }

    async fn delete_user(&self, id: &str) -> Result<bool> {
        dispatch!(self.delete_user(id))
    }

    async fn put_role(&self, role: &Role) -> Result<()> {
        dispatch!(self.put_role(role))
    }

    async fn roles(&self, names: &[String]) -> Result<Vec<Role>> {
        dispatch!(self.roles(names))
    }

    async fn list_roles(&self) -> Result<Vec<Role>> {
        dispatch!(self.list_roles())
    }

    async fn delete_role(&self, name: &str) -> Result<bool> {
        dispatch!(self.delete_role(name))
    }

    async fn create_client(&self, client: &Client) -> Result<()> {
        dispatch!(self.create_client(client))
    }

    async fn client(&self, client_id: &str) -> Result<Option<Client>> {
        dispatch!(self.client(client_id))
    }

    async fn list_clients(&self) -> Result<Vec<Client>> {
        dispatch!(self.list_clients())
    }

    async fn update_client(&self, client: &Client) -> Result<bool> {
        dispatch!(self.update_client(client))
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool> {
        dispatch!(self.delete_client(client_id))
    }

    async fn insert_authorization_code(&self, code: &AuthorizationCode) -> Result<()> {
        dispatch!(self.insert_authorization_code(code))
    }

    async fn authorization_code_by_hash(
        &self,
        code_hash: &str,
    ) -> Result<Option<AuthorizationCode>> {
        dispatch!(self.authorization_code_by_hash(code_hash))
    }

    async fn consume_authorization_code(
        &self,
        code_hash: &str,
        at: i64,
        tokens: &CodeTokens,
    ) -> Result<bool> {
        dispatch!(self.consume_authorization_code(code_hash, at, tokens))
    }

    async fn mark_code_replayed(
        &self,
        code_hash: &str,
        at: i64,
    ) -> Result<Option<AuthorizationCode>> {
        dispatch!(self.mark_code_replayed(code_hash, at))
    }

    async fn insert_session(&self, session: &BrowserSession) -> Result<()> {
        dispatch!(self.insert_session(session))
    }

    async fn session_by_hash(&self, id_hash: &str) -> Result<Option<BrowserSession>> {
        dispatch!(self.session_by_hash(id_hash))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<bool> {
        dispatch!(self.delete_session(id_hash))
    }

    async fn delete_user_sessions(&self, user_id: &str) -> Result<u64> {
        dispatch!(self.delete_user_sessions(user_id))
    }

    async fn insert_passkey(&self, passkey: &StoredPasskey) -> Result<()> {
        dispatch!(self.insert_passkey(passkey))
    }

    async fn passkeys(&self, user_id: &str) -> Result<Vec<StoredPasskey>> {
        dispatch!(self.passkeys(user_id))
    }

    async fn count_passkeys(&self, user_id: &str) -> Result<u64> {
        dispatch!(self.count_passkeys(user_id))
    }

    async fn passkey_by_credential_id(&self, credential_id: &str) -> Result<Option<StoredPasskey>> {
        dispatch!(self.passkey_by_credential_id(credential_id))
    }

    async fn rename_passkey(&self, user_id: &str, id: &str, name: &str) -> Result<bool> {
        dispatch!(self.rename_passkey(user_id, id, name))
    }

    async fn use_passkey(
        &self,
        id: &str,
        passkey: &str,
        sign_count: i64,
        backup_eligible: bool,
        at: i64,
    ) -> Result<bool> {
        dispatch!(self.use_passkey(id, passkey, sign_count, backup_eligible, at))
    }

    async fn delete_passkey(&self, user_id: &str, id: &str) -> Result<bool> {
        dispatch!(self.delete_passkey(user_id, id))
    }

    async fn delete_passkeys(&self, user_id: &str) -> Result<u64> {
        dispatch!(self.delete_passkeys(user_id))
    }

    async fn insert_ceremony(&self, ceremony: &WebauthnCeremony) -> Result<()> {
        dispatch!(self.insert_ceremony(ceremony))
    }

    async fn insert_pushed_request(&self, request: &PushedRequest) -> Result<()> {
        dispatch!(self.insert_pushed_request(request))
    }

    async fn take_pushed_request(
        &self,
        request_hash: &str,
        client_id: &str,
    ) -> Result<Option<PushedRequest>> {
        dispatch!(self.take_pushed_request(request_hash, client_id))
    }

    async fn take_ceremony(&self, id_hash: &str) -> Result<Option<WebauthnCeremony>> {
        dispatch!(self.take_ceremony(id_hash))
    }

    async fn create_upstream_provider(&self, provider: &UpstreamProvider) -> Result<()> {
        dispatch!(self.create_upstream_provider(provider))
    }

    async fn update_upstream_provider(&self, provider: &UpstreamProvider) -> Result<()> {
        dispatch!(self.update_upstream_provider(provider))
    }

    async fn upstream_provider(&self, id: &str) -> Result<Option<UpstreamProvider>> {
        dispatch!(self.upstream_provider(id))
    }

    async fn list_upstream_providers(&self) -> Result<Vec<UpstreamProvider>> {
        dispatch!(self.list_upstream_providers())
    }

    async fn delete_upstream_provider(&self, id: &str) -> Result<bool> {
        dispatch!(self.delete_upstream_provider(id))
    }

    async fn link_identity(&self, identity: &LinkedIdentity) -> Result<()> {
        dispatch!(self.link_identity(identity))
    }

    async fn identity(&self, provider_id: &str, subject: &str) -> Result<Option<LinkedIdentity>> {
        dispatch!(self.identity(provider_id, subject))
    }

    async fn identities_of_user(&self, user_id: &str) -> Result<Vec<LinkedIdentity>> {
        dispatch!(self.identities_of_user(user_id))
    }

    async fn unlink_identity(&self, provider_id: &str, user_id: &str) -> Result<bool> {
        dispatch!(self.unlink_identity(provider_id, user_id))
    }

    async fn unlink_identity_unless_last(
        &self,
        provider_id: &str,
        user_id: &str,
    ) -> Result<Option<bool>> {
        dispatch!(self.unlink_identity_unless_last(provider_id, user_id))
    }

    async fn touch_identity(
        &self,
        provider_id: &str,
        subject: &str,
        email: Option<&str>,
        email_verified: bool,
        at: i64,
    ) -> Result<bool> {
        dispatch!(self.touch_identity(provider_id, subject, email, email_verified, at))
    }

    async fn create_user_with_identity(
        &self,
        user: &User,
        identity: &LinkedIdentity,
    ) -> Result<()> {
        dispatch!(self.create_user_with_identity(user, identity))
    }

    async fn insert_upstream_login(&self, login: &UpstreamLogin) -> Result<()> {
        dispatch!(self.insert_upstream_login(login))
    }

    async fn take_upstream_login(
        &self,
        state_hash: &str,
        now: i64,
    ) -> Result<Option<UpstreamLogin>> {
        dispatch!(self.take_upstream_login(state_hash, now))
    }

    async fn put_pending_totp(
        &self,
        user_id: &str,
        encrypted_secret: &[u8],
        at: i64,
    ) -> Result<bool> {
        dispatch!(self.put_pending_totp(user_id, encrypted_secret, at))
    }

    async fn totp_factor(&self, user_id: &str) -> Result<Option<TotpFactor>> {
        dispatch!(self.totp_factor(user_id))
    }

    async fn use_totp_step(
        &self,
        user_id: &str,
        step: i64,
        at: i64,
        confirming: bool,
    ) -> Result<bool> {
        dispatch!(self.use_totp_step(user_id, step, at, confirming))
    }

    async fn delete_totp(&self, user_id: &str) -> Result<bool> {
        dispatch!(self.delete_totp(user_id))
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        code_hashes: &[String],
        at: i64,
    ) -> Result<()> {
        dispatch!(self.replace_recovery_codes(user_id, code_hashes, at))
    }

    async fn use_recovery_code(&self, user_id: &str, code_hash: &str, at: i64) -> Result<bool> {
        dispatch!(self.use_recovery_code(user_id, code_hash, at))
    }

    async fn recovery_codes_left(&self, user_id: &str) -> Result<u64> {
        dispatch!(self.recovery_codes_left(user_id))
    }

    async fn delete_recovery_codes(&self, user_id: &str) -> Result<u64> {
        dispatch!(self.delete_recovery_codes(user_id))
    }

    async fn put_consent(&self, consent: &Consent) -> Result<()> {
        dispatch!(self.put_consent(consent))
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> Result<Option<Consent>> {
        dispatch!(self.consent(user_id, client_id))
    }

    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<()> {
        dispatch!(self.insert_refresh_token(token))
    }

    async fn refresh_token_by_hash(&self, token_hash: &str) -> Result<Option<RefreshToken>> {
        dispatch!(self.refresh_token_by_hash(token_hash))
    }

    async fn rotate_refresh_token(
        &self,
        id: &str,
        at: i64,
        successor: &RefreshToken,
    ) -> Result<bool> {
        dispatch!(self.rotate_refresh_token(id, at, successor))
    }

    async fn revoke_refresh_family(&self, family_id: &str, at: i64) -> Result<u64> {
        dispatch!(self.revoke_refresh_family(family_id, at))
    }

    async fn revoke_user_refresh_tokens(&self, user_id: &str, at: i64) -> Result<u64> {
        dispatch!(self.revoke_user_refresh_tokens(user_id, at))
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<()> {
        dispatch!(self.revoke_access_token(jti, expires_at))
    }

    async fn is_access_token_revoked(&self, jti: &str) -> Result<bool> {
        dispatch!(self.is_access_token_revoked(jti))
    }

    async fn user_for_access_token(&self, id: &str, jti: &str) -> Result<Option<User>> {
        dispatch!(self.user_for_access_token(id, jti))
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<()> {
        dispatch!(self.insert_api_key(key))
    }

    async fn api_key(&self, id: &str) -> Result<Option<ApiKey>> {
        dispatch!(self.api_key(id))
    }

    async fn list_api_keys(&self, user_id: &str) -> Result<Vec<ApiKey>> {
        dispatch!(self.list_api_keys(user_id))
    }

    async fn list_all_api_keys(&self, limit: u32) -> Result<Vec<ApiKey>> {
        dispatch!(self.list_all_api_keys(limit))
    }

    async fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool> {
        dispatch!(self.revoke_api_key(id, at))
    }

    async fn touch_api_key(&self, id: &str, at: i64) -> Result<()> {
        dispatch!(self.touch_api_key(id, at))
    }

    async fn insert_signing_key(&self, key: &StoredSigningKey) -> Result<()> {
        dispatch!(self.insert_signing_key(key))
    }

    async fn insert_first_signing_key(&self, key: &StoredSigningKey) -> Result<bool> {
        dispatch!(self.insert_first_signing_key(key))
    }

    async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>> {
        dispatch!(self.signing_keys())
    }

    async fn set_signing_key_status(&self, kid: &str, status: KeyStatus) -> Result<()> {
        dispatch!(self.set_signing_key_status(kid, status))
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        dispatch!(self.append_audit(event))
    }

    async fn append_audit_batch(&self, events: &[AuditEvent]) -> Result<()> {
        dispatch!(self.append_audit_batch(events))
    }

    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        dispatch!(self.list_audit(filter))
    }

    async fn purge_expired(&self, now: i64, audit_before: i64) -> Result<u64> {
        dispatch!(self.purge_expired(now, audit_before))
    }
}
