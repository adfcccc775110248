//! The synchronous hasher: argon2id PHC strings, legacy bcrypt, rehash detection.

use std::fmt;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Version};

use super::{Params, PasswordError, memory};

/// The longest password accepted, in bytes. Longer ones are refused with
/// [`PasswordError::TooLong`] before any hashing, so nobody makes the server hash megabytes.
///
/// OWASP (Authentication Cheat Sheet, "Implement Proper Password Strength Controls") asks
/// for a maximum of at least 64 characters; 1024 bytes leaves room for passphrases of 256
/// four-byte characters.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The longest password bcrypt reads, in bytes; the rest would be ignored silently.
pub const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;

/// Stored argon2 hashes may ask for up to this much memory (or the configured amount, if
/// larger). argon2-cffi's and pwdlib's default is 64 MiB.
const MAX_VERIFY_MEMORY_KIB: u32 = 256 * 1024;
/// Stored argon2 hashes may ask for up to this many passes (or the configured number).
const MAX_VERIFY_ITERATIONS: u32 = 64;
/// Stored bcrypt hashes may ask for up to this cost: 2¹⁶ rounds, seconds per check.
const MAX_BCRYPT_COST: u32 = 16;
/// The salt length this hasher writes (PHC string format, "Function duties").
const SALT_BYTES: usize = 16;

/// The outcome of checking a password against a stored hash.
///
/// ```
/// use warden::password::Verified;
///
/// let outcome = Verified::Valid { needs_rehash: true };
/// assert!(outcome.is_valid() && outcome.needs_rehash());
/// assert!(!Verified::Invalid.is_valid());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a password check that is not looked at lets everybody in"]
pub enum Verified {
    /// The password matches. When `needs_rehash` is set, the stored hash is bcrypt, another
    /// argon2 variant, or argon2id with other parameters than the hasher's: hash the
    /// password again now, while it is at hand, and store the new hash.
    Valid {
        /// Whether the stored hash should be replaced by [`PasswordHasher::hash`]'s.
        needs_rehash: bool,
    },
    /// The password does not match, or the user is unknown.
    Invalid,
}

impl Verified {
    /// Whether the password matched.
    pub fn is_valid(self) -> bool {
        matches!(self, Self::Valid { .. })
    }

    /// Whether the password matched and the stored hash should be replaced.
    pub fn needs_rehash(self) -> bool {
        matches!(self, Self::Valid { needs_rehash: true })
    }
}

/// Hashes passwords with argon2id and checks them against argon2 and legacy bcrypt hashes.
///
/// Every call runs for tens of milliseconds on the calling thread: in async code use a
/// [`HashingPool`](super::HashingPool), which runs this hasher on a few dedicated threads.
///
/// - [`hash`](Self::hash) writes PHC strings: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`,
///   with a 16-byte random salt and a 32-byte output.
/// - [`verify`](Self::verify) reads argon2id/argon2i/argon2d PHC strings (argon2-cffi,
///   pwdlib, passlib, libsodium and the `argon2` crate write them alike) and bcrypt
///   `$2a$`, `$2b$`, `$2y$` hashes (passlib, pwdlib, Python's `bcrypt`, PHP), and says when a
///   hash should be upgraded.
/// - [`verify_unknown_user`](Self::verify_unknown_user) costs as much as a wrong password,
///   so response times do not tell which usernames exist (OWASP Authentication Cheat Sheet,
///   "Authentication Responses").
///
/// Passwords are checked byte for byte, without Unicode normalisation: the hashes written by
/// Python applications were made from the UTF-8 bytes as typed, and must keep verifying.
///
/// ```
/// use warden::password::{Params, PasswordHasher, Verified};
///
/// # fn main() -> Result<(), warden::password::PasswordError> {
/// let hasher = PasswordHasher::new(Params::default())?;
/// let stored = hasher.hash("correct horse battery staple")?;
/// assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
///
/// assert_eq!(hasher.verify("correct horse battery staple", &stored)?, Verified::Valid { needs_rehash: false });
/// assert_eq!(hasher.verify("Tr0ub4dor&3", &stored)?, Verified::Invalid);
/// assert_eq!(hasher.verify_unknown_user("whatever")?, Verified::Invalid);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    argon2: Argon2<'static>,
    /// What unknown users are checked against: a random salt and output framed with
    /// `params`, made on first use (so a start needs no randomness for it).
    dummy: std::sync::OnceLock<String>,
}

