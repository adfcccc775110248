-- Revoked access tokens (RFC 7009): access tokens are JWTs verified offline, so revoking one
-- means denylisting its `jti` until it would expire anyway; `purge_expired` deletes the row
-- after `expires_at`.
CREATE TABLE revoked_access_tokens (
    jti        TEXT   NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at);
