//! DPoP: sender-constrained access tokens (RFC 9449), for resource servers and
//! authorization servers alike.
//!
//! A bearer token that leaks can be replayed by whoever holds it. A DPoP-bound token names a
//! key (`cnf.jkt`); each request carries a fresh proof, a small JWT signed by that key over
//! the request's method and URI, the token's hash and a unique `jti`. A stolen token without
//! the key is refused, and so is a captured proof sent again.
//!
//! - [`DPoP`]: the credentials, `Authorization: DPoP <token>` with one `DPoP` proof header.
//! - [`Jwt<C, DPoP>`](crate::jwt::Jwt): the principal — the token verified by the state's
//!   [`Verifier`](crate::jwt::Verifier), the proof by its [`DPoPVerifier`]; with
//!   `Either<DPoP, HttpBearer>` a route takes both, and refuses a bound token sent as
//!   `Bearer` (§7.2). Every [`Jwt`](crate::jwt::Jwt) refuses a bound token as a bearer token.
//! - [`DPoPVerifier`]: the checks of §4.3 in order — `typ`, an asymmetric algorithm the
//!   scheme allows, a public `jwk`, the signature, `htm`, `htu` (normalised, against the
//!   configured public URL, never the `Host` header), `iat` within the window, `ath`, the
//!   bound key, the server nonce — then the `jti` recorded once in a [`ReplayStore`]
//!   ([`MemoryReplayStore`], or `RedisReplayStore` shared by instances).
//! - [`ProofKey`]: the client's side, a key that makes proofs.
//! - [`Nonces`]: stateless server nonces (§8, §9), `use_dpop_nonce` with `DPoP-Nonce`.
//!
//! Refusals are 401 with `WWW-Authenticate: DPoP error="invalid_dpop_proof", algs="…"`
//! (`invalid_token` for the token, `use_dpop_nonce` with a `DPoP-Nonce` header). Browser
//! clients need `Access-Control-Expose-Headers: WWW-Authenticate, DPoP-Nonce` (§7.1).
//!
//! ```
//! use axum::Router;
//! use axum::extract::FromRef;
//! use axum::routing::get;
//! use warden::dpop::{DPoP, DPoPVerifier};
//! use warden::jwt::{Jwt, NoClaims, Validation, Verifier, VerifyingKey};
//! use warden::{Auth, scope};
//!
//! #[derive(Clone, FromRef)]
//! struct AppState { verifier: Verifier, dpop: DPoPVerifier }
//!
//! scope!(Items = "items");
//!
//! async fn items(token: Auth<Jwt<NoClaims, DPoP>, Items>) -> String {
//!     format!("items of {}", token.claims.sub.as_deref().unwrap_or("?"))
//! }
//!
//! # fn app(issuer_keys: Vec<VerifyingKey>) -> Router {
//! let state = AppState {
//!     verifier: Verifier::with_keys(issuer_keys, Validation::new().issuer("https://auth.example.com").access_tokens()),
//!     // The URL clients call: what every proof's `htu` is checked against.
//!     dpop: DPoPVerifier::new("https://api.example.com").unwrap(),
//! };
//! Router::new().route("/items", get(items)).with_state(state)
//! # }
//! ```

mod algorithms;
mod client;
mod htu;
mod nonce;
mod principal;
mod proof;
#[cfg(feature = "redis")]
mod redis_replay;
mod replay;
mod scheme;

pub use algorithms::ProofAlgorithms;
pub use client::ProofKey;
pub use nonce::{DEFAULT_NONCE_STEP, Nonces};
pub use proof::{
    DEFAULT_CLOCK_SKEW, DEFAULT_MAX_PROOF_BYTES, DEFAULT_PROOF_MAX_AGE, DPoPConfigError,
    DPoPVerifier, Proof, ProofError, ProofRequest,
};
#[cfg(feature = "redis")]
pub use redis_replay::RedisReplayStore;
pub use replay::{
    DEFAULT_REPLAY_CAPACITY, MemoryReplayStore, ReplayFuture, ReplayStore, ReplayStoreError,
};
pub use scheme::{DPOP, DPoP, DPoPScheme, DefaultDPoP, proof_header};
