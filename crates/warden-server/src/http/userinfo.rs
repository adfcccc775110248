//! The UserInfo endpoint (OpenID Connect Core §5.3): `GET` and `POST /userinfo` with a
//! bearer access token holding `openid`.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use warden::{Auth, Denied, Principal, SecurityScopes, scope};

use super::{AccessToken, AppState, CurrentUser};
use crate::domain::UserInfo;

scope!(
    /// OpenID Connect: the token may read who the user is.
    pub OpenId = "openid"
);

/// A user authenticated by an access token only: UserInfo takes no API key (Core §5.3.1:
/// "the Access Token obtained from an OpenID Connect Authentication Request").
pub struct TokenUser(CurrentUser);

impl Principal<AppState> for TokenUser {
    type Credentials = AccessToken;

    async fn authenticate(
        credentials: Self::Credentials,
        _: &SecurityScopes,
        state: &AppState,
    ) -> Result<Self, Denied> {
        CurrentUser::from_access_token(credentials, state)
            .await
            .map(Self)
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.0.has_scope(scope)
    }
}

fn answer(user: Auth<TokenUser, OpenId>) -> Response {
    let TokenUser(current) = user.into_inner();
    let scopes = current.scopes();
    let info = UserInfo::of(current.user, |s| scopes.contains(s));
    let mut response = Json(info).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The signed-in user's claims, by the token's scopes: `sub` always, `preferred_username`
/// and `updated_at` with `profile`, `email` with `email`.
#[utoipa::path(get, path = "/userinfo",
    responses((status = 200, description = "OpenID Connect UserInfo claims")), tag = "openid")]
pub async fn userinfo_get(user: Auth<TokenUser, OpenId>) -> Response {
    answer(user)
}

/// The same as `GET /userinfo` (Core §5.3.1: both methods MUST be supported).
#[utoipa::path(post, path = "/userinfo",
    responses((status = 200, description = "OpenID Connect UserInfo claims")), tag = "openid")]
pub async fn userinfo_post(user: Auth<TokenUser, OpenId>) -> Response {
    answer(user)
}
