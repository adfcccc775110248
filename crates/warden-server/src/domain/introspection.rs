//! Token introspection (RFC 7662): whether a token is currently active, and what it grants.
//!
//! Policy (RFC 7662 §4 leaves it to the server): any authenticated **confidential** client
//! may introspect any token of this server — introspection is how resource servers, which
//! are confidential clients, check the tokens presented to them. Public clients are refused:
//! they cannot authenticate, and anyone could claim to be one. The answer never says why a
//! token is inactive (§2.2: unknown, expired, revoked and malformed all read
//! `{"active": false}`).

use serde::Serialize;
use warden::jwt::{Audience, Claims};

use super::revocation::{MAX_REFRESH_TOKEN_BYTES, TokenKind, TokenTypeHint};
use super::{ClientAuth, DomainError, Warden, now, secrets};
use crate::storage::{Client, Storage};

/// An introspection response (RFC 7662 §2.2). Inactive tokens carry `active` only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Introspection {
    /// Whether the token is currently valid.
    pub active: bool,
    /// Granted scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The resource owner's username (absent for a client's own `client_credentials` token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The subject: a user id, or the client id for `client_credentials` tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Expiry, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Issued at, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Issuer (access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience (access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// When the user authenticated, the level and the methods (access tokens of a user;
    /// the same values as the token's claims).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// Token identifier (access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `Bearer` for access tokens, `DPoP` for DPoP-bound ones, `refresh_token` for refresh
    /// tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// The key a DPoP-bound token is bound to (`{"jkt": …}`, RFC 9449 §6.2): a resource
    /// server that introspects checks the proof against it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<warden::jwt::Confirmation>,
}

impl Introspection {
    /// `{"active": false}`.
    pub fn inactive() -> Self {
        Self::default()
    }
}

fn seconds(at: i64) -> u64 {
    u64::try_from(at).unwrap_or(0)
}

impl<S: Storage> Warden<S> {
    /// Introspects `token` for the authenticated `client` (RFC 7662 §2.1), which must be
    /// confidential and have authenticated with its secret (`InvalidClient` otherwise).
    pub async fn introspect(
        &self,
        client: &Client,
        auth: ClientAuth,
        token: &str,
        hint: TokenTypeHint,
    ) -> Result<Introspection, DomainError> {
        if client.public || !auth.is_authenticated() {
            return Err(DomainError::InvalidClient);
        }
        for kind in TokenKind::order(hint, TokenKind::Access) {
            let found = match kind {
                TokenKind::Access => self.introspect_access_token(token).await?,
                TokenKind::Refresh => self.introspect_refresh_token(token).await?,
            };
            if let Some(active) = found {
                return Ok(active);
            }
        }
        Ok(Introspection::inactive())
    }

    /// The answer for an active access token, or `None`.
    async fn introspect_access_token(
        &self,
        value: &str,
    ) -> Result<Option<Introspection>, DomainError> {
        let verified: Result<Claims, _> = self.signing()?.verifier.verify(value).await;
        let Ok(claims) = verified else {
            return Ok(None);
        };
        // The verifier allows some clock leeway past `exp`; an introspection answer does not:
        // the caller gets `exp` and may apply its own.
        let (Some(exp), Some(jti), Some(sub)) = (claims.exp, claims.jti, claims.sub) else {
            return Ok(None);
        };
        if exp <= seconds(now()) || self.storage().is_access_token_revoked(&jti).await? {
            return Ok(None);
        }
        let username = if claims.client_id.as_deref() == Some(sub.as_str()) {
            // A client's own token (`client_credentials`): active while the client exists.
            if self.storage().client(&sub).await?.is_none() {
                return Ok(None);
            }
            None
        } else {
            match self.storage().user_by_id(&sub).await? {
                Some(user) if !user.disabled => Some(user.username),
                _ => return Ok(None),
            }
        };
        let bound = claims.cnf.as_ref().is_some_and(|cnf| cnf.jkt.is_some());
        Ok(Some(Introspection {
            active: true,
            token_type: Some(if bound { "DPoP" } else { "Bearer" }),
            cnf: claims.cnf,
            scope: claims.scope,
            client_id: claims.client_id,
            username,
            sub: Some(sub),
            exp: Some(exp),
            iat: claims.iat,
            iss: claims.iss,
            aud: Some(claims.aud).filter(|aud| !aud.is_empty()),
            auth_time: claims.auth_time,
            acr: claims.acr,
            amr: claims.amr,
            jti: Some(jti),
        }))
    }

    /// The answer for an active refresh token, or `None`: unknown, revoked, already used
    /// (rotated), expired, or of a user or client that is gone or disabled.
    async fn introspect_refresh_token(
        &self,
        value: &str,
    ) -> Result<Option<Introspection>, DomainError> {
        if value.is_empty() || value.len() > MAX_REFRESH_TOKEN_BYTES {
            return Ok(None);
        }
        let Some(token) = self
            .storage()
            .refresh_token_by_hash(&secrets::digest(value))
            .await?
        else {
            return Ok(None);
        };
        if token.revoked_at.is_some() || token.used_at.is_some() || token.expires_at <= now() {
            return Ok(None);
        }
        let Some(user_id) = token.user_id.as_deref() else {
            return Ok(None);
        };
        let user = match self.storage().user_by_id(user_id).await? {
            Some(user) if !user.disabled => user,
            _ => return Ok(None),
        };
        if self.storage().client(&token.client_id).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(Introspection {
            active: true,
            scope: Some(token.scope),
            client_id: Some(token.client_id),
            username: Some(user.username),
            sub: Some(user.id),
            exp: Some(seconds(token.expires_at)),
            iat: Some(seconds(token.issued_at)),
            token_type: Some("refresh_token"),
            cnf: token.dpop_jkt.map(|jkt| warden::jwt::Confirmation {
                jkt: Some(jkt),
                ..warden::jwt::Confirmation::default()
            }),
            ..Introspection::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inactive_is_active_false_only() {
        assert_eq!(
            serde_json::to_value(Introspection::inactive()).unwrap_or_default(),
            serde_json::json!({"active": false})
        );
    }
}
