//! Storage: one interface, two backends (SQLite, the embedded default, and PostgreSQL),
//! passing one test suite (`tests/storage.rs`).
//!
//! The domain layer only sees [`Storage`] and the records below. Identifiers are UUID v4
//! strings, times are Unix seconds (`i64`), lists are JSON arrays in a text column. Secrets
//! are never stored in clear: passwords as argon2id/bcrypt PHC strings, client secrets, API
//! keys and refresh tokens as SHA-256 hex digests.
//!
//! The module, in the order to read it:
//!
//! - this file: the interface ([`Storage`], the records, [`StorageError`]);
//! - `queries.rs`: every statement, written once in plain SQL with `$N` placeholders;
//! - `shared.rs`: the one implementation of [`Storage`] (binding, transactions, errors);
//! - `dialect.rs`: all that SQLite and PostgreSQL do differently, side by side;
//! - `sqlite.rs`, `postgres.rs`: the two backends, thin: opening the database, migrations;
//! - `rows.rs`: row shapes and their records, error mapping; `any.rs`: the backend picked
//!   at start-up.
//!
//! `queries.rs` and `shared.rs` are compiled twice: each backend file declares them as its
//! own modules (`#[path]`), with its `Db` driver, `dialect` and storage type in scope. Each
//! copy type-checks against the real driver, with no generic bounds over
//! `sqlx::Database`, and nothing is written twice. Migrations stay per backend
//! (`migrations/sqlite`, `migrations/postgres`); a test compares the migrated schemas.

use std::collections::BTreeMap;
use std::future::Future;

mod any;
mod dialect;
#[expect(
    clippy::duplicate_mod,
    reason = "queries.rs and shared.rs are compiled once per backend, by design"
)]
pub mod postgres;
mod rows;
#[expect(
    clippy::duplicate_mod,
    reason = "queries.rs and shared.rs are compiled once per backend, by design"
)]
pub mod sqlite;

pub use any::AnyStorage;
pub use postgres::PostgresStorage;
pub use sqlite::SqliteStorage;

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// UUID v4.
    pub id: String,
    /// Unique, case-sensitive.
    pub username: String,
    pub email: Option<String>,
    /// Whether `email` is known to be the user's: set by an administrator or an upstream
    /// login trusted for it; a changed address is unverified again.
    pub email_verified: bool,
    /// A PHC string (argon2id), a legacy bcrypt hash, or the marker of an account without
    /// a usable password (`domain::NO_PASSWORD`).
    pub password_hash: String,
    pub disabled: bool,
    /// Role names, in the order they were set.
    pub roles: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A role and the scopes it grants (RBAC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Unique.
    pub name: String,
    pub scopes: Vec<String>,
    /// Its members must sign in with a second factor (enrolling one at their next login).
    pub require_mfa: bool,
}

/// An OAuth 2.0 client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Unique, random (public).
    pub client_id: String,
    pub name: String,
    /// SHA-256 hex of the secret; `None` for public clients.
    pub secret_hash: Option<String>,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub created_at: i64,
    /// A first-party client: its users are not asked for consent.
    pub first_party: bool,
    /// Where RP-initiated logout may send the browser back to (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// The `alg` of the ID tokens it receives: `RS256` (the OpenID Connect default) or
    /// `EdDSA`.
    pub id_token_alg: String,
    /// Its users must sign in with a second factor (enrolling one at their next login).
    pub require_mfa: bool,
    /// Its authorization requests must be pushed first (RFC 9126 §6).
    pub require_par: bool,
    /// Its public keys (a JWK Set as JSON): it authenticates with `private_key_jwt`
    /// (RFC 7523 §2.2) instead of a secret.
    pub jwks: Option<String>,
    /// Its access tokens must be DPoP-bound (RFC 9449 §5.2): a token request without a
    /// proof is refused.
    pub dpop_bound: bool,
    /// SHA-256 hex of its registration access token (RFC 7592), for a client that
    /// registered itself.
    pub registration_token_hash: Option<String>,
}

