//! OAuth 2.0 clients: registration and authentication (RFC 6749 §2).

use super::{DomainError, Warden, now, secrets};
use crate::storage::{Client, Storage, StorageError};

/// The public client of the built-in API docs (Swagger UI's Authorize dialog), which may use
/// the password grant without a secret, as FastAPI's docs do.
pub const DOCS_CLIENT_ID: &str = "warden-docs";

/// Grant types Warden serves.
pub const GRANT_TYPES: [&str; 5] = [
    "authorization_code",
    "password",
    "client_credentials",
    "refresh_token",
    super::token_exchange::TOKEN_EXCHANGE,
];

/// The OpenID Connect scopes (Core §5.4, §11): any user may grant them to a client that asks
/// (they name claims about the user, not permissions of the API), within the client's list.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The `alg`s an ID token may be signed with.
pub const ID_TOKEN_ALGS: [&str; 2] = ["RS256", "EdDSA"];

/// The most redirect URIs (and post-logout redirect URIs) a client may register, and the
/// longest one.
const MAX_URIS: usize = 16;
const MAX_URI_BYTES: usize = 2000;

/// A client to register.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    /// Skip the consent page (the operator's own applications).
    pub first_party: bool,
    /// Its users must sign in with a second factor.
    pub require_mfa: bool,
    /// Its authorization requests must be pushed first (RFC 9126 §6).
    pub require_par: bool,
    /// Its public keys: it authenticates with `private_key_jwt` (RFC 7523) and gets no
    /// secret. Public keys only, asymmetric (`EC` P-256, `OKP` Ed25519, `RSA`), at most 8.
    pub jwks: Option<warden::jwt::JwkSet>,
    /// Its access tokens must be DPoP-bound (RFC 9449 §5.2).
    pub dpop_bound: bool,
    pub post_logout_redirect_uris: Vec<String>,
    /// `RS256` (default) or `EdDSA`.
    pub id_token_alg: Option<String>,
}

