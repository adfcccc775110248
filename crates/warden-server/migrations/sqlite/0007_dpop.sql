-- DPoP (RFC 9449): a refresh token issued to a public client that presented a proof is bound
-- to that proof's key (§5); the RFC 7638 thumbprint of the key, or NULL for an unbound token.
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;
