//! Upstream identity providers ("log in with another provider"): an OpenID Connect provider
//! or GitHub, and the upstream accounts linked to local users.
//!
//! - `providers.rs`: the validated settings of a provider, its administration (audited),
//!   and its client secret, sealed at rest under a key derived from the master key;
//! - `identities.rs`: a user's linked identities, and unlinking one without leaving the
//!   account with no way to sign in.
//!
//! The login flow itself (redirects, the callback, linking decisions) builds on these and on
//! the storage's pending logins (`Storage::insert_upstream_login`,
//! `Storage::take_upstream_login`) and `Storage::create_user_with_identity`.

mod identities;
mod login;
mod providers;

pub use login::{
    AMR_FEDERATED, LoginButton, PENDING_UPSTREAM_SECS, UpstreamClients, UpstreamFailure,
    UpstreamOutcome,
};
pub use providers::{
    GITHUB_API_BASE, GITHUB_AUTHORIZATION_ENDPOINT, GITHUB_TOKEN_ENDPOINT, MAX_CLIENT_SECRET_BYTES,
    MAX_PROVIDER_SCOPES, MAX_ROLE_MAP_ENTRIES, ProviderKind, ProviderSettings, SecretChange,
    api_base, authorization_endpoint, token_endpoint, valid_provider_url, valid_slug,
};
