//! `warden::api_keys`: format, checksum, hashing and constant-time verification.

use std::collections::HashSet;

use warden::Denied;
use warden::api_keys::{
    ApiKeyError, ApiKeyFormatError, ApiKeys, MAX_KEY_LEN, PlaintextKey, StoredKey,
};

const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn keys() -> ApiKeys {
    ApiKeys::new("wdn").unwrap()
}

fn new_key(keys: &ApiKeys) -> (PlaintextKey, StoredKey) {
    keys.generate().unwrap()
}

#[test]
fn round_trip() {
    let keys = keys();
    let (plaintext, stored) = new_key(&keys);
    let key = plaintext.as_str();
    assert!(key.starts_with("wdn_"), "{key}");
    assert_eq!(key.len(), 4 + 11 + 1 + 43 + 6);
    assert_eq!(key.matches('_').count(), 2);
    assert!(key[4..].chars().all(|c| c == '_' || BASE62.contains(c)));

    let parsed = keys.parse(key).unwrap();
    assert_eq!(parsed.id(), stored.id);
    assert_eq!(parsed.id(), &key[4..15]);
    assert_eq!(keys.hash(&parsed), stored.hash);
    assert!(keys.verify(&parsed, &stored));
}

#[test]
fn keys_are_unique() {
    let keys = keys();
    let mut ids = HashSet::new();
    let mut hashes = HashSet::new();
    for _ in 0..200 {
        let (_, stored) = new_key(&keys);
        assert!(ids.insert(stored.id));
        assert!(hashes.insert(stored.hash));
    }
}

#[test]
fn every_single_character_typo_is_caught_by_the_format() {
    let keys = keys();
    for _ in 0..3 {
        let (plaintext, _) = new_key(&keys);
        let key = plaintext.as_str();
        // Every position, with a sample of substitutes: neighbours in the alphabet, a case
        // flip, a digit, and the characters people mistake for one another.
        for (position, original) in key.char_indices() {
            let mut substitutes: Vec<char> = "0Ol1I5S8BZ2aAzZ_-".chars().collect();
            if let Some(i) = BASE62.find(original) {
                let alphabet: Vec<char> = BASE62.chars().collect();
                substitutes.push(alphabet[(i + 1) % 62]);
                substitutes.push(alphabet[(i + 61) % 62]);
            }
            substitutes.push(original.to_ascii_uppercase());
            substitutes.push(original.to_ascii_lowercase());
            for substitute in substitutes {
                if substitute == original {
                    continue;
                }
                let mut typo = key.to_owned();
                typo.replace_range(position..position + 1, &substitute.to_string());
                assert!(
                    keys.parse(&typo).is_err(),
                    "typo at {position} ({original} → {substitute}) accepted"
                );
            }
        }
    }
}

#[test]
fn every_substitution_in_id_secret_and_checksum_is_a_checksum_error() {
    let keys = keys();
    let (plaintext, _) = new_key(&keys);
    let key = plaintext.as_str();
    for position in (4..key.len()).filter(|&p| p != 15) {
        for substitute in BASE62.chars() {
            if key[position..].starts_with(substitute) {
                continue;
            }
            let mut typo = key.to_owned();
            typo.replace_range(position..position + 1, &substitute.to_string());
            assert_eq!(
                keys.parse(&typo).unwrap_err(),
                ApiKeyFormatError::BadChecksum,
                "{position} {substitute}"
            );
        }
    }
}

#[test]
fn adjacent_transpositions_are_caught() {
    let keys = keys();
    let (plaintext, _) = new_key(&keys);
    let key = plaintext.as_str().as_bytes().to_vec();
    for i in 4..key.len() - 1 {
        if key[i] == key[i + 1] {
            continue;
        }
        let mut swapped = key.clone();
        swapped.swap(i, i + 1);
        let swapped = String::from_utf8(swapped).unwrap();
        assert!(keys.parse(&swapped).is_err(), "swap at {i}");
    }
}

#[test]
fn wrong_prefix() {
    let (plaintext, _) = new_key(&keys());
    let key = plaintext.as_str();
    let other = ApiKeys::new("acme").unwrap();
    assert_eq!(
        other.parse(key).unwrap_err(),
        ApiKeyFormatError::WrongPrefix
    );
    for bad in [
        key.replacen("wdn_", "WDN_", 1),
        key.replacen("wdn_", "wdn-", 1),
        key.replacen("wdn_", "wd_", 1),
        key.replacen("wdn_", "", 1),
        format!(" {key}"),
        format!("ghp_{}", &key[4..]),
    ] {
        assert_eq!(
            keys().parse(&bad).unwrap_err(),
            ApiKeyFormatError::WrongPrefix,
            "{bad}"
        );
    }
}

#[test]
fn truncated_or_extended() {
    let (plaintext, _) = new_key(&keys());
    let key = plaintext.as_str();
    for len in [4, 5, 15, 16, 30, key.len() - 6, key.len() - 1] {
        assert_eq!(
            keys().parse(&key[..len]).unwrap_err(),
            ApiKeyFormatError::WrongLength,
            "{len}"
        );
    }
    for extended in [format!("{key}0"), format!("{key} "), format!("{key}\n")] {
        assert_eq!(
            keys().parse(&extended).unwrap_err(),
            ApiKeyFormatError::WrongLength
        );
    }
    assert_eq!(
        keys().parse("").unwrap_err(),
        ApiKeyFormatError::WrongPrefix
    );
}

