//! The authorization endpoint (RFC 6749 §4.1, OpenID Connect Core §3.1.2): validating a
//! request, deciding whether the user must log in or consent, and issuing the code.
//!
//! Order matters (RFC 6749 §4.1.2.1): until the client and its redirect URI are known to
//! match, an error is shown to the user and never redirected anywhere — otherwise the
//! endpoint would be an open redirector (RFC 9700 §4.11). After that, errors go back to
//! the client's redirect URI with `state` and `iss`.

use std::collections::BTreeSet;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::authentication::{
    Authentication, LEVEL_MFA, LEVEL_PHR, PENDING_SECOND_FACTOR_SECS, weakest_acr_accepted,
};
use super::clients::OIDC_SCOPES;
use super::{DomainError, Warden, now, secrets};
use crate::storage::{AuthorizationCode, BrowserSession, Client, Consent, Storage, User};

/// How long an authorization code may wait to be redeemed (RFC 6749 §4.1.2 recommends at
/// most ten minutes; a browser redirect takes seconds).
pub const CODE_TTL_SECS: i64 = 60;

/// The largest `state` or `nonce` taken.
const MAX_STATE_BYTES: usize = 1024;

/// The parameters of an authorization request, as sent (query or form).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    /// Authentication context classes asked for, in order of preference (OpenID Connect
    /// Core §3.1.2.1).
    pub acr_values: Option<String>,
    /// A request object (`request`, `request_uri`) was sent; not supported here (a
    /// `request_uri` of a pushed request is taken before, see
    /// [`Warden::take_pushed_request`](super::Warden::take_pushed_request)).
    pub request_object: bool,
    /// The thumbprint of the DPoP key the code is to be bound to (RFC 9449 §10).
    pub dpop_jkt: Option<String>,
    /// The mark of a pushed request (RFC 9126) carried through the forms: `{expires}.{MAC}`
    /// over the other parameters.
    pub pushed: Option<String>,
}

impl AuthorizationRequest {
    /// Reads the request from `name=value` pairs. A repeated parameter is an error (RFC 6749
    /// §3.1: "parameters MUST NOT be included more than once"); unknown ones are ignored
    /// (§3.1), as are empty ones.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, &'static str> {
        let mut request = Self::default();
        let mut seen = BTreeSet::new();
        for (name, value) in pairs {
            if !seen.insert(name) {
                return Err("a parameter was sent more than once");
            }
            if value.contains('\0') {
                return Err("a parameter holds a NUL character");
            }
            if value.is_empty() {
                continue;
            }
            let slot = match name {
                "response_type" => &mut request.response_type,
                "client_id" => &mut request.client_id,
                "redirect_uri" => &mut request.redirect_uri,
                "scope" => &mut request.scope,
                "state" => &mut request.state,
                "nonce" => &mut request.nonce,
                "code_challenge" => &mut request.code_challenge,
                "code_challenge_method" => &mut request.code_challenge_method,
                "prompt" => &mut request.prompt,
                "max_age" => &mut request.max_age,
                "acr_values" => &mut request.acr_values,
                "par" => &mut request.pushed,
                "dpop_jkt" => &mut request.dpop_jkt,
                "request" | "request_uri" => {
                    request.request_object = true;
                    continue;
                }
                _ => continue,
            };
            *slot = Some(value.to_owned());
        }
        Ok(request)
    }

    /// The parameters that were set, to carry the request through the login and consent
    /// forms as hidden fields.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("prompt", &self.prompt),
            ("max_age", &self.max_age),
            ("acr_values", &self.acr_values),
            ("dpop_jkt", &self.dpop_jkt),
            ("par", &self.pushed),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
        .collect()
    }
}

/// Why an authorization request ends.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Shown to the user, never redirected: the client or its redirect URI is not known.
    Page(&'static str),
    /// Sent back to the client: the redirect URI with `error`, `state` and `iss`.
    Redirect(String),
    /// The server failed (storage, signing).
    Domain(DomainError),
}

impl From<DomainError> for AuthorizeError {
    fn from(error: DomainError) -> Self {
        Self::Domain(error)
    }
}

impl From<crate::storage::StorageError> for AuthorizeError {
    fn from(error: crate::storage::StorageError) -> Self {
        Self::Domain(error.into())
    }
}

