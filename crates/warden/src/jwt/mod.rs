//! JSON Web Tokens: issuing, verifying, key rings and JWKS (RFC 7515, 7517, 7519, 7638,
//! 8037, 8725, 9068).
//!
//! - [`SigningKey`] / [`VerifyingKey`]: EdDSA (default), ES256, RS256, HS256 keys, parsed
//!   once, each bound to its one algorithm.
//! - [`KeyRing`]: the issuer's keys, rotated next → current → retired; [`KeyRing::jwks`]
//!   publishes the public halves.
//! - [`Issuer`]: signs access tokens (`typ: at+jwt`).
//! - [`Verifier`] + [`Validation`]: checks signature, `exp`/`nbf`/`iat` with bounded leeway,
//!   `iss`, `aud`, `typ`, `crit` and size. The key decides the algorithm, never the header;
//!   `kid` is only a lookup key; `jku`, `x5u` and `jwk` headers are ignored. A bounded cache
//!   of verified tokens ([`Verifier::verify_shared`]) makes a token presented again cost a
//!   lookup, never a looser check.
//! - [`RemoteJwks`]: another issuer's keys from its JWKS or discovery URL, cached.
//! - [`Jwt`]: a [`Principal`](crate::Principal) from a verified bearer token, so
//!   `Auth<Jwt, Items>` is a route that needs a valid token with scope `items`.
//!
//! Signatures are computed and checked by aws-lc-rs; this module only frames them.
//!
//! ```
//! use warden::jwt::{Algorithm, Claims, Issuer, KeyRing, SigningKey, Validation, Verifier};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // An issuer and a verifier sharing one rotating key ring.
//! let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA).unwrap());
//! let issuer = Issuer::new(ring.clone(), "https://auth.example.com");
//! let verifier = Verifier::with_ring(
//!     ring.clone(),
//!     Validation::new().issuer("https://auth.example.com").audience("api").access_tokens(),
//! );
//!
//! let claims: Claims = Claims { sub: Some("alice".into()), aud: "api".into(), scope: Some("items".into()), ..Claims::default() };
//! let token = issuer.access_token(&claims, 900).unwrap();
//! let verified: Claims = verifier.verify(&token).await.unwrap();
//! assert!(verified.has_scope("items"));
//!
//! // What `/.well-known/jwks.json` serves: public halves only.
//! assert_eq!(ring.jwks(0).keys.len(), 1);
//! # });
//! ```

mod algorithm;
mod cache;
mod claims;
mod der;
mod issuer;
mod jwk;
mod key;
mod key_ring;
mod principal;
#[cfg(feature = "remote-jwks")]
mod remote;
mod verifier;

pub use algorithm::Algorithm;
pub use cache::{DEFAULT_CACHE_CAPACITY, MAX_ENTRY_AGE};
pub use claims::{Audience, Claims, Confirmation, NoClaims};
pub use issuer::{ACCESS_TOKEN_TYPE, Issuer};
pub use jwk::{Jwk, JwkSet};
pub use key::{KeyError, MIN_HMAC_KEY_BYTES, SigningKey, VerifyingKey};
pub use key_ring::{KeyRing, KeyState};
pub use principal::{BearerToken, Jwt};
#[cfg(feature = "remote-jwks")]
pub use remote::{RemoteJwks, RemoteJwksConfig, RemoteJwksError};
#[cfg(feature = "dpop")]
pub(crate) use verifier::now as now_secs;
pub use verifier::{DEFAULT_MAX_TOKEN_BYTES, JwtError, MAX_LEEWAY, Validation, Verifier};
