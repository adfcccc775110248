//! Importing users with their existing password hashes, from a FastAPI app's database: the
//! bcrypt hashes passlib and pwdlib wrote verify as they are, and are replaced by argon2id
//! at the user's next successful login.

use serde::Deserialize;

use super::{DomainError, Warden, now, validate_username};
use crate::storage::{Storage, StorageError, User};

/// One user to import.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedUser {
    pub username: String,
    /// `$2a$`/`$2b$`/`$2y$` bcrypt, or an argon2 PHC string.
    pub password_hash: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub disabled: bool,
}

/// What an import did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ImportReport {
    pub imported: usize,
    /// Usernames already present, left untouched.
    pub skipped: Vec<String>,
    /// Usernames refused, with why (never the hash).
    pub rejected: Vec<(String, &'static str)>,
}

/// Whether `hash` is a format Warden verifies.
fn known_format(hash: &str) -> bool {
    let bcrypt = ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) && hash.len() == 60;
    let argon2 = hash.starts_with("$argon2id$")
        || hash.starts_with("$argon2i$")
        || hash.starts_with("$argon2d$");
    bcrypt || (argon2 && hash.len() <= 512)
}

/// Reads a JSON array of users, or CSV with a header line `username,password_hash[,email]`.
pub fn parse_import(text: &str) -> Result<Vec<ImportedUser>, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return serde_json::from_str(trimmed)
            .map_err(|e| format!("not a JSON array of users: {e}"));
    }
    let mut lines = trimmed.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or("empty file")?
        .split(',')
        .map(str::trim)
        .collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    let (Some(user_col), Some(hash_col)) = (column("username"), column("password_hash")) else {
        return Err("CSV needs a header with username and password_hash".into());
    };
    let email_col = column("email");
    lines
        .enumerate()
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let get = |c: usize| {
                fields
                    .get(c)
                    .copied()
                    .ok_or(format!("line {}: missing field", i + 2))
            };
            Ok(ImportedUser {
                username: get(user_col)?.to_owned(),
                password_hash: get(hash_col)?.to_owned(),
                email: email_col
                    .and_then(|c| fields.get(c))
                    .filter(|e| !e.is_empty())
                    .map(|e| (*e).to_owned()),
                roles: Vec::new(),
                disabled: false,
            })
        })
        .collect()
}

impl<S: Storage> Warden<S> {
    /// Creates the users with their hashes as they are. Existing usernames are skipped.
    pub async fn import_users(
        &self,
        users: Vec<ImportedUser>,
    ) -> Result<ImportReport, DomainError> {
        let mut report = ImportReport::default();
        for imported in users {
            if validate_username(&imported.username).is_err() {
                report
                    .rejected
                    .push((imported.username, "invalid username"));
                continue;
            }
            if !known_format(&imported.password_hash) {
                report
                    .rejected
                    .push((imported.username, "unsupported password hash format"));
                continue;
            }
            let at = now();
            let user = User {
                id: uuid::Uuid::new_v4().to_string(),
                username: imported.username.clone(),
                email: imported.email,
                email_verified: false,
                password_hash: imported.password_hash,
                disabled: imported.disabled,
                roles: imported.roles,
                created_at: at,
                updated_at: at,
            };
            match self.storage().create_user(&user).await {
                Ok(()) => report.imported += 1,
                Err(StorageError::Conflict(_)) => report.skipped.push(imported.username),
                Err(other) => return Err(other.into()),
            }
        }
        self.audit(
            "user.imported",
            "success",
            None,
            None,
            None,
            Some(&format!("{} users", report.imported)),
        )
        .await;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_are_read() {
        let csv = "username,password_hash,email\nann,$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234,ann@x.io\n";
        let users = parse_import(csv).unwrap();
        assert_eq!(users[0].username, "ann");
        assert_eq!(users[0].email.as_deref(), Some("ann@x.io"));
        let json = r#"[{"username": "bo", "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}]"#;
        assert_eq!(parse_import(json).unwrap()[0].username, "bo");
        assert!(parse_import("name,hash\nx,y").is_err());
    }

    #[test]
    fn only_known_hash_formats() {
        assert!(known_format(
            "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
        ));
        assert!(!known_format("$1$md5crypt"));
        assert!(!known_format("plaintext"));
        assert!(!known_format(
            "$bcrypt-sha256$v=2,t=2b,r=12$n79VH.0Q2TMWmt3Oqt9uku$Kq4Noyk3094Y2QlB8NdRT8SvGiI4ft2"
        ));
    }
}
