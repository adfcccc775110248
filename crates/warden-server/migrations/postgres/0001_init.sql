-- Warden storage, PostgreSQL.
--
-- Identifiers are UUID v4 strings (TEXT, as in the SQLite schema), times Unix seconds
-- (BIGINT), lists JSON arrays of strings in a TEXT column. Secrets are stored as hashes only.
-- Names that are listed in order (usernames, role names) use the "C" collation: byte
-- order, as SQLite's BINARY, whatever the database's locale (and immune to its changes).

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    COLLATE "C" NOT NULL UNIQUE,
    email         TEXT,
    password_hash TEXT    NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

CREATE TABLE roles (
    name   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    scopes TEXT NOT NULL DEFAULT '[]' -- JSON array
);

-- A user's roles, in the order they were set. `role_name` deliberately has no foreign key
-- to `roles`: a user may be given a role before it is defined (`Storage::roles` returns
-- the ones that exist); deleting a role removes it from every user.
CREATE TABLE user_roles (
    user_id   TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_name TEXT    COLLATE "C" NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (user_id, role_name)
);

CREATE INDEX user_roles_role_name ON user_roles (role_name);

CREATE TABLE clients (
    client_id     TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    secret_hash   TEXT,
    public        BOOLEAN NOT NULL,
    redirect_uris TEXT    NOT NULL, -- JSON array
    grant_types   TEXT    NOT NULL, -- JSON array
    scopes        TEXT    NOT NULL, -- JSON array
    created_at    BIGINT  NOT NULL
);

CREATE TABLE refresh_tokens (
    id         TEXT   NOT NULL PRIMARY KEY,
    family_id  TEXT   NOT NULL,
    token_hash TEXT   NOT NULL UNIQUE,
    user_id    TEXT   REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT   NOT NULL,
    scope      TEXT   NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);

CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- `seq` orders rows created in the same second.
CREATE TABLE api_keys (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT   NOT NULL UNIQUE,
    user_id      TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT   NOT NULL,
    hash         TEXT   NOT NULL,
    scopes       TEXT   NOT NULL, -- JSON array
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE INDEX api_keys_user_id ON api_keys (user_id);

CREATE TABLE signing_keys (
    seq                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kid                   TEXT   NOT NULL UNIQUE,
    alg                   TEXT   NOT NULL,
    encrypted_private_key BYTEA  NOT NULL,
    status                TEXT   NOT NULL CHECK (status IN ('next', 'current', 'retired')),
    -- Set exactly when status = 'retired': the key verifies until then.
    retired_until         BIGINT,
    created_at            BIGINT NOT NULL,
    CHECK ((status = 'retired') = (retired_until IS NOT NULL))
);

CREATE TABLE audit_events (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id        TEXT   NOT NULL UNIQUE,
    at        BIGINT NOT NULL,
    event     TEXT   NOT NULL,
    actor     TEXT,
    client_id TEXT,
    ip        TEXT,
    outcome   TEXT   NOT NULL,
    detail    TEXT
);

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor, at);
