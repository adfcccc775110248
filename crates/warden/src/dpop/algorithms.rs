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
/// assert_eq!(algs.names(), "ES256 EdDSA");
/// assert!(algs.contains(Algorithm::EdDSA) && !algs.contains(Algorithm::RS256));
/// assert!(!ProofAlgorithms::ALL.contains(Algorithm::HS256));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProofAlgorithms(u8);

impl ProofAlgorithms {
    /// ECDSA P-256 with SHA-256: what every DPoP client supports.
    pub const ES256: Self = Self(1);
    /// Ed25519.
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
            2 => "EdDSA",
            3 => "ES256 EdDSA",
            4 => "RS256",
            5 => "ES256 RS256",
            6 => "EdDSA RS256",
            7 => "ES256 EdDSA RS256",
            _ => "",
        }
    }

    /// The algorithms, in the order of [`names`](Self::names).
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256]
            .into_iter()
            .filter(move |alg| self.contains(*alg))
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
            let listed: Vec<&str> = set.iter().map(Algorithm::name).collect();
            assert_eq!(set.names(), listed.join(" "));
        }
    }
}
