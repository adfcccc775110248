//! Token revocation (RFC 7009): a refresh token takes its whole family with it; an access
//! token, a JWT verified offline, is denylisted by `jti` until it expires.

use warden::jwt::{Claims, MAX_LEEWAY};

use super::{DomainError, Warden, now, secrets};
use crate::storage::{Client, Storage};

/// The longest refresh token looked up (ours are 43 characters).
pub(super) const MAX_REFRESH_TOKEN_BYTES: usize = 256;

/// The client's guess at what a token is (`token_type_hint`, RFC 7009 §2.1, RFC 7662 §2.1).
/// It only decides which kind is tried first: a wrong hint costs one lookup, never the
/// answer (RFC 7009 §2.1: the server "MUST extend its search across all of its supported
/// token types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
    /// Absent, or a value this server does not know (ignored, as RFC 7662 §2.1 allows).
    #[default]
    None,
}

impl TokenTypeHint {
    /// Reads the `token_type_hint` parameter.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("access_token") => Self::AccessToken,
            Some("refresh_token") => Self::RefreshToken,
            _ => Self::None,
        }
    }
}

/// A kind of token this server issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    /// The kinds to try, in order: the hinted one first, else `default` first.
    pub(super) fn order(hint: TokenTypeHint, default: TokenKind) -> [TokenKind; 2] {
        let first = match hint {
            TokenTypeHint::AccessToken => TokenKind::Access,
            TokenTypeHint::RefreshToken => TokenKind::Refresh,
            TokenTypeHint::None => default,
        };
        match first {
            TokenKind::Access => [TokenKind::Access, TokenKind::Refresh],
            TokenKind::Refresh => [TokenKind::Refresh, TokenKind::Access],
        }
    }
}

/// Whether a revocation attempt recognised the token as one of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// Not a token of this kind (or not one of ours): try the next kind.
    NotThisKind,
    /// Ours and of this kind; revoked if it belonged to the client, else left alone.
    Recognised,
}

impl<S: Storage> Warden<S> {
    /// Revokes `token` on behalf of the authenticated `client` (RFC 7009 §2.1).
    ///
    /// A refresh token revokes its whole family (every token rotated from the same grant).
    /// An access token of ours is denylisted by `jti` until it expires. Only the client the
    /// token was issued to may revoke it; anyone else's token, an unknown, expired or
    /// malformed one is left alone and still answered with success (RFC 7009 §2.2: "invalid
    /// tokens do not cause an error response", so the answer tells nothing about the token).
    ///
    /// Access tokens already issued from a revoked refresh token's family stay valid until
    /// they expire (they carry no family id); RFC 7009 §2.1 makes revoking them a SHOULD.
    pub async fn revoke(
        &self,
        client: &Client,
        token: &str,
        hint: TokenTypeHint,
        ip: Option<&str>,
    ) -> Result<(), DomainError> {
        for kind in TokenKind::order(hint, TokenKind::Refresh) {
            let attempt = match kind {
                TokenKind::Refresh => self.revoke_refresh_token(client, token, ip).await?,
                TokenKind::Access => self.revoke_access_token(client, token, ip).await?,
            };
            if attempt == Attempt::Recognised {
                break;
            }
        }
        Ok(())
    }

    async fn revoke_refresh_token(
        &self,
        client: &Client,
        value: &str,
        ip: Option<&str>,
    ) -> Result<Attempt, DomainError> {
        if value.is_empty() || value.len() > MAX_REFRESH_TOKEN_BYTES {
            return Ok(Attempt::NotThisKind);
        }
        let Some(token) = self
            .storage()
            .refresh_token_by_hash(&secrets::digest(value))
            .await?
        else {
            return Ok(Attempt::NotThisKind);
        };
        let actor = token.user_id.as_deref();
        if token.client_id != client.client_id {
            // RFC 7009 §2.1: the server verifies that the token was issued to the client
            // making the request; if not, the request is refused — silently here (§2.2).
            self.audit(
                "token.revoked",
                "failure",
                actor,
                Some(&client.client_id),
                ip,
                Some("refresh token of another client"),
            )
            .await;
            return Ok(Attempt::Recognised);
        }
        let revoked = self
            .storage()
            .revoke_refresh_family(&token.family_id, now())
            .await?;
        self.audit(
            "token.revoked",
            "success",
            actor,
            Some(&client.client_id),
            ip,
            Some(&format!("refresh token family ({revoked} tokens)")),
        )
        .await;
        Ok(Attempt::Recognised)
    }

    async fn revoke_access_token(
        &self,
        client: &Client,
        value: &str,
        ip: Option<&str>,
    ) -> Result<Attempt, DomainError> {
        // Expired tokens fail verification: they need no revocation.
        let verified: Result<Claims, _> = self.signing()?.verifier.verify(value).await;
        let Ok(claims) = verified else {
            return Ok(Attempt::NotThisKind);
        };
        let actor = claims.sub.as_deref();
        if claims.client_id.as_deref() != Some(client.client_id.as_str()) {
            self.audit(
                "token.revoked",
                "failure",
                actor,
                Some(&client.client_id),
                ip,
                Some("access token of another client"),
            )
            .await;
            return Ok(Attempt::Recognised);
        }
        let (Some(jti), Some(exp)) = (claims.jti.as_deref(), claims.exp) else {
            // Every token we issue has both (RFC 9068 §2.2 requires them).
            return Ok(Attempt::Recognised);
        };
        // The verifier accepts a token up to its clock leeway past `exp`: keep the entry
        // that long too, or a purge could bring a revoked token back for those seconds.
        let until = i64::try_from(exp.saturating_add(MAX_LEEWAY.as_secs())).unwrap_or(i64::MAX);
        self.storage().revoke_access_token(jti, until).await?;
        self.audit(
            "token.revoked",
            "success",
            actor,
            Some(&client.client_id),
            ip,
            Some("access token"),
        )
        .await;
        Ok(Attempt::Recognised)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_only_orders_the_attempts() {
        assert_eq!(
            TokenKind::order(TokenTypeHint::None, TokenKind::Refresh),
            [TokenKind::Refresh, TokenKind::Access]
        );
        assert_eq!(
            TokenKind::order(TokenTypeHint::AccessToken, TokenKind::Refresh),
            [TokenKind::Access, TokenKind::Refresh]
        );
        assert_eq!(
            TokenKind::order(TokenTypeHint::RefreshToken, TokenKind::Access),
            [TokenKind::Refresh, TokenKind::Access]
        );
        assert_eq!(
            TokenTypeHint::parse(Some("id_token")),
            TokenTypeHint::None,
            "an unknown hint is ignored"
        );
    }
}
