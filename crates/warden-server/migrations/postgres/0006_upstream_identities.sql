-- Upstream identity providers ("log in with another provider"): the providers, the
-- identities linked to local users, and pending sign-ins.

-- Whether the user's address is known to be theirs: set by an administrator (or, later, an
-- upstream login that is trusted for it); a changed address is unverified again.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;

-- An upstream OpenID Connect provider or GitHub. `id` is a slug used in URLs. The client
-- secret is sealed by the domain layer (AES-256-GCM under a key derived from the master
-- key, bound to the provider id); NULL for a public client (PKCE only). Explicit endpoints
-- override discovery (from `issuer`) or GitHub's defaults. `scopes` is a JSON array,
-- `role_map` a JSON object (upstream value -> local role name).
CREATE TABLE upstream_providers (
    id                     TEXT    NOT NULL PRIMARY KEY,
    display_name           TEXT    NOT NULL,
    kind                   TEXT    NOT NULL CHECK (kind IN ('oidc', 'github')),
    issuer                 TEXT,
    authorization_endpoint TEXT,
    token_endpoint         TEXT,
    userinfo_endpoint      TEXT,
    jwks_uri               TEXT,
    api_base               TEXT,
    client_id              TEXT    NOT NULL,
    client_secret_sealed   BYTEA,
    scopes                 TEXT    NOT NULL DEFAULT '[]',
    allow_signup           BOOLEAN NOT NULL DEFAULT FALSE,
    trust_email            BOOLEAN NOT NULL DEFAULT FALSE,
    trust_mfa              BOOLEAN NOT NULL DEFAULT FALSE,
    roles_claim            TEXT,
    role_map               TEXT    NOT NULL DEFAULT '{}',
    enabled                BOOLEAN NOT NULL DEFAULT TRUE,
    created_at             BIGINT  NOT NULL,
    updated_at             BIGINT  NOT NULL
);

-- An upstream account linked to a local user: one per provider and subject, and at most
-- one per provider and user.
CREATE TABLE linked_identities (
    provider_id    TEXT    NOT NULL REFERENCES upstream_providers (id) ON DELETE CASCADE,
    subject        TEXT    NOT NULL,
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email          TEXT,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    linked_at      BIGINT  NOT NULL,
    last_login_at  BIGINT,
    PRIMARY KEY (provider_id, subject),
    UNIQUE (provider_id, user_id)
);
CREATE INDEX linked_identities_by_user ON linked_identities (user_id);

-- A started upstream sign-in, keyed by the SHA-256 of its `state`; bound to the browser by
-- the SHA-256 of a cookie. Taken once, atomically (`DELETE … RETURNING`), never after
-- `expires_at`; purged with the other expired rows.
CREATE TABLE upstream_logins (
    state_hash     TEXT    NOT NULL PRIMARY KEY,
    provider_id    TEXT    NOT NULL REFERENCES upstream_providers (id) ON DELETE CASCADE,
    browser_hash   TEXT    NOT NULL,
    sealed_request BYTEA   NOT NULL,
    purpose        TEXT    NOT NULL CHECK (purpose IN ('login', 'link')),
    user_id        TEXT    REFERENCES users (id) ON DELETE CASCADE,
    return_to      TEXT,
    expires_at     BIGINT  NOT NULL
);
CREATE INDEX upstream_logins_by_expiry ON upstream_logins (expires_at);