/// What the browser is shown next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The login form, for the client named.
    Login { client_name: String },
    /// The consent form: may the client have these scopes?
    Consent {
        client_name: String,
        username: String,
        scopes: Vec<String>,
    },
    /// The second-factor form: the password was right, a second factor is owed: a code
    /// (`code`: a TOTP code or a recovery code would do) or a passkey (`passkey`: the user
    /// has one and it would do).
    SecondFactor {
        client_name: String,
        code: bool,
        passkey: bool,
    },
    /// Enrolment of a second factor, which a role, the client or `acr_values` requires and
    /// the account does not have yet.
    Enrol { client_name: String },
    /// Back to the client (a code, or an error) — a 303 (RFC 9700 §4.12: never 307).
    Redirect(String),
}

/// What the browser just did, which satisfies `prompt=login` or `prompt=consent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Just {
    Arrived,
    LoggedIn,
    Consented,
}

/// A request whose client and redirect URI check out.
struct Valid {
    client: Client,
    redirect_uri: String,
    state: Option<String>,
    nonce: Option<String>,
    requested: Vec<String>,
    code_challenge: Option<String>,
    dpop_jkt: Option<String>,
    prompt_none: bool,
    prompt_login: bool,
    prompt_consent: bool,
    max_age: Option<i64>,
    /// The weakest level (an index in `ACR_VALUES`) `acr_values` accepts; 0 without one.
    acr_required: usize,
}

