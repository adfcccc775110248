//! "Sign in with …": an OAuth 2.0 / OpenID Connect client (Relying Party) for axum
//! applications (feature `oauth-client`).
//!
//! A [`Provider`] is an upstream OpenID Connect provider (discovered from its issuer) or
//! GitHub. [`SignIn`] gives an application the two routes of a sign-in: the redirect to the
//! provider and the callback, which returns the verified [`UpstreamIdentity`]. Safe by
//! construction:
//!
//! | attack | defence |
//! |---|---|
//! | code interception or injection | PKCE S256 on every sign-in (RFC 7636; RFC 9700 §2.1.1) |
//! | login CSRF (a victim's browser finishes the attacker's sign-in) | `state` single use, 10 minutes, bound to the browser by a cookie |
//! | mix-up between providers | one redirect URI per provider; the pending sign-in names its provider; `iss` checked (RFC 9207) |
//! | forged or replayed ID tokens | signature by the provider's published keys, the key decides the algorithm (no `none`, no HMAC); `iss`, `aud`, `azp`, `exp`, `iat`, `nonce` (OpenID Connect Core §3.1.3.7) |
//! | claims about someone else | UserInfo `sub` must equal the ID token's (§5.3.4) |
//! | account takeover by email | the identity is (provider, subject); `email_verified` reported, GitHub's email only if primary and verified |
//! | a hostile or broken upstream | no redirects followed, timeouts, 64 KiB bodies, errors with HTTP 200 recognised |
//!
//! See `docs/sign-in-with.md` and the `sign_in_with` example.
//!
//! ```no_run
//! use warden::oauth_client::{Provider, SignIn};
//!
//! # async fn run() -> Result<(), warden::oauth_client::SignInError> {
//! let provider = Provider::openid_connect("corp", "https://idp.example.com")
//!     .client_id("app")
//!     .client_secret("secret")
//!     .redirect_uri("https://app.example.com/auth/corp/callback")
//!     .build()?;
//! let sign_in = SignIn::new().provider(provider);
//! # Ok(()) }
//! ```

mod callback;
mod error;
mod github;
mod http;
mod identity;
mod openid;
mod pending;
mod provider;
mod sign_in;

pub use callback::Callback;
pub use error::{SignInError, SignInErrorKind};
pub use identity::{UpstreamIdentity, UpstreamTokens};
pub use pending::{PendingSignIn, state_key};
pub use provider::{
    ClientAuthentication, Endpoints, GitHubEndpoints, Provider, ProviderBuilder, SIGN_IN_LIFETIME,
};
pub use sign_in::{
    BINDING_COOKIE, BoundSignIn, INSECURE_BINDING_COOKIE, MemoryPendingStore, PendingStore, SignIn,
    binding_cookie,
};
