//! A minimal JWT helper for the examples: HS256 with a 256-bit key from the environment or
//! generated at start-up. The algorithm is fixed by the key, never read from the token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claims the examples put in an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The username.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issue time, seconds since the epoch (optional in RFC 7519).
    #[serde(default)]
    pub iat: u64,
    /// Granted scopes, space-separated.
    #[serde(default)]
    pub scope: String,
}

/// Signs and verifies access tokens.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// How long an access token lives.
    pub lifetime: Duration,
}

impl Tokens {
    /// Keyed by `JWT_SECRET` (base64url of at least 32 bytes would do; any string of 32+
    /// characters is accepted), or by 32 random bytes.
    pub fn from_env() -> Self {
        let secret = match std::env::var("JWT_SECRET") {
            Ok(s) if s.len() >= 32 => s.into_bytes(),
            _ => rand::random::<[u8; 32]>().to_vec(),
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
            lifetime: Duration::from_secs(15 * 60),
        }
    }

    /// A token for `sub` with `scopes`.
    pub fn issue(
        &self,
        sub: &str,
        scopes: &[String],
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = Claims {
            sub: sub.to_owned(),
            iat: now,
            exp: now + self.lifetime.as_secs(),
            scope: scopes.join(" "),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The claims of a valid, unexpired token signed by this key.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}
