//! Argon2id cost parameters.

use super::PasswordError;

/// The cost of one argon2id hash.
///
/// The default is OWASP's first recommendation: 19 MiB of memory, 2 iterations, 1 lane
/// (OWASP Password Storage Cheat Sheet, "Argon2id"; RFC 9106 §4 gives the same algorithm
/// with larger, second-choice settings). OWASP's equivalent alternatives trade memory for
/// time — `m=47104 t=1`, `m=12288 t=3`, `m=9216 t=4`, `m=7168 t=5` — all `p=1`.
///
/// Stored hashes whose parameters differ from these are still verified, and reported as
/// needing a rehash ([`Verified::Valid { needs_rehash: true }`](super::Verified)), so raising
/// the cost later upgrades users as they log in.
///
/// ```
/// use warden::password::Params;
///
/// assert_eq!(Params::default(), Params { memory_kib: 19456, iterations: 2, parallelism: 1 });
/// let stronger = Params { memory_kib: 47104, iterations: 1, ..Params::OWASP };
/// assert!(stronger.validate().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Params {
    /// Memory per hash, in KiB (argon2's `m`). Each concurrent hash holds this much.
    pub memory_kib: u32,
    /// Passes over the memory (argon2's `t`).
    pub iterations: u32,
    /// Lanes (argon2's `p`). The lanes run one after the other here (no rayon), so a
    /// value above 1 only changes the hash, not the speed.
    pub parallelism: u32,
}

impl Params {
    /// OWASP's recommendation: `m=19456` (19 MiB), `t=2`, `p=1`.
    pub const OWASP: Self = Self {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// Checks the parameters against argon2's limits (`m ≥ 8·p`, `t ≥ 1`, `1 ≤ p < 2²⁴`).
    ///
    /// ```
    /// use warden::password::Params;
    ///
    /// assert!(Params { memory_kib: 4, iterations: 1, parallelism: 1 }.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), PasswordError> {
        self.to_argon2().map(drop)
    }

    pub(super) fn to_argon2(self) -> Result<argon2::Params, PasswordError> {
        argon2::Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(argon2::Params::DEFAULT_OUTPUT_LEN),
        )
        .map_err(|_| PasswordError::InvalidParams)
    }
}

impl Default for Params {
    fn default() -> Self {
        Self::OWASP
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_owasp() {
        assert_eq!(Params::default(), Params::OWASP);
        assert_eq!(Params::OWASP.memory_kib, argon2::Params::DEFAULT_M_COST);
        assert_eq!(Params::OWASP.iterations, argon2::Params::DEFAULT_T_COST);
        assert_eq!(Params::OWASP.parallelism, argon2::Params::DEFAULT_P_COST);
    }

    #[test]
    fn invalid_params_are_refused() {
        for params in [
            Params {
                memory_kib: 19456,
                iterations: 0,
                parallelism: 1,
            },
            Params {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 0,
            },
            Params {
                memory_kib: 7,
                iterations: 2,
                parallelism: 1,
            },
        ] {
            assert!(matches!(
                params.validate(),
                Err(PasswordError::InvalidParams)
            ));
        }
    }
}
