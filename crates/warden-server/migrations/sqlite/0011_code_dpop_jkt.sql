-- DPoP (RFC 9449 §10): the `dpop_jkt` of the authorization request, to which the code is
-- bound: redeeming it needs a proof by that key. NULL for an unbound code.
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;
