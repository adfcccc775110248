//! The demo user table of FastAPI's tutorials, with argon2id hashes computed at start-up.

use std::collections::HashMap;
use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

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

/// The users, by name.
pub struct UserDb {
    users: HashMap<String, UserRecord>,
    /// Verified against when the user is unknown, so that case costs the same time as a wrong
    /// password (no user enumeration by timing).
    dummy_hash: String,
}

impl UserDb {
    /// `johndoe` (password `DEMO_PASSWORD`, scopes `me` and `items`) and `alice` (disabled,
    /// password `ALICE_PASSWORD`).
    pub async fn demo() -> Result<Arc<Self>, Box<dyn std::error::Error>> {
        let john = super::secret("DEMO_PASSWORD");
        let alice = super::secret("ALICE_PASSWORD");
        tokio::task::spawn_blocking(move || {
            let hash = |password: &str| -> Result<String, argon2::password_hash::Error> {
                Ok(Argon2::default()
                    .hash_password(password.as_bytes())?
                    .to_string())
            };
            let users = [
                UserRecord {
                    username: "johndoe".into(),
                    full_name: "John Doe".into(),
                    email: "johndoe@example.com".into(),
                    disabled: false,
                    scopes: vec!["me".into(), "items".into()],
                    hashed_password: hash(&john)?,
                },
                UserRecord {
                    username: "alice".into(),
                    full_name: "Alice Wonderson".into(),
                    email: "alice@example.com".into(),
                    disabled: true,
                    scopes: vec!["me".into()],
                    hashed_password: hash(&alice)?,
                },
            ];
            Ok(Arc::new(Self {
                users: users.into_iter().map(|u| (u.username.clone(), u)).collect(),
                dummy_hash: hash(&super::random_token())?,
            }))
        })
        .await?
        .map_err(|e: argon2::password_hash::Error| e.to_string().into())
    }

    /// The user, if the password is theirs. Exactly one argon2id verification runs whether or
    /// not the user exists, off the async workers. (A production server bounds this pool and
    /// sheds load; see the `warden` server.)
    pub async fn authenticate(
        self: &Arc<Self>,
        username: &str,
        password: &str,
    ) -> Option<UserRecord> {
        let db = Arc::clone(self);
        let username = username.to_owned();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let user = db.users.get(&username);
            let hash = user.map_or(db.dummy_hash.as_str(), |u| u.hashed_password.as_str());
            let ok = Argon2::default()
                .verify_password(password.as_bytes(), hash)
                .is_ok();
            user.filter(|_| ok).cloned()
        })
        .await
        .ok()
        .flatten()
    }

    /// The user named `username`.
    pub fn get(&self, username: &str) -> Option<&UserRecord> {
        self.users.get(username)
    }
}
