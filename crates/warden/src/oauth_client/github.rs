//! GitHub: OAuth 2.0 without OpenID Connect. The identity is `/user` (its numeric `id`), the
//! email the primary address of `/user/emails` — only when GitHub verified it.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::SignInError;
use super::identity::{UpstreamIdentity, UpstreamTokens};
use super::provider::{GitHubEndpoints, Provider};

/// The REST API version asked for (GitHub's `X-GitHub-Api-Version`).
const API_VERSION: &str = "2022-11-28";

#[derive(Deserialize)]
struct Email {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

pub(crate) async fn identify(
    provider: &Provider,
    endpoints: &GitHubEndpoints,
    tokens: &UpstreamTokens,
) -> Result<UpstreamIdentity, SignInError> {
    let http = &provider.inner.http;
    let request = |path: &str| {
        http.get(&format!("{}{path}", endpoints.api))
            .header(http::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .bearer_auth(&tokens.access_token)
    };
    let user: Map<String, Value> = http.json("user", request("/user")).await?;
    // The numeric id is the stable identity; the login can be renamed and reused.
    let subject = match user.get("id") {
        Some(Value::Number(id)) if id.is_u64() => id.to_string(),
        _ => return Err(SignInError::upstream("user", "no numeric id")),
    };
    // `/user/emails` needs the `user:email` scope; without it there is no verified email.
    let (status, body) = http.send("emails", request("/user/emails")).await?;
    let email = if status == http::StatusCode::OK {
        let emails: Vec<Email> = serde_json::from_slice(&body)
            .map_err(|_| SignInError::upstream("emails", "not the JSON expected"))?;
        emails
            .into_iter()
            .find(|e| e.primary && e.verified && !e.email.is_empty() && e.email.len() <= 320)
            .map(|e| e.email)
    } else {
        None
    };
    let text = |name: &str| {
        user.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty() && v.len() <= 320)
            .map(str::to_owned)
    };
    Ok(UpstreamIdentity {
        provider: provider.inner.id.clone(),
        issuer: endpoints.api.clone(),
        subject,
        email_verified: email.is_some(),
        email,
        name: text("name"),
        username: text("login"),
        amr: Vec::new(),
        acr: None,
        auth_time: None,
        claims: user,
        tokens: None,
        return_to: None,
    })
}