/// Whether `requested` may use `registered`: the same string (RFC 9700 §2.1: exact
/// matching), except that a loopback IP redirect may use any port (RFC 8252 §7.3: native
/// apps listen on an ephemeral port). `localhost` gets no such leeway (RFC 8252 §8.3).
pub fn redirect_uri_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (
        loopback_without_port(registered),
        loopback_without_port(requested),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `http://127.0.0.1:PORT/rest` → `("127.0.0.1", "/rest")`, for loopback IPs only.
fn loopback_without_port(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let host = match authority.rsplit_once(':') {
        Some((host, port))
            if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        _ => authority,
    };
    matches!(host, "127.0.0.1" | "[::1]").then_some((host, path))
}

/// `uri` with the parameters appended to its query (RFC 6749 §4.1.2: the redirect URI "MAY
/// include a query component … which MUST be retained").
pub fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        serializer.append_pair(name, value);
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{}", serializer.finish())
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge`, compared in
/// constant time.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    if !is_pkce_value(verifier) {
        return false;
    }
    let hash = digest::digest(&digest::SHA256, verifier.as_bytes());
    let computed = URL_SAFE_NO_PAD.encode(hash.as_ref());
    warden::constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

impl<S: Storage> Warden<S> {
    /// An error sent back to the client (RFC 6749 §4.1.2.1) with `state` and, per RFC 9207
    /// §2, `iss`: the issuer names who answered (mix-up defence, RFC 9700 §4.4).
    fn error_redirect(
        &self,
        redirect_uri: &str,
        state: Option<&str>,
        error: &str,
        description: &str,
    ) -> AuthorizeError {
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(state) = state {
            params.push(("state", state));
        }
        params.push(("iss", &self.config().issuer));
        AuthorizeError::Redirect(with_params(redirect_uri, &params))
    }

    /// Checks the client and redirect URI (errors shown to the user), then everything else
    /// (errors sent back to the client).
    async fn validate(&self, request: &AuthorizationRequest) -> Result<Valid, AuthorizeError> {
        self.validate_as(request, false).await
    }

    /// Checks a request being pushed (RFC 9126 §2.1: "validated in the same way as at the
    /// authorization endpoint"), where the push itself satisfies the PAR requirement.
    pub(super) async fn check_authorization_request(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<(), AuthorizeError> {
        self.validate_as(request, true).await.map(|_| ())
    }

    async fn validate_as(
        &self,
        request: &AuthorizationRequest,
        pushing: bool,
    ) -> Result<Valid, AuthorizeError> {
        let client_id = request
            .client_id
            .as_deref()
            .filter(|id| id.len() <= 128)
            .ok_or(AuthorizeError::Page(
                "The application did not identify itself (client_id).",
            ))?;
        let client = self
            .storage()
            .client(client_id)
            .await?
            .ok_or(AuthorizeError::Page(
                "The application is not registered here.",
            ))?;
        let redirect_uri = request.redirect_uri.as_deref().ok_or(AuthorizeError::Page(
            "The application did not say where to return (redirect_uri).",
        ))?;
        if !client
            .redirect_uris
            .iter()
            .any(|registered| redirect_uri_matches(registered, redirect_uri))
        {
            return Err(AuthorizeError::Page(
                "The application asked to return to an address it has not registered.",
            ));
        }
        // From here on the redirect URI is trusted; `state` is echoed if it is sane.
        let state = request.state.clone().filter(|s| s.len() <= MAX_STATE_BYTES);
        let fail = |error: &str, description: &str| {
            self.error_redirect(redirect_uri, state.as_deref(), error, description)
        };
        if request
            .state
            .as_ref()
            .is_some_and(|s| s.len() > MAX_STATE_BYTES)
        {
            return Err(fail("invalid_request", "state is too long"));
        }
        if request.request_object {
            return Err(fail(
                "request_not_supported",
                "request objects are not supported",
            ));
        }
        // RFC 9126 §6: this client's (or every client's) requests must be pushed; the mark
        // proves the parameters are the pushed ones, unchanged in the forms.
        if !pushing && self.requires_par(&client) && !self.was_pushed(request) {
            return Err(fail(
                "invalid_request",
                "this client's authorization requests must be pushed (PAR, RFC 9126)",
            ));
        }
        match request.response_type.as_deref() {
            Some("code") => {}
            None => return Err(fail("invalid_request", "response_type is required")),
            // RFC 9700 §2.1.2: no implicit or hybrid flows.
            Some(_) => {
                return Err(fail(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                ));
            }
        }
        if !client.grant_types.iter().any(|g| g == "authorization_code") {
            return Err(fail(
                "unauthorized_client",
                "the client may not use the authorization code flow",
            ));
        }
        let code_challenge = match (
            request.code_challenge.as_deref(),
            request.code_challenge_method.as_deref(),
        ) {
            (Some(challenge), Some("S256"))
                if challenge.len() == 43 && is_pkce_value(challenge) =>
            {
                Some(challenge.to_owned())
            }
            (Some(_), Some("S256")) => {
                return Err(fail("invalid_request", "code_challenge is malformed"));
            }
            // RFC 9700 §2.1.1: `plain` gives no protection if the request leaks. RFC 7636 §4.3
            // makes `plain` the default when the method is omitted, so that is refused too.
            (Some(_), _) => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method must be S256",
                ));
            }
            (None, Some(_)) => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method without code_challenge",
                ));
            }
            (None, None) => None,
        };
        // RFC 9700 §2.1.1: public clients MUST use PKCE.
        if client.public && code_challenge.is_none() {
            return Err(fail(
                "invalid_request",
                "PKCE (code_challenge with S256) is required for public clients",
            ));
        }
        if request
            .nonce
            .as_ref()
            .is_some_and(|n| n.len() > MAX_STATE_BYTES)
        {
            return Err(fail("invalid_request", "nonce is too long"));
        }
        let requested: Vec<String> = request
            .scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if requested.len() > 64 || requested.iter().any(|s| s.len() > 128) {
            return Err(fail("invalid_scope", "too many or too long scopes"));
        }
        if request
            .acr_values
            .as_ref()
            .is_some_and(|a| a.len() > MAX_STATE_BYTES)
        {
            return Err(fail("invalid_request", "acr_values is too long"));
        }
        let (mut prompt_none, mut prompt_login, mut prompt_consent) = (false, false, false);
        for value in request.prompt.as_deref().unwrap_or("").split(' ') {
            match value {
                "" => {}
                "none" => prompt_none = true,
                "login" => prompt_login = true,
                "consent" => prompt_consent = true,
                // One account per browser session: there is nothing to select.
                "select_account" => {}
                _ => return Err(fail("invalid_request", "unknown prompt value")),
            }
        }
        // OpenID Connect Core §3.1.2.1: `none` with any other value is an error.
        if prompt_none && (prompt_login || prompt_consent) {
            return Err(fail(
                "invalid_request",
                "prompt=none cannot be combined with other values",
            ));
        }
        let max_age = match request.max_age.as_deref() {
            None => None,
            Some(value) => Some(
                value
                    .parse::<u32>()
                    .map_err(|_| fail("invalid_request", "max_age must be a number of seconds"))?,
            ),
        };
        // Core §3.1.2.1: "max_age=0 is equivalent to prompt=login" (a login in this same
        // second must not pass for one made before the request).
        if max_age == Some(0) {
            prompt_login = true;
        }
        // RFC 9449 §10: a JWK SHA-256 thumbprint, base64url (43 characters).
        let dpop_jkt = match request.dpop_jkt.as_deref() {
            None => None,
            Some(jkt) if jkt.len() == 43 && is_pkce_value(jkt) && !jkt.contains(['.', '~']) => {
                Some(jkt.to_owned())
            }
            Some(_) => return Err(fail("invalid_request", "dpop_jkt is malformed")),
        };
        Ok(Valid {
            redirect_uri: redirect_uri.to_owned(),
            client,
            state,
            nonce: request.nonce.clone(),
            requested,
            code_challenge,
            dpop_jkt,
            prompt_none,
            prompt_login,
            prompt_consent,
            max_age: max_age.map(i64::from),
            acr_required: request
                .acr_values
                .as_deref()
                .and_then(weakest_acr_accepted)
                .unwrap_or(0),
        })
    }

    /// The scopes the user may grant the client: the requested ones among the user's role
    /// scopes and the OpenID Connect scopes, within the client's list.
    async fn user_grantable(
        &self,
        user: &User,
        client: &Client,
        requested: &[String],
    ) -> Result<Vec<String>, DomainError> {
        let mut allowed = self.role_scopes(user).await?;
        allowed.extend(OIDC_SCOPES.iter().map(|s| (*s).to_owned()));
        Ok(requested
            .iter()
            .filter(|s| allowed.contains(*s))
            .filter(|s| client.scopes.is_empty() || client.scopes.contains(*s))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect())
    }

    /// Handles an authorization request for a browser with `session` (if it has one): the
    /// next step is the login form, the consent form, or the redirect back with a code.
    pub async fn authorize(
        &self,
        request: &AuthorizationRequest,
        session: Option<&(BrowserSession, User)>,
        just: Just,
    ) -> Result<Step, AuthorizeError> {
        let valid = self.validate(request).await?;
        let fail = |error: &str, description: &str| {
            self.error_redirect(
                &valid.redirect_uri,
                valid.state.as_deref(),
                error,
                description,
            )
        };
        let at = now();
        // OpenID Connect Core §3.1.2.1: `prompt=login` and an expired `max_age` ask for the
        // password again; `prompt=none` must not show anything.
        let session = session.filter(|(session, _)| {
            let fresh_enough = valid
                .max_age
                .is_none_or(|max| at.saturating_sub(session.auth_time) <= max);
            fresh_enough && (!valid.prompt_login || just != Just::Arrived)
        });
        let Some((session, user)) = session else {
            if valid.prompt_none {
                return Err(fail("login_required", "the user is not logged in"));
            }
            return Ok(Step::Login {
                client_name: valid.client.name,
            });
        };
        // A second factor, when the user has one, a role or the client requires one, or the
        // request asks for it (`acr_values`): asked for on its own if the password was given
        // recently enough, else the login starts over. Step-up asks only for what is missing:
        // the level the session reached is compared with the weakest one the request
        // accepts, and a level needing a passkey (phishing resistance) offers only that.
        let how = Authentication::stored(session.auth_time, &session.amr);
        let mut required = valid.acr_required;
        if required < LEVEL_MFA
            && !how.is_multi_factor()
            && self
                .second_factor_required(user, Some(&valid.client))
                .await?
        {
            required = LEVEL_MFA;
        }
        if how.acr_level() < required {
            if valid.prompt_none {
                return Err(fail(
                    "interaction_required",
                    "the user must present a second factor",
                ));
            }
            let client_name = valid.client.name;
            if at.saturating_sub(session.auth_time) > PENDING_SECOND_FACTOR_SECS {
                return Ok(Step::Login { client_name });
            }
            let passkey = self.has_usable_passkey(&user.id).await?;
            if required >= LEVEL_PHR {
                if !passkey {
                    // OpenID Connect Core §3.1.2.6 and the "Unmet Authentication
                    // Requirements" extension: nothing this account has can meet the level.
                    return Err(fail(
                        "unmet_authentication_requirements",
                        "the requested acr_values need a passkey, and the account has none",
                    ));
                }
                return Ok(Step::SecondFactor {
                    client_name,
                    code: false,
                    passkey: true,
                });
            }
            let code = self.has_totp(&user.id).await?
                || self.storage().recovery_codes_left(&user.id).await? > 0;
            return Ok(if code || passkey {
                Step::SecondFactor {
                    client_name,
                    code,
                    passkey,
                }
            } else {
                Step::Enrol { client_name }
            });
        }
        let scopes = self
            .user_grantable(user, &valid.client, &valid.requested)
            .await?;
        let consented = valid.client.first_party
            || just == Just::Consented
            || (!valid.prompt_consent
                && self
                    .storage()
                    .consent(&user.id, &valid.client.client_id)
                    .await?
                    .is_some_and(|c| scopes.iter().all(|s| c.scopes.contains(s))));
        if !consented {
            if valid.prompt_none {
                return Err(fail("consent_required", "the user has not consented"));
            }
            return Ok(Step::Consent {
                client_name: valid.client.name,
                username: user.username.clone(),
                scopes,
            });
        }
        let code = secrets::random(32)?;
        let record = AuthorizationCode {
            code_hash: secrets::digest(&code),
            client_id: valid.client.client_id.clone(),
            user_id: user.id.clone(),
            redirect_uri: valid.redirect_uri.clone(),
            scope: scopes.join(" "),
            nonce: valid.nonce.clone(),
            code_challenge: valid.code_challenge.clone(),
            dpop_jkt: valid.dpop_jkt.clone(),
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            issued_at: at,
            expires_at: at + CODE_TTL_SECS,
            used_at: None,
            refresh_family_id: None,
            access_jti: None,
            access_expires_at: None,
            replayed_at: None,
        };
        self.storage().insert_authorization_code(&record).await?;
        let mut params = vec![("code", code.as_str())];
        if let Some(state) = &valid.state {
            params.push(("state", state));
        }
        params.push(("iss", &self.config().issuer));
        Ok(Step::Redirect(with_params(&valid.redirect_uri, &params)))
    }

    /// The user's answer on the consent page: `allow` records the consent (remembered per
    /// user and client) and continues; anything else goes back with `access_denied`.
    pub async fn answer_consent(
        &self,
        request: &AuthorizationRequest,
        session: Option<&(BrowserSession, User)>,
        allow: bool,
    ) -> Result<Step, AuthorizeError> {
        let valid = self.validate(request).await?;
        let Some((_, user)) = session else {
            // The session ended meanwhile: log in again.
            return self.authorize(request, None, Just::Arrived).await;
        };
        if !allow {
            self.audit(
                "consent.denied",
                "failure",
                Some(&user.id),
                Some(&valid.client.client_id),
                None,
                None,
            )
            .await;
            return Err(self.error_redirect(
                &valid.redirect_uri,
                valid.state.as_deref(),
                "access_denied",
                "the user denied the request",
            ));
        }
        let scopes = self
            .user_grantable(user, &valid.client, &valid.requested)
            .await?;
        let mut remembered = self
            .storage()
            .consent(&user.id, &valid.client.client_id)
            .await?
            .map(|c| c.scopes)
            .unwrap_or_default();
        remembered.extend(scopes);
        remembered.sort();
        remembered.dedup();
        self.storage()
            .put_consent(&Consent {
                user_id: user.id.clone(),
                client_id: valid.client.client_id.clone(),
                scopes: remembered,
                granted_at: now(),
            })
            .await?;
        self.audit(
            "consent.granted",
            "success",
            Some(&user.id),
            Some(&valid.client.client_id),
            None,
            None,
        )
        .await;
        self.authorize(request, session, Just::Consented).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_rfc7636_appendix_b() {
        assert!(pkce_s256_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_s256_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        // Too short to be a verifier at all.
        assert!(!pkce_s256_matches("abc", "ungues"));
    }

    #[test]
    fn redirect_uris_match_exactly_but_loopback_ports() {
        let registered = "https://app.example.com/cb";
        for variant in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://app.example.com/CB",
            "https://APP.example.com/cb",
            "https://app.example.com:443/cb",
            "https://app.example.com/cb/../cb",
            "https://app.example.com/cb#frag",
            "https://app.example.com.evil.com/cb",
            "https://app.example.com/c",
            "http://app.example.com/cb",
        ] {
            assert!(!redirect_uri_matches(registered, variant), "{variant}");
        }
        assert!(redirect_uri_matches(registered, registered));
        assert!(redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51004/cb"
        ));
        assert!(redirect_uri_matches(
            "http://[::1]:80/cb",
            "http://[::1]:1234/cb"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51004/other"
        ));
        assert!(!redirect_uri_matches(
            "http://localhost/cb",
            "http://localhost:51004/cb"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1.evil.com:80/cb"
        ));
    }

    #[test]
    fn repeated_parameters_are_refused_and_unknown_ignored() {
        assert!(
            AuthorizationRequest::from_pairs([("client_id", "a"), ("client_id", "b")]).is_err()
        );
        let request =
            AuthorizationRequest::from_pairs([("client_id", "a"), ("foo", "b"), ("state", "")])
                .unwrap();
        assert_eq!(request.client_id.as_deref(), Some("a"));
        assert_eq!(request.state, None);
        assert_eq!(request.pairs(), vec![("client_id", "a")]);
    }

    #[test]
    fn params_keep_the_redirect_query() {
        assert_eq!(
            with_params(
                "https://a.example/cb?x=1",
                &[("code", "c d"), ("state", "&")]
            ),
            "https://a.example/cb?x=1&code=c+d&state=%26"
        );
    }
}
