//! The administrator API for upstream identity providers, `/admin/providers` (scope
//! `admin`): what `warden provider …` does, over HTTP. A provider's client secret goes in
//! and never comes out: answers say `client_secret_set`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use validator::Validate;
use warden::ValidJson;
use zeroize::Zeroizing;

use super::AppState;
use super::admin::AdminUser;
use super::error::ApiError;
use crate::domain::{DomainError, ProviderKind, ProviderSettings, SecretChange};
use crate::storage::UpstreamProvider;

/// What kind of provider.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An OpenID Connect provider, found by discovery from its issuer.
    Oidc,
    /// GitHub.
    Github,
}

impl From<Kind> for ProviderKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Oidc => ProviderKind::Oidc,
            Kind::Github => ProviderKind::GitHub,
        }
    }
}

/// An upstream provider as the API shows it: never its client secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderOut {
    pub id: String,
    pub display_name: String,
    /// `oidc` or `github`.
    pub kind: String,
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub api_base: Option<String>,
    pub client_id: String,
    /// Whether a client secret is stored (it is never shown).
    pub client_secret_set: bool,
    pub scopes: Vec<String>,
    pub allow_signup: bool,
    pub trust_email: bool,
    pub trust_mfa: bool,
    pub roles_claim: Option<String>,
    pub role_map: BTreeMap<String, String>,
    pub enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<UpstreamProvider> for ProviderOut {
    fn from(p: UpstreamProvider) -> Self {
        Self {
            client_secret_set: p.client_secret_sealed.is_some(),
            id: p.id,
            display_name: p.display_name,
            kind: p.kind,
            issuer: p.issuer,
            authorization_endpoint: p.authorization_endpoint,
            token_endpoint: p.token_endpoint,
            userinfo_endpoint: p.userinfo_endpoint,
            jwks_uri: p.jwks_uri,
            api_base: p.api_base,
            client_id: p.client_id,
            scopes: p.scopes,
            allow_signup: p.allow_signup,
            trust_email: p.trust_email,
            trust_mfa: p.trust_mfa,
            roles_claim: p.roles_claim,
            role_map: p.role_map,
            enabled: p.enabled,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A provider's settings. `POST` needs `id`; `PUT` replaces every setting of the provider
/// named in the path (an `id` in the body must be that one).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderIn {
    /// A slug: `[a-z0-9][a-z0-9-]{0,31}`, used in URLs.
    #[validate(length(min = 1, max = 32))]
    pub id: Option<String>,
    /// 1 to 100 characters, shown on the login page.
    #[validate(length(min = 1, max = 100))]
    pub display_name: String,
    pub kind: Kind,
    /// `oidc` (required): the exact issuer; discovery starts from it.
    #[validate(length(max = 2000))]
    pub issuer: Option<String>,
    /// Overrides discovery (or GitHub's default).
    #[validate(length(max = 2000))]
    pub authorization_endpoint: Option<String>,
    #[validate(length(max = 2000))]
    pub token_endpoint: Option<String>,
    #[validate(length(max = 2000))]
    pub userinfo_endpoint: Option<String>,
    #[validate(length(max = 2000))]
    pub jwks_uri: Option<String>,
    /// `github` only: the API base (default `https://api.github.com`).
    #[validate(length(max = 2000))]
    pub api_base: Option<String>,
    /// Warden's client id at the provider.
    #[validate(length(min = 1, max = 256))]
    pub client_id: String,
    /// Warden's client secret at the provider; never shown again. On `PUT`: absent keeps
    /// the stored one, `null` removes it (a public client, PKCE only).
    #[serde(default, deserialize_with = "present")]
    #[validate(length(min = 1, max = 1024))]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Option<String>>,
    /// Empty: `openid email profile` (oidc), `read:user user:email` (github).
    #[serde(default)]
    #[validate(length(max = 32))]
    pub scopes: Vec<String>,
    /// A first login creates an account.
    #[serde(default)]
    pub allow_signup: bool,
    /// The provider's verified addresses are believed.
    #[serde(default)]
    pub trust_email: bool,
    /// The provider's `amr`/`acr` may satisfy the second-factor policy.
    #[serde(default)]
    pub trust_mfa: bool,
    /// The claim holding upstream groups or roles (e.g. `groups`).
    #[validate(length(min = 1, max = 64))]
    pub roles_claim: Option<String>,
    /// Upstream value → an existing local role.
    #[serde(default)]
    #[validate(length(max = 64))]
    pub role_map: BTreeMap<String, String>,
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

/// Reads a field that is there, `null` included, as `Some`; with `#[serde(default)]` an
/// absent field stays `None`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

impl ProviderIn {
    /// The settings, for the provider `id`; and the secret as given.
    fn into_parts(self, id: String) -> (ProviderSettings, Option<Option<String>>) {
        (
            ProviderSettings {
                id,
                display_name: self.display_name,
                kind: self.kind.into(),
                issuer: self.issuer,
                authorization_endpoint: self.authorization_endpoint,
                token_endpoint: self.token_endpoint,
                userinfo_endpoint: self.userinfo_endpoint,
                jwks_uri: self.jwks_uri,
                api_base: self.api_base,
                client_id: self.client_id,
                scopes: self.scopes,
                allow_signup: self.allow_signup,
                trust_email: self.trust_email,
                trust_mfa: self.trust_mfa,
                roles_claim: self.roles_claim,
                role_map: self.role_map,
                enabled: self.enabled,
            },
            self.client_secret,
        )
    }
}

/// Lists the upstream identity providers.
#[utoipa::path(get, path = "/admin/providers",
    responses((status = 200, description = "Every provider, by id", body = Vec<ProviderOut>)),
    tag = "admin")]
pub async fn list_providers(
    State(state): State<AppState>,
    _: AdminUser,
) -> Result<Json<Vec<ProviderOut>>, ApiError> {
    let providers = state.warden.list_providers().await?;
    Ok(Json(providers.into_iter().map(ProviderOut::from).collect()))
}

/// Registers an upstream identity provider; its client secret is stored sealed and never
/// shown.
#[utoipa::path(post, path = "/admin/providers", request_body = ProviderIn,
    responses((status = 201, description = "Registered", body = ProviderOut),
        (status = 409, description = "The id is taken"),
        (status = 422, description = "Invalid settings")),
    tag = "admin")]