impl PasswordHasher {
    /// A hasher writing argon2id hashes with `params`.
    ///
    /// Computes no hash: the stand-in that unknown users are checked against is a random salt
    /// and a random output framed with `params` (made on first use), which costs a
    /// verification exactly what a real hash would and matches no password. Fails if
    /// `params` are outside argon2's limits.
    ///
    /// ```
    /// use warden::password::{Params, PasswordHasher};
    ///
    /// let hasher = PasswordHasher::new(Params::default()).unwrap();
    /// assert_eq!(hasher.params(), Params::OWASP);
    /// ```
    pub fn new(params: Params) -> Result<Self, PasswordError> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.to_argon2()?);
        Ok(Self {
            params,
            argon2,
            dummy: std::sync::OnceLock::new(),
        })
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> Params {
        self.params
    }

    /// Hashes `password` into an argon2id PHC string, with a fresh random salt.
    ///
    /// ```
    /// # let hasher = warden::password::PasswordHasher::new(warden::password::Params::default()).unwrap();
    /// let a = hasher.hash("hunter2").unwrap();
    /// let b = hasher.hash("hunter2").unwrap();
    /// assert_ne!(a, b); // salted
    /// ```
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        check_length(password)?;
        hash_bytes(&self.argon2, ARGON2ID_V13, password.as_bytes())
    }

    /// Checks `password` against `stored`, an argon2 PHC string or a bcrypt hash.
    ///
    /// - argon2id with this hasher's parameters: `Valid { needs_rehash: false }`;
    /// - argon2id with other parameters (weaker or stronger), argon2i, argon2d, argon2
    ///   version 1.0, or any bcrypt hash: `Valid { needs_rehash: true }`;
    /// - bcrypt with a password longer than [`BCRYPT_MAX_PASSWORD_BYTES`]: `Invalid`. bcrypt
    ///   ignores everything after the 72nd byte, so accepting it would let any string that
    ///   starts with the same 72 bytes in. The hash is still computed (on the first 72 bytes)
    ///   so the refusal takes as long as any other. Python's `bcrypt` ≥ 5 refuses to hash such
    ///   passwords; a user whose longer password was truncated by an older passlib must reset
    ///   it;
    /// - anything else: [`PasswordError::UnknownFormat`] or [`PasswordError::MalformedHash`],
    ///   never `Valid`.
    ///
    /// Stored hashes asking for more than 256 MiB or 64 passes (argon2, or this hasher's own
    /// parameters if larger) or a bcrypt cost above 16 are refused with
    /// [`PasswordError::ExcessiveCost`] without being computed: a hashing worker holds the
    /// memory a hash asks for, and a hash costing minutes would take a worker away.
    ///
    /// ```
    /// use warden::password::{Params, PasswordHasher, PasswordError, Verified};
    ///
    /// let hasher = PasswordHasher::new(Params::default()).unwrap();
    /// // Written by passlib/pwdlib for a FastAPI app (cost 4 to keep the example fast).
    /// let legacy = "$2b$04$7s7rvQaIHT5SGcl9/tAx1Oiqm20ghPR9sjwGVcpKl6nJ0.aEw7GOq";
    /// assert_eq!(hasher.verify("password", legacy), Ok(Verified::Valid { needs_rehash: true }));
    /// assert_eq!(hasher.verify("password", "plaintext"), Err(PasswordError::UnknownFormat));
    /// ```
    pub fn verify(&self, password: &str, stored: &str) -> Result<Verified, PasswordError> {
        check_length(password)?;
        match Scheme::of(stored)? {
            Scheme::Argon2 => self.verify_argon2(password.as_bytes(), stored),
            Scheme::Bcrypt => verify_bcrypt(password.as_bytes(), stored),
        }
    }

    /// Spends the cost of a verification against a dummy argon2id hash made with this
    /// hasher's parameters, and answers `Invalid`. Call it when the username is unknown, so
    /// that an unknown user and a wrong password take the same time (FastAPI does the same
    /// since fastapi/fastapi#14908).
    ///
    /// A too-long password is refused with [`PasswordError::TooLong`], as by
    /// [`verify`](Self::verify). Users still on bcrypt take bcrypt's time, which differs.
    ///
    /// ```
    /// # use warden::password::{Params, PasswordHasher, Verified};
    /// # let hasher = PasswordHasher::new(Params::default()).unwrap();
    /// assert_eq!(hasher.verify_unknown_user("hunter2"), Ok(Verified::Invalid));
    /// ```
    pub fn verify_unknown_user(&self, password: &str) -> Result<Verified, PasswordError> {
        check_length(password)?;
        let outcome = self.verify_argon2(password.as_bytes(), self.dummy()?);
        // The outcome is discarded; `black_box` keeps the work from being optimised away.
        std::hint::black_box(outcome).ok();
        Ok(Verified::Invalid)
    }

    /// The stand-in hash for unknown users. Verifying against it runs argon2id with this
    /// hasher's parameters on the given password and its salt, then compares with a random
    /// 256-bit output: the same work as for a real user, and a match has probability
    /// 2^-256. (Hashing a random password instead would cost a hash, and its memory, for the
    /// same result.)
    fn dummy(&self) -> Result<&str, PasswordError> {
        if let Some(dummy) = self.dummy.get() {
            return Ok(dummy);
        }
        let mut salt = [0u8; SALT_BYTES];
        let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
        for buf in [&mut salt[..], &mut out[..]] {
            aws_lc_rs::rand::fill(buf)
                .map_err(|_| PasswordError::Internal("random generator failed"))?;
        }
        let made = phc(&self.argon2, ARGON2ID_V13, &salt, &out)?;
        // Two threads racing here each made a valid stand-in; the first one set is kept.
        Ok(self.dummy.get_or_init(|| made))
    }

    /// [`verify`](Self::verify) when the user was found (`Some(stored hash)`),
    /// [`verify_unknown_user`](Self::verify_unknown_user) when not: the one call a login
    /// handler needs.
    ///
    /// ```
    /// # use warden::password::{Params, PasswordHasher, Verified};
    /// # let hasher = PasswordHasher::new(Params::default()).unwrap();
    /// struct User { password_hash: String }
    /// let user: Option<User> = None; // looked up by username
    /// let outcome = hasher.verify_optional("hunter2", user.as_ref().map(|u| u.password_hash.as_str()));
    /// assert_eq!(outcome, Ok(Verified::Invalid));
    /// ```
    pub fn verify_optional(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<Verified, PasswordError> {
        match stored {
            Some(stored) => self.verify(password, stored),
            None => self.verify_unknown_user(password),
        }
    }

    /// Whether `stored` should be replaced by a hash made with this hasher's parameters,
    /// without checking a password (for a migration report, say). Unknown or malformed
    /// hashes need rehashing too.
    ///
    /// ```
    /// # use warden::password::{Params, PasswordHasher};
    /// # let hasher = PasswordHasher::new(Params::default()).unwrap();
    /// assert!(hasher.needs_rehash("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$SGFzaEhhc2hIYXNoSGFzaEhhc2hIYXNoSGFzaEhhc2g"));
    /// assert!(hasher.needs_rehash("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"));
    /// ```
    pub fn needs_rehash(&self, stored: &str) -> bool {
        match Scheme::of(stored) {
            Ok(Scheme::Argon2) => PasswordHash::new(stored)
                .map_err(|_| PasswordError::MalformedHash)
                .and_then(|hash| self.argon2_needs_rehash(&hash))
                .unwrap_or(true),
            Ok(Scheme::Bcrypt) | Err(_) => true,
        }
    }

    fn verify_argon2(&self, password: &[u8], stored: &str) -> Result<Verified, PasswordError> {
        let hash = PasswordHash::new(stored).map_err(|_| PasswordError::MalformedHash)?;
        let needs_rehash = self.argon2_needs_rehash(&hash)?;
        // The parameters come from `hash`, not from `self.argon2` (PHC string format).
        let algorithm =
            Algorithm::new(hash.algorithm.as_str()).map_err(|_| PasswordError::MalformedHash)?;
        let version = match hash.version {
            Some(version) => {
                Version::try_from(version).map_err(|_| PasswordError::MalformedHash)?
            }
            None => Version::V0x10,
        };
        let params = argon2::Params::try_from(&hash).map_err(|_| PasswordError::MalformedHash)?;
        let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
            return Err(PasswordError::MalformedHash);
        };
        let expected = expected.as_bytes();
        let mut out = [0u8; Output::MAX_LENGTH];
        let out = out
            .get_mut(..expected.len())
            .ok_or(PasswordError::MalformedHash)?;
        let argon2 = Argon2::new(algorithm, version, params);
        match memory::hash_into(
            &argon2,
            password,
            salt.as_ref(),
            out,
            self.argon2.params().block_count(),
        ) {
            Ok(()) => {}
            Err(argon2::Error::OutOfMemory) => {
                return Err(PasswordError::Internal("out of memory"));
            }
            Err(_) => return Err(PasswordError::MalformedHash),
        }
        if crate::constant_time_eq(out, expected) {
            Ok(Verified::Valid { needs_rehash })
        } else {
            Ok(Verified::Invalid)
        }
    }

    /// Reads a parsed argon2 hash's parameters: refuses excessive ones, and tells whether
    /// they differ from this hasher's.
    fn argon2_needs_rehash(&self, hash: &PasswordHash) -> Result<bool, PasswordError> {
        let algorithm =
            Algorithm::new(hash.algorithm.as_str()).map_err(|_| PasswordError::MalformedHash)?;
        let version = match hash.version {
            Some(version) => {
                Version::try_from(version).map_err(|_| PasswordError::MalformedHash)?
            }
            // The PHC string format allows leaving it out; argon2 then means version 1.0.
            None => Version::V0x10,
        };
        let params = argon2::Params::try_from(hash).map_err(|_| PasswordError::MalformedHash)?;
        if params.m_cost() > MAX_VERIFY_MEMORY_KIB.max(self.params.memory_kib)
            || params.t_cost() > MAX_VERIFY_ITERATIONS.max(self.params.iterations)
        {
            return Err(PasswordError::ExcessiveCost);
        }
        let salt_len = hash.salt.as_ref().map_or(0, |salt| salt.len());
        Ok(algorithm != Algorithm::Argon2id
            || version != Version::V0x13
            || params.m_cost() != self.params.memory_kib
            || params.t_cost() != self.params.iterations
            || params.p_cost() != self.params.parallelism
            || params.output_len() != Some(argon2::Params::DEFAULT_OUTPUT_LEN)
            || salt_len < SALT_BYTES
            || !params.keyid().is_empty()
            || !params.data().is_empty())
    }
}

