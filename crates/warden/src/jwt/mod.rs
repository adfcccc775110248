//! JSON Web Tokens: issuing, verifying, key sets and JWKS (RFC 7515, 7517, 7519, 8725, 9068).
