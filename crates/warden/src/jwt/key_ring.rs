//! A rotating set of signing keys: next → current → retired.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::{JwkSet, SigningKey, VerifyingKey};

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published ahead of use, so caches of the JWKS already hold it when it starts signing.
    Next,
    /// Signs new tokens.
    Current,
    /// No longer signs; still verifies (and stays published) until `until`, when every token
    /// it signed has expired.
    Retired {
        /// Seconds since the epoch.
        until: u64,
    },
}

struct Entry {
    key: SigningKey,
    state: KeyState,
}

/// The signing keys of an issuer, shared by its [`Issuer`](super::Issuer) and
/// [`Verifier`](super::Verifier), rotated in place. Cheap to clone.
///
/// ```
/// use warden::jwt::{Algorithm, KeyRing, KeyState, SigningKey};
///
/// let first = SigningKey::generate(Algorithm::EdDSA).unwrap();
/// let first_kid = first.kid().to_owned();
/// let ring = KeyRing::new(first);
/// ring.add_next(SigningKey::generate(Algorithm::EdDSA).unwrap());
///
/// // Rotate at t=1000 with tokens living at most 900 s: the old key verifies until 1900.
/// ring.rotate(1000, 900);
/// assert_ne!(ring.current_kid(), first_kid);
/// assert_eq!(ring.state(&first_kid), Some(KeyState::Retired { until: 1900 }));
/// assert_eq!(ring.jwks(1000).keys.len(), 2);
/// assert_eq!(ring.jwks(1900).keys.len(), 1); // gone once its tokens have expired
/// ```
#[derive(Clone)]
pub struct KeyRing {
    entries: Arc<RwLock<Vec<Entry>>>,
    /// Bumped by every change of the keys; cached verifications are tied to it.
    generation: Arc<AtomicU64>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.read();
        f.debug_list()
            .entries(entries.iter().map(|e| (e.key.kid(), e.state)))
            .finish()
    }
}

impl KeyRing {
    /// A ring whose current key is `current`.
    pub fn new(current: SigningKey) -> Self {
        Self {
            entries: Arc::new(RwLock::new(vec![Entry {
                key: current,
                state: KeyState::Current,
            }])),
            generation: Arc::default(),
        }
    }

    /// A ring restored from storage: keys with their states.
    ///
    /// # Panics
    /// If no key is `Current`.
    pub fn from_keys(keys: Vec<(SigningKey, KeyState)>) -> Self {
        assert!(
            keys.iter().any(|(_, s)| *s == KeyState::Current),
            "a key ring needs a current key"
        );
        Self {
            entries: Arc::new(RwLock::new(
                keys.into_iter()
                    .map(|(key, state)| Entry { key, state })
                    .collect(),
            )),
            generation: Arc::default(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Entry>> {
        // A panic while holding the lock cannot leave the list inconsistent (every write is a
        // single assignment pass), so a poisoned lock is still safe to read.
        self.entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Entry>> {
        let entries = self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Every writer may remove or demote a key: verifications cached before it are void.
        // Bumped while the write lock is held, so a reader that sees the new keys also sees
        // the new generation.
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries
    }

    /// Changes whenever the keys change.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Replaces every key at once (another instance rotated, and the keys were reloaded
    /// from storage). Ignored when no key is `Current`, so the ring always has one.
    pub fn replace(&self, keys: Vec<(SigningKey, KeyState)>) {
        if !keys.iter().any(|(_, s)| *s == KeyState::Current) {
            return;
        }
        *self.write() = keys
            .into_iter()
            .map(|(key, state)| Entry { key, state })
            .collect();
    }

    /// The `kid` and state of every key, cheaply (to tell whether a reload changed anything).
    pub fn states(&self) -> Vec<(String, KeyState)> {
        self.read()
            .iter()
            .map(|e| (e.key.kid().to_owned(), e.state))
            .collect()
    }

    /// Publishes `key` as the next key (replacing a previous next key).
    pub fn add_next(&self, key: SigningKey) {
        let mut entries = self.write();
        entries.retain(|e| e.state != KeyState::Next);
        entries.push(Entry {
            key,
            state: KeyState::Next,
        });
    }

    /// Rotates at `now`: the current key retires until `now + max_token_lifetime` and the
    /// next key becomes current. Keys retired past their time are dropped. Does nothing when
    /// there is no next key (add one with [`add_next`](Self::add_next) first).
    pub fn rotate(&self, now: u64, max_token_lifetime: u64) {
        let mut entries = self.write();
        if !entries.iter().any(|e| e.state == KeyState::Next) {
            return;
        }
        for entry in entries.iter_mut() {
            entry.state = match entry.state {
                KeyState::Current => KeyState::Retired {
                    until: now.saturating_add(max_token_lifetime),
                },
                KeyState::Next => KeyState::Current,
                retired => retired,
            };
        }
        entries.retain(|e| !matches!(e.state, KeyState::Retired { until } if until <= now));
    }

    /// The `kid` of the current key.
    pub fn current_kid(&self) -> String {
        self.with_current(|key| key.kid().to_owned())
    }

    /// The state of the key `kid`.
    pub fn state(&self, kid: &str) -> Option<KeyState> {
        self.read()
            .iter()
            .find(|e| e.key.kid() == kid)
            .map(|e| e.state)
    }

    /// Calls `f` with the current signing key.
    pub(crate) fn with_current<T>(&self, f: impl FnOnce(&SigningKey) -> T) -> T {
        let entries = self.read();
        let current = entries
            .iter()
            .find(|e| e.state == KeyState::Current)
            .or_else(|| entries.first())
            .map(|e| &e.key);
        match current {
            Some(key) => f(key),
            // Unreachable: constructors and rotation always keep a current key.
            None => unreachable!("a key ring always has a current key"),
        }
    }

    /// Calls `f` with the ring's generation and the keys that verify at `now`, each with its
    /// state: next, current, and retired ones still in their overlap window. The generation is
    /// read under the same lock as the keys.
    pub(crate) fn with_verifying_keys<T>(
        &self,
        now: u64,
        f: impl FnOnce(u64, &mut dyn Iterator<Item = (&VerifyingKey, Option<KeyState>)>) -> T,
    ) -> T {
        let entries = self.read();
        let generation = self.generation();
        let mut keys = entries
            .iter()
            .filter(move |e| !matches!(e.state, KeyState::Retired { until } if until <= now))
            .map(|e| (e.key.verifying_key(), Some(e.state)));
        f(generation, &mut keys)
    }

    /// The public keys to publish at `now`: next, current and retired keys still in their
    /// window. HS256 keys are never published.
    pub fn jwks(&self, now: u64) -> JwkSet {
        self.with_verifying_keys(now, |_, keys| JwkSet {
            keys: keys.filter_map(|(k, _)| k.jwk().cloned()).collect(),
        })
    }

    /// Every key with its state, to persist the ring (private keys: handle with care).
    pub fn export(&self) -> Vec<(String, Option<String>, KeyState)> {
        self.read()
            .iter()
            .map(|e| (e.key.kid().to_owned(), e.key.to_pkcs8_pem(), e.state))
            .collect()
    }
}