/// Only the parameters: the dummy hash is of no interest, and no password is ever held.
impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// The schemes a stored hash can be in, told by its prefix.
enum Scheme {
    Argon2,
    Bcrypt,
}

impl Scheme {
    fn of(stored: &str) -> Result<Self, PasswordError> {
        const ARGON2: [&str; 3] = ["$argon2id$", "$argon2i$", "$argon2d$"];
        // `$2x$` marks hashes from crypt_blowfish's sign-extension bug (CVE-2011-2483);
        // they do not verify correctly anywhere else and are refused as unknown.
        const BCRYPT: [&str; 3] = ["$2a$", "$2b$", "$2y$"];
        if ARGON2.iter().any(|prefix| stored.starts_with(prefix)) {
            Ok(Self::Argon2)
        } else if BCRYPT.iter().any(|prefix| stored.starts_with(prefix)) {
            Ok(Self::Bcrypt)
        } else {
            Err(PasswordError::UnknownFormat)
        }
    }
}

fn check_length(password: &str) -> Result<(), PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES,
        });
    }
    Ok(())
}

/// What this hasher writes.
const ARGON2ID_V13: (Algorithm, Version) = (Algorithm::Argon2id, Version::V0x13);

/// A PHC string for `password` with a fresh 16-byte salt and a 32-byte output, computed in
/// this thread's reusable working memory; `kind` names the algorithm and version `argon2`
/// was made with (the crate does not say).
fn hash_bytes(
    argon2: &Argon2<'_>,
    kind: (Algorithm, Version),
    password: &[u8],
) -> Result<String, PasswordError> {
    let mut salt = [0u8; SALT_BYTES];
    aws_lc_rs::rand::fill(&mut salt)
        .map_err(|_| PasswordError::Internal("random generator failed"))?;
    let mut out = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
    // The calling thread (a hashing worker) keeps the working memory for its next hash.
    let keep = argon2.params().block_count();
    memory::hash_into(argon2, password, &salt, &mut out, keep).map_err(argon2_error)?;
    phc(argon2, kind, &salt, &out)
}

