//! Every SQL statement of the storage, written once for SQLite and PostgreSQL.
//!
//! Plain SQL with `$1…$N` placeholders on both backends: sqlx's SQLite driver binds `$N` by
//! its number, as PostgreSQL does (`tests/storage/statements.rs` checks it), so a statement
//! is the same text on both unless it invokes a `dialect::` macro (`dialect.rs` holds every
//! such difference). Compiled once per backend (`sqlite.rs` and `postgres.rs` declare this
//! file as their `queries` module), each time against that backend's `dialect` and `Db`.
//!
//! Each statement is bound in `shared.rs` in the order of its placeholders. [`all`] lists
//! them, so a test prepares every one on both backends, whether or not a test runs it.

use sqlx::QueryBuilder;

use super::{Db, dialect};
use crate::storage::rows::cap;
use crate::storage::{AuditEvent, AuditFilter};

/// Declares each statement as a constant and lists them all in `FIXED`.
macro_rules! statements {
    ($($(#[$meta:meta])* $name:ident = $sql:expr;)*) => {
        $($(#[$meta])* pub(super) const $name: &str = $sql;)*

        /// Every statement above, by name.
        const FIXED: &[(&str, &str)] = &[$((stringify!($name), $name)),*];
    };
}

/// The columns of a `UserRow`, roles aggregated into a JSON array in position order.
macro_rules! select_user {
    () => {
        concat!(
            "SELECT u.id, u.username, u.email, u.email_verified, u.password_hash, u.disabled, ",
            dialect::json_array_agg!(
                "r.role_name ORDER BY r.position",
                "user_roles r WHERE r.user_id = u.id"
            ),
            " AS roles, u.created_at, u.updated_at FROM users u "
        )
    };
}

macro_rules! select_client {
    () => {
        "SELECT client_id, name, secret_hash, public, redirect_uris, grant_types, scopes, \
                created_at, first_party, post_logout_redirect_uris, id_token_alg, require_mfa, \
                require_par, jwks, dpop_bound, registration_token_hash \
           FROM clients "
    };
}

macro_rules! select_authorization_code {
    () => {
        "SELECT code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, \
                auth_time, issued_at, expires_at, used_at, refresh_family_id, access_jti, \
                access_expires_at, replayed_at, amr, dpop_jkt \
           FROM authorization_codes "
    };
}

macro_rules! select_refresh_token {
    () => {
        "SELECT id, family_id, token_hash, user_id, client_id, scope, issued_at, expires_at, \
                used_at, revoked_at, auth_time, amr, dpop_jkt \
           FROM refresh_tokens "
    };
}

macro_rules! select_passkey {
    () => {
        "SELECT id, credential_id, user_id, name, passkey, sign_count, backup_eligible, \
                created_at, last_used_at \
           FROM passkeys "
    };
}

macro_rules! select_upstream_provider {
    () => {
        "SELECT id, display_name, kind, issuer, authorization_endpoint, token_endpoint, \
                userinfo_endpoint, jwks_uri, api_base, client_id, client_secret_sealed, scopes, \
                allow_signup, trust_email, trust_mfa, roles_claim, role_map, enabled, \
                created_at, updated_at \
           FROM upstream_providers "
    };
}

macro_rules! select_linked_identity {
    () => {
        "SELECT provider_id, subject, user_id, email, email_verified, linked_at, last_login_at \
           FROM linked_identities "
    };
}

macro_rules! select_api_key {
    () => {
        "SELECT id, user_id, name, hash, scopes, created_at, expires_at, last_used_at, \
                revoked_at \
           FROM api_keys "
    };
}

statements! {
    PING = "SELECT 1 AS one";

    // --- users

    INSERT_USER = "INSERT INTO users (id, username, email, password_hash, disabled, created_at, \
                                      updated_at, email_verified) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    USER_BY_ID = concat!(select_user!(), "WHERE u.id = $1");
    USER_BY_USERNAME = concat!(select_user!(), "WHERE u.username = $1");
    /// Compared without case (ASCII), at most `$2` rows: the linking rule needs to know
    /// none, one or several.
    USERS_BY_EMAIL = concat!(
        select_user!(),
        "WHERE lower(u.email) = lower($1) ORDER BY u.username LIMIT $2"
    );
    /// Two statements rather than `$1 IS NULL OR …`, so either walks the username index from
    /// its starting point. `$1` after, `$2` limit.
    LIST_USERS_AFTER = concat!(
        select_user!(),
        "WHERE u.username > $1 ORDER BY u.username LIMIT $2"
    );
    LIST_USERS_FIRST = concat!(select_user!(), "ORDER BY u.username LIMIT $1");
    COUNT_USERS = "SELECT COUNT(*) AS count FROM users";
    UPDATE_USER = "UPDATE users SET email = $1, password_hash = $2, disabled = $3, updated_at = $4, \
                                    email_verified = $5 \
                   WHERE id = $6";
    /// A changed address is unverified.
    SET_USER_EMAIL = "UPDATE users SET email = $1, updated_at = $2, email_verified = FALSE \
                      WHERE id = $3";
    SET_USER_EMAIL_VERIFIED = "UPDATE users SET email_verified = $1, updated_at = $2 WHERE id = $3";
    /// Compare-and-set: writes only while the stored hash is still `$4`.
    REPLACE_PASSWORD_HASH_IF = "UPDATE users SET password_hash = $1, updated_at = $2 \
                                WHERE id = $3 AND password_hash = $4";
    REPLACE_PASSWORD_HASH = "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3";
    SET_USER_DISABLED = "UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3";
    USER_EXISTS = "SELECT 1 AS one FROM users WHERE id = $1";
    /// The user's row, locked until commit where the dialect needs a row lock: concurrent
    /// replacements of one user's roles run one after the other.
    LOCK_USER = concat!("SELECT 1 AS one FROM users WHERE id = $1", dialect::row_lock!());
    DELETE_USER_ROLES = "DELETE FROM user_roles WHERE user_id = $1";
    /// `$1` user id, `$2` the role names (a list parameter), in order.
    INSERT_USER_ROLES = concat!(
        "INSERT INTO user_roles (user_id, role_name, position) SELECT $1, l.value, l.key FROM ",
        dialect::list_table!("$2", "l")
    );
    /// `ON DELETE CASCADE` takes the roles, refresh tokens, API keys, authorization codes,
    /// browser sessions and consents with the user.
    DELETE_USER = "DELETE FROM users WHERE id = $1";

    // --- roles

    PUT_ROLE = "INSERT INTO roles (name, scopes, require_mfa) VALUES ($1, $2, $3) \
                ON CONFLICT (name) DO UPDATE SET scopes = excluded.scopes, \
                                                 require_mfa = excluded.require_mfa";
    /// `$1` the names (a list parameter).
    ROLES_NAMED = concat!(
        "SELECT name, scopes, require_mfa FROM roles WHERE ",
        dialect::in_list!("name", "$1"),
        " ORDER BY name"
    );
    LIST_ROLES = "SELECT name, scopes, require_mfa FROM roles ORDER BY name";
    DELETE_ROLE_FROM_USERS = "DELETE FROM user_roles WHERE role_name = $1";
    DELETE_ROLE = "DELETE FROM roles WHERE name = $1";

    // --- clients

    /// `$1`…`$15` as `bind_client` binds them, then `$16` the creation time.
    INSERT_CLIENT = "INSERT INTO clients (client_id, name, secret_hash, public, redirect_uris, \
                                          grant_types, scopes, first_party, \
                                          post_logout_redirect_uris, id_token_alg, require_mfa, \
                                          require_par, jwks, dpop_bound, \
                                          registration_token_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                             $15, $16)";
    /// Replaces what a client's registration says (RFC 7592 §2.2), its id and creation
    /// time kept; `$1`…`$15` as `bind_client` binds them.
    UPDATE_CLIENT = "UPDATE clients SET name = $2, secret_hash = $3, public = $4, \
                                        redirect_uris = $5, grant_types = $6, scopes = $7, \
                                        first_party = $8, post_logout_redirect_uris = $9, \
                                        id_token_alg = $10, require_mfa = $11, \
                                        require_par = $12, jwks = $13, dpop_bound = $14, \
                                        registration_token_hash = $15 \
                     WHERE client_id = $1";
    CLIENT_BY_ID = concat!(select_client!(), "WHERE client_id = $1");
    LIST_CLIENTS = concat!(select_client!(), "ORDER BY created_at, client_id");
    /// `ON DELETE CASCADE` takes the client's authorization codes and consents with it.
    DELETE_CLIENT = "DELETE FROM clients WHERE client_id = $1";

    // --- authorization codes

    INSERT_AUTHORIZATION_CODE = "INSERT INTO authorization_codes (code_hash, client_id, user_id, \
                                     redirect_uri, scope, nonce, code_challenge, auth_time, \
                                     issued_at, expires_at, used_at, refresh_family_id, \
                                     access_jti, access_expires_at, replayed_at, amr, dpop_jkt) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                                         $13, $14, $15, $16, $17)";
    AUTHORIZATION_CODE_BY_HASH = concat!(select_authorization_code!(), "WHERE code_hash = $1");
    /// Uses the code up, if unused, and records what the redemption issues, in one statement.
    /// `$1` at, `$2` refresh family, `$3` access jti, `$4` its expiry, `$5` the code hash.
    CONSUME_AUTHORIZATION_CODE = "UPDATE authorization_codes \
                                  SET used_at = $1, refresh_family_id = $2, access_jti = $3, \
                                      access_expires_at = $4 \
                                  WHERE code_hash = $5 AND used_at IS NULL";
    /// Keeps the first replay time.
    MARK_CODE_REPLAYED = "UPDATE authorization_codes SET replayed_at = COALESCE(replayed_at, $1) \
                          WHERE code_hash = $2";

    // --- browser sessions

    INSERT_SESSION = "INSERT INTO browser_sessions (id_hash, user_id, auth_time, expires_at, \
                                                    amr) \
                      VALUES ($1, $2, $3, $4, $5)";
    SESSION_BY_HASH = "SELECT id_hash, user_id, auth_time, expires_at, amr FROM browser_sessions \
                       WHERE id_hash = $1";
    DELETE_SESSION = "DELETE FROM browser_sessions WHERE id_hash = $1";
    DELETE_USER_SESSIONS = "DELETE FROM browser_sessions WHERE user_id = $1";

    // --- consents

    PUT_CONSENT = "INSERT INTO consents (user_id, client_id, scopes, granted_at) \
                   VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (user_id, client_id) \
                   DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at";
    CONSENT = "SELECT user_id, client_id, scopes, granted_at FROM consents \
               WHERE user_id = $1 AND client_id = $2";

    // --- refresh tokens

    INSERT_REFRESH_TOKEN = "INSERT INTO refresh_tokens (id, family_id, token_hash, user_id, \
                                client_id, scope, issued_at, expires_at, used_at, revoked_at, \
                                auth_time, amr, dpop_jkt) \
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    REFRESH_TOKEN_BY_HASH = concat!(select_refresh_token!(), "WHERE token_hash = $1");
    /// Marks the token used, if it is neither used nor revoked. `$1` at, `$2` id.
    USE_REFRESH_TOKEN = "UPDATE refresh_tokens SET used_at = $1 \
                         WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL";
    REVOKE_REFRESH_FAMILY = "UPDATE refresh_tokens SET revoked_at = $1 \
                             WHERE family_id = $2 AND revoked_at IS NULL";
    REVOKE_USER_REFRESH_TOKENS = "UPDATE refresh_tokens SET revoked_at = $1 \
                                  WHERE user_id = $2 AND revoked_at IS NULL";

    // --- second factors

    /// A new pending TOTP authenticator replaces a pending one, never a confirmed one.
    /// `$1` user, `$2` encrypted secret, `$3` created at.
    PUT_PENDING_TOTP = "INSERT INTO totp_factors (user_id, encrypted_secret, created_at, \
                                                  confirmed_at, last_used_step) \
                        VALUES ($1, $2, $3, NULL, 0) \
                        ON CONFLICT (user_id) DO UPDATE \
                        SET encrypted_secret = excluded.encrypted_secret, \
                            created_at = excluded.created_at, last_used_step = 0 \
                        WHERE totp_factors.confirmed_at IS NULL";
    TOTP_FACTOR = "SELECT user_id, encrypted_secret, created_at, confirmed_at, last_used_step \
                   FROM totp_factors WHERE user_id = $1";
    /// Takes a time step: only a later step than the last one used (RFC 6238 §5.2), and
    /// confirms a pending authenticator (`$4` true) or uses a confirmed one (`$4` false).
    /// `$1` step, `$2` at, `$3` user, `$4` whether confirming.
    USE_TOTP_STEP = "UPDATE totp_factors SET last_used_step = $1, \
                                             confirmed_at = COALESCE(confirmed_at, $2) \
                     WHERE user_id = $3 AND last_used_step < $1 \
                       AND (confirmed_at IS NULL) = $4";
    DELETE_TOTP = "DELETE FROM totp_factors WHERE user_id = $1";
    DELETE_RECOVERY_CODES = "DELETE FROM recovery_codes WHERE user_id = $1";
    INSERT_RECOVERY_CODE = "INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) \
                            VALUES ($1, $2, $3, NULL)";
    /// Uses a code up, if unused. `$1` at, `$2` user, `$3` code hash.
    USE_RECOVERY_CODE = "UPDATE recovery_codes SET used_at = $1 \
                         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL";
    RECOVERY_CODES_LEFT = "SELECT COUNT(*) AS n FROM recovery_codes \
                           WHERE user_id = $1 AND used_at IS NULL";

    // --- passkeys

    INSERT_PASSKEY = "INSERT INTO passkeys (id, credential_id, user_id, name, passkey, \
                                            sign_count, backup_eligible, created_at, \
                                            last_used_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    PASSKEYS_OF_USER = concat!(
        select_passkey!(),
        "WHERE user_id = $1 ORDER BY created_at, id"
    );
    COUNT_PASSKEYS = "SELECT COUNT(*) AS n FROM passkeys WHERE user_id = $1";
    PASSKEY_BY_CREDENTIAL_ID = concat!(select_passkey!(), "WHERE credential_id = $1");
    RENAME_PASSKEY = "UPDATE passkeys SET name = $1 WHERE user_id = $2 AND id = $3";
    /// A use: only with a counter above the stored one, or 0 on both sides (W3C WebAuthn
    /// §7.2 step 21). `$1` credential, `$2` counter, `$3` BE flag, `$4` at, `$5` id.
    USE_PASSKEY = "UPDATE passkeys SET passkey = $1, sign_count = $2, backup_eligible = $3, \
                                       last_used_at = $4 \
                   WHERE id = $5 AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))";
    DELETE_PASSKEY = "DELETE FROM passkeys WHERE user_id = $1 AND id = $2";
    DELETE_PASSKEYS = "DELETE FROM passkeys WHERE user_id = $1";
    INSERT_CEREMONY = "INSERT INTO webauthn_ceremonies (id_hash, user_id, kind, state, \
                                                        expires_at) \
                       VALUES ($1, $2, $3, $4, $5)";
    INSERT_PUSHED_REQUEST = "INSERT INTO pushed_requests (request_hash, client_id, params, \
                                                           expires_at) \
                             VALUES ($1, $2, $3, $4)";
    /// Takes a pushed request once: the row is gone for every other caller.
    TAKE_PUSHED_REQUEST = "DELETE FROM pushed_requests \
                           WHERE request_hash = $1 AND client_id = $2 \
                           RETURNING request_hash, client_id, params, expires_at";
    /// Takes a ceremony once: the row is gone for every other caller.
    TAKE_CEREMONY = "DELETE FROM webauthn_ceremonies WHERE id_hash = $1 \
                     RETURNING id_hash, user_id, kind, state, expires_at";

    // --- upstream identity providers

    INSERT_UPSTREAM_PROVIDER = "INSERT INTO upstream_providers (id, display_name, kind, issuer, \
                                    authorization_endpoint, token_endpoint, userinfo_endpoint, \
                                    jwks_uri, api_base, client_id, client_secret_sealed, scopes, \
                                    allow_signup, trust_email, trust_mfa, roles_claim, role_map, \
                                    enabled, created_at, updated_at) \
                                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                                        $14, $15, $16, $17, $18, $19, $20)";
    /// Every column but `created_at`; `$1` is the id.
    UPDATE_UPSTREAM_PROVIDER = "UPDATE upstream_providers \
                                SET display_name = $2, kind = $3, issuer = $4, \
                                    authorization_endpoint = $5, token_endpoint = $6, \
                                    userinfo_endpoint = $7, jwks_uri = $8, api_base = $9, \
                                    client_id = $10, client_secret_sealed = $11, scopes = $12, \
                                    allow_signup = $13, trust_email = $14, trust_mfa = $15, \
                                    roles_claim = $16, role_map = $17, enabled = $18, \
                                    updated_at = $19 \
                                WHERE id = $1";
    UPSTREAM_PROVIDER_BY_ID = concat!(select_upstream_provider!(), "WHERE id = $1");
    LIST_UPSTREAM_PROVIDERS = concat!(select_upstream_provider!(), "ORDER BY id");
    /// `ON DELETE CASCADE` takes its linked identities and pending logins with it.
    DELETE_UPSTREAM_PROVIDER = "DELETE FROM upstream_providers WHERE id = $1";
    UPSTREAM_PROVIDER_EXISTS = "SELECT 1 AS one FROM upstream_providers WHERE id = $1";

    // --- linked identities

    INSERT_LINKED_IDENTITY = "INSERT INTO linked_identities (provider_id, subject, user_id, email, \
                                  email_verified, linked_at, last_login_at) \
                              VALUES ($1, $2, $3, $4, $5, $6, $7)";
    LINKED_IDENTITY = concat!(
        select_linked_identity!(),
        "WHERE provider_id = $1 AND subject = $2"
    );
    IDENTITIES_OF_USER = concat!(
        select_linked_identity!(),
        "WHERE user_id = $1 ORDER BY provider_id"
    );
    UNLINK_IDENTITY = "DELETE FROM linked_identities WHERE provider_id = $1 AND user_id = $2";
    /// `$1` email, `$2` whether verified, `$3` at, `$4` provider, `$5` subject.
    TOUCH_IDENTITY = "UPDATE linked_identities \
                      SET email = $1, email_verified = $2, last_login_at = $3 \
                      WHERE provider_id = $4 AND subject = $5";

    // --- pending upstream logins

    INSERT_UPSTREAM_LOGIN = "INSERT INTO upstream_logins (state_hash, provider_id, browser_hash, \
                                 sealed_request, purpose, user_id, return_to, expires_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    /// Takes a pending login once, and only before it expires: the row is gone for every
    /// other caller. `$1` state hash, `$2` now.
    TAKE_UPSTREAM_LOGIN = "DELETE FROM upstream_logins WHERE state_hash = $1 AND expires_at > $2 \
                           RETURNING state_hash, provider_id, browser_hash, sealed_request, \
                                     purpose, user_id, return_to, expires_at";

    // --- revoked access tokens

    /// Idempotent; a second revocation only ever extends the entry (the later expiry wins).
    REVOKE_ACCESS_TOKEN = "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) \
                           ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at \
                           WHERE excluded.expires_at > revoked_access_tokens.expires_at";
    IS_ACCESS_TOKEN_REVOKED = "SELECT 1 AS one FROM revoked_access_tokens WHERE jti = $1";
    /// The bearer path of every request, in one round trip. `$1` user id, `$2` jti.
    USER_FOR_ACCESS_TOKEN = concat!(
        select_user!(),
        "WHERE u.id = $1 AND NOT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $2)"
    );

    // --- API keys

    INSERT_API_KEY = "INSERT INTO api_keys (id, user_id, name, hash, scopes, created_at, \
                                            expires_at, last_used_at, revoked_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    API_KEY_BY_ID = concat!(select_api_key!(), "WHERE id = $1");
    LIST_API_KEYS = concat!(
        select_api_key!(),
        "WHERE user_id = $1 ORDER BY created_at DESC, seq DESC"
    );
    LIST_ALL_API_KEYS = concat!(select_api_key!(), "ORDER BY created_at DESC, seq DESC LIMIT $1");
    REVOKE_API_KEY = "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
    TOUCH_API_KEY = "UPDATE api_keys SET last_used_at = $1 WHERE id = $2";

    // --- signing keys

    INSERT_SIGNING_KEY = "INSERT INTO signing_keys (kid, alg, encrypted_private_key, status, \
                                                    retired_until, created_at) \
                          VALUES ($1, $2, $3, $4, $5, $6)";
    /// Inserts the key as current unless its algorithm has a current key. `$1` kid, `$2`
    /// alg, `$3` the encrypted key, `$4` created at.
    INSERT_FIRST_SIGNING_KEY = "INSERT INTO signing_keys (kid, alg, encrypted_private_key, \
                                                          status, created_at) \
                                SELECT $1, $2, $3, 'current', $4 \
                                 WHERE NOT EXISTS (SELECT 1 FROM signing_keys \
                                                    WHERE alg = $2 AND status = 'current')";
    SIGNING_KEYS = "SELECT kid, alg, encrypted_private_key, status, retired_until, created_at \
                    FROM signing_keys ORDER BY created_at, seq";
    SET_SIGNING_KEY_STATUS = "UPDATE signing_keys SET status = $1, retired_until = $2 \
                              WHERE kid = $3";

    // --- audit

    INSERT_AUDIT_EVENT = "INSERT INTO audit_events (id, at, event, actor, client_id, ip, outcome, \
                                                    detail) \
                          VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

    // --- housekeeping

    PURGE_REFRESH_TOKENS = "DELETE FROM refresh_tokens WHERE expires_at < $1";
    PURGE_SIGNING_KEYS = "DELETE FROM signing_keys WHERE status = 'retired' AND retired_until < $1";
    PURGE_REVOKED_ACCESS_TOKENS = "DELETE FROM revoked_access_tokens WHERE expires_at < $1";
    PURGE_AUTHORIZATION_CODES = "DELETE FROM authorization_codes WHERE expires_at < $1";
    PURGE_BROWSER_SESSIONS = "DELETE FROM browser_sessions WHERE expires_at < $1";
    PURGE_WEBAUTHN_CEREMONIES = "DELETE FROM webauthn_ceremonies WHERE expires_at < $1";
    PURGE_PUSHED_REQUESTS = "DELETE FROM pushed_requests WHERE expires_at < $1";
    PURGE_UPSTREAM_LOGINS = "DELETE FROM upstream_logins WHERE expires_at < $1";
    PURGE_AUDIT_EVENTS = "DELETE FROM audit_events WHERE at < $1";
}

/// The multi-row `INSERT` of a batch of audit events (placeholders written by sqlx: `?` on
/// SQLite, `$N` on PostgreSQL); `None` for an empty batch.
pub(super) fn insert_audit_events(events: &[AuditEvent]) -> Option<QueryBuilder<Db>> {
    if events.is_empty() {
        return None;
    }
    let mut query = QueryBuilder::<Db>::new(
        "INSERT INTO audit_events (id, at, event, actor, client_id, ip, outcome, detail) ",
    );
    query.push_values(events, |mut row, event| {
        row.push_bind(event.id.as_str())
            .push_bind(event.at)
            .push_bind(event.event.as_str())
            .push_bind(event.actor.as_deref())
            .push_bind(event.client_id.as_deref())
            .push_bind(event.ip.as_deref())
            .push_bind(event.outcome.as_str())
            .push_bind(event.detail.as_deref());
    });
    Some(query)
}

/// The audit events matching `filter`, newest first (by `at`, then by insertion); `since` is
/// inclusive. Only the filters given appear in the statement, so the planner can use the
/// `(actor, at)` index.
pub(super) fn list_audit(filter: &AuditFilter) -> QueryBuilder<Db> {
    let mut query = QueryBuilder::<Db>::new(
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
    query
}

/// Every statement this backend runs, by name: the fixed ones, the dialect's own, and the
/// built ones with all their optional parts (an audit batch of two rows).
pub(super) fn all() -> Vec<(&'static str, String)> {
    let event = AuditEvent {
        id: String::new(),
        at: 0,
        event: String::new(),
        actor: None,
        client_id: None,
        ip: None,
        outcome: String::new(),
        detail: None,
    };
    let filter = AuditFilter {
        actor: Some(String::new()),
        event: Some(String::new()),
        since: Some(0),
        limit: 1,
    };
    let mut built = vec![("LIST_AUDIT", list_audit(&filter).into_string())];
    built.extend(
        insert_audit_events(&[event.clone(), event])
            .map(|insert| ("INSERT_AUDIT_EVENTS", insert.into_string())),
    );
    FIXED
        .iter()
        .chain(dialect::STATEMENTS)
        .map(|&(name, sql)| (name, sql.to_owned()))
        .chain(built)
        .collect()
}