pub async fn create_provider(
    State(state): State<AppState>,
    admin: AdminUser,
    ValidJson(body): ValidJson<ProviderIn>,
) -> Result<(StatusCode, Json<ProviderOut>), ApiError> {
    let Some(id) = body.id.clone() else {
        return Err(DomainError::InvalidRequest("id is required").into());
    };
    let (settings, secret) = body.into_parts(id);
    let provider = state
        .warden
        .create_provider(
            settings,
            secret.flatten().map(Zeroizing::new),
            Some(&admin.user),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(provider.into())))
}

/// One upstream identity provider.
#[utoipa::path(get, path = "/admin/providers/{id}",
    params(("id" = String, Path, description = "The provider's id")),
    responses((status = 200, description = "The provider", body = ProviderOut),
        (status = 404, description = "No such provider")),
    tag = "admin")]
pub async fn get_provider(
    State(state): State<AppState>,
    _: AdminUser,
    Path(id): Path<String>,
) -> Result<Json<ProviderOut>, ApiError> {
    Ok(Json(state.warden.provider(&id).await?.into()))
}

/// Replaces an upstream identity provider's settings (and its secret, when given).
#[utoipa::path(put, path = "/admin/providers/{id}", request_body = ProviderIn,
    params(("id" = String, Path, description = "The provider's id")),
    responses((status = 200, description = "The provider as now stored", body = ProviderOut),
        (status = 404, description = "No such provider"),
        (status = 422, description = "Invalid settings")),
    tag = "admin")]
pub async fn update_provider(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<ProviderIn>,
) -> Result<Json<ProviderOut>, ApiError> {
    if body.id.as_ref().is_some_and(|given| *given != id) {
        return Err(DomainError::InvalidRequest("id cannot be changed").into());
    }
    let (settings, secret) = body.into_parts(id.clone());
    let change = match secret {
        None => SecretChange::Keep,
        Some(None) => SecretChange::Remove,
        Some(Some(secret)) => SecretChange::Set(Zeroizing::new(secret)),
    };
    let provider = state
        .warden
        .update_provider(&id, settings, change, Some(&admin.user))
        .await?;
    Ok(Json(provider.into()))
}

/// Deletes an upstream identity provider with its linked identities: its users sign in
/// another way (an account left with none is reached by an administrator's password reset).
#[utoipa::path(delete, path = "/admin/providers/{id}",
    params(("id" = String, Path, description = "The provider's id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such provider")),
    tag = "admin")]
pub async fn delete_provider(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.warden.remove_provider(&id, Some(&admin.user)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(DomainError::NotFound.into())
    }
}
