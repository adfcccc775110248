-- private_key_jwt client authentication (RFC 7523 §2.2, OpenID Connect Core §9): the
-- client's public keys as a JWK Set (JSON), or NULL for a client with a secret or none.
ALTER TABLE clients ADD COLUMN jwks TEXT;
