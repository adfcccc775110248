-- Client configuration endpoint (RFC 7592): the SHA-256 of the client's registration access
-- token, for a client that registered itself (RFC 7591); NULL otherwise.
ALTER TABLE clients ADD COLUMN registration_token_hash TEXT;
