//! Signing tokens with a ring's current key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::{Claims, JwtError, KeyRing};

/// The `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Signs tokens with the current key of a [`KeyRing`]; `alg` and `kid` come from the key.
///
/// ```
/// use warden::jwt::{Algorithm, Claims, Issuer, KeyRing, SigningKey};
///
/// let issuer = Issuer::new(KeyRing::new(SigningKey::generate(Algorithm::ES256).unwrap()), "https://auth.example.com");
/// let claims: Claims = Claims { sub: Some("alice".into()), scope: Some("me".into()), ..Claims::default() };
/// let token = issuer.access_token(&claims, 900).unwrap();
/// assert_eq!(token.split('.').count(), 3);
/// ```
#[derive(Clone, Debug)]
pub struct Issuer {
    ring: KeyRing,
    issuer: String,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

impl Issuer {
    /// An issuer named `issuer` (the `iss` of its tokens) signing with `ring`.
    pub fn new(ring: KeyRing, issuer: impl Into<String>) -> Self {
        Self {
            ring,
            issuer: issuer.into(),
        }
    }

    /// The ring this issuer signs with.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// An access token (`typ: at+jwt`) for `claims`, with `iss`, `iat` and `exp = iat +
    /// lifetime` set by the issuer.
    pub fn access_token<C: Serialize>(
        &self,
        claims: &Claims<C>,
        lifetime_secs: u64,
    ) -> Result<String, JwtError> {
        let now = super::verifier::now();
        self.sign_with(claims, ACCESS_TOKEN_TYPE, now, lifetime_secs)
    }

    /// A token of type `typ` for `claims`, issued at `now`.
    pub fn sign_with<C: Serialize>(
        &self,
        claims: &Claims<C>,
        typ: &str,
        now: u64,
        lifetime_secs: u64,
    ) -> Result<String, JwtError> {
        // The issuer's values win over whatever `claims` carries for iss/iat/exp.
        let mut payload = serde_json::to_value(claims).map_err(|_| JwtError::Signing)?;
        let map = payload.as_object_mut().ok_or(JwtError::Signing)?;
        map.insert("iss".into(), self.issuer.clone().into());
        map.insert("iat".into(), now.into());
        map.insert("exp".into(), now.saturating_add(lifetime_secs).into());
        self.ring.with_current(|key| {
            let header = Header {
                alg: key.algorithm().name(),
                typ,
                kid: key.kid(),
            };
            let mut token = encode_json(&header)?;
            token.push('.');
            token.push_str(&encode_json(&payload)?);
            let signature = key.sign(token.as_bytes()).map_err(|_| JwtError::Signing)?;
            token.push('.');
            URL_SAFE_NO_PAD.encode_string(signature, &mut token);
            Ok(token)
        })
    }
}

fn encode_json<T: Serialize>(value: &T) -> Result<String, JwtError> {
    let json = serde_json::to_vec(value).map_err(|_| JwtError::Signing)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}
