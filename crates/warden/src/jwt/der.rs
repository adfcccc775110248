//! The one ASN.1 structure Warden writes: an RSA public key from a JWK's `n` and `e`
//! (RFC 8017 Appendix A.1.1), so aws-lc-rs can parse it once.
//!
//! ```text
//! RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
//! ```

/// DER of `RSAPublicKey` from big-endian unsigned `n` and `e`.
pub(crate) fn rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    let n = integer(n);
    let e = integer(e);
    let mut out = Vec::with_capacity(n.len() + e.len() + 8);
    out.push(0x30); // SEQUENCE
    push_len(&mut out, n.len() + e.len());
    out.extend_from_slice(&n);
    out.extend_from_slice(&e);
    out
}

/// A DER INTEGER holding the unsigned big-endian `value`.
fn integer(value: &[u8]) -> Vec<u8> {
    let start = value
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(value.len().saturating_sub(1));
    let value = &value[start.min(value.len())..];
    let value = if value.is_empty() { &[0u8][..] } else { value };
    // A leading 1 bit would make the integer negative: prefix a zero byte (X.690 §8.3.2).
    let pad = value[0] & 0x80 != 0;
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(0x02); // INTEGER
    push_len(&mut out, value.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(value);
    out
}

/// A DER length (X.690 §8.1.3): short form below 128, else long form.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{KeyPair, RsaKeyPair};

    #[test]
    fn matches_aws_lc_encoding_of_a_real_key() {
        let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let public = key.public_key();
        let n = public.modulus().big_endian_without_leading_zero();
        let e = public.exponent().big_endian_without_leading_zero();
        assert_eq!(rsa_public_key(n, e), public.as_ref());
    }

    #[test]
    fn small_values() {
        assert_eq!(integer(&[0x01, 0x00, 0x01]), [0x02, 0x03, 0x01, 0x00, 0x01]);
        assert_eq!(integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(&[0x00, 0x00, 0x05]), [0x02, 0x01, 0x05]);
        let mut out = Vec::new();
        push_len(&mut out, 300);
        assert_eq!(out, [0x82, 0x01, 0x2c]);
    }
}
