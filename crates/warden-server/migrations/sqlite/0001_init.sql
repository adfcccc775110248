-- Warden storage, SQLite.
--
-- Identifiers are UUID v4 strings, times Unix seconds (INTEGER), booleans INTEGER 0/1,
-- lists JSON arrays of strings in a TEXT column. Secrets are stored as hashes only.
-- STRICT tables (SQLite >= 3.37) reject values of the wrong type.

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    email         TEXT,
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE roles (
    name   TEXT NOT NULL PRIMARY KEY,
    scopes TEXT NOT NULL DEFAULT '[]' -- JSON array
) STRICT;

-- A user's roles, in the order they were set. `role_name` deliberately has no foreign key
-- to `roles`: a user may be given a role before it is defined (`Storage::roles` returns
-- the ones that exist); deleting a role removes it from every user.
CREATE TABLE user_roles (
    user_id   TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_name TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (user_id, role_name)
) STRICT;

CREATE INDEX user_roles_role_name ON user_roles (role_name);

CREATE TABLE clients (
    client_id     TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    secret_hash   TEXT,
    public        INTEGER NOT NULL CHECK (public IN (0, 1)),
    redirect_uris TEXT    NOT NULL, -- JSON array
    grant_types   TEXT    NOT NULL, -- JSON array
    scopes        TEXT    NOT NULL, -- JSON array
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE refresh_tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    family_id  TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    user_id    TEXT    REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked_at INTEGER
) STRICT;

CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- `seq` (an alias of the rowid, stable across VACUUM) orders rows created in the same second.
CREATE TABLE api_keys (
    seq          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    scopes       TEXT    NOT NULL, -- JSON array
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX api_keys_user_id ON api_keys (user_id);

CREATE TABLE signing_keys (
    seq                   INTEGER PRIMARY KEY,
    kid                   TEXT    NOT NULL UNIQUE,
    alg                   TEXT    NOT NULL,
    encrypted_private_key BLOB    NOT NULL,
    status                TEXT    NOT NULL CHECK (status IN ('next', 'current', 'retired')),
    -- Set exactly when status = 'retired': the key verifies until then.
    retired_until         INTEGER,
    created_at            INTEGER NOT NULL,
    CHECK ((status = 'retired') = (retired_until IS NOT NULL))
) STRICT;

CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY,
    id        TEXT    NOT NULL UNIQUE,
    at        INTEGER NOT NULL,
    event     TEXT    NOT NULL,
    actor     TEXT,
    client_id TEXT,
    ip        TEXT,
    outcome   TEXT    NOT NULL,
    detail    TEXT
) STRICT;

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, at);
