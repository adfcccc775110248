//! ID tokens (OpenID Connect Core §2, §3.1.3.6) and the `id_token_hint` of logout.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use warden::jwt::Claims;

use super::authentication::Authentication;
use super::{DomainError, Warden};
use crate::storage::{Client, Storage};

/// The claims an ID token adds to the registered ones.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// The authorization request's `nonce`, unchanged (Core §3.1.2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The left half of the access token's hash (Core §3.1.3.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
}

/// Core §3.1.3.6: base64url of the left-most half of the hash of the access token, with the
/// hash of the ID token's `alg` (SHA-256 for RS256; SHA-512 for EdDSA on Ed25519, as the
/// OpenID Foundation settled and certified libraries compute it).
fn at_hash(alg: &str, access_token: &str) -> String {
    let algorithm = if alg == "EdDSA" {
        &digest::SHA512
    } else {
        &digest::SHA256
    };
    let hash = digest::digest(algorithm, access_token.as_bytes());
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// What a verified `id_token_hint` says: who, and for which client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    pub sub: String,
    pub client_id: String,
}

impl<S: Storage> Warden<S> {
    /// An ID token for `sub` at `client`, signed with the client's `id_token_alg`.
    pub(super) fn id_token(
        &self,
        sub: &str,
        client: &Client,
        nonce: Option<&str>,
        how: &Authentication,
        access_token: &str,
    ) -> Result<String, DomainError> {
        let signing = self.signing()?;
        let (issuer, alg) = if client.id_token_alg == "EdDSA" {
            (&signing.issuer, "EdDSA")
        } else {
            (&signing.rs256_issuer, "RS256")
        };
        let claims = Claims {
            sub: Some(sub.to_owned()),
            aud: client.client_id.as_str().into(),
            // Core §2: `auth_time` is required when `max_age` was asked; always sent here,
            // with the level reached and the methods used.
            auth_time: Some(u64::try_from(how.auth_time).unwrap_or(0)),
            acr: Some(how.acr().to_owned()),
            amr: Some(how.amr.clone()),
            extra: IdTokenClaims {
                nonce: nonce.map(str::to_owned),
                at_hash: Some(at_hash(alg, access_token)),
                azp: Some(client.client_id.clone()),
            },
            ..Claims::default()
        };
        // `typ: JWT`, never `at+jwt`: an ID token is refused where an access token is
        // expected (RFC 8725 §3.11, RFC 9068 §4).
        issuer
            .sign_with(
                &claims,
                "JWT",
                u64::try_from(super::now()).unwrap_or(0),
                self.config().access_token_ttl,
            )
            .map_err(|_| DomainError::Internal("could not sign a token"))
    }

    /// Verifies an `id_token_hint`: one of this server's unexpired ID tokens (by either
    /// ring), with one audience. `None` for anything else.
    pub async fn id_token_hint(&self, token: &str) -> Option<IdTokenHint> {
        for verifier in &self.signing().ok()?.id_token_verifiers {
            if let Ok(claims) = verifier.verify::<IdTokenClaims>(token).await {
                let sub = claims.sub?;
                let [client_id] = <[String; 1]>::try_from(claims.aud.0).ok()?;
                // An access token's audience is the issuer, never a client.
                return (claims.extra.azp.as_deref() == Some(client_id.as_str()))
                    .then_some(IdTokenHint { sub, client_id });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_hash() {
        // OpenID Connect Core §A.3 example: access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
        // gives at_hash "77QmUPtjPfzWtF2AnpK9RQ" under RS256.
        assert_eq!(
            at_hash("RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(at_hash("EdDSA", "x").len(), 43);
    }
}
