-- OpenID Connect provider: client metadata, authorization codes, browser sessions, consents.

ALTER TABLE clients ADD COLUMN first_party INTEGER NOT NULL DEFAULT 0 CHECK (first_party IN (0, 1));
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]'; -- JSON array
ALTER TABLE clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'RS256';

CREATE TABLE authorization_codes (
    code_hash         TEXT    NOT NULL PRIMARY KEY,
    client_id         TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id           TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri      TEXT    NOT NULL,
    scope             TEXT    NOT NULL,
    nonce             TEXT,
    code_challenge    TEXT,
    auth_time         INTEGER NOT NULL,
    issued_at         INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    used_at           INTEGER,
    refresh_family_id TEXT,
    access_jti        TEXT,
    access_expires_at INTEGER,
    -- Set when the code was presented again after its use: what it issued is revoked.
    replayed_at       INTEGER
) STRICT;

CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

CREATE TABLE browser_sessions (
    id_hash    TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX browser_sessions_user_id ON browser_sessions (user_id);
CREATE INDEX browser_sessions_expires_at ON browser_sessions (expires_at);

CREATE TABLE consents (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scopes     TEXT    NOT NULL, -- JSON array
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;
