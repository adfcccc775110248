//! Upstream identity providers for Warden's federation tests ("log in with another
//! provider"), all offline and independent of Warden's own code:
//!
//! - [`FakeIdp`]: an in-process OpenID Connect provider (discovery, JWKS, authorize, token,
//!   userinfo) that is honest by default and misbehaves on demand ([`Misbehaviour`]): the
//!   "malicious IdP" conformance fixture. It signs with `jsonwebtoken` and keys made by
//!   `aws-lc-rs`, not with Warden's JWT code.
//! - [`GitHubEmulator`]: GitHub's documented OAuth App endpoints (not OpenID Connect) and
//!   the `/user` and `/user/emails` API.
//! - [`OidcProvider`]: the OpenID-certified `oidc-provider` (npm) started from
//!   `tests/browser/idp/upstream-idp.mjs`, and [`oidc_provider_sign_in`], which signs in
//!   through its development login and consent pages over plain HTTP.
//!
//! Every server listens on 127.0.0.1 with a port chosen by the system, and stops when
//! its value is dropped.

mod github;
mod idp;
mod oidc_provider;
mod util;

pub use github::{GitHubEmail, GitHubEmulator, GitHubUser};
pub use idp::{FakeIdp, FakeUser, Misbehaviour};
pub use oidc_provider::{OidcClient, OidcProvider, oidc_provider_sign_in};
pub use util::TokenRequest;
