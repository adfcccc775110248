//! API keys: self-service creation, listing and revocation, and authenticating a request by
//! its key.
//!
//! Keys are [`warden::api_keys`] keys with the prefix `wdn` (`wdn_<id>_<secret><checksum>`).
//! Only the SHA-256 of `<id>_<secret>` is stored, as hex; the key itself is returned once, at
//! creation, and never stored, logged or audited.
//!
//! No pepper yet: hashes are plain SHA-256, which is sound for 256-bit random secrets. A
//! pepper kept outside the database ([`ApiKeys::with_pepper`]) would also stop a stolen
//! database copy from testing guessed keys; adding one later invalidates every key stored
//! without it, so it needs a per-key marker or a re-issue.
//!
//! A key carries scopes (a subset of what its owner's roles grant when it is created); on use
//! it grants the intersection of those and what the roles grant *now*, so taking a role away
//! also narrows every key of the user.

use std::collections::BTreeSet;

use warden::api_keys::{ApiKeys, PlaintextKey, StoredKey};

use super::secrets::{from_hex, to_hex};
use super::{DomainError, Warden, now};
use crate::storage::{ApiKey, Storage, StorageError, User};

/// The prefix of Warden's keys: `wdn_…`.
pub const API_KEY_PREFIX: &str = "wdn";
/// The longest key name, in bytes.
pub const MAX_KEY_NAME_BYTES: usize = 100;
/// The most scopes one key carries.
pub const MAX_KEY_SCOPES: usize = 64;
/// The shortest lifetime a key can be given, in seconds.
pub const MIN_KEY_LIFETIME_SECS: u64 = 60;
/// The longest lifetime a key can be given, in seconds (five years).
pub const MAX_KEY_LIFETIME_SECS: u64 = 5 * 365 * 24 * 3600;
/// `last_used_at` is written at most this often per key, in seconds, so a busy key does not
/// turn every request into a write.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// The key format and hashing Warden uses.
pub(super) fn api_key_format() -> Result<ApiKeys, DomainError> {
    ApiKeys::new(API_KEY_PREFIX).map_err(|_| DomainError::Internal("API key prefix"))
}

/// A key to create.
#[derive(Debug, Clone, Default)]
pub struct NewApiKey {
    /// A label for its owner: 1 to 100 bytes, no control characters.
    pub name: String,
    /// What the key may do; each must be granted by the owner's roles.
    pub scopes: Vec<String>,
    /// Lifetime in seconds (1 minute to 5 years); `None`: until revoked.
    pub expires_in: Option<u64>,
}

/// A key just created: the record, and the key itself, to show once.
#[derive(Debug)]
pub struct CreatedApiKey {
    /// What is stored (no key material but the hash).
    pub record: ApiKey,
    /// The key; Debug prints it redacted.
    pub key: PlaintextKey,
}

