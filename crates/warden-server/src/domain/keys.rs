//! Signing keys: generated on first start, kept encrypted at rest (AES-256-GCM under a
//! master key from `WARDEN_MASTER_KEY` or a 0600 file), loaded into a [`KeyRing`], rotated.

use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, UnboundKey};
use aws_lc_rs::{hkdf, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use warden::jwt::{Algorithm, KeyRing, KeyState, SigningKey};

use super::DomainError;
use super::secrets::Sealer;
use crate::storage::{KeyStatus, Storage, StoredSigningKey};

/// The key that encrypts signing keys at rest, and the keys derived from it (HKDF-SHA-256,
/// RFC 5869) for other jobs, so every instance sharing the master key agrees on them.
pub struct MasterKey {
    sealing: Sealer,
    /// The AES-256 key of second-factor secrets, derived (HKDF) from the master key.
    factor_key: [u8; 32],
    /// The AES-256 key of the client secrets Warden holds at upstream identity providers,
    /// derived (HKDF) from the master key.
    upstream_key: [u8; 32],
    form_tokens: hmac::Key,
    refresh_successors: hmac::Key,
    recovery_codes: hmac::Key,
    /// The secret of DPoP nonces (RFC 9449 §8), shared by every instance with this key.
    dpop_nonces: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// From `WARDEN_MASTER_KEY` (base64url of 32 bytes) if set, else from `file`.
    ///
    /// When neither exists, a new key is written to `file` (32 random bytes, mode 0600) only
    /// if `may_create`: the caller passes `false` when the database already holds signing
    /// keys, which a new master key could never decrypt — then this refuses, naming the key
    /// it expects, instead of leaving a useless key file behind.
    pub fn load(file: &Path, may_create: bool) -> Result<Self, String> {
        if let Ok(value) = std::env::var("WARDEN_MASTER_KEY") {
            return Self::from_base64(value.trim()).map_err(|e| format!("WARDEN_MASTER_KEY: {e}"));
        }
        if file.exists() {
            return Self::read(file);
        }
        if !may_create {
            return Err(format!(
                "the database holds signing keys encrypted under a master key, and there is \
                 none here: set WARDEN_MASTER_KEY, or WARDEN_MASTER_KEY_FILE (now {}), to the \
                 key those signing keys were made with",
                file.display()
            ));
        }
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| "random source failed".to_owned())?;
        let encoded = URL_SAFE_NO_PAD.encode(bytes);
        // Written in full to a private temporary file, then published under its name with a
        // hard link, which fails if the name exists: a process started at the same moment
        // never reads a half-written key, and of two, one key wins and both use it.
        let shown = file.display();
        let temporary = file.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = options.open(&temporary).and_then(|mut out| {
            out.write_all(encoded.as_bytes())?;
            out.sync_all()
        });
        let published = written.and_then(|()| std::fs::hard_link(&temporary, file));
        let _ = std::fs::remove_file(&temporary);
        match published {
            Ok(()) => {
                tracing::info!(file = %shown, "generated a new master key");
                Self::from_base64(&encoded)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::read(file),
            Err(e) => Err(format!("{shown}: {e}")),
        }
    }

    fn read(file: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        Self::from_base64(text.trim()).map_err(|e| format!("{}: {e}", file.display()))
    }

    fn from_base64(value: &str) -> Result<Self, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| "not base64url".to_owned())?;
        if bytes.len() != 32 {
            return Err("must be 32 bytes".into());
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| "unusable key".to_owned())?;
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"").extract(&bytes);
        let derive = |info: &[u8]| -> Result<hmac::Key, String> {
            Ok(prk
                .expand(&[info], hmac::HMAC_SHA256)
                .map_err(|_| "unusable key".to_owned())?
                .into())
        };
        let mut factor_key = [0u8; 32];
        prk.expand(&[b"warden/factor-secrets/v1"], &AES_256_GCM)
            .and_then(|okm| okm.fill(&mut factor_key))
            .map_err(|_| "unusable key".to_owned())?;
        let mut upstream_key = [0u8; 32];
        prk.expand(&[b"warden/upstream-client-secrets/v1"], &AES_256_GCM)
            .and_then(|okm| okm.fill(&mut upstream_key))
            .map_err(|_| "unusable key".to_owned())?;
        let mut dpop_nonces = [0u8; 32];
        prk.expand(&[b"warden/dpop-nonces/v1"], &AES_256_GCM)
            .and_then(|okm| okm.fill(&mut dpop_nonces))
            .map_err(|_| "unusable key".to_owned())?;
        Ok(Self {
            sealing: Sealer::new(key),
            dpop_nonces,
            factor_key,
            upstream_key,
            form_tokens: derive(b"warden/form-tokens/v1")?,
            refresh_successors: derive(b"warden/refresh-successors/v1")?,
            recovery_codes: derive(b"warden/recovery-codes/v1")?,
        })
    }

    /// The HMAC key of the login and consent forms' anti-CSRF tokens (derived, never the
    /// master key itself).
    pub fn form_token_key(&self) -> hmac::Key {
        self.form_tokens.clone()
    }

    /// The HMAC key that derives a refresh token's successor (see
    /// [`RefreshSuccessors`](super::secrets::RefreshSuccessors)).
    pub fn refresh_successor_key(&self) -> hmac::Key {
        self.refresh_successors.clone()
    }

    /// DPoP nonces (RFC 9449 §8) under a secret derived from the master key, so every
    /// instance sharing the key accepts the nonces of the others.
    pub fn dpop_nonces(&self) -> warden::dpop::Nonces {
        warden::dpop::Nonces::new(&self.dpop_nonces)
    }

    /// The HMAC key under which recovery codes are stored (derived, never the master key).
    pub fn recovery_code_key(&self) -> hmac::Key {
        self.recovery_codes.clone()
    }

    /// The signing key `kid`'s PEM, sealed.
    fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<Vec<u8>, DomainError> {
        self.sealing.seal(kid, plaintext)
    }

    fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, DomainError> {
        self.sealing.open(kid, sealed).ok_or(DomainError::Internal(
            "a stored signing key does not decrypt with this master key",
        ))
    }

    /// What encrypts second-factor secrets (TOTP keys) at rest: a key derived from the
    /// master key, never the master key itself.
    pub fn factor_sealer(&self) -> Result<Sealer, DomainError> {
        UnboundKey::new(&AES_256_GCM, &self.factor_key)
            .map(Sealer::new)
            .map_err(|_| DomainError::Internal("unusable factor key"))
    }
}