/// Whether `uri` may be registered as a redirect URI: absolute, no fragment (RFC 6749
/// §3.1.2), and either `https`, `http` on a loopback address (RFC 8252 §7.3), or a
/// private-use scheme with a dot, as native apps use (RFC 8252 §7.1). Plain `http` to
/// anything else would send codes over the network in clear (RFC 9700 §4.1, §2.6).
pub fn valid_redirect_uri(uri: &str) -> bool {
    if uri.is_empty() || uri.len() > MAX_URI_BYTES || uri.contains('#') {
        return false;
    }
    if uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    match scheme {
        "https" => rest.len() > 2 && rest.starts_with("//"),
        "http" => {
            let authority = rest
                .strip_prefix("//")
                .map(|r| r.split(['/', '?']).next().unwrap_or(""))
                .unwrap_or("");
            let host = authority
                .rsplit_once(':')
                .filter(|(h, port)| !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
                .map_or(authority, |(h, _)| h);
            matches!(host, "127.0.0.1" | "[::1]" | "localhost")
        }
        _ => {
            scheme.contains('.')
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                && !rest.is_empty()
        }
    }
}

/// `new` checked against the rules every client follows — whoever registers it — and made
/// a client with `client_id` and `created_at`, a fresh secret when it is confidential and has
/// no keys (returned once, stored hashed).
pub(super) fn checked_client(
    new: NewClient,
    client_id: String,
    created_at: i64,
) -> Result<(Client, Option<String>), DomainError> {
    if new.name.is_empty() || new.name.len() > 200 {
        return Err(DomainError::InvalidRequest("name must be 1 to 200 bytes"));
    }
    for grant in &new.grant_types {
        if !GRANT_TYPES.contains(&grant.as_str()) {
            return Err(DomainError::InvalidRequest("unknown grant type"));
        }
    }
    if new.redirect_uris.len() > MAX_URIS || new.post_logout_redirect_uris.len() > MAX_URIS {
        return Err(DomainError::InvalidRequest("at most 16 redirect URIs"));
    }
    if !new.redirect_uris.iter().all(|u| valid_redirect_uri(u))
        || !new
            .post_logout_redirect_uris
            .iter()
            .all(|u| valid_redirect_uri(u))
    {
        return Err(DomainError::InvalidRequest(
            "a redirect URI must be absolute without a fragment: https, http on a loopback \
                 address, or a private-use scheme",
        ));
    }
    if new.grant_types.iter().any(|g| g == "authorization_code") && new.redirect_uris.is_empty() {
        return Err(DomainError::InvalidRequest(
            "authorization_code needs at least one redirect URI",
        ));
    }
    let id_token_alg = new.id_token_alg.unwrap_or_else(|| "RS256".into());
    if !ID_TOKEN_ALGS.contains(&id_token_alg.as_str()) {
        return Err(DomainError::InvalidRequest(
            "id_token_alg must be RS256 or EdDSA",
        ));
    }
    if new.scopes.len() > 64
        || new
            .scopes
            .iter()
            .any(|s| !super::api_keys::is_scope_token(s))
    {
        return Err(DomainError::InvalidRequest("invalid scope"));
    }
    if new.public && new.grant_types.iter().any(|g| g == "client_credentials") {
        // RFC 6749 §4.4: client credentials are for confidential clients only.
        return Err(DomainError::InvalidRequest(
            "a public client cannot use client_credentials",
        ));
    }
    let jwks = match &new.jwks {
        None => None,
        Some(_) if new.public => {
            return Err(DomainError::InvalidRequest(
                "a public client has no keys to authenticate with",
            ));
        }
        Some(set) => Some(super::client_assertions::registered_keys(set)?),
    };
    // A client with keys proves itself with them: it gets no secret to leak.
    let secret = if new.public || jwks.is_some() {
        None
    } else {
        Some(secrets::random(32)?)
    };
    let client = Client {
        client_id,
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
        created_at,
        first_party: new.first_party,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        id_token_alg,
        require_mfa: new.require_mfa,
        require_par: new.require_par,
        jwks,
        dpop_bound: new.dpop_bound,
        registration_token_hash: None,
    };
    Ok((client, secret))
}

impl<S: Storage> Warden<S> {
    /// Registers a client; returns it and, for a confidential client, its secret (shown once,
    /// stored as a hash).
    pub async fn create_client(
        &self,
        new: NewClient,
    ) -> Result<(Client, Option<String>), DomainError> {
        let (client, secret) = checked_client(new, secrets::random(16)?, now())?;
        match self.storage().create_client(&client).await {
            Ok(()) => Ok((client, secret)),
            Err(StorageError::Conflict(_)) => Err(DomainError::Internal("client id collision")),
            Err(other) => Err(other.into()),
        }
    }

    /// [`create_client`](Self::create_client), recorded in the audit log as done by `actor`.
    pub async fn register_client(
        &self,
        new: NewClient,
        actor: Option<&str>,
    ) -> Result<(Client, Option<String>), DomainError> {
        let (client, secret) = self.create_client(new).await?;
        self.audit(
            "client.created",
            "success",
            actor,
            Some(&client.client_id),
            None,
            None,
        )
        .await;
        Ok((client, secret))
    }

    /// Every registered client.
    pub async fn list_clients(&self) -> Result<Vec<Client>, DomainError> {
        Ok(self.storage().list_clients().await?)
    }

    /// The client `client_id`, if registered.
    pub async fn find_client(&self, client_id: &str) -> Result<Option<Client>, DomainError> {
        if client_id.len() > 128 {
            return Ok(None);
        }
        Ok(self.storage().client(client_id).await?)
    }

    /// Deletes a client (its codes and consents go with it); whether it existed.
    pub async fn remove_client(
        &self,
        client_id: &str,
        actor: Option<&str>,
    ) -> Result<bool, DomainError> {
        if client_id.len() > 128 {
            return Ok(false);
        }
        let existed = self.storage().delete_client(client_id).await?;
        if existed {
            self.audit(
                "client.deleted",
                "success",
                actor,
                Some(client_id),
                None,
                None,
            )
            .await;
        }
        Ok(existed)
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
            first_party: true,
            post_logout_redirect_uris: Vec::new(),
            id_token_alg: "RS256".into(),
            require_mfa: false,
            require_par: false,
            jwks: None,
            dpop_bound: false,
            registration_token_hash: None,
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