/// A pushed authorization request (RFC 9126), stored by the hash of its `request_uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequest {
    /// SHA-256 hex of the `request_uri`; unique.
    pub request_hash: String,
    /// The client that pushed it (authenticated, when confidential).
    pub client_id: String,
    /// The authorization request's parameters, by name.
    pub params: std::collections::BTreeMap<String, String>,
    pub expires_at: i64,
}

/// An authorization code (RFC 6749 §4.1.2), stored by the hash of its value. Single use;
/// what redeeming it issued is recorded so a replay can revoke it (RFC 6749 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// SHA-256 hex of the code; unique.
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    /// The redirect URI of the authorization request, which the token request must repeat.
    pub redirect_uri: String,
    /// Space-separated granted scopes.
    pub scope: String,
    /// The OpenID Connect `nonce` of the request, copied into the ID token.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge (RFC 7636 §4.2); `None` when the request had none.
    pub code_challenge: Option<String>,
    /// When the user last authenticated (the ID token's `auth_time`).
    pub auth_time: i64,
    pub issued_at: i64,
    pub expires_at: i64,
    /// When it was redeemed.
    pub used_at: Option<i64>,
    /// The refresh-token family issued for it, if any.
    pub refresh_family_id: Option<String>,
    /// The `jti` of the access token issued for it, and that token's expiry.
    pub access_jti: Option<String>,
    pub access_expires_at: Option<i64>,
    /// When the code was presented again after its use.
    pub replayed_at: Option<i64>,
    /// How the user authenticated (RFC 8176 values, space-separated).
    pub amr: String,
    /// The DPoP key the code is bound to (the request's `dpop_jkt`, RFC 9449 §10).
    pub dpop_jkt: Option<String>,
}

/// What redeeming a code issues, recorded in the same write that uses the code up, so a
/// replay racing the redemption always finds what to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeTokens {
    /// The refresh-token family, if a refresh token is issued.
    pub refresh_family_id: Option<String>,
    /// The access token's `jti` and expiry.
    pub access_jti: String,
    pub access_expires_at: i64,
}

/// A browser's login session at the authorization endpoint, stored by the hash of the
/// cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// SHA-256 hex of the cookie value; unique.
    pub id_hash: String,
    pub user_id: String,
    /// When the user last authenticated interactively (a password, a second factor).
    pub auth_time: i64,
    pub expires_at: i64,
    /// How the user authenticated (RFC 8176 values, space-separated): `pwd` after the
    /// password alone, `pwd otp mfa` after a second factor.
    pub amr: String,
}

/// What a user allowed a client: the scopes they consented to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub user_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub granted_at: i64,
}

/// A refresh token, stored by the hash of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// UUID v4.
    pub id: String,
    /// Every token obtained by rotating one original grant shares its family (RFC 9700
    /// §4.14.2: reuse of a rotated token revokes the family).
    pub family_id: String,
    /// SHA-256 hex of the token value; unique.
    pub token_hash: String,
    pub user_id: Option<String>,
    pub client_id: String,
    /// Space-separated granted scopes.
    pub scope: String,
    pub issued_at: i64,
    pub expires_at: i64,
    /// When it was exchanged for a new one.
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// How and when the user authenticated for the original grant, carried to every access
    /// token the family issues; `None` for tokens issued before this was recorded.
    pub auth_time: Option<i64>,
    pub amr: Option<String>,
    /// The DPoP key the token is bound to (RFC 9449 §5: refresh tokens of public clients
    /// that presented a proof), as its RFC 7638 thumbprint; its successors keep it.
    pub dpop_jkt: Option<String>,
}

/// A user's TOTP authenticator (RFC 6238).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    pub user_id: String,
    /// The secret, encrypted by the domain layer (opaque bytes here).
    pub encrypted_secret: Vec<u8>,
    pub created_at: i64,
    /// `None` while pending: a first valid code confirms it.
    pub confirmed_at: Option<i64>,
    /// The last time step accepted; a code is accepted only for a later one.
    pub last_used_step: i64,
}