impl MasterKey {
    /// What encrypts the client secrets of upstream identity providers at rest: a key
    /// derived from the master key (its own HKDF label), never the master key itself.
    pub fn upstream_sealer(&self) -> Result<Sealer, DomainError> {
        UnboundKey::new(&AES_256_GCM, &self.upstream_key)
            .map(Sealer::new)
            .map_err(|_| DomainError::Internal("unusable upstream key"))
    }
}

fn to_state(status: KeyStatus) -> KeyState {
    match status {
        KeyStatus::Next => KeyState::Next,
        KeyStatus::Current => KeyState::Current,
        KeyStatus::Retired(until) => KeyState::Retired {
            until: u64::try_from(until).unwrap_or(0),
        },
    }
}

fn to_status(state: KeyState) -> KeyStatus {
    match state {
        KeyState::Next => KeyStatus::Next,
        KeyState::Current => KeyStatus::Current,
        KeyState::Retired { until } => KeyStatus::Retired(i64::try_from(until).unwrap_or(i64::MAX)),
    }
}

fn seal_key(
    master: &MasterKey,
    key: &SigningKey,
    status: KeyStatus,
    now: i64,
) -> Result<StoredSigningKey, DomainError> {
    let pem = key
        .to_pkcs8_pem()
        .ok_or(DomainError::Internal("signing keys are asymmetric"))?;
    Ok(StoredSigningKey {
        kid: key.kid().to_owned(),
        alg: key.algorithm().name().to_owned(),
        encrypted_private_key: master.seal(key.kid(), pem.as_bytes())?,
        status,
        created_at: now,
    })
}

async fn persist<S: Storage>(
    storage: &S,
    master: &MasterKey,
    key: &SigningKey,
    status: KeyStatus,
    now: i64,
) -> Result<(), DomainError> {
    storage
        .insert_signing_key(&seal_key(master, key, status, now)?)
        .await?;
    Ok(())
}

