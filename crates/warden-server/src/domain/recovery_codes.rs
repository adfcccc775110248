//! Recovery codes: ten single-use codes, shown once, stored as keyed digests.
//!
//! Each code is 120 random bits (ASVS 4.0.3 V2.6.2 asks for 112) written as six groups of
//! four Crockford base32 characters (`xxxx-xxxx-…`; `o`, `i` and `l` read as `0`, `1`,
//! `1`; case, spaces and dashes ignored). A code is stored as HMAC-SHA-256 under a key
//! derived from the master key (a slow hash adds nothing to 120 random bits), and used up
//! by one conditional `UPDATE`, so two racing uses cannot both pass.

use aws_lc_rs::hmac;

use super::{DomainError, Warden, now, secrets};
use crate::storage::{Storage, User};

/// How many codes a set holds.
pub const RECOVERY_CODES: usize = 10;

/// Crockford's base32: 32 symbols (5 bits each), no `i`, `l`, `o`, `u`.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Groups and characters per group: 6 × 4 × 5 bits = 120 bits.
const GROUPS: usize = 6;
const GROUP_CHARS: usize = 4;

/// A new random code.
fn new_code() -> Result<String, DomainError> {
    let mut bytes = [0u8; GROUPS * GROUP_CHARS];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| DomainError::Internal("random source failed"))?;
    let mut code = String::with_capacity(GROUPS * (GROUP_CHARS + 1));
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 && i % GROUP_CHARS == 0 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[usize::from(byte & 0x1f)]));
    }
    Ok(code)
}

/// A code as typed, normalised: lowercase, without spaces or dashes, look-alikes mapped
/// as Crockford's base32 reads them.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        })
        .collect()
}

/// The stored digest of a code.
pub(super) fn code_digest(key: &hmac::Key, code: &str) -> String {
    let tag = hmac::sign(key, normalise(code).as_bytes());
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(tag.as_ref());
    secrets::to_hex(&bytes)
}

impl<S: Storage> Warden<S> {
    /// A new set of codes for the user, replacing any earlier set; shown once. Audited.
    pub async fn new_recovery_codes(
        &self,
        user: &User,
        ip: Option<&str>,
    ) -> Result<Vec<String>, DomainError> {
        let codes = (0..RECOVERY_CODES)
            .map(|_| new_code())
            .collect::<Result<Vec<_>, _>>()?;
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| code_digest(&self.inner.recovery_key, c))
            .collect();
        self.storage()
            .replace_recovery_codes(&user.id, &hashes, now())
            .await?;
        self.audit(
            "mfa.recovery_codes_created",
            "success",
            Some(&user.id),
            None,
            ip,
            None,
        )
        .await;
        Ok(codes)
    }

    /// Uses one of the user's codes up; how many are left. Audited either way.
    pub(super) async fn use_recovery_code(
        &self,
        user: &User,
        code: &str,
        ip: Option<&str>,
    ) -> Result<u64, DomainError> {
        let normalised = normalise(code);
        if normalised.len() != GROUPS * GROUP_CHARS {
            return Err(DomainError::InvalidCode);
        }
        let hash = code_digest(&self.inner.recovery_key, &normalised);
        if !self
            .storage()
            .use_recovery_code(&user.id, &hash, now())
            .await?
        {
            return Err(DomainError::InvalidCode);
        }
        let left = self.storage().recovery_codes_left(&user.id).await?;
        self.audit(
            "mfa.recovery_code_used",
            "success",
            Some(&user.id),
            None,
            ip,
            Some(&format!("{left} left")),
        )
        .await;
        Ok(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_five_groups_from_the_alphabet_and_differ() {
        let a = new_code().unwrap();
        let b = new_code().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 29);
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(groups.len(), GROUPS);
        assert!(
            groups
                .iter()
                .all(|g| g.len() == GROUP_CHARS && g.bytes().all(|c| ALPHABET.contains(&c)))
        );
    }

    #[test]
    fn typing_variants_give_the_same_digest() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"k");
        let code = "abcd-efgh-jkmn-pqrs-tvwx-0011";
        let digest = code_digest(&key, code);
        assert_eq!(code_digest(&key, "ABCD EFGH JKMN PQRS TVWX OOIL"), digest);
        assert_eq!(code_digest(&key, "abcdefghjkmnpqrstvwx0011"), digest);
        assert_ne!(code_digest(&key, "abcd-efgh-jkmn-pqrs-tvwy-0011"), digest);
        assert_ne!(
            code_digest(&hmac::Key::new(hmac::HMAC_SHA256, b"other"), code),
            digest
        );
    }
}