/// A user's passkey (a WebAuthn credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// UUID v4: how the API names it.
    pub id: String,
    /// The WebAuthn credential id, base64url (no padding); unique across users.
    pub credential_id: String,
    pub user_id: String,
    /// The user's name for it (at most 64 characters).
    pub name: String,
    /// The serialised credential (the domain layer's; public key, counter, flags).
    pub passkey: String,
    /// The authenticator's signature counter as last accepted (0: it keeps none).
    pub sign_count: i64,
    /// The backup-eligible (BE) flag of the signed authenticator data: a synced passkey.
    pub backup_eligible: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A started WebAuthn ceremony, stored by the hash of the id its client holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnCeremony {
    /// SHA-256 hex of the ceremony id; unique.
    pub id_hash: String,
    /// The user it is for; `None` for a discoverable login (the user is not known yet).
    pub user_id: Option<String>,
    /// What it is (registration, second factor, login…), as the domain names it.
    pub kind: String,
    /// The serialised webauthn-rs state.
    pub state: String,
    pub expires_at: i64,
}

/// An API key record (the key itself is shown once and never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The public identifier embedded in the key; unique.
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// SHA-256 (or HMAC-SHA-256) hex of the secret part.
    pub hash: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Lifecycle of a stored signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Next,
    Current,
    /// Verifies until the given time, then is deleted.
    Retired(i64),
}

/// A signing key as stored: the private key encrypted at rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    /// Unique.
    pub kid: String,
    /// `EdDSA`, `ES256`, `RS256`.
    pub alg: String,
    /// The PKCS#8 PEM, encrypted by the domain layer (opaque bytes here).
    pub encrypted_private_key: Vec<u8>,
    pub status: KeyStatus,
    pub created_at: i64,
}

/// An upstream identity provider: an OpenID Connect provider or GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamProvider {
    /// A slug (`[a-z0-9][a-z0-9-]{0,31}`), used in URLs; unique.
    pub id: String,
    pub display_name: String,
    /// `oidc` or `github`.
    pub kind: String,
    /// OpenID Connect: the exact issuer, whose discovery document gives the endpoints.
    pub issuer: Option<String>,
    /// Explicit endpoints, overriding discovery (or GitHub's defaults).
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    /// GitHub: the API base (default `https://api.github.com`).
    pub api_base: Option<String>,
    /// Our client id at the provider.
    pub client_id: String,
    /// Our client secret at the provider, sealed by the domain layer (opaque bytes here);
    /// `None` for a public client (PKCE only).
    pub client_secret_sealed: Option<Vec<u8>>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// A first login creates an account.
    pub allow_signup: bool,
    /// The provider's verified email addresses are believed.
    pub trust_email: bool,
    /// The provider's `amr`/`acr` may satisfy our second-factor policy.
    pub trust_mfa: bool,
    /// The claim holding the upstream groups or roles (e.g. `groups`).
    pub roles_claim: Option<String>,
    /// Upstream value → local role name.
    pub role_map: BTreeMap<String, String>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An upstream account linked to a local user: one per provider and subject, at most one
/// per provider and user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedIdentity {
    pub provider_id: String,
    /// The upstream's stable id of the account (`sub`, GitHub's numeric id).
    pub subject: String,
    pub user_id: String,
    /// The address the provider last gave, and whether it said it was verified.
    pub email: Option<String>,
    pub email_verified: bool,
    pub linked_at: i64,
    pub last_login_at: Option<i64>,
}

/// A started upstream sign-in, stored by the hash of its `state`; taken once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamLogin {
    /// SHA-256 hex of the `state`; unique.
    pub state_hash: String,
    pub provider_id: String,
    /// SHA-256 hex of the browser-binding cookie.
    pub browser_hash: String,
    /// The login flow's request, sealed (opaque bytes here).
    pub sealed_request: Vec<u8>,
    /// `login` or `link`.
    pub purpose: String,
    /// For `link`: the signed-in user.
    pub user_id: Option<String>,
    /// Where to go afterwards (opaque here).
    pub return_to: Option<String>,
    pub expires_at: i64,
}

