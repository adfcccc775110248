//! Dynamic client registration (RFC 7591): a client registers itself with JSON metadata,
//! authorized by an initial access token (an access token or API key holding
//! [`REGISTER_SCOPE`]) — or by nobody, when the operator opens registration.
//!
//! Self-asserted metadata is held to the same rules as an administrator's registration
//! (redirect URIs exact, `https` or loopback or private-use schemes; no `javascript:`), and
//! is never trusted beyond them: a registered client is never first-party (its users are
//! asked for consent), `logo_uri` and other URLs are not fetched, `jwks_uri` is refused
//! (keys are sent inline as `jwks`).

use serde::{Deserialize, Serialize};
use warden::jwt::JwkSet;

use super::clients::checked_client;
use super::{DomainError, NewClient, Warden, secrets};
use crate::storage::{Client, Storage};

/// The scope an initial access token needs (RFC 7591 §3): an administrator grants it to a
/// role, or creates an API key with it, for whoever may register clients.
pub const REGISTER_SCOPE: &str = "client:register";

/// The client metadata of RFC 7591 §2 that Warden reads; anything else is ignored (§2).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClientMetadata {
    pub redirect_uris: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub scope: Option<String>,
    pub jwks: Option<JwkSet>,
    pub jwks_uri: Option<String>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub id_token_signed_response_alg: Option<String>,
    pub dpop_bound_access_tokens: Option<bool>,
    pub require_pushed_authorization_requests: Option<bool>,
    pub software_statement: Option<String>,
}

