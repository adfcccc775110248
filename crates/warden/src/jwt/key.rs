//! Signing and verifying keys, parsed once, each bound to one algorithm.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{Algorithm, Jwk};

/// The shortest HMAC key accepted: 256 bits (RFC 7518 §3.2: "a key of the same size as the
/// hash output … or larger MUST be used").
pub const MIN_HMAC_KEY_BYTES: usize = 32;

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// HMAC keys must have at least 256 bits.
    #[error("an HS256 key needs at least {MIN_HMAC_KEY_BYTES} bytes")]
    WeakHmacKey,
    /// The key material does not parse as a key for the algorithm.
    #[error("the key is not a valid {0} key")]
    Invalid(Algorithm),
    /// The PEM block is not of a supported type.
    #[error("unsupported PEM block `{0}`")]
    UnsupportedPem(String),
    /// The JWK is not a public signing key of a supported type.
    #[error("unsupported JWK: {0}")]
    UnsupportedJwk(&'static str),
    /// The system's random source failed.
    #[error("random source failed")]
    Random,
}

enum Signer {
    Ed(Ed25519KeyPair),
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    // hmac::Key holds precomputed inner and outer states (~1.2 KiB): boxed so every other
    // key stays small.
    Hmac(Box<hmac::Key>),
}

/// A private key that signs tokens, with its public half.
///
/// The `kid` of generated and loaded asymmetric keys is their RFC 7638 thumbprint; HS256 keys
/// get a random `kid`, so no hash of the secret is ever published.
///
/// ```
/// use warden::jwt::{Algorithm, SigningKey};
///
/// let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
/// assert_eq!(key.algorithm(), Algorithm::EdDSA);
/// let jwk = key.public_jwk().unwrap();
/// assert_eq!((jwk.kty.as_str(), jwk.kid.as_deref()), ("OKP", Some(key.kid())));
/// ```
pub struct SigningKey {
    alg: Algorithm,
    kid: String,
    signer: Signer,
    verifying: VerifyingKey,
    /// PKCS#8 DER of asymmetric keys, kept to persist them.
    pkcs8: Option<Vec<u8>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key: Ed25519, P-256, RSA 2048 or 256 random bits for HS256.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        match alg {
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::generate().map_err(|_| KeyError::Random)?;
                let der = pair.to_pkcs8().map_err(|_| KeyError::Random)?;
                Self::from_pkcs8(alg, der.as_ref())
            }
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| KeyError::Random)?;
                let der = pair.to_pkcs8v1().map_err(|_| KeyError::Random)?;
                Self::from_pkcs8(alg, der.as_ref())
            }
            Algorithm::RS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Random)?;
                let der = pair.as_der().map_err(|_| KeyError::Random)?;
                Self::from_pkcs8(alg, der.as_ref())
            }
            Algorithm::HS256 => {
                let mut secret = [0u8; 32];
                aws_lc_rs::rand::fill(&mut secret).map_err(|_| KeyError::Random)?;
                Self::hs256(&secret)
            }
        }
    }

    /// An HS256 key from a shared secret of at least 256 bits.
    pub fn hs256(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HMAC_KEY_BYTES {
            return Err(KeyError::WeakHmacKey);
        }
        let mut kid = [0u8; 16];
        aws_lc_rs::rand::fill(&mut kid).map_err(|_| KeyError::Random)?;
        let kid = URL_SAFE_NO_PAD.encode(kid);
        let verifying = VerifyingKey::hs256(secret)?.with_kid(kid.clone());
        Ok(Self {
            alg: Algorithm::HS256,
            kid,
            signer: Signer::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, secret))),
            verifying,
            pkcs8: None,
        })
    }

    /// An asymmetric key from PKCS#8 DER.
    pub fn from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let invalid = |_| KeyError::Invalid(alg);
        let (signer, jwk, public_bytes) = match alg {
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(invalid)?;
                let public = pair.public_key().as_ref().to_vec();
                let jwk = okp_jwk(&public);
                (Signer::Ed(pair), jwk, public)
            }
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(invalid)?;
                let public = pair.public_key().as_ref().to_vec();
                let jwk = ec_jwk(&public).ok_or(KeyError::Invalid(alg))?;
                (Signer::Ec(pair), jwk, public)
            }
            Algorithm::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(invalid)?;
                let public = pair.public_key();
                let jwk = rsa_jwk(
                    public.modulus().big_endian_without_leading_zero(),
                    public.exponent().big_endian_without_leading_zero(),
                );
                let bytes = public.as_ref().to_vec();
                (Signer::Rsa(pair), jwk, bytes)
            }
            Algorithm::HS256 => return Err(KeyError::Invalid(alg)),
        };
        let mut jwk = jwk;
        let kid = jwk.thumbprint().ok_or(KeyError::Invalid(alg))?;
        jwk.kid = Some(kid.clone());
        jwk.alg = Some(alg.name().into());
        jwk.key_use = Some("sig".into());
        let verifying = VerifyingKey {
            alg,
            kid: Some(kid.clone()),
            inner: Inner::Public(
                ParsedPublicKey::new(verification_algorithm(alg), public_bytes).map_err(invalid)?,
            ),
            jwk: Some(jwk),
        };
        Ok(Self {
            alg,
            kid,
            signer,
            verifying,
            pkcs8: Some(der.to_vec()),
        })
    }

    /// An asymmetric key from PEM: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or
    /// `EC PRIVATE KEY` (SEC 1).
    pub fn from_pem(alg: Algorithm, pem: &str) -> Result<Self, KeyError> {
        let block = pem::parse(pem).map_err(|_| KeyError::Invalid(alg))?;
        match (block.tag(), alg) {
            ("PRIVATE KEY", _) => Self::from_pkcs8(alg, block.contents()),
            ("RSA PRIVATE KEY", Algorithm::RS256) => {
                let pair =
                    RsaKeyPair::from_der(block.contents()).map_err(|_| KeyError::Invalid(alg))?;
                let der = pair.as_der().map_err(|_| KeyError::Invalid(alg))?;
                Self::from_pkcs8(alg, der.as_ref())
            }
            ("EC PRIVATE KEY", Algorithm::ES256) => {
                let pair = EcdsaKeyPair::from_private_key_der(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    block.contents(),
                )
                .map_err(|_| KeyError::Invalid(alg))?;
                let der = pair.to_pkcs8v1().map_err(|_| KeyError::Invalid(alg))?;
                Self::from_pkcs8(alg, der.as_ref())
            }
            (tag, _) => Err(KeyError::UnsupportedPem(tag.to_owned())),
        }
    }

    /// The key as a PKCS#8 PEM (`None` for HS256), to persist it. Handle with care.
    pub fn to_pkcs8_pem(&self) -> Option<String> {
        self.pkcs8
            .as_ref()
            .map(|der| pem::encode(&pem::Pem::new("PRIVATE KEY", der.clone())))
    }

    /// The same key under another `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self.verifying.kid = Some(self.kid.clone());
        if let Some(jwk) = &mut self.verifying.jwk {
            jwk.kid = Some(self.kid.clone());
        }
        self
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key identifier.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (`None` for HS256, which has no public half).
    pub fn public_jwk(&self) -> Option<&Jwk> {
        self.verifying.jwk.as_ref()
    }

    /// The key that verifies this key's signatures.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }

    /// Signs `message` (the JWS signing input).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.signer {
            Signer::Ed(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Signer::Ec(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Random),
            Signer::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| KeyError::Random)?;
                Ok(signature)
            }
            Signer::Hmac(key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
        }
    }
}