/// Who revokes a key.
#[derive(Debug, Clone, Copy)]
pub enum KeyRevoker<'a> {
    /// The owner: any other user's key is [`DomainError::NotFound`].
    Owner(&'a User),
    /// An administrator (`Some`, over HTTP) or the operator (`None`, the CLI): any key.
    Administrator(Option<&'a User>),
}

/// A request authenticated by an API key.
#[derive(Debug, Clone)]
pub struct ApiKeyPrincipal {
    /// The key's owner, enabled.
    pub user: User,
    /// The key's id (public).
    pub key_id: String,
    /// The key's scopes that the owner's roles still grant.
    pub scopes: BTreeSet<String>,
}

/// RFC 6749 §3.3 `scope-token`: 1*( %x21 / %x23-5B / %x5D-7E ), bounded to 128 bytes.
pub(super) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 128
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

impl<S: Storage> Warden<S> {
    /// Creates a key for `user`. Its scopes must be granted by the user's roles and, when
    /// `ceiling` is given (the scopes of the credential making the request), lie within it:
    /// nobody hands on more than they hold. Otherwise [`DomainError::InvalidScope`].
    ///
    /// Returns the key in full, once; only its hash is stored.
    pub async fn create_api_key(
        &self,
        user: &User,
        new: NewApiKey,
        ceiling: Option<&BTreeSet<String>>,
    ) -> Result<CreatedApiKey, DomainError> {
        let name = new.name.trim();
        if name.is_empty() || name.len() > MAX_KEY_NAME_BYTES || name.chars().any(char::is_control)
        {
            return Err(DomainError::InvalidRequest(
                "name must be 1 to 100 bytes without control characters",
            ));
        }
        if user.disabled {
            return Err(DomainError::Forbidden);
        }
        let scopes: BTreeSet<String> = new.scopes.into_iter().collect();
        if scopes.len() > MAX_KEY_SCOPES {
            return Err(DomainError::InvalidRequest("at most 64 scopes per key"));
        }
        if !scopes.iter().all(|s| is_scope_token(s)) {
            return Err(DomainError::InvalidScope);
        }
        let allowed = self.role_scopes(user).await?;
        let within_ceiling = |s: &String| ceiling.is_none_or(|c| c.contains(s));
        if !scopes
            .iter()
            .all(|s| allowed.contains(s) && within_ceiling(s))
        {
            return Err(DomainError::InvalidScope);
        }
        let at = now();
        let expires_at = match new.expires_in {
            None => None,
            Some(secs) if (MIN_KEY_LIFETIME_SECS..=MAX_KEY_LIFETIME_SECS).contains(&secs) => {
                // Bounded above, so the conversion and the sum cannot overflow.
                Some(at.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX)))
            }
            Some(_) => {
                return Err(DomainError::InvalidRequest(
                    "expiry must be between one minute and five years",
                ));
            }
        };
        let (key, stored) = self
            .inner
            .api_keys
            .generate()
            .map_err(|_| DomainError::Internal("random source failed"))?;
        let record = ApiKey {
            id: stored.id,
            user_id: user.id.clone(),
            name: name.to_owned(),
            hash: to_hex(&stored.hash),
            scopes: scopes.into_iter().collect(),
            created_at: at,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        match self.storage().insert_api_key(&record).await {
            Ok(()) => {}
            // 65 random bits: a collision is not expected in the life of the universe.
            Err(StorageError::Conflict(_)) => {
                return Err(DomainError::Internal("API key id collision"));
            }
            Err(StorageError::NotFound(_)) => return Err(DomainError::NotFound),
            Err(other) => return Err(other.into()),
        }
        let detail = format!("key {} scopes [{}]", record.id, record.scopes.join(" "));
        self.audit(
            "apikey.created",
            "success",
            Some(&user.id),
            None,
            None,
            Some(&detail),
        )
        .await;
        Ok(CreatedApiKey { record, key })
    }

    /// The user's keys, newest first, revoked and expired ones included (no key material).
    pub async fn list_api_keys(&self, user: &User) -> Result<Vec<ApiKey>, DomainError> {
        Ok(self.storage().list_api_keys(&user.id).await?)
    }

    /// Every user's keys, newest first, at most `limit` (capped at 1000).
    pub async fn list_all_api_keys(&self, limit: u32) -> Result<Vec<ApiKey>, DomainError> {
        Ok(self.storage().list_all_api_keys(limit.min(1000)).await?)
    }

    /// Revokes key `id`. An owner may revoke only their own keys (another user's key is
    /// [`DomainError::NotFound`], so ids of others are not confirmed); an administrator any.
    /// Revoking a revoked key succeeds and changes nothing.
    pub async fn revoke_api_key(&self, by: KeyRevoker<'_>, id: &str) -> Result<(), DomainError> {
        let record = if id.len() <= 64 {
            self.storage().api_key(id).await?
        } else {
            None
        };
        let record = record.ok_or(DomainError::NotFound)?;
        let actor = match by {
            KeyRevoker::Owner(user) if user.id != record.user_id => {
                return Err(DomainError::NotFound);
            }
            KeyRevoker::Owner(user) | KeyRevoker::Administrator(Some(user)) => user.id.as_str(),
            // The operator at the CLI: the event is about the owner's key.
            KeyRevoker::Administrator(None) => record.user_id.as_str(),
        };
        if self.storage().revoke_api_key(&record.id, now()).await? {
            let detail = format!("key {} of user {}", record.id, record.user_id);
            self.audit(
                "apikey.revoked",
                "success",
                Some(actor),
                None,
                None,
                Some(&detail),
            )
            .await;
        }
        Ok(())
    }

    /// Authenticates a request by its key: format and checksum first (no I/O, so typos never
    /// reach the database), then the record by id, the hash compared in constant time, then
    /// revocation, expiry and the owner (who must exist and be enabled).
    ///
    /// Every refusal is [`DomainError::InvalidGrant`], whatever the reason.
    pub async fn authenticate_api_key(
        &self,
        plaintext: &str,
    ) -> Result<ApiKeyPrincipal, DomainError> {
        let keys = &self.inner.api_keys;
        let parsed = keys
            .parse(plaintext)
            .map_err(|_| DomainError::InvalidGrant)?;
        let record = self
            .storage()
            .api_key(parsed.id())
            .await?
            .ok_or(DomainError::InvalidGrant)?;
        let Some(hash) = from_hex(&record.hash) else {
            tracing::warn!(key_id = %record.id, "stored API key hash is not 64 hex digits");
            return Err(DomainError::InvalidGrant);
        };
        let stored = StoredKey {
            id: record.id.clone(),
            hash,
        };
        if !keys.verify(&parsed, &stored) {
            return Err(DomainError::InvalidGrant);
        }
        let at = now();
        if record.revoked_at.is_some() || record.expires_at.is_some_and(|e| e <= at) {
            return Err(DomainError::InvalidGrant);
        }
        let user = self
            .storage()
            .user_by_id(&record.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(DomainError::InvalidGrant)?;
        let granted = self.role_scopes(&user).await?;
        let scopes = record
            .scopes
            .into_iter()
            .filter(|s| granted.contains(s))
            .collect();
        if record
            .last_used_at
            .is_none_or(|t| at.saturating_sub(t) >= TOUCH_INTERVAL_SECS)
            && let Err(error) = self.storage().touch_api_key(&record.id, at).await
        {
            tracing::warn!(%error, key_id = %record.id, "could not record an API key's use");
        }
        Ok(ApiKeyPrincipal {
            user,
            key_id: record.id,
            scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        let hex = to_hex(&bytes);
        assert_eq!(hex.len(), 64);
        assert_eq!(from_hex(&hex), Some(bytes));
        assert_eq!(from_hex(&hex[1..]), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert!(is_scope_token("items:read"));
        assert!(!is_scope_token(""));
        assert!(!is_scope_token("a b"));
        assert!(!is_scope_token("quote\""));
        assert!(!is_scope_token("back\\slash"));
        assert!(!is_scope_token(&"a".repeat(129)));
    }
}
