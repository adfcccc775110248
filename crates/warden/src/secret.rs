//! Comparing secrets.

use subtle::ConstantTimeEq;

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
///
/// Use it for every comparison of a secret with a candidate (passwords in a demo, API keys,
/// CSRF tokens), never `==`, which returns at the first differing byte.
///
/// ```
/// assert!(warden::constant_time_eq(b"s3cret", b"s3cret"));
/// assert!(!warden::constant_time_eq(b"s3cret", b"s3creT"));
/// ```
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}