enum Inner {
    Public(ParsedPublicKey),
    Hmac(Box<hmac::Key>),
}

/// A key that verifies signatures of one algorithm, parsed once.
///
/// ```
/// use warden::jwt::{Algorithm, Jwk, VerifyingKey};
///
/// let jwk: Jwk = serde_json::from_str(
///     r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
/// ).unwrap();
/// let key = VerifyingKey::from_jwk(&jwk).unwrap();
/// assert_eq!(key.algorithm(), Algorithm::EdDSA);
/// ```
pub struct VerifyingKey {
    alg: Algorithm,
    kid: Option<String>,
    inner: Inner,
    jwk: Option<Jwk>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// A verifying key for HS256 (the shared secret, at least 256 bits).
    pub fn hs256(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HMAC_KEY_BYTES {
            return Err(KeyError::WeakHmacKey);
        }
        Ok(Self {
            alg: Algorithm::HS256,
            kid: None,
            inner: Inner::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, secret))),
            jwk: None,
        })
    }

    /// A public key from a JWK: `OKP`/`Ed25519` (EdDSA), `EC`/`P-256` (ES256) or `RSA`
    /// (RS256). A JWK whose `alg` names another algorithm, or whose `use` is not `sig`, is
    /// refused; `oct` keys are refused (secrets are never taken from a key set).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        if jwk.key_use.as_deref().is_some_and(|u| u != "sig") {
            return Err(KeyError::UnsupportedJwk("`use` is not `sig`"));
        }
        let b64 = |v: &Option<String>| -> Result<Vec<u8>, KeyError> {
            let v = v
                .as_deref()
                .ok_or(KeyError::UnsupportedJwk("missing member"))?;
            URL_SAFE_NO_PAD
                .decode(v)
                .map_err(|_| KeyError::UnsupportedJwk("member is not base64url"))
        };
        let (alg, bytes) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("OKP", Some("Ed25519")) => (Algorithm::EdDSA, b64(&jwk.x)?),
            ("EC", Some("P-256")) => {
                let (x, y) = (b64(&jwk.x)?, b64(&jwk.y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(KeyError::UnsupportedJwk(
                        "P-256 coordinates must be 32 bytes",
                    ));
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04); // uncompressed (SEC 1 §2.3.3)
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (Algorithm::ES256, point)
            }
            ("RSA", None) => (
                Algorithm::RS256,
                super::der::rsa_public_key(&b64(&jwk.n)?, &b64(&jwk.e)?),
            ),
            ("oct", _) => {
                return Err(KeyError::UnsupportedJwk(
                    "symmetric keys are not accepted from a key set",
                ));
            }
            _ => return Err(KeyError::UnsupportedJwk("unsupported key type or curve")),
        };
        if jwk.alg.as_deref().is_some_and(|a| a != alg.name()) {
            return Err(KeyError::UnsupportedJwk(
                "`alg` does not match the key type",
            ));
        }
        let parsed = ParsedPublicKey::new(verification_algorithm(alg), bytes)
            .map_err(|_| KeyError::Invalid(alg))?;
        Ok(Self {
            alg,
            kid: jwk.kid.clone(),
            inner: Inner::Public(parsed),
            jwk: Some(jwk.clone()),
        })
    }

    /// A public key from a `PUBLIC KEY` (SubjectPublicKeyInfo) PEM.
    pub fn from_public_pem(alg: Algorithm, pem: &str) -> Result<Self, KeyError> {
        if alg == Algorithm::HS256 {
            return Err(KeyError::Invalid(alg));
        }
        let block = pem::parse(pem).map_err(|_| KeyError::Invalid(alg))?;
        if block.tag() != "PUBLIC KEY" {
            return Err(KeyError::UnsupportedPem(block.tag().to_owned()));
        }
        let parsed = ParsedPublicKey::new(verification_algorithm(alg), block.contents())
            .map_err(|_| KeyError::Invalid(alg))?;
        Ok(Self {
            alg,
            kid: None,
            inner: Inner::Public(parsed),
            jwk: None,
        })
    }

    /// The same key under `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key identifier, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The public JWK, when the key has one.
    pub fn jwk(&self) -> Option<&Jwk> {
        self.jwk.as_ref()
    }

    /// Whether `signature` is this key's signature of `message`. HMAC tags are compared in
    /// constant time by aws-lc-rs.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.inner {
            Inner::Public(key) => key.verify_sig(message, signature).is_ok(),
            Inner::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
        }
    }
}

