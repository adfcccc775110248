//! What the token, revocation and introspection endpoints share: reading their
//! `application/x-www-form-urlencoded` body (bounded, each parameter at most once) and
//! authenticating the client (RFC 6749 §2.3.1).

use std::collections::HashMap;

use axum::extract::Request;
use base64::Engine;
use http::{HeaderMap, header};

use crate::domain::{CLIENT_ASSERTION_TYPE, ClientAuth, DOCS_CLIENT_ID, DomainError, Warden};
use crate::storage::{AnyStorage, Client};

/// The largest form body read.
const MAX_BODY: usize = 16 * 1024;

/// The form, each parameter at most once (RFC 6749 §3.2: "Request and response parameters
/// MUST NOT be included more than once"; RFC 7009 §2.1 and RFC 7662 §2.1 use the same
/// encoding).
pub(super) struct Form(HashMap<String, String>);

impl Form {
    /// Reads the request: its headers and its form body, which must be
    /// `application/x-www-form-urlencoded` and at most 16 KiB.
    pub(super) async fn read(request: Request) -> Result<(HeaderMap, Self), DomainError> {
        let (parts, body) = request.into_parts();
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';').next().is_some_and(|t| {
                    t.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
        if !is_form {
            return Err(DomainError::InvalidRequest(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| DomainError::InvalidRequest("the body is too large or unreadable"))?;
        Ok((parts.headers, Self::parse(&body)?))
    }

    /// Parses a form body, refusing a repeated parameter.
    pub(super) fn parse(body: &[u8]) -> Result<Self, DomainError> {
        let mut map = HashMap::new();
        for (key, value) in form_urlencoded::parse(body) {
            // No OAuth parameter holds a NUL, and PostgreSQL could not store one.
            if key.contains('\0') || value.contains('\0') {
                return Err(DomainError::InvalidRequest(
                    "a parameter holds a NUL character",
                ));
            }
            if map.insert(key.into_owned(), value.into_owned()).is_some() {
                return Err(DomainError::InvalidRequest(
                    "a parameter was sent more than once",
                ));
            }
        }
        Ok(Self(map))
    }

    /// A parameter; an empty value counts as absent.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Every parameter, in no particular order.
    pub(super) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A parameter that must be present.
    pub(super) fn require(&self, name: &'static str) -> Result<&str, DomainError> {
        self.get(name)
            .ok_or(DomainError::InvalidRequest(match name {
                "grant_type" => "grant_type is required",
                "username" => "username is required",
                "password" => "password is required",
                "refresh_token" => "refresh_token is required",
                "token" => "token is required",
                "code" => "code is required",
                _ => "a required parameter is missing",
            }))
    }

    /// `scope`, split on spaces.
    pub(super) fn scopes(&self) -> Vec<String> {
        self.get("scope")
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// What to do when a request carries no client credentials at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WithoutCredentials {
    /// Act as the built-in docs client (the token endpoint's password grant, which Swagger
    /// UI sends without credentials).
    DocsClient,
    /// Refuse with `invalid_client`: every other grant (RFC 6749 §3.2.1, §5.2), revocation
    /// and introspection (RFC 7009 §2.1 and RFC 7662 §2.1 require the client to identify
    /// itself).
    Refuse,
}

/// Authenticates the client of a request to this server's `endpoint` (`/token`…): a
/// confidential one by its secret or by a JWT signed with its key (`private_key_jwt`), a
/// public one by its `client_id` alone (see [`Warden::authenticate_client`]). One method
/// per request (RFC 6749 §2.3).
pub(super) async fn authenticate(
    warden: &Warden<AnyStorage>,
    headers: &HeaderMap,
    form: &Form,
    without: WithoutCredentials,
    endpoint: &str,
) -> Result<(Client, ClientAuth), DomainError> {
    if form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some() {
        // RFC 7523 §2.2: exactly this type, one assertion, and no other credentials.
        if form.get("client_assertion_type") != Some(CLIENT_ASSERTION_TYPE)
            || form.get("client_secret").is_some()
            || headers.contains_key(header::AUTHORIZATION)
        {
            return Err(DomainError::InvalidClient);
        }
        let assertion = form
            .get("client_assertion")
            .ok_or(DomainError::InvalidClient)?;
        let client = warden
            .authenticate_client_assertion(form.get("client_id"), assertion, endpoint)
            .await?;
        return Ok((client, ClientAuth::PrivateKeyJwt));
    }
    let (client_id, secret) = match client_credentials(headers, form)? {
        Some(credentials) => credentials,
        None => match without {
            WithoutCredentials::DocsClient => (DOCS_CLIENT_ID.to_owned(), None),
            WithoutCredentials::Refuse => return Err(DomainError::InvalidClient),
        },
    };
    let client = warden
        .authenticate_client(&client_id, secret.as_deref())
        .await?;
    let auth = if secret.is_some() {
        ClientAuth::Secret
    } else {
        ClientAuth::None
    };
    Ok((client, auth))
}

/// Client credentials from `Authorization: Basic` (client_secret_basic, RFC 6749 §2.3.1 —
/// values form-urlencoded before base64) or the body (client_secret_post). Using both is an
/// error; neither is `None` (Swagger UI's `Basic Og==`, an empty id and secret, counts as
/// neither).
fn client_credentials(
    headers: &HeaderMap,
    form: &Form,
) -> Result<Option<(String, Option<String>)>, DomainError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let value = value.to_str().map_err(|_| DomainError::InvalidClient)?;
            let Some(encoded) = value
                .strip_prefix("Basic ")
                .or_else(|| value.strip_prefix("basic "))
            else {
                return Err(DomainError::InvalidClient);
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| DomainError::InvalidClient)?;
            let decoded = String::from_utf8(decoded).map_err(|_| DomainError::InvalidClient)?;
            let (id, secret) = decoded.split_once(':').ok_or(DomainError::InvalidClient)?;
            let decode = |s: &str| {
                form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            let id = decode(id).unwrap_or_default();
            let secret = decode(secret).unwrap_or_default();
            // Swagger UI sends `Basic Og==` (empty id and secret) when none is configured.
            if id.is_empty() && secret.is_empty() {
                None
            } else {
                Some((id, secret))
            }
        }
    };
    match (basic, form.get("client_id"), form.get("client_secret")) {
        (Some(_), _, Some(_)) => Err(DomainError::InvalidRequest("client credentials sent twice")),
        (Some((id, secret)), body_id, None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(DomainError::InvalidRequest("client_id does not match"));
            }
            Ok(Some((id, Some(secret))))
        }
        (None, Some(id), secret) => Ok(Some((id.to_owned(), secret.map(str::to_owned)))),
        (None, None, Some(_)) => Err(DomainError::InvalidRequest(
            "client_secret without client_id",
        )),
        (None, None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(Form::parse(b"token=a&token=b").is_err());
        assert!(Form::parse(b"token=a&token_type_hint=b").is_ok());
    }

    #[test]
    fn basic_values_are_form_decoded() {
        // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%20id:s%3Acret");
        let form = Form::parse(b"").unwrap();
        let credentials =
            client_credentials(&headers(Some(&format!("Basic {encoded}"))), &form).unwrap();
        assert_eq!(
            credentials,
            Some(("my id".to_owned(), Some("s:cret".to_owned())))
        );
    }

    #[test]
    fn swagger_empty_basic_is_no_credentials() {
        let form = Form::parse(b"").unwrap();
        assert_eq!(
            client_credentials(&headers(Some("Basic Og==")), &form).unwrap(),
            None
        );
        assert_eq!(client_credentials(&headers(None), &form).unwrap(), None);
    }

    #[test]
    fn credentials_twice_are_refused() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("id:secret");
        let form = Form::parse(b"client_secret=secret").unwrap();
        assert!(client_credentials(&headers(Some(&format!("Basic {encoded}"))), &form).is_err());
    }
}