/// An authentication event. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// UUID v4.
    pub id: String,
    pub at: i64,
    /// e.g. `login.success`, `login.failure`, `token.issued`, `token.refreshed`,
    /// `token.revoked`, `token.reuse_detected`, `apikey.created`, `apikey.revoked`,
    /// `user.roles_changed`, `user.disabled`.
    pub event: String,
    /// The user or client acting, when known.
    pub actor: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// Free text without secrets.
    pub detail: Option<String>,
}

/// Which audit events to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub event: Option<String>,
    pub since: Option<i64>,
    /// At most this many (the implementation caps it at 1000).
    pub limit: u32,
}

/// What went wrong in storage. Never carries a value that was stored (it may be secret).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A unique constraint was violated (the string names the entity, e.g. `username`).
    #[error("already exists: {0}")]
    Conflict(&'static str),
    /// The referenced record does not exist (e.g. setting roles of a missing user).
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// A value holds a character the database cannot store (a NUL, for PostgreSQL): the
    /// client's input, refused.
    #[error("text with a character that cannot be stored")]
    InvalidText,
    /// The database could not be reached or failed. The message carries the driver's
    /// cause (for logs and the CLI; the HTTP layer never shows it to a client).
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The database could not be opened; the message names the cause (a missing
    /// directory, a permission, a file that is not a database).
    #[error("{0}")]
    Open(String),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
}

/// Results of storage calls.
pub type Result<T> = std::result::Result<T, StorageError>;

/// The one storage interface. Implementations are cheap to clone (a pool inside).
///
/// Every method is one short transaction at most; none holds a lock across calls.
pub trait Storage: Clone + Send + Sync + 'static {
    /// Runs pending migrations of this backend.
    fn migrate(&self) -> impl Future<Output = Result<()>> + Send;
    /// Whether the database answers (`SELECT 1`).
    fn ping(&self) -> impl Future<Output = Result<()>> + Send;

    // --- users
    /// Inserts `user` (its `roles` too). `Conflict("username")` when taken.
    fn create_user(&self, user: &User) -> impl Future<Output = Result<()>> + Send;
    fn user_by_id(&self, id: &str) -> impl Future<Output = Result<Option<User>>> + Send;
    fn user_by_username(&self, username: &str)
    -> impl Future<Output = Result<Option<User>>> + Send;
    /// The users (at most two) whose address is `email`, compared without ASCII case.
    fn users_by_email(&self, email: &str) -> impl Future<Output = Result<Vec<User>>> + Send;
    /// Users ordered by username, after `after` (keyset pagination), at most `limit` (≤ 1000).
    fn list_users(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<User>>> + Send;
    fn count_users(&self) -> impl Future<Output = Result<u64>> + Send;
    /// Updates email, password_hash, disabled and updated_at of `user.id` (not roles).
    /// `NotFound("user")` when missing.
    fn update_user(&self, user: &User) -> impl Future<Output = Result<()>> + Send;
    /// Sets only the email and updated_at of `user_id` (`None` removes the address), so a
    /// concurrent change of the password or the disabled flag is never written back. The
    /// address is unverified afterwards (`email_verified` false).
    /// `NotFound("user")` when missing.
    fn set_user_email(
        &self,
        user_id: &str,
        email: Option<&str>,
        updated_at: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Sets only the email-verified flag and updated_at. `NotFound("user")` when missing.
    fn set_user_email_verified(
        &self,
        user_id: &str,
        verified: bool,
        updated_at: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Sets only the password hash, and only if the stored one is still `expected` (when
    /// given): a rehash after login never overwrites a password changed in the meantime.
    /// Whether it wrote. `NotFound("user")` when the user is missing.
    fn replace_password_hash(
        &self,
        user_id: &str,
        expected: Option<&str>,
        hash: &str,
        updated_at: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Sets only the disabled flag. `NotFound("user")` when missing.
    fn set_user_disabled(
        &self,
        user_id: &str,
        disabled: bool,
        updated_at: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Replaces the user's roles. `NotFound("user")` when missing.
    fn set_user_roles(
        &self,
        user_id: &str,
        roles: &[String],
    ) -> impl Future<Output = Result<()>> + Send;
    /// Deletes the user and, with them, their refresh tokens and API keys. Whether it existed.
    fn delete_user(&self, id: &str) -> impl Future<Output = Result<bool>> + Send;

    // --- roles
    /// Inserts or replaces the role's scopes.
    fn put_role(&self, role: &Role) -> impl Future<Output = Result<()>> + Send;
    /// The roles among `names` that exist.
    fn roles(&self, names: &[String]) -> impl Future<Output = Result<Vec<Role>>> + Send;
    fn list_roles(&self) -> impl Future<Output = Result<Vec<Role>>> + Send;
    fn delete_role(&self, name: &str) -> impl Future<Output = Result<bool>> + Send;

    // --- clients
    /// `Conflict("client_id")` when taken.
    fn create_client(&self, client: &Client) -> impl Future<Output = Result<()>> + Send;
    fn client(&self, client_id: &str) -> impl Future<Output = Result<Option<Client>>> + Send;
    fn list_clients(&self) -> impl Future<Output = Result<Vec<Client>>> + Send;
    fn delete_client(&self, client_id: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Replaces a client's registration (all but its id and creation time); whether it
    /// existed.
    fn update_client(&self, client: &Client) -> impl Future<Output = Result<bool>> + Send;

    // --- authorization codes
    /// `Conflict("authorization_code")` on a duplicate hash; `NotFound("user")` or
    /// `NotFound("client")` when either is missing.
    fn insert_authorization_code(
        &self,
        code: &AuthorizationCode,
    ) -> impl Future<Output = Result<()>> + Send;
    fn authorization_code_by_hash(
        &self,
        code_hash: &str,
    ) -> impl Future<Output = Result<Option<AuthorizationCode>>> + Send;
    /// Atomically sets `used_at` and what the redemption issues (`tokens`) if the code is
    /// unused; whether this call did (exactly one of concurrent callers gets `true`).
    fn consume_authorization_code(
        &self,
        code_hash: &str,
        at: i64,
        tokens: &CodeTokens,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Marks the code replayed (keeping the first time) and returns it as it now is;
    /// `None` when it is gone.
    fn mark_code_replayed(
        &self,
        code_hash: &str,
        at: i64,
    ) -> impl Future<Output = Result<Option<AuthorizationCode>>> + Send;

    // --- browser sessions
    /// `Conflict("browser_session")` on a duplicate hash; `NotFound("user")` when missing.
    fn insert_session(&self, session: &BrowserSession) -> impl Future<Output = Result<()>> + Send;
    fn session_by_hash(
        &self,
        id_hash: &str,
    ) -> impl Future<Output = Result<Option<BrowserSession>>> + Send;
    /// Whether it existed.
    fn delete_session(&self, id_hash: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Ends every session of the user (password change, disable); how many.
    fn delete_user_sessions(&self, user_id: &str) -> impl Future<Output = Result<u64>> + Send;

    // --- consents
    /// Inserts or replaces the user's consent for the client; `NotFound("user")` or
    /// `NotFound("client")` when either is missing.
    fn put_consent(&self, consent: &Consent) -> impl Future<Output = Result<()>> + Send;
    fn consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<Consent>>> + Send;

    // --- refresh tokens
    /// `Conflict("refresh_token")` on a duplicate hash.
    fn insert_refresh_token(&self, token: &RefreshToken)
    -> impl Future<Output = Result<()>> + Send;
    fn refresh_token_by_hash(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<RefreshToken>>> + Send;
    /// Rotates the token `id`: marks it used at `at` if it is neither used nor revoked and,
    /// in the same transaction, stores `successor`; whether this call did it (exactly one of
    /// concurrent callers gets `true`). Serialised with [`revoke_refresh_family`] on the
    /// same family, so a revocation never misses a successor stored by a racing rotation.
    ///
    /// [`revoke_refresh_family`]: Storage::revoke_refresh_family
    fn rotate_refresh_token(
        &self,
        id: &str,
        at: i64,
        successor: &RefreshToken,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Revokes every unrevoked token of the family; how many.
    fn revoke_refresh_family(
        &self,
        family_id: &str,
        at: i64,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Revokes every unrevoked token of the user; how many.
    fn revoke_user_refresh_tokens(
        &self,
        user_id: &str,
        at: i64,
    ) -> impl Future<Output = Result<u64>> + Send;

    // --- second factors
    /// Stores a pending TOTP authenticator for the user, replacing a pending one; `false`
    /// (nothing written) when the user already has a confirmed one. `NotFound("user")`.
    fn put_pending_totp(
        &self,
        user_id: &str,
        encrypted_secret: &[u8],
        at: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn totp_factor(&self, user_id: &str)
    -> impl Future<Output = Result<Option<TotpFactor>>> + Send;
    /// Accepts time step `step` for the user's authenticator if it is later than the last
    /// one accepted, in one conditional update (RFC 6238 §5.2: of two racing submissions of
    /// a code, exactly one gets `true`). `confirming` selects a pending authenticator (which
    /// this confirms) or a confirmed one.
    fn use_totp_step(
        &self,
        user_id: &str,
        step: i64,
        at: i64,
        confirming: bool,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Removes the user's authenticator; whether there was one.
    fn delete_totp(&self, user_id: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Replaces the user's recovery codes with `code_hashes`, in one transaction.
    fn replace_recovery_codes(
        &self,
        user_id: &str,
        code_hashes: &[String],
        at: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Uses a recovery code up if it is the user's and unused; whether this call did.
    fn use_recovery_code(
        &self,
        user_id: &str,
        code_hash: &str,
        at: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// How many unused recovery codes the user has.
    fn recovery_codes_left(&self, user_id: &str) -> impl Future<Output = Result<u64>> + Send;
    /// Removes the user's recovery codes; how many.
    fn delete_recovery_codes(&self, user_id: &str) -> impl Future<Output = Result<u64>> + Send;

    // --- passkeys
    /// `Conflict("passkey")` when the credential id is registered already (to anyone);
    /// `NotFound("user")`.
    fn insert_passkey(&self, passkey: &StoredPasskey) -> impl Future<Output = Result<()>> + Send;
    /// The user's passkeys, oldest first.
    fn passkeys(&self, user_id: &str) -> impl Future<Output = Result<Vec<StoredPasskey>>> + Send;
    /// How many passkeys the user has.
    fn count_passkeys(&self, user_id: &str) -> impl Future<Output = Result<u64>> + Send;
    fn passkey_by_credential_id(
        &self,
        credential_id: &str,
    ) -> impl Future<Output = Result<Option<StoredPasskey>>> + Send;
    /// Renames the user's passkey `id`; whether it exists.
    fn rename_passkey(
        &self,
        user_id: &str,
        id: &str,
        name: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Records a use of passkey `id`: the updated credential, its counter, its BE flag and
    /// the time, in one conditional update that passes only while the stored counter is
    /// below `sign_count`, or both are 0 (an authenticator without a counter). Of two
    /// racing uses with one counter value, exactly one gets `true`.
    fn use_passkey(
        &self,
        id: &str,
        passkey: &str,
        sign_count: i64,
        backup_eligible: bool,
        at: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Removes the user's passkey `id`; whether it existed.
    fn delete_passkey(&self, user_id: &str, id: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Removes every passkey of the user; how many.
    fn delete_passkeys(&self, user_id: &str) -> impl Future<Output = Result<u64>> + Send;
    /// Stores a started ceremony. `Conflict("webauthn_ceremony")` on a duplicate hash;
    /// `NotFound("user")`.
    fn insert_ceremony(
        &self,
        ceremony: &WebauthnCeremony,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Stores a pushed authorization request. `Conflict("pushed_request")` on a duplicate
    /// hash; `NotFound("client")`.
    fn insert_pushed_request(
        &self,
        request: &PushedRequest,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Takes `client_id`'s pushed request out, in one statement (`DELETE … RETURNING`): of
    /// concurrent callers, exactly one gets it; another client's attempt leaves it in place.
    /// Expired or not: the caller checks `expires_at`.
    fn take_pushed_request(
        &self,
        request_hash: &str,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<PushedRequest>>> + Send;
    /// Takes the ceremony out, in one statement (`DELETE … RETURNING`): of concurrent
    /// callers, exactly one gets it. Expired or not: the caller checks `expires_at`.
    fn take_ceremony(
        &self,
        id_hash: &str,
    ) -> impl Future<Output = Result<Option<WebauthnCeremony>>> + Send;

    // --- upstream identity providers
    /// `Conflict("upstream_provider")` when the id is taken.
    fn create_upstream_provider(
        &self,
        provider: &UpstreamProvider,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Replaces every field of `provider.id` but `created_at`. `NotFound("upstream_provider")`
    /// when missing.
    fn update_upstream_provider(
        &self,
        provider: &UpstreamProvider,
    ) -> impl Future<Output = Result<()>> + Send;
    fn upstream_provider(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<UpstreamProvider>>> + Send;
    /// Every provider, by id.
    fn list_upstream_providers(&self)
    -> impl Future<Output = Result<Vec<UpstreamProvider>>> + Send;
    /// Deletes the provider with its linked identities and pending logins; whether it existed.
    fn delete_upstream_provider(&self, id: &str) -> impl Future<Output = Result<bool>> + Send;

    // --- linked identities
    /// `Conflict("linked_identity")` when the subject is linked already, or the user already
    /// has an identity at this provider; `NotFound("user")` or
    /// `NotFound("upstream_provider")` when either is missing.
    fn link_identity(&self, identity: &LinkedIdentity) -> impl Future<Output = Result<()>> + Send;
    fn identity(
        &self,
        provider_id: &str,
        subject: &str,
    ) -> impl Future<Output = Result<Option<LinkedIdentity>>> + Send;
    /// The user's identities, by provider id.
    fn identities_of_user(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<LinkedIdentity>>> + Send;
    /// Removes the user's identity at the provider; whether there was one.
    fn unlink_identity(
        &self,
        provider_id: &str,
        user_id: &str,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Removes the user's identity at the provider only if the user keeps another one, in
    /// one transaction holding the user's row (SQLite: the write lock; PostgreSQL: `FOR
    /// UPDATE`), so of two concurrent calls unlinking a user's last two identities one is
    /// refused. `None`: no such identity (or user); `Some(false)`: refused, it is the
    /// user's last; `Some(true)`: unlinked.
    fn unlink_identity_unless_last(
        &self,
        provider_id: &str,
        user_id: &str,
    ) -> impl Future<Output = Result<Option<bool>>> + Send;
    /// Records a login through the identity: the address the provider gave now, whether it
    /// is verified, and `last_login_at`. Whether the identity exists.
    fn touch_identity(
        &self,
        provider_id: &str,
        subject: &str,
        email: Option<&str>,
        email_verified: bool,
        at: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Creates `user` (with its roles) and links `identity` to it, in one transaction:
    /// both or neither. `Conflict("username")`, `Conflict("linked_identity")`,
    /// `NotFound("upstream_provider")`.
    fn create_user_with_identity(
        &self,
        user: &User,
        identity: &LinkedIdentity,
    ) -> impl Future<Output = Result<()>> + Send;

    // --- pending upstream logins
    /// `Conflict("upstream_login")` on a duplicate hash; `NotFound("user")` or
    /// `NotFound("upstream_provider")` when either is missing.
    fn insert_upstream_login(
        &self,
        login: &UpstreamLogin,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Takes the pending login out, in one statement (`DELETE … RETURNING`), unless it
    /// expired at or before `now`: of concurrent callers, exactly one gets it.
    fn take_upstream_login(
        &self,
        state_hash: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<UpstreamLogin>>> + Send;

    // --- revoked access tokens
    /// Denylists the access token `jti` until `expires_at` (after which it no longer
    /// verifies anyway, and [`Storage::purge_expired`] deletes the row). Idempotent: revoking
    /// twice keeps the later expiry.
    fn revoke_access_token(
        &self,
        jti: &str,
        expires_at: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Whether the access token `jti` is denylisted.
    fn is_access_token_revoked(&self, jti: &str) -> impl Future<Output = Result<bool>> + Send;
    /// The user `id` behind an access token `jti`: `None` when there is no such user or the
    /// token is denylisted. The bearer path of every request, in one round trip.
    fn user_for_access_token(
        &self,
        id: &str,
        jti: &str,
    ) -> impl Future<Output = Result<Option<User>>> + Send;

    // --- API keys
    /// `Conflict("api_key")` when the id is taken.
    fn insert_api_key(&self, key: &ApiKey) -> impl Future<Output = Result<()>> + Send;
    fn api_key(&self, id: &str) -> impl Future<Output = Result<Option<ApiKey>>> + Send;
    /// The user's keys, newest first.
    fn list_api_keys(&self, user_id: &str) -> impl Future<Output = Result<Vec<ApiKey>>> + Send;
    fn list_all_api_keys(&self, limit: u32) -> impl Future<Output = Result<Vec<ApiKey>>> + Send;
    /// Sets revoked_at if unset; whether it did.
    fn revoke_api_key(&self, id: &str, at: i64) -> impl Future<Output = Result<bool>> + Send;
    /// Sets last_used_at.
    fn touch_api_key(&self, id: &str, at: i64) -> impl Future<Output = Result<()>> + Send;

    // --- signing keys
    fn insert_signing_key(&self, key: &StoredSigningKey)
    -> impl Future<Output = Result<()>> + Send;
    /// Inserts `key` as the current key of its algorithm only if that algorithm has no
    /// current key yet; whether it did. Atomic across every process sharing the database
    /// (a transaction-scoped advisory lock on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), so
    /// instances started together on an empty database agree on one first key.
    fn insert_first_signing_key(
        &self,
        key: &StoredSigningKey,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// All keys, oldest first.
    fn signing_keys(&self) -> impl Future<Output = Result<Vec<StoredSigningKey>>> + Send;
    /// Sets the status of `kid`. `NotFound("signing_key")` when missing.
    fn set_signing_key_status(
        &self,
        kid: &str,
        status: KeyStatus,
    ) -> impl Future<Output = Result<()>> + Send;

    // --- audit
    fn append_audit(&self, event: &AuditEvent) -> impl Future<Output = Result<()>> + Send;
    /// Appends `events` in one statement, in order (the background audit writer's batch).
    fn append_audit_batch(&self, events: &[AuditEvent]) -> impl Future<Output = Result<()>> + Send;
    fn list_audit(
        &self,
        filter: &AuditFilter,
    ) -> impl Future<Output = Result<Vec<AuditEvent>>> + Send;

    // --- housekeeping
    /// Deletes refresh tokens expired before `now` (used, revoked or not), revoked access
    /// tokens whose `expires_at` is before `now`, retired signing keys whose time has passed,
    /// authorization codes, browser sessions, WebAuthn ceremonies, pushed authorization requests
    /// and pending upstream logins
    /// expired before `now`, and audit events older
    /// than `audit_before`; how many rows.
    fn purge_expired(
        &self,
        now: i64,
        audit_before: i64,
    ) -> impl Future<Output = Result<u64>> + Send;
}
