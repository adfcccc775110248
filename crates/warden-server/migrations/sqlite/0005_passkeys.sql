-- Passkeys (WebAuthn) as a factor, and the server-side state of WebAuthn ceremonies.

-- A user's passkeys. `passkey` is webauthn-rs's serialised credential (public key, sign
-- count, flags; nothing secret). `backup_eligible` is the BE flag of the signed
-- authenticator data (synced passkey: RFC 8176 `swk`; device-bound: `hwk`). `sign_count`
-- only rises: an assertion whose counter does not (when above 0) is refused.
CREATE TABLE passkeys (
    id              TEXT    NOT NULL PRIMARY KEY,
    credential_id   TEXT    NOT NULL UNIQUE,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    passkey         TEXT    NOT NULL,
    sign_count      INTEGER NOT NULL DEFAULT 0,
    backup_eligible INTEGER NOT NULL DEFAULT 0 CHECK (backup_eligible IN (0, 1)),
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
) STRICT;
CREATE INDEX passkeys_by_user ON passkeys (user_id, created_at);

-- A started registration or authentication, keyed by the SHA-256 of a random id the
-- client holds (a JSON API answer, or a short-lived cookie of the login pages). Taken
-- once, atomically (`DELETE … RETURNING`); purged with the other expired rows.
CREATE TABLE webauthn_ceremonies (
    id_hash    TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX webauthn_ceremonies_by_expiry ON webauthn_ceremonies (expires_at);
