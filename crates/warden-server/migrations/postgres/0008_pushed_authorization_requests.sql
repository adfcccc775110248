-- Pushed authorization requests (RFC 9126): a client POSTs its authorization request and
-- gets a `request_uri` it then sends to /authorize. Stored by the SHA-256 of that URI,
-- taken once, for about a minute. `params` is the request's parameters as a JSON object.
CREATE TABLE pushed_requests (
    request_hash TEXT   NOT NULL PRIMARY KEY,
    client_id    TEXT   NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    params       TEXT   NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);

-- A client whose authorization requests must be pushed (RFC 9126 §6).
ALTER TABLE clients ADD COLUMN require_par BOOLEAN NOT NULL DEFAULT FALSE;
