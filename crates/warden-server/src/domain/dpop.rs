//! DPoP (RFC 9449) at this server: the verifier of proofs sent to the token endpoint and to
//! the server's own resources, built from the configuration.

use http::Method;
use warden::dpop::{
    DPoPVerifier, MemoryReplayStore, Nonces, ProofAlgorithms, ProofError, ProofRequest,
    RedisReplayStore,
};

use super::{DomainError, Warden};
use crate::config::Config;
use crate::storage::Storage;

/// The proof algorithms this server accepts, as `dpop_signing_alg_values_supported` lists
/// them: every asymmetric algorithm Warden verifies (RFC 9449 §5.1).
pub const DPOP_ALGORITHMS: ProofAlgorithms = ProofAlgorithms::ALL;

/// The verifier for `config`: proofs name URLs under the issuer (never the `Host` header);
/// their `jti`s are kept in Redis when instances share one (`redis_url`), so a proof
/// replayed to another instance is refused too; nonces when `dpop_nonce` is on.
pub(super) fn verifier(
    config: &Config,
    nonces: Option<Nonces>,
) -> Result<DPoPVerifier, DomainError> {
    let mut verifier = DPoPVerifier::new(&config.issuer)
        .map_err(|_| DomainError::Internal("the issuer is not a URL DPoP proofs can name"))?;
    verifier = match &config.redis_url {
        Some(url) => verifier.replay_store(
            RedisReplayStore::open(url, format!("{}dpop:", config.redis_prefix))
                .map_err(|_| DomainError::Internal("cannot set up the DPoP replay store"))?,
        ),
        None => verifier.replay_store(MemoryReplayStore::default()),
    };
    if config.dpop_nonce {
        verifier = verifier.nonces(nonces.unwrap_or_else(Nonces::random));
    }
    Ok(verifier)
}

impl From<ProofError> for DomainError {
    fn from(error: ProofError) -> Self {
        tracing::debug!(%error, "DPoP proof refused");
        match error {
            ProofError::UseNonce { nonce } => DomainError::UseDPoPNonce { nonce },
            ProofError::Store(_) => DomainError::Busy { retry_after: 1 },
            _ => DomainError::InvalidDPoPProof,
        }
    }
}

impl<S: Storage> Warden<S> {
    /// The DPoP verifier (what the resource routes check proofs with).
    pub fn dpop(&self) -> &DPoPVerifier {
        &self.inner.dpop
    }

    /// Checks the DPoP proof of a request to this server's endpoint `path` (`/token`…) that
    /// carries no access token, and answers the thumbprint of the key it proves: what the
    /// tokens issued are bound to.
    pub async fn endpoint_proof(&self, proof: &str, path: &str) -> Result<String, DomainError> {
        let request = ProofRequest::new(proof, &Method::POST, path).algorithms(DPOP_ALGORITHMS);
        Ok(self.inner.dpop.verify(request).await?.jkt)
    }
}