/// Why a registration was refused (RFC 7591 §3.2.2).
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// `invalid_redirect_uri`.
    #[error("{0}")]
    RedirectUri(&'static str),
    /// `invalid_client_metadata`.
    #[error("{0}")]
    Metadata(&'static str),
    /// `invalid_software_statement`: software statements are not supported.
    #[error("software statements are not supported")]
    SoftwareStatement,
    /// The registration access token is missing or wrong (RFC 7592 §2: 401
    /// `invalid_token`), or the client is not one that registered itself.
    #[error("invalid registration access token")]
    InvalidToken,
    /// Anything else.
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<crate::storage::StorageError> for RegistrationError {
    fn from(error: crate::storage::StorageError) -> Self {
        Self::Domain(error.into())
    }
}

/// What the registration answers (RFC 7591 §3.2.1): the effective metadata.
#[derive(Debug, Serialize)]
pub struct RegisteredClient {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: i64,
    /// 0: the secret does not expire (required with a secret, §3.2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<&'static str>,
    pub token_endpoint_auth_method: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    pub id_token_signed_response_alg: String,
    pub dpop_bound_access_tokens: bool,
    pub require_pushed_authorization_requests: bool,
    /// Where the client reads, updates and deletes its registration (RFC 7592 §3).
    pub registration_client_uri: String,
    /// Its credential there: given at registration and rotated at each update, stored
    /// hashed (so a read cannot show it again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
}

impl RegisteredClient {
    fn of(client: Client, secret: Option<String>, issuer: &str, token: Option<String>) -> Self {
        let method = if client.public {
            "none"
        } else if client.jwks.is_some() {
            "private_key_jwt"
        } else {
            "client_secret_basic"
        };
        let code = client.grant_types.iter().any(|g| g == "authorization_code");
        Self {
            client_secret_expires_at: secret.as_ref().map(|_| 0),
            client_secret: secret,
            client_id_issued_at: client.created_at,
            response_types: if code { vec!["code"] } else { Vec::new() },
            token_endpoint_auth_method: method,
            scope: client.scopes.join(" "),
            jwks: client
                .jwks
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok()),
            client_name: client.name,
            redirect_uris: client.redirect_uris,
            post_logout_redirect_uris: client.post_logout_redirect_uris,
            grant_types: client.grant_types,
            id_token_signed_response_alg: client.id_token_alg,
            dpop_bound_access_tokens: client.dpop_bound,
            require_pushed_authorization_requests: client.require_par,
            registration_client_uri: format!("{issuer}/register/{}", client.client_id),
            registration_access_token: token,
            client_id: client.client_id,
        }
    }
}

/// The client `metadata` describes, checked against what registration allows (RFC 7591 §2):
/// the client rules themselves are checked when it is made.
fn new_client_from(metadata: ClientMetadata) -> Result<NewClient, RegistrationError> {
    if metadata.software_statement.is_some() {
        return Err(RegistrationError::SoftwareStatement);
    }
    if metadata.jwks_uri.is_some() {
        // Never fetched blindly (the SSRF of Keycloak #51219): keys come inline.
        return Err(RegistrationError::Metadata(
            "jwks_uri is not supported: send the keys as jwks",
        ));
    }
    let public = match metadata
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or("client_secret_basic")
    {
        "none" => true,
        "client_secret_basic" | "client_secret_post" => {
            if metadata.jwks.is_some() {
                return Err(RegistrationError::Metadata(
                    "jwks goes with token_endpoint_auth_method private_key_jwt",
                ));
            }
            false
        }
        "private_key_jwt" => {
            if metadata.jwks.is_none() {
                return Err(RegistrationError::Metadata(
                    "private_key_jwt needs the client's keys (jwks)",
                ));
            }
            false
        }
        _ => {
            return Err(RegistrationError::Metadata(
                "token_endpoint_auth_method must be none, client_secret_basic, \
                     client_secret_post or private_key_jwt",
            ));
        }
    };
    let grant_types = metadata
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    // §2.1: response types and grant types must agree; only the code flow exists here.
    let wants_code = grant_types.iter().any(|g| g == "authorization_code");
    match metadata.response_types.as_deref() {
        None => {}
        Some(types) if types.iter().all(|t| t == "code") && (types.is_empty() || wants_code) => {}
        Some(_) => {
            return Err(RegistrationError::Metadata(
                "response_types must be [\"code\"] with the authorization_code grant",
            ));
        }
    }
    let redirect_uris = metadata.redirect_uris.unwrap_or_default();
    if wants_code && redirect_uris.is_empty() {
        return Err(RegistrationError::RedirectUri(
            "redirect_uris are required for the authorization_code grant",
        ));
    }
    if !redirect_uris
        .iter()
        .chain(metadata.post_logout_redirect_uris.iter().flatten())
        .all(|uri| super::clients::valid_redirect_uri(uri))
    {
        return Err(RegistrationError::RedirectUri(
            "a redirect URI must be absolute without a fragment: https, http on a loopback \
                 address, or a private-use scheme",
        ));
    }
    let name = metadata
        .client_name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "Registered client".into());
    Ok(NewClient {
        name,
        public,
        redirect_uris,
        grant_types,
        scopes: metadata
            .scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        // A self-registered client never skips consent.
        first_party: false,
        require_mfa: false,
        require_par: metadata
            .require_pushed_authorization_requests
            .unwrap_or(false),
        jwks: metadata.jwks,
        dpop_bound: metadata.dpop_bound_access_tokens.unwrap_or(false),
        post_logout_redirect_uris: metadata.post_logout_redirect_uris.unwrap_or_default(),
        id_token_alg: metadata.id_token_signed_response_alg,
    })
}

impl<S: Storage> Warden<S> {
    /// Registers a client from its self-asserted `metadata` (RFC 7591 §3.1), `by` the user
    /// whose initial access token authorized it (`None` under open registration), audited.
    pub async fn register_dynamic_client(
        &self,
        metadata: ClientMetadata,
        by: Option<&str>,
    ) -> Result<RegisteredClient, RegistrationError> {
        let new = new_client_from(metadata)?;
        let (mut client, secret) = match self.create_client(new).await {
            Ok(created) => created,
            Err(DomainError::InvalidRequest(message)) => {
                return Err(RegistrationError::Metadata(message));
            }
            Err(other) => return Err(other.into()),
        };
        let token = secrets::random(32)?;
        client.registration_token_hash = Some(secrets::digest(&token));
        self.storage().update_client(&client).await?;
        self.audit(
            "client.registered",
            "success",
            by,
            Some(&client.client_id),
            None,
            Some("dynamic client registration (RFC 7591)"),
        )
        .await;
        Ok(RegisteredClient::of(
            client,
            secret,
            &self.config().issuer,
            Some(token),
        ))
    }

