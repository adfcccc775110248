//! Access tokens for the examples, on `warden::jwt`: EdDSA, a key from `JWT_PRIVATE_KEY`
//! (PKCS#8 PEM) or generated at start-up, `typ: at+jwt`, issuer checked on the way back.

use std::time::Duration;

use warden::jwt::{Algorithm, Claims, Issuer, JwtError, KeyRing, SigningKey, Validation, Verifier};

/// The `iss` of the examples' tokens.
pub const ISSUER: &str = "urn:warden:example";

/// Signs and verifies access tokens.
pub struct Tokens {
    issuer: Issuer,
    verifier: Verifier,
    /// How long an access token lives.
    pub lifetime: Duration,
}

impl Tokens {
    /// Keyed by the Ed25519 key in `JWT_PRIVATE_KEY`, or by a fresh one.
    pub fn from_env() -> Result<Self, Box<dyn std::error::Error>> {
        let key = match std::env::var("JWT_PRIVATE_KEY") {
            Ok(pem) if !pem.is_empty() => SigningKey::from_pem(Algorithm::EdDSA, &pem)?,
            _ => SigningKey::generate(Algorithm::EdDSA)?,
        };
        let ring = KeyRing::new(key);
        Ok(Self {
            issuer: Issuer::new(ring.clone(), ISSUER),
            verifier: Verifier::with_ring(ring, Validation::new().issuer(ISSUER).access_tokens()),
            lifetime: Duration::from_secs(15 * 60),
        })
    }

    /// A token for `sub` with `scopes`.
    pub fn issue(&self, sub: &str, scopes: &[String]) -> Result<String, JwtError> {
        let claims: Claims = Claims {
            sub: Some(sub.to_owned()),
            scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
            ..Claims::default()
        };
        self.issuer.access_token(&claims, self.lifetime.as_secs())
    }

    /// The claims of a valid access token of ours.
    pub async fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        self.verifier.verify(token).await
    }
}
