-- Strong authentication: second factors, how each session and grant was authenticated
-- (RFC 8176 `amr` values, space-separated), and where a second factor is required.

-- One TOTP authenticator per user (RFC 6238). The secret is encrypted at rest by the
-- domain layer (AES-256-GCM under a key derived from the master key). Pending until a
-- first valid code confirms it. `last_used_step` makes a code single-use (RFC 6238 §5.2):
-- a code is accepted only by an UPDATE that raises it.
CREATE TABLE totp_factors (
    user_id          TEXT   NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    encrypted_secret BYTEA  NOT NULL,
    created_at       BIGINT NOT NULL,
    confirmed_at     BIGINT,
    last_used_step   BIGINT NOT NULL DEFAULT 0
);

-- Single-use recovery codes, stored as keyed digests; a new set replaces the old one.
CREATE TABLE recovery_codes (
    user_id    TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE browser_sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE authorization_codes ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
-- How the user authenticated when the family was issued (NULL: no user, or issued
-- before this migration); carried to every refreshed access token.
ALTER TABLE refresh_tokens ADD COLUMN auth_time BIGINT;
ALTER TABLE refresh_tokens ADD COLUMN amr TEXT;

ALTER TABLE roles ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
