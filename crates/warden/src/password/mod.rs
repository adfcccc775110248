//! Password hashing: argon2id with OWASP's parameters, legacy bcrypt, and a bounded hashing
//! pool.
//!
//! - [`PasswordHasher`] writes argon2id PHC strings (m=19 MiB, t=2, p=1 by default,
//!   [`Params`]), checks argon2 and bcrypt `$2a$`/`$2b$`/`$2y$` hashes — what passlib and
//!   pwdlib wrote for FastAPI applications — and says when one needs rehashing
//!   ([`Verified`]). An unknown user costs as much as a wrong password.
//! - [`HashingPool`] runs it on a few dedicated threads behind a bounded queue, so hashing
//!   never runs on the async workers. In a login storm logins wait their turn up to a
//!   deadline ([`PoolConfig::max_wait`]) and only those that cannot be started by then are
//!   shed with 503 and `Retry-After` ([`PoolError::Busy`]): the threads keep hashing at full
//!   speed and other routes keep the CPU they need.
//!
//! ```
//! use warden::password::{HashingPool, Params, PasswordHasher, PoolConfig, Verified};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = HashingPool::new(PasswordHasher::new(Params::default())?, PoolConfig::default())?;
//!
//! // Sign-up.
//! let stored = pool.hash("correct horse battery staple").await?;
//!
//! // Log-in: `None` when the username is unknown, which costs the same.
//! match pool.verify_optional("correct horse battery staple", Some(&stored)).await? {
//!     Verified::Valid { needs_rehash: true } => { /* store pool.hash(password) */ }
//!     Verified::Valid { needs_rehash: false } => {}
//!     Verified::Invalid => { /* 401 */ }
//! }
//! # Ok(())
//! # }
//! ```

mod error;
mod hasher;
mod memory;
mod params;
mod pool;

pub use error::PasswordError;
pub use hasher::{BCRYPT_MAX_PASSWORD_BYTES, MAX_PASSWORD_BYTES, PasswordHasher, Verified};
pub use params::Params;
pub use pool::{HashingPool, PoolConfig, PoolError};
