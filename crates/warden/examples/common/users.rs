//! The demo user table of FastAPI's tutorials, on `warden::password`: argon2id hashes made at
//! start-up, checked on a bounded hashing pool that sheds load instead of queueing forever.

use std::collections::HashMap;
use std::sync::Arc;

use warden::password::{HashingPool, Params, PasswordHasher, PoolConfig, PoolError};

/// A stored user.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub disabled: bool,
    /// The scopes this user may be granted.
    pub scopes: Vec<String>,
    hashed_password: String,
}

/// The users, by name, and the pool that checks their passwords.
pub struct UserDb {
    users: HashMap<String, UserRecord>,
    pool: HashingPool,
}

impl UserDb {
    /// `johndoe` (password `DEMO_PASSWORD`, scopes `me` and `items`) and `alice` (disabled,
    /// password `ALICE_PASSWORD`).
    pub async fn demo() -> Result<Arc<Self>, Box<dyn std::error::Error>> {
        let pool = HashingPool::new(
            PasswordHasher::new(Params::default())?,
            PoolConfig::default(),
        )?;
        let john = pool.hash(&super::secret("DEMO_PASSWORD")).await?;
        let alice = pool.hash(&super::secret("ALICE_PASSWORD")).await?;
        let users = [
            UserRecord {
                username: "johndoe".into(),
                full_name: "John Doe".into(),
                email: "johndoe@example.com".into(),
                disabled: false,
                scopes: vec!["me".into(), "items".into()],
                hashed_password: john,
            },
            UserRecord {
                username: "alice".into(),
                full_name: "Alice Wonderson".into(),
                email: "alice@example.com".into(),
                disabled: true,
                scopes: vec!["me".into()],
                hashed_password: alice,
            },
        ];
        Ok(Arc::new(Self {
            users: users.into_iter().map(|u| (u.username.clone(), u)).collect(),
            pool,
        }))
    }

    /// The user, if the password is theirs. One argon2id verification runs whether or not the
    /// user exists (a dummy hash for unknown names), on the pool; `Err(Busy)` when the pool
    /// is saturated.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<UserRecord>, PoolError> {
        let user = self.users.get(username);
        let verdict = self
            .pool
            .verify_optional(password, user.map(|u| u.hashed_password.as_str()))
            .await?;
        Ok(user.filter(|_| verdict.is_valid()).cloned())
    }

    /// The user named `username`.
    pub fn get(&self, username: &str) -> Option<&UserRecord> {
        self.users.get(username)
    }
}
