//! The client's side: a key that makes proofs (RFC 9449 §4), for Rust clients of DPoP
//! APIs, tests and benchmarks.

use aws_lc_rs::{digest, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Method;
use serde_json::{Value, json};

use crate::jwt::{Algorithm, Jwk, KeyError, SigningKey};

/// A DPoP key pair: proves possession with a fresh proof per request.
///
/// ```
/// use http::Method;
/// use warden::dpop::ProofKey;
/// use warden::jwt::Algorithm;
///
/// let key = ProofKey::generate(Algorithm::ES256).unwrap();
/// // At the token endpoint: no access token yet.
/// let proof = key.proof(&Method::POST, "https://auth.example.com/token", None, None).unwrap();
/// // At a resource: with the token's hash (`ath`).
/// let proof = key.proof(&Method::GET, "https://api.example.com/items", Some("eyJ…"), None).unwrap();
/// assert_eq!(proof.split('.').count(), 3);
/// assert_eq!(key.jkt().len(), 43); // what a bound token carries in `cnf.jkt`
/// ```
pub struct ProofKey {
    key: SigningKey,
    jwk: Jwk,
    jkt: String,
}

impl std::fmt::Debug for ProofKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofKey")
            .field("alg", &self.key.algorithm())
            .field("jkt", &self.jkt)
            .finish_non_exhaustive()
    }
}

impl ProofKey {
    /// A fresh key for `alg` (ES256, EdDSA or RS256; HS256 is refused: a proof's key is
    /// public).
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        Self::from_signing_key(SigningKey::generate(alg)?)
    }

    /// A proof key from an asymmetric signing key.
    pub fn from_signing_key(key: SigningKey) -> Result<Self, KeyError> {
        let mut jwk = key
            .public_jwk()
            .cloned()
            .ok_or(KeyError::Invalid(key.algorithm()))?;
        // The proof's `jwk` is the bare public key.
        jwk.kid = None;
        jwk.key_use = None;
        jwk.alg = None;
        let jkt = jwk.thumbprint().ok_or(KeyError::Invalid(key.algorithm()))?;
        Ok(Self { key, jwk, jkt })
    }

    /// The RFC 7638 thumbprint of the public key: a token bound to this key carries it as
    /// `cnf.jkt`, and an authorization request may send it as `dpop_jkt` (RFC 9449 §10).
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The public key.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// A fresh proof for `method` on `htu` (the URL without query or fragment), with the
    /// hash of `access_token` as `ath` and the server's `nonce`, when given.
    pub fn proof(
        &self,
        method: &Method,
        htu: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, KeyError> {
        let mut jti = [0u8; 16];
        rand::fill(&mut jti).map_err(|_| KeyError::Random)?;
        let mut claims = json!({
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "htm": method.as_str(),
            "htu": htu,
            "iat": crate::jwt::now_secs(),
        });
        if let Some(token) = access_token {
            claims["ath"] = URL_SAFE_NO_PAD
                .encode(digest::digest(&digest::SHA256, token.as_bytes()))
                .into();
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        self.sign_jws(&self.header(), &claims)
    }

    /// The header of this key's proofs: `typ`, `alg`, `jwk`.
    pub fn header(&self) -> Value {
        json!({
            "typ": "dpop+jwt",
            "alg": self.key.algorithm().name(),
            "jwk": self.jwk,
        })
    }

    /// Signs `header` and `claims` as a compact JWS with this key, as given: for proofs with
    /// claims of their own (and for tests that need a wrong one).
    pub fn sign_jws(&self, header: &Value, claims: &Value) -> Result<String, KeyError> {
        let encode = |value: &Value| -> Result<String, KeyError> {
            serde_json::to_vec(value)
                .map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
                .map_err(|_| KeyError::Invalid(self.key.algorithm()))
        };
        let mut jws = encode(header)?;
        jws.push('.');
        jws.push_str(&encode(claims)?);
        let signature = self.key.sign(jws.as_bytes())?;
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(jws)
    }
}