/// The stored keys of `alg` as `(key, state)` pairs.
pub async fn load_keys<S: Storage>(
    storage: &S,
    master: &MasterKey,
    alg: Algorithm,
) -> Result<Vec<(SigningKey, KeyState)>, DomainError> {
    let mut out = Vec::new();
    for stored in storage.signing_keys().await? {
        let stored_alg = Algorithm::from_name(&stored.alg)
            .ok_or(DomainError::Internal("stored key has an unknown algorithm"))?;
        if stored_alg != alg {
            continue;
        }
        let pem = master.open(&stored.kid, &stored.encrypted_private_key)?;
        let pem =
            String::from_utf8(pem).map_err(|_| DomainError::Internal("stored key is not PEM"))?;
        let key = SigningKey::from_pem(alg, &pem)
            .map_err(|_| DomainError::Internal("stored key does not parse"))?;
        out.push((key, to_state(stored.status)));
    }
    Ok(out)
}

/// The algorithms the server keeps a ring of: EdDSA signs access tokens (and the ID tokens of
/// clients that ask for it); RS256 signs ID tokens by default, as OpenID Connect Discovery
/// requires every provider to support it (§3, `id_token_signing_alg_values_supported`).
pub const RING_ALGORITHMS: [Algorithm; 2] = [Algorithm::EdDSA, Algorithm::RS256];

/// The ring of `alg` from storage; on first start, a new key is made current and stored.
///
/// Instances started together on one empty database each make a candidate, but only one is
/// stored ([`Storage::insert_first_signing_key`]); every instance then builds its ring from
/// what storage holds, so they all publish and sign with the same key from the start.
pub async fn load_or_create_ring<S: Storage>(
    storage: &S,
    master: &MasterKey,
    alg: Algorithm,
    now: i64,
) -> Result<KeyRing, DomainError> {
    let keys = load_keys(storage, master, alg).await?;
    if keys.iter().any(|(_, state)| *state == KeyState::Current) {
        return Ok(KeyRing::from_keys(keys));
    }
    let key = generate(alg)?;
    let stored = seal_key(master, &key, KeyStatus::Current, now)?;
    if storage.insert_first_signing_key(&stored).await? {
        tracing::info!(
            kid = key.kid(),
            alg = alg.name(),
            "generated the first signing key"
        );
    }
    let keys = load_keys(storage, master, alg).await?;
    if !keys.iter().any(|(_, state)| *state == KeyState::Current) {
        return Err(DomainError::Internal(
            "no current signing key after creating one",
        ));
    }
    Ok(KeyRing::from_keys(keys))
}

fn generate(alg: Algorithm) -> Result<SigningKey, DomainError> {
    SigningKey::generate(alg).map_err(|_| DomainError::Internal("key generation failed"))
}

/// Rotates the stored keys of `alg`: the next key (made now if there is none) becomes
/// current, the current one retires until every token it signed has expired, and a fresh
/// next key is published. Returns the new current `kid`.
pub async fn rotate<S: Storage>(
    storage: &S,
    master: &MasterKey,
    alg: Algorithm,
    now: i64,
    max_token_lifetime: u64,
) -> Result<String, DomainError> {
    let ring = load_or_create_ring(storage, master, alg, now).await?;
    let before: Vec<(String, KeyState)> = ring
        .export()
        .into_iter()
        .map(|(kid, _, s)| (kid, s))
        .collect();
    if !before.iter().any(|(_, s)| *s == KeyState::Next) {
        let next = generate(alg)?;
        persist(storage, master, &next, KeyStatus::Next, now).await?;
        ring.add_next(next);
    }
    let now_u = u64::try_from(now).unwrap_or(0);
    ring.rotate(now_u, max_token_lifetime);
    for (kid, _, state) in ring.export() {
        storage
            .set_signing_key_status(&kid, to_status(state))
            .await?;
    }
    let upcoming = generate(alg)?;
    persist(storage, master, &upcoming, KeyStatus::Next, now).await?;
    Ok(ring.current_kid())
}

/// Reloads `ring` (of `alg`) from storage if the stored keys differ (a rotation happened
/// elsewhere); whether it changed.
pub async fn reload<S: Storage>(
    storage: &S,
    master: &MasterKey,
    alg: Algorithm,
    ring: &KeyRing,
) -> Result<bool, DomainError> {
    let keys = load_keys(storage, master, alg).await?;
    let loaded: Vec<(String, KeyState)> =
        keys.iter().map(|(k, s)| (k.kid().to_owned(), *s)).collect();
    if loaded == ring.states() {
        return Ok(false);
    }
    ring.replace(keys);
    Ok(true)
}
