//! OAuth 2.0 clients: registration and authentication (RFC 6749 §2).

use super::{DomainError, Warden, now, secrets};
use crate::storage::{Client, Storage, StorageError};

/// The public client of the built-in API docs (Swagger UI's Authorize dialog), which may use
/// the password grant without a secret, as FastAPI's docs do.
pub const DOCS_CLIENT_ID: &str = "warden-docs";

/// Grant types Warden serves.
pub const GRANT_TYPES: [&str; 3] = ["password", "client_credentials", "refresh_token"];

/// A client to register.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
}

impl<S: Storage> Warden<S> {
    /// Registers a client; returns it and, for a confidential client, its secret (shown once,
    /// stored as a hash).
    pub async fn create_client(
        &self,
        new: NewClient,
    ) -> Result<(Client, Option<String>), DomainError> {
        if new.name.is_empty() || new.name.len() > 200 {
            return Err(DomainError::InvalidRequest("name must be 1 to 200 bytes"));
        }
        for grant in &new.grant_types {
            if !GRANT_TYPES.contains(&grant.as_str()) {
                return Err(DomainError::InvalidRequest("unknown grant type"));
            }
        }
        if new.public && new.grant_types.iter().any(|g| g == "client_credentials") {
            // RFC 6749 §4.4: client credentials are for confidential clients only.
            return Err(DomainError::InvalidRequest(
                "a public client cannot use client_credentials",
            ));
        }
        let secret = if new.public {
            None
        } else {
            Some(secrets::random(32)?)
        };
        let client = Client {
            client_id: secrets::random(16)?,
            name: new.name,
            secret_hash: secret.as_deref().map(secrets::digest),
            public: new.public,
            redirect_uris: new.redirect_uris,
            grant_types: if new.grant_types.is_empty() {
                vec!["client_credentials".into()]
            } else {
                new.grant_types
            },
            scopes: new.scopes,
            created_at: now(),
        };
        match self.storage().create_client(&client).await {
            Ok(()) => Ok((client, secret)),
            Err(StorageError::Conflict(_)) => Err(DomainError::Internal("client id collision")),
            Err(other) => Err(other.into()),
        }
    }

    pub(super) async fn ensure_docs_client(&self) -> Result<(), DomainError> {
        if self.storage().client(DOCS_CLIENT_ID).await?.is_some() {
            return Ok(());
        }
        let client = Client {
            client_id: DOCS_CLIENT_ID.into(),
            name: "Warden API docs".into(),
            secret_hash: None,
            public: true,
            redirect_uris: Vec::new(),
            grant_types: vec!["password".into(), "refresh_token".into()],
            scopes: Vec::new(),
            created_at: now(),
        };
        match self.storage().create_client(&client).await {
            // Another instance created it first.
            Ok(()) | Err(StorageError::Conflict(_)) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }

    /// Authenticates a client: a confidential one by its secret (compared as hashes, in
    /// constant time), a public one by its id alone. Unknown clients and wrong secrets are
    /// indistinguishable.
    pub async fn authenticate_client(
        &self,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<Client, DomainError> {
        if client_id.is_empty() || client_id.len() > 128 {
            return Err(DomainError::InvalidClient);
        }
        let client = self.storage().client(client_id).await?;
        let ok = match (&client, secret) {
            (Some(c), Some(secret)) => c
                .secret_hash
                .as_deref()
                .is_some_and(|h| secrets::matches(secret, h)),
            (Some(c), None) => c.public,
            (None, Some(secret)) => {
                // Same work as a known client, so timing does not reveal which ids exist.
                let _ = secrets::matches(secret, "0");
                false
            }
            (None, None) => false,
        };
        match client {
            Some(client) if ok => Ok(client),
            _ => Err(DomainError::InvalidClient),
        }
    }
}