/// The PHC string of an argon2 output: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
fn phc(
    argon2: &Argon2<'_>,
    kind: (Algorithm, Version),
    salt: &[u8],
    out: &[u8],
) -> Result<String, PasswordError> {
    let phc = PasswordHash {
        algorithm: kind.0.ident(),
        version: Some(kind.1.into()),
        params: ParamsString::try_from(argon2.params())
            .map_err(|_| PasswordError::Internal("argon2 parameters"))?,
        salt: Some(Salt::new(salt).map_err(|_| PasswordError::Internal("salt"))?),
        hash: Some(Output::new(out).map_err(|_| PasswordError::Internal("argon2 output"))?),
    };
    Ok(phc.to_string())
}

fn argon2_error(error: argon2::Error) -> PasswordError {
    match error {
        argon2::Error::OutOfMemory => PasswordError::Internal("out of memory"),
        _ => PasswordError::Internal("argon2 failed"),
    }
}

fn verify_bcrypt(password: &[u8], stored: &str) -> Result<Verified, PasswordError> {
    // "$2b$12$…": the cost is the two digits after the prefix.
    let cost = stored
        .get(4..6)
        .and_then(|digits| digits.parse::<u32>().ok())
        .ok_or(PasswordError::MalformedHash)?;
    if cost > MAX_BCRYPT_COST {
        return Err(PasswordError::ExcessiveCost);
    }
    let too_long = password.len() > BCRYPT_MAX_PASSWORD_BYTES;
    let checked = &password[..password.len().min(BCRYPT_MAX_PASSWORD_BYTES)];
    // The bcrypt crate terminates the key with NUL below 72 bytes, as OpenBSD's bcrypt and
    // Python's `bcrypt` do, so hashes written by either verify here.
    match bcrypt::verify(checked, stored) {
        Ok(true) if !too_long => Ok(Verified::Valid { needs_rehash: true }),
        Ok(_) => Ok(Verified::Invalid),
        Err(_) => Err(PasswordError::MalformedHash),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small parameters, so the tests run fast; never use them in production.
    const FAST: Params = Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(FAST).unwrap()
    }

    #[test]
    fn round_trip_writes_argon2id_with_the_params() {
        let hasher = hasher();
        let stored = hasher.hash("pässwörd").unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
            "{stored}"
        );
        assert_eq!(
            hasher.verify("pässwörd", &stored),
            Ok(Verified::Valid {
                needs_rehash: false
            })
        );
        assert_eq!(hasher.verify("passwörd", &stored), Ok(Verified::Invalid));
        assert!(!hasher.needs_rehash(&stored));
    }

    #[test]
    fn other_params_need_rehash() {
        let old = hasher().hash("pw").unwrap();
        let stronger = PasswordHasher::new(Params {
            memory_kib: 128,
            ..FAST
        })
        .unwrap();
        assert_eq!(
            stronger.verify("pw", &old),
            Ok(Verified::Valid { needs_rehash: true })
        );
        assert!(stronger.needs_rehash(&old));
    }

    #[test]
    fn other_variants_need_rehash() {
        for algorithm in [Algorithm::Argon2i, Algorithm::Argon2d] {
            let argon2 = Argon2::new(algorithm, Version::V0x13, FAST.to_argon2().unwrap());
            let stored = hash_bytes(&argon2, (algorithm, Version::V0x13), b"pw").unwrap();
            assert_eq!(
                hasher().verify("pw", &stored),
                Ok(Verified::Valid { needs_rehash: true }),
                "{algorithm}"
            );
        }
        let v10 = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x10,
            FAST.to_argon2().unwrap(),
        );
        let stored = hash_bytes(&v10, (Algorithm::Argon2id, Version::V0x10), b"pw").unwrap();
        assert!(hasher().verify("pw", &stored).unwrap().needs_rehash());
    }

    #[test]
    fn excessive_costs_are_refused_without_hashing() {
        let hasher = hasher();
        let huge = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$SGFzaEhhc2hIYXNoSGFzaEhhc2hIYXNoSGFzaEhhc2g";
        assert_eq!(hasher.verify("pw", huge), Err(PasswordError::ExcessiveCost));
        let slow_bcrypt = "$2b$31$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        assert_eq!(
            hasher.verify("pw", slow_bcrypt),
            Err(PasswordError::ExcessiveCost)
        );
    }

    #[test]
    fn bcrypt_never_verifies_by_truncation() {
        let long = "a".repeat(100);
        let stored = bcrypt::hash(&long, 4).unwrap(); // the crate truncates to 72 bytes
        assert!(bcrypt::verify(&long, &stored).unwrap());
        assert_eq!(hasher().verify(&long, &stored), Ok(Verified::Invalid));
        assert_eq!(
            hasher().verify(&long[..72], &stored),
            Ok(Verified::Valid { needs_rehash: true })
        );
    }

    #[test]
    fn bcrypt_2x_and_others_are_unknown() {
        let hasher = hasher();
        for stored in [
            "$2x$04$7s7rvQaIHT5SGcl9/tAx1Oiqm20ghPR9sjwGVcpKl6nJ0.aEw7GOq",
            "$bcrypt-sha256$v=2,t=2b,r=12$n79VH.0Q2TMWmt3Oqt9uku$Kq4Noyk3094Y2QlB8NdRT8SvGiI4ft2",
            "$pbkdf2-sha256$29000$N2YMIWQsBWBMae09x1jrPQ$1t8iyB2A.WF/Z5JZv.lfCIhXXN33N23OSgQYThBYRfk",
            "hunter2",
            "",
        ] {
            assert_eq!(
                hasher.verify("pw", stored),
                Err(PasswordError::UnknownFormat)
            );
        }
    }

    #[test]
    fn malformed_hashes_are_errors() {
        let hasher = hasher();
        for stored in [
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$",
            "$argon2id$",
            "$argon2id$v=19$m=64,t=1,p=1$!!!!$????",
            "$argon2id$v=42$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$SGFzaEhhc2hIYXNoSGFzaEhhc2hIYXNoSGFzaEhhc2g",
            "$2b$04$short",
            "$2b$xx$7s7rvQaIHT5SGcl9/tAx1Oiqm20ghPR9sjwGVcpKl6nJ0.aEw7GOq",
            "$2b$04$7s7rvQaIHT5SGcl9/tAx1Oiqm20ghPR9sjwGVcpKl6nJ0.aEw7GOé",
        ] {
            assert_eq!(
                hasher.verify("pw", stored),
                Err(PasswordError::MalformedHash),
                "{stored}"
            );
        }
    }

    #[test]
    fn too_long_passwords_are_refused_everywhere() {
        let hasher = hasher();
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        let stored = hasher.hash("pw").unwrap();
        let too_long = PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES,
        };
        assert_eq!(hasher.hash(&long), Err(too_long));
        assert_eq!(hasher.verify(&long, &stored), Err(too_long));
        assert_eq!(hasher.verify_unknown_user(&long), Err(too_long));
        assert!(hasher.hash(&long[1..]).is_ok());
    }

    #[test]
    fn unknown_user_is_invalid_even_with_any_password() {
        let hasher = hasher();
        assert_eq!(hasher.verify_unknown_user(""), Ok(Verified::Invalid));
        assert_eq!(hasher.verify_optional("pw", None), Ok(Verified::Invalid));
        assert!(
            hasher
                .dummy()
                .unwrap()
                .starts_with("$argon2id$v=19$m=64,t=1,p=1$")
        );
    }

    #[test]
    fn debug_shows_only_params() {
        let debug = format!("{:?}", hasher());
        assert!(debug.contains("memory_kib: 64"), "{debug}");
        assert!(!debug.contains("argon2id"), "{debug}");
    }
}