fn verification_algorithm(alg: Algorithm) -> &'static dyn signature::VerificationAlgorithm {
    match alg {
        Algorithm::EdDSA => &ED25519,
        Algorithm::ES256 => &ECDSA_P256_SHA256_FIXED,
        // HS256 never reaches here; RS256 is the only remaining case.
        Algorithm::RS256 | Algorithm::HS256 => &RSA_PKCS1_2048_8192_SHA256,
    }
}

fn empty_jwk(kty: &str) -> Jwk {
    Jwk {
        kty: kty.into(),
        kid: None,
        key_use: None,
        alg: None,
        crv: None,
        x: None,
        y: None,
        n: None,
        e: None,
    }
}

fn okp_jwk(public: &[u8]) -> Jwk {
    Jwk {
        crv: Some("Ed25519".into()),
        x: Some(URL_SAFE_NO_PAD.encode(public)),
        ..empty_jwk("OKP")
    }
}

/// From an uncompressed P-256 point (`0x04 ‖ x ‖ y`).
fn ec_jwk(point: &[u8]) -> Option<Jwk> {
    if point.len() != 65 || point[0] != 0x04 {
        return None;
    }
    Some(Jwk {
        crv: Some("P-256".into()),
        x: Some(URL_SAFE_NO_PAD.encode(&point[1..33])),
        y: Some(URL_SAFE_NO_PAD.encode(&point[33..])),
        ..empty_jwk("EC")
    })
}

