-- A client whose access tokens must always be DPoP-bound (RFC 9449 §5.2,
-- `dpop_bound_access_tokens`): a token request without a proof is refused.
ALTER TABLE clients ADD COLUMN dpop_bound INTEGER NOT NULL DEFAULT 0 CHECK (dpop_bound IN (0, 1));
