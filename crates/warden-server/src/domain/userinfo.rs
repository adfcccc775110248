//! The UserInfo endpoint's answer (OpenID Connect Core §5.3): claims by granted scope.

use serde::Serialize;

use crate::storage::User;

/// Claims about the user, as the access token's scopes allow (Core §5.4).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserInfo {
    pub sub: String,
    /// `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// `profile`: seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    /// `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email`: whether the address was verified — by an administrator, or by a provider
    /// trusted for email at sign-up (OpenID Connect Core §5.1: true only when it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

impl UserInfo {
    /// The claims of `user` that a token with `has_scope` may see.
    pub fn of(user: User, has_scope: impl Fn(&str) -> bool) -> Self {
        let profile = has_scope("profile");
        Self {
            sub: user.id,
            preferred_username: profile.then_some(user.username),
            updated_at: profile.then_some(user.updated_at),
            email_verified: (has_scope("email") && user.email.is_some())
                .then_some(user.email_verified),
            email: if has_scope("email") { user.email } else { None },
        }
    }
}