fn rsa_jwk(n: &[u8], e: &[u8]) -> Jwk {
    Jwk {
        n: Some(URL_SAFE_NO_PAD.encode(n)),
        e: Some(URL_SAFE_NO_PAD.encode(e)),
        ..empty_jwk("RSA")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8037_a4_ed25519_signature_is_reproduced() {
        let seed = URL_SAFE_NO_PAD
            .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap();
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        let key =
            SigningKey::from_pkcs8(Algorithm::EdDSA, pair.to_pkcs8().unwrap().as_ref()).unwrap();
        assert_eq!(
            key.public_jwk().unwrap().x.as_deref(),
            Some("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        );
        // RFC 8037 A.3: the thumbprint is the kid.
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        let input = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let signature = key.sign(input).unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(&signature),
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
        let public = VerifyingKey::from_jwk(key.public_jwk().unwrap()).unwrap();
        assert!(public.verify(input, &signature));
        assert!(!public.verify(b"tampered", &signature));
    }

    #[test]
    fn every_algorithm_signs_and_verifies_through_its_jwk() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
            let key = SigningKey::generate(alg).unwrap();
            let signature = key.sign(b"message").unwrap();
            let from_jwk = VerifyingKey::from_jwk(key.public_jwk().unwrap()).unwrap();
            assert!(from_jwk.verify(b"message", &signature), "{alg}");
            assert!(!from_jwk.verify(b"messagf", &signature), "{alg}");
            let pem = key.to_pkcs8_pem().unwrap();
            let reloaded = SigningKey::from_pem(alg, &pem).unwrap();
            assert_eq!(
                reloaded.kid(),
                key.kid(),
                "{alg}: same key, same thumbprint"
            );
        }
    }

    #[test]
    fn hmac_keys_must_be_256_bits() {
        assert_eq!(
            SigningKey::hs256(&[7u8; 31]).unwrap_err(),
            KeyError::WeakHmacKey
        );
        assert_eq!(
            VerifyingKey::hs256(b"short").unwrap_err(),
            KeyError::WeakHmacKey
        );
        let key = SigningKey::hs256(&[7u8; 32]).unwrap();
        assert!(
            key.public_jwk().is_none(),
            "an HMAC secret is never published"
        );
        let tag = key.sign(b"m").unwrap();
        assert!(key.verifying_key().verify(b"m", &tag));
    }

    #[test]
    fn jwks_that_do_not_fit_are_refused() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let mut jwk = key.public_jwk().unwrap().clone();
        jwk.alg = Some("RS256".into());
        assert!(VerifyingKey::from_jwk(&jwk).is_err(), "alg/kty mismatch");
        let mut jwk = key.public_jwk().unwrap().clone();
        jwk.key_use = Some("enc".into());
        assert!(VerifyingKey::from_jwk(&jwk).is_err(), "encryption key");
        let oct: Jwk = serde_json::from_str(r#"{"kty":"oct","k":"AAAA"}"#).unwrap();
        assert!(VerifyingKey::from_jwk(&oct).is_err());
        let off_curve: Jwk = serde_json::from_str(
            r#"{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#,
        )
        .unwrap();
        assert!(
            VerifyingKey::from_jwk(&off_curve).is_err(),
            "a point not on the curve"
        );
    }
}