    /// The self-registered client `client_id` if `token` is its registration access token
    /// (compared as SHA-256 digests, in constant time).
    async fn registered(&self, client_id: &str, token: &str) -> Result<Client, RegistrationError> {
        if client_id.is_empty() || client_id.len() > 128 || token.len() > 256 {
            return Err(RegistrationError::InvalidToken);
        }
        let client = self.storage().client(client_id).await?;
        let valid = client
            .as_ref()
            .and_then(|c| c.registration_token_hash.as_deref())
            .is_some_and(|hash| secrets::matches(token, hash));
        match client {
            Some(client) if valid => Ok(client),
            _ => Err(RegistrationError::InvalidToken),
        }
    }

    /// `GET /register/{client_id}` (RFC 7592 §2.1): the registration as it stands.
    pub async fn read_registration(
        &self,
        client_id: &str,
        token: &str,
    ) -> Result<RegisteredClient, RegistrationError> {
        let client = self.registered(client_id, token).await?;
        Ok(RegisteredClient::of(
            client,
            None,
            &self.config().issuer,
            None,
        ))
    }

    /// `PUT /register/{client_id}` (RFC 7592 §2.2): a full replacement of the metadata,
    /// checked as at registration. The body's `client_id` must be the client's, a
    /// `client_secret` in it must be its secret; the way it authenticates cannot change
    /// (a new secret would have to be issued). The registration access token is rotated.
    pub async fn update_registration(
        &self,
        client_id: &str,
        token: &str,
        update: RegistrationUpdate,
    ) -> Result<RegisteredClient, RegistrationError> {
        let client = self.registered(client_id, token).await?;
        if update.client_id.as_deref() != Some(client_id) {
            return Err(RegistrationError::Metadata(
                "client_id in the body must be the client's",
            ));
        }
        if let Some(secret) = update.client_secret.as_deref()
            && !client
                .secret_hash
                .as_deref()
                .is_some_and(|hash| secrets::matches(secret, hash))
        {
            return Err(RegistrationError::Metadata(
                "client_secret is not the client's",
            ));
        }
        let new = new_client_from(update.metadata)?;
        if new.public != client.public || new.jwks.is_some() != client.jwks.is_some() {
            return Err(RegistrationError::Metadata(
                "token_endpoint_auth_method cannot change: register a new client",
            ));
        }
        let (mut updated, _) = checked_client(new, client.client_id.clone(), client.created_at)
            .map_err(|error| match error {
                DomainError::InvalidRequest(message) => RegistrationError::Metadata(message),
                other => other.into(),
            })?;
        updated.secret_hash = client.secret_hash.clone();
        let token = secrets::random(32)?;
        updated.registration_token_hash = Some(secrets::digest(&token));
        if !self.storage().update_client(&updated).await? {
            return Err(RegistrationError::InvalidToken);
        }
        self.audit(
            "client.updated",
            "success",
            None,
            Some(client_id),
            None,
            Some("client configuration endpoint (RFC 7592)"),
        )
        .await;
        Ok(RegisteredClient::of(
            updated,
            None,
            &self.config().issuer,
            Some(token),
        ))
    }

    /// `DELETE /register/{client_id}` (RFC 7592 §2.3): the client and everything issued to
    /// it (codes, consents, refresh tokens go with it).
    pub async fn delete_registration(
        &self,
        client_id: &str,
        token: &str,
    ) -> Result<(), RegistrationError> {
        self.registered(client_id, token).await?;
        self.storage().delete_client(client_id).await?;
        self.audit(
            "client.deleted",
            "success",
            None,
            Some(client_id),
            None,
            Some("client configuration endpoint (RFC 7592)"),
        )
        .await;
        Ok(())
    }
}

/// A `PUT` to the client configuration endpoint: the metadata, and the identifiers RFC 7592
/// §2.2 asks the client to repeat.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegistrationUpdate {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    #[serde(flatten)]
    pub metadata: ClientMetadata,
}
