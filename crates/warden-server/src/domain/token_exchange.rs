//! Token exchange (RFC 8693): a client trades a user's access token it received for one
//! with a narrower audience and scope, recording itself as the actor (`act`, §4.1) — the
//! way an API calls another on the user's behalf without holding the user's broad token.
//!
//! Off unless a client is registered with the grant type. Only delegation is offered: every
//! exchanged token names the client that acted; impersonation (a token indistinguishable
//! from the user's own) is not. Parameters the server does not support are refused, never
//! ignored (the mistake of servers that silently dropped `actor_token` or `resource`).

use std::collections::BTreeSet;

use serde::Serialize;
use warden::jwt::{ACCESS_TOKEN_TYPE, Claims};

use super::tokens::{ClientAuth, TokenSet, join, split_scopes};
use super::{DomainError, Warden, now};
use crate::storage::{Client, Storage};

/// The grant type (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The token type of an access token (RFC 8693 §3).
pub const ACCESS_TOKEN_TYPE_URI: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The longest `audience` taken.
const MAX_AUDIENCE_BYTES: usize = 256;

/// What the token endpoint received for the exchange (RFC 8693 §2.1).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExchangeRequest<'a> {
    pub subject_token: Option<&'a str>,
    pub subject_token_type: Option<&'a str>,
    pub actor_token: Option<&'a str>,
    pub actor_token_type: Option<&'a str>,
    pub requested_token_type: Option<&'a str>,
    pub audience: Option<&'a str>,
    pub resource: Option<&'a str>,
}

/// The `act` claim (RFC 8693 §4.1), beside the registered claims.
#[derive(Serialize)]
struct Delegated<'a> {
    act: Actor<'a>,
}

#[derive(Serialize)]
struct Actor<'a> {
    sub: &'a str,
    /// The subject token's own actor, if it was already exchanged: the chain (§4.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<serde_json::Value>,
}

/// What is read of a subject token beyond the registered claims.
#[derive(serde::Deserialize, Default)]
struct SubjectExtra {
    #[serde(default)]
    act: Option<serde_json::Value>,
}

impl<S: Storage> Warden<S> {
    /// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`: `client` (which must
    /// authenticate and be registered for the grant) trades `request.subject_token` — an
    /// access token of this server, for a user still enabled, not revoked, not bound to a
    /// key — for an access token with the `audience` asked for (default: the subject
    /// token's), scopes within the subject token's (`requested`, default all of them),
    /// `act.sub` = the client, and no longer life than the subject token.
    pub async fn token_exchange_grant(
        &self,
        client: &Client,
        auth: ClientAuth,
        request: ExchangeRequest<'_>,
        requested: &[String],
        ip: Option<&str>,
    ) -> Result<TokenSet, DomainError> {
        if client.public
            || !auth.is_authenticated()
            || !client.grant_types.iter().any(|g| g == TOKEN_EXCHANGE)
        {
            return Err(DomainError::UnauthorizedClient);
        }
        // Refused rather than ignored (RFC 8693 §2.2.2).
        if request.actor_token.is_some() || request.actor_token_type.is_some() {
            return Err(DomainError::InvalidRequest(
                "actor_token is not supported: the client itself is the actor",
            ));
        }
        if request.resource.is_some() {
            return Err(DomainError::InvalidTarget(
                "resource is not supported: name the target with audience",
            ));
        }
        if request
            .requested_token_type
            .is_some_and(|t| t != ACCESS_TOKEN_TYPE_URI)
        {
            return Err(DomainError::InvalidRequest(
                "only access tokens are issued (requested_token_type)",
            ));
        }
        let subject = request
            .subject_token
            .ok_or(DomainError::InvalidRequest("subject_token is required"))?;
        match request.subject_token_type {
            Some(ACCESS_TOKEN_TYPE_URI) => {}
            None => {
                return Err(DomainError::InvalidRequest(
                    "subject_token_type is required",
                ));
            }
            Some(_) => {
                return Err(DomainError::InvalidRequest(
                    "subject_token_type must be an access token of this server",
                ));
            }
        }
        let audience = match request.audience {
            Some(aud) if aud.len() > MAX_AUDIENCE_BYTES || aud.chars().any(char::is_control) => {
                return Err(DomainError::InvalidTarget("audience is not acceptable"));
            }
            other => other,
        };
        const INVALID: &str = "subject_token is invalid, expired or revoked";
        let invalid = || DomainError::InvalidRequest(INVALID);
        let claims: Claims<SubjectExtra> = self
            .signing()?
            .verifier
            .verify(subject)
            .await
            .map_err(|_| invalid())?;
        // A token bound to a key stays with its key (RFC 9449): not exchangeable for a
        // bearer token.
        if claims.is_sender_constrained() {
            return Err(DomainError::InvalidRequest(
                "a sender-constrained subject_token cannot be exchanged",
            ));
        }
        let (Some(user_id), Some(jti), Some(exp)) = (&claims.sub, &claims.jti, claims.exp) else {
            return Err(invalid());
        };
        // A client's own token (client_credentials) is not a user's: nothing to delegate.
        if claims.client_id.as_deref() == Some(user_id.as_str()) {
            return Err(invalid());
        }
        let user = self
            .storage()
            .user_for_access_token(user_id, jti)
            .await?
            .filter(|u| !u.disabled)
            .ok_or_else(invalid)?;
        let held = split_scopes(claims.scope.as_deref().unwrap_or(""));
        if requested.iter().any(|s| !held.contains(s)) {
            return Err(DomainError::InvalidScope);
        }
        let scopes: BTreeSet<String> = if requested.is_empty() {
            held
        } else {
            requested.iter().cloned().collect()
        };
        let at = u64::try_from(now()).unwrap_or(0);
        // Never outlives the token it came from.
        let lifetime = self
            .config()
            .access_token_ttl
            .min(exp.saturating_sub(at))
            .max(1);
        let exchanged = Claims {
            iss: None,
            sub: Some(user.id.clone()),
            aud: match audience {
                Some(aud) => aud.into(),
                None => claims.aud.clone(),
            },
            exp: None,
            nbf: None,
            iat: None,
            jti: Some(uuid::Uuid::new_v4().to_string()),
            client_id: Some(client.client_id.clone()),
            scope: Some(join(&scopes)),
            acr: claims.acr.clone(),
            amr: claims.amr.clone(),
            auth_time: claims.auth_time,
            cnf: None,
            extra: Delegated {
                act: Actor {
                    sub: &client.client_id,
                    act: claims.extra.act.clone(),
                },
            },
        };
        let token = self
            .signing()?
            .issuer
            .sign_with(&exchanged, ACCESS_TOKEN_TYPE, at, lifetime)
            .map_err(|_| DomainError::Internal("could not sign a token"))?;
        self.audit(
            "token.exchanged",
            "success",
            Some(&user.id),
            Some(&client.client_id),
            ip,
            Some(&format!("audience {}", audience.unwrap_or("(unchanged)"))),
        )
        .await;
        let mut set = self.token_set(token, None, &scopes, None);
        set.expires_in = lifetime;
        set.issued_token_type = Some(ACCESS_TOKEN_TYPE_URI);
        Ok(set)
    }
}
