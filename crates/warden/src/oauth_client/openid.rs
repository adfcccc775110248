//! OpenID Connect: discovery, ID token verification, UserInfo (OpenID Connect Core §3.1.3.7,
//! §5.3; Discovery §4).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::SignInError;
use super::http::Http;
use super::identity::{UpstreamIdentity, UpstreamTokens};
use super::pending::PendingSignIn;
use super::provider::{Endpoints, Provider};
use crate::constant_time_eq;
use crate::jwt::{Claims, Verifier};

/// What a sign-in needs of a provider, discovered (or given) once.
pub(crate) struct Metadata {
    pub(crate) authorization: String,
    pub(crate) token: String,
    pub(crate) userinfo: Option<String>,
    pub(crate) iss_parameter: bool,
    pub(crate) verifier: Verifier,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// Fetches `{issuer}/.well-known/openid-configuration`; its `issuer` must be exactly the
/// configured one (OpenID Connect Discovery §4.3), so a document served elsewhere cannot
/// impersonate the provider.
pub(crate) async fn discover(http: &Http, issuer: &str) -> Result<Endpoints, SignInError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let document: Discovery = http
        .json("discovery", http.get(&url))
        .await
        .map_err(|e| SignInError::Discovery(e.to_string()))?;
    if document.issuer != issuer {
        return Err(SignInError::Discovery(
            "the document's issuer is not the configured one".into(),
        ));
    }
    for endpoint in [
        &document.authorization_endpoint,
        &document.token_endpoint,
        &document.jwks_uri,
    ] {
        let parsed = reqwest::Url::parse(endpoint)
            .map_err(|_| SignInError::Discovery("an endpoint is not a URL".into()))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(SignInError::Discovery("an endpoint is not http(s)".into()));
        }
    }
    Ok(Endpoints {
        authorization: document.authorization_endpoint,
        token: document.token_endpoint,
        userinfo: document.userinfo_endpoint,
        jwks_uri: document.jwks_uri,
        authorization_response_iss: document.authorization_response_iss_parameter_supported,
    })
}

/// The ID token's claims beyond the registered ones.
#[derive(Deserialize, Default)]
struct IdTokenExtra {
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Verifies the ID token of `tokens` and reads UserInfo: who signed in.
pub(crate) async fn identify(
    provider: &Provider,
    issuer: &str,
    metadata: &Metadata,
    pending: &PendingSignIn,
    tokens: &UpstreamTokens,
) -> Result<UpstreamIdentity, SignInError> {
    let client_id = &provider.inner.client_id;
    let id_token = tokens
        .id_token
        .as_deref()
        .ok_or_else(|| SignInError::upstream("token", "no id_token"))?;
    // Verified even though it came straight from the token endpoint over TLS (which OpenID
    // Connect Core §3.1.3.7 item 6 would allow skipping): a mis-set token endpoint must not
    // be able to assert identities. Signature, key-chosen algorithm, iss, aud, exp, nbf, iat.
    let claims: Claims<IdTokenExtra> = metadata
        .verifier
        .verify(id_token)
        .await
        .map_err(SignInError::IdToken)?;
    // §3.1.3.7 items 3-5: other audiences must be trusted (we trust none); with several, the
    // authorized party must be us; an `azp` present must be us.
    if claims.aud.0.iter().any(|a| a != client_id) {
        return Err(SignInError::UntrustedAudience);
    }
    if claims
        .extra
        .azp
        .as_deref()
        .is_some_and(|azp| azp != client_id)
    {
        return Err(SignInError::UntrustedAudience);
    }
    // §3.1.3.7 item 11: the nonce sent must come back.
    match (&claims.extra.nonce, &pending.nonce) {
        (Some(got), Some(sent)) if constant_time_eq(got.as_bytes(), sent.as_bytes()) => {}
        _ => return Err(SignInError::NonceMismatch),
    }
    let subject = claims
        .sub
        .clone()
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or(SignInError::IdToken(crate::jwt::JwtError::MissingClaim(
            "sub",
        )))?;

    let mut all = claims.extra.rest.clone();
    if let Some(userinfo) = &metadata.userinfo {
        let request = provider
            .inner
            .http
            .get(userinfo)
            .bearer_auth(&tokens.access_token);
        let document: Map<String, Value> = provider.inner.http.json("userinfo", request).await?;
        // §5.3.4: the UserInfo sub MUST exactly match the ID token's, or its claims are not
        // about this user.
        if document.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
            return Err(SignInError::SubjectMismatch);
        }
        for (name, value) in document {
            all.entry(name).or_insert(value);
        }
    }
    let text = |name: &str| {
        all.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty() && v.len() <= 320)
            .map(str::to_owned)
    };
    let email = text("email");
    // A JSON `true` (or the string "true", which some providers send) and an address.
    let verified_flag = match all.get("email_verified") {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(flag)) => flag == "true",
        _ => false,
    };
    let email_verified = email.is_some() && verified_flag;
    Ok(UpstreamIdentity {
        provider: provider.inner.id.clone(),
        issuer: issuer.to_owned(),
        subject,
        name: text("name"),
        username: text("preferred_username"),
        email,
        email_verified,
        amr: claims.amr.clone().unwrap_or_default(),
        acr: claims.acr.clone(),
        auth_time: claims.auth_time,
        claims: all,
        tokens: None,
        return_to: None,
    })
}