#[test]
fn non_base62_characters() {
    let (plaintext, _) = new_key(&keys());
    let key = plaintext.as_str();
    for (position, bad) in [
        (4, '-'),
        (10, '+'),
        (20, '/'),
        (30, '='),
        (40, '_'),
        (60, ' '),
    ] {
        let mut typo = key.to_owned();
        typo.replace_range(position..position + 1, &bad.to_string());
        assert_eq!(
            keys().parse(&typo).unwrap_err(),
            ApiKeyFormatError::InvalidCharacter,
            "{position} {bad:?}"
        );
    }
    // Non-ASCII of the same byte length as what it replaces never reaches slicing.
    let mut typo = key.to_owned();
    typo.replace_range(20..22, "é");
    assert_eq!(
        keys().parse(&typo).unwrap_err(),
        ApiKeyFormatError::InvalidCharacter
    );
    // The separator between id and secret must be `_`.
    let mut typo = key.to_owned();
    typo.replace_range(15..16, "0");
    assert_eq!(
        keys().parse(&typo).unwrap_err(),
        ApiKeyFormatError::InvalidCharacter
    );
}

#[test]
fn oversized_input_is_refused_unread() {
    let huge = format!("wdn_{}", "a".repeat(MAX_KEY_LEN));
    assert_eq!(keys().parse(&huge).unwrap_err(), ApiKeyFormatError::TooLong);
    let megabyte = "x".repeat(1 << 20);
    assert_eq!(
        keys().parse(&megabyte).unwrap_err(),
        ApiKeyFormatError::TooLong
    );
}

#[test]
fn keyed_and_unkeyed_hashes_differ() {
    let plain = keys();
    let peppered = keys().with_pepper(&[1u8; 32]).unwrap();
    let other_pepper = keys().with_pepper(&[2u8; 32]).unwrap();
    assert!(!plain.is_keyed() && peppered.is_keyed());

    let (plaintext, stored) = new_key(&peppered);
    let parsed = peppered.parse(plaintext.as_str()).unwrap();
    assert!(peppered.verify(&parsed, &stored));
    assert_ne!(plain.hash(&parsed), peppered.hash(&parsed));
    assert_ne!(other_pepper.hash(&parsed), peppered.hash(&parsed));
    // A key stored with a pepper does not verify without it, nor with another.
    assert!(!plain.verify(&parsed, &stored));
    assert!(!other_pepper.verify(&parsed, &stored));

    assert_eq!(
        keys().with_pepper(&[1u8; 31]).unwrap_err(),
        ApiKeyError::ShortPepper
    );
}

#[test]
fn verify_needs_the_right_secret_and_id() {
    let keys = keys();
    let (plaintext, stored) = new_key(&keys);
    let (other_plaintext, other_stored) = new_key(&keys);
    let parsed = keys.parse(plaintext.as_str()).unwrap();
    let other = keys.parse(other_plaintext.as_str()).unwrap();

    assert!(keys.verify(&parsed, &stored));
    // Wrong secret under the right id.
    let wrong_secret = StoredKey {
        id: stored.id.clone(),
        hash: other_stored.hash,
    };
    assert!(!keys.verify(&parsed, &wrong_secret));
    // Right hash, other id (a row swapped in the database).
    let other_id = StoredKey {
        id: other_stored.id.clone(),
        hash: stored.hash,
    };
    assert!(!keys.verify(&parsed, &other_id));
    // Another key entirely.
    assert!(!keys.verify(&other, &stored));
    // A valid-format key with the same id but another secret (checksum recomputed).
    let forged = forge_same_id(&keys, plaintext.as_str());
    let forged = keys.parse(&forged).unwrap();
    assert_eq!(forged.id(), stored.id);
    assert!(!keys.verify(&forged, &stored));
}

/// The same prefix and id, another secret, a correct checksum: what an attacker who knows
/// the public id can send.
fn forge_same_id(keys: &ApiKeys, key: &str) -> String {
    let head = &key[..16]; // "wdn_" + id + "_"
    let secret = "A".repeat(43);
    let signed = format!("{head}{secret}");
    let mut checksum = crc32fast::hash(signed.as_bytes()) as u64;
    let mut digits = [b'0'; 6];
    for d in digits.iter_mut().rev() {
        *d = BASE62.as_bytes()[(checksum % 62) as usize];
        checksum /= 62;
    }
    let forged = format!("{signed}{}", String::from_utf8(digits.to_vec()).unwrap());
    assert!(keys.parse(&forged).is_ok());
    forged
}

#[test]
fn secrets_never_show_in_debug() {
    let keys = keys()
        .with_pepper(b"a pepper of at least thirty-two bytes")
        .unwrap();
    let (plaintext, _) = new_key(&keys);
    let secret = &plaintext.as_str()[16..59];
    let parsed = keys.parse(plaintext.as_str()).unwrap();
    for debug in [
        format!("{plaintext:?}"),
        format!("{parsed:?}"),
        format!("{keys:?}"),
    ] {
        assert!(!debug.contains(secret), "{debug}");
        assert!(!debug.contains("pepper of"), "{debug}");
    }
    assert!(format!("{parsed:?}").contains(parsed.id()));
}

#[test]
fn format_errors_deny_as_invalid_credentials() {
    let error = keys().parse("wdn_nope").unwrap_err();
    assert_eq!(error.reason(), "API key has the wrong length");
    assert_eq!(Denied::from(error), Denied::InvalidCredentials);
}
