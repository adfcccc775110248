//! Pushed authorization requests (RFC 9126): a client sends its authorization request
//! straight to the server, authenticated, and the browser carries only a `request_uri`.
//! The parameters can then be neither read nor changed on the way, and a client (or the
//! whole server) can require it.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::authorization::{AuthorizationRequest, AuthorizeError};
use super::{DomainError, Warden, now, secrets};
use crate::storage::{Client, PushedRequest, Storage, StorageError};

/// How long a `request_uri` may wait for the browser, seconds (RFC 9126 §2.2: "short";
/// oidc-provider's cap). It is taken at `/authorize`: the login may then take as long as
/// it takes (the mistake of servers that checked the expiry again after a slow MFA login).
pub const PUSHED_REQUEST_TTL: i64 = 60;

/// How long the parameters of a pushed request stay good once taken at `/authorize`,
/// carried through the login and consent forms under a MAC, seconds.
const INTERACTION_TTL: i64 = 3600;

/// The prefix of every `request_uri` (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// What the pushed authorization request endpoint answers (RFC 9126 §2.2).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pushed {
    pub request_uri: String,
    pub expires_in: i64,
}

impl<S: Storage> Warden<S> {
    /// Whether `client`'s authorization requests must be pushed (its own setting, or the
    /// server's `require_pushed_authorization_requests`).
    pub fn requires_par(&self, client: &Client) -> bool {
        client.require_par || self.config().require_pushed_authorization_requests
    }

    /// `POST /par` (RFC 9126 §2): `client` (authenticated as at the token endpoint) pushes
    /// the authorization request `pairs`. It is checked as `/authorize` would check it —
    /// client, redirect URI, response type, PKCE, scope syntax — and stored for
    /// [`PUSHED_REQUEST_TTL`] seconds under the hash of a fresh `request_uri`.
    pub async fn push_authorization_request<'a>(
        &self,
        client: &Client,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Pushed, DomainError> {
        let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
        // §2.1: "request_uri" MUST NOT be pushed.
        if pairs.iter().any(|(name, _)| *name == "request_uri") {
            return Err(DomainError::InvalidRequest(
                "request_uri cannot be pushed (RFC 9126 §2.1)",
            ));
        }
        let mut request =
            AuthorizationRequest::from_pairs(pairs).map_err(DomainError::InvalidRequest)?;
        // The pushing client is the request's client (§2.1); a different `client_id` in the
        // body is another client's request.
        if request
            .client_id
            .as_deref()
            .is_some_and(|id| id != client.client_id)
        {
            return Err(DomainError::InvalidRequest(
                "client_id is not the authenticated client",
            ));
        }
        request.client_id = Some(client.client_id.clone());
        request.pushed = None;
        match self.check_authorization_request(&request).await {
            Ok(()) => {}
            Err(AuthorizeError::Page(message)) => return Err(DomainError::InvalidRequest(message)),
            Err(AuthorizeError::Redirect(_)) => {
                return Err(DomainError::InvalidRequest(
                    "the authorization request is invalid (response_type, PKCE, state or scope)",
                ));
            }
            Err(AuthorizeError::Domain(error)) => return Err(error),
        }
        let value = secrets::random(32)?;
        let request_uri = format!("{REQUEST_URI_PREFIX}{value}");
        let record = PushedRequest {
            request_hash: secrets::digest(&request_uri),
            client_id: client.client_id.clone(),
            params: request
                .pairs()
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
            expires_at: now() + PUSHED_REQUEST_TTL,
        };
        match self.storage().insert_pushed_request(&record).await {
            Ok(()) => {}
            Err(StorageError::Conflict(_)) => {
                return Err(DomainError::Internal("request_uri collision"));
            }
            Err(other) => return Err(other.into()),
        }
        Ok(Pushed {
            request_uri,
            expires_in: PUSHED_REQUEST_TTL,
        })
    }

    /// `/authorize?client_id=…&request_uri=…` (RFC 9126 §4): the pushed request, taken once,
    /// if it is `client_id`'s and has not expired — with a MAC so the login and consent forms
    /// can carry it as pushed. Anything else is an error page (no redirect URI is trusted
    /// yet).
    pub async fn take_pushed_request(
        &self,
        client_id: Option<&str>,
        request_uri: &str,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        const UNKNOWN: &str = "The application's pushed request is unknown, used or expired: \
                               go back to the application and start again.";
        let client_id = client_id.ok_or(AuthorizeError::Page(
            "The application did not identify itself (client_id).",
        ))?;
        if !request_uri.starts_with(REQUEST_URI_PREFIX) || request_uri.len() > 256 {
            return Err(AuthorizeError::Page(UNKNOWN));
        }
        let pushed = self
            .storage()
            .take_pushed_request(&secrets::digest(request_uri), client_id)
            .await?
            .ok_or(AuthorizeError::Page(UNKNOWN))?;
        // §4: bound to its client; expired ones are refused (and already gone).
        if pushed.client_id != client_id || pushed.expires_at <= now() {
            return Err(AuthorizeError::Page(UNKNOWN));
        }
        let mut request = AuthorizationRequest::from_pairs(
            pushed
                .params
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        )
        .map_err(|_| AuthorizeError::Page(UNKNOWN))?;
        request.pushed = Some(self.pushed_mac(&request, now() + INTERACTION_TTL));
        Ok(request)
    }

    /// Whether `request` carries a valid mark of having been pushed.
    pub(super) fn was_pushed(&self, request: &AuthorizationRequest) -> bool {
        let Some((expires, _)) = request.pushed.as_deref().and_then(|m| m.split_once('.')) else {
            return false;
        };
        let Ok(expires) = expires.parse::<i64>() else {
            return false;
        };
        expires > now()
            && request.pushed.as_deref().is_some_and(|mark| {
                warden::constant_time_eq(
                    mark.as_bytes(),
                    self.pushed_mac(request, expires).as_bytes(),
                )
            })
    }

    /// `{expires}.{HMAC}` over the request's parameters (not the mark itself), under the
    /// form key with its own label.
    fn pushed_mac(&self, request: &AuthorizationRequest, expires: i64) -> String {
        let mut context = hmac::Context::with_key(&self.inner.form_key);
        context.update(b"warden/pushed-authorization-request/v1\0");
        context.update(expires.to_string().as_bytes());
        for (name, value) in request.pairs() {
            if name == "par" {
                continue;
            }
            context.update(&[0]);
            context.update(name.as_bytes());
            context.update(&[0]);
            context.update(&(value.len() as u64).to_be_bytes());
            context.update(value.as_bytes());
        }
        format!(
            "{expires}.{}",
            URL_SAFE_NO_PAD.encode(context.sign().as_ref())
        )
    }
}
