//! Which signature algorithms a proof may use (RFC 9449 §4.3 check 5).

use crate::jwt::Algorithm;

/// The asymmetric algorithms a DPoP proof may be signed with: a small set fixed at compile
/// time by the [`DPoPScheme`](super::DPoPScheme), so the verifier, the `algs` parameter of
/// the challenge and the OpenAPI description all say the same thing.
///
/// `none` and HMAC are not representable: a proof's key is public by definition
/// (RFC 9449 §4.3, check 5).
///
/// ```
/// use warden::dpop::ProofAlgorithms;
/// use warden::jwt::Algorithm;
///
/// let algs = ProofAlgorithms::ES256.and(ProofAlgorithms::EDDSA);
/// assert_eq!(algs.names(), "ES256 Ed25519 EdDSA");
/// assert!(algs.contains(Algorithm::EdDSA) && !algs.contains(Algorithm::RS256));
/// assert_eq!(algs.accepts("Ed25519"), Some(Algorithm::EdDSA));
/// assert_eq!(algs.accepts("RS256"), None);
/// assert!(!ProofAlgorithms::ALL.contains(Algorithm::HS256));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProofAlgorithms(u8);

impl ProofAlgorithms {
    /// ECDSA P-256 with SHA-256: what every DPoP client supports.
    pub const ES256: Self = Self(1);
    /// Ed25519, under either name: `Ed25519` (RFC 9864, what current clients such as
    /// openid-client 6 send) or the older polymorphic `EdDSA` (RFC 8037).
    pub const EDDSA: Self = Self(2);
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys and up; slower to verify).
    pub const RS256: Self = Self(4);
    /// ES256 and EdDSA: the default, as node-oidc-provider's.
    pub const DEFAULT: Self = Self(3);
    /// Every algorithm Warden verifies proofs with.
    pub const ALL: Self = Self(7);

    /// Both sets.
    pub const fn and(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    const fn bit(alg: Algorithm) -> u8 {
        match alg {
            Algorithm::ES256 => 1,
            Algorithm::EdDSA => 2,
            Algorithm::RS256 => 4,
            Algorithm::HS256 => 0,
        }
    }

    /// Whether `alg` is in the set.
    pub const fn contains(self, alg: Algorithm) -> bool {
        let bit = Self::bit(alg);
        bit != 0 && self.0 & bit == bit
    }

    /// The `alg` values, space-separated: the `algs` parameter of a `DPoP` challenge
    /// (RFC 9449 §7.1).
    pub const fn names(self) -> &'static str {
        match self.0 {
            1 => "ES256",
            2 => "Ed25519 EdDSA",
            3 => "ES256 Ed25519 EdDSA",
            4 => "RS256",
            5 => "ES256 RS256",
            6 => "Ed25519 EdDSA RS256",
            7 => "ES256 Ed25519 EdDSA RS256",
            _ => "",
        }
    }

    /// The `alg` values, in the order of [`names`](Self::names): what metadata lists as
    /// `dpop_signing_alg_values_supported` (RFC 9449 §5.1).
    pub fn values(self) -> impl Iterator<Item = &'static str> {
        self.names().split(' ').filter(|name| !name.is_empty())
    }

    /// The algorithm a proof's `alg` names, if the set accepts it. `Ed25519` (RFC 9864)
    /// and `EdDSA` name the same algorithm here: Ed25519 is the only EdDSA curve accepted.
    pub fn accepts(self, alg: &str) -> Option<Algorithm> {
        let algorithm = match alg {
            "Ed25519" => Algorithm::EdDSA,
            other => Algorithm::from_name(other)?,
        };
        self.contains(algorithm).then_some(algorithm)
    }
}

impl Default for ProofAlgorithms {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_members() {
        for bits in 1..=7u8 {
            let set = ProofAlgorithms(bits);
            for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
                assert_eq!(
                    set.values().any(|v| v == alg.name()),
                    set.contains(alg),
                    "{bits} {alg}"
                );
                assert_eq!(set.accepts(alg.name()), set.contains(alg).then_some(alg));
            }
            assert_eq!(
                set.values().any(|v| v == "Ed25519"),
                set.contains(Algorithm::EdDSA)
            );
        }
        assert_eq!(ProofAlgorithms::ALL.accepts("none"), None);
        assert_eq!(ProofAlgorithms::ALL.accepts("HS256"), None);
        assert_eq!(
            ProofAlgorithms::ALL.accepts("ed25519"),
            None,
            "alg is case-sensitive"
        );
    }
}
