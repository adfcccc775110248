//! OAuth2 scopes: FastAPI's advanced scopes tutorial.
//!
//! Scopes are declared once, in the handler signature; `warden` checks them centrally (403
//! `insufficient_scope` per RFC 6750 §3.1, where FastAPI's tutorial answers 401) and writes them
//! into the OpenAPI document. Requirements accumulate: `ActiveUser<Items>` needs `me` (from the
//! alias) and `items`. The token endpoint grants only what the user may have — the "danger"
//! note of FastAPI's tutorial, done — and refuses unknown scopes with `invalid_scope`.
//!
//! ```sh
//! DEMO_PASSWORD='correct horse battery' cargo run -p warden --features full --example oauth2_scopes
//! TOKEN=$(curl -s -d username=johndoe -d 'password=correct horse battery' -d 'scope=me' http://127.0.0.1:8000/token | jq -r .access_token)
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/users/me/items   # 403: needs `items` too
//! ```

mod common;

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use common::tokens::Tokens;
use common::users::{UserDb, UserRecord};
use serde::Serialize;
use utoipa::ToSchema;
use warden::openapi::{ApiRouter, Docs};
use warden::{
    Auth, Denied, OAuth2Bearer, OAuth2Flow, OAuth2PasswordRequestForm, OAuth2Scheme, Principal,
    SecurityScopes, TokenError, TokenResponse, routes, scope,
};

/// The scheme, with the scopes Swagger UI offers as checkboxes.
struct Oauth2;

impl OAuth2Scheme for Oauth2 {
    const SCHEME_NAME: &'static str = "OAuth2PasswordBearer";
    const FLOWS: &'static [OAuth2Flow] = &[OAuth2Flow::password("/token")];
    const SCOPES: &'static [(&'static str, &'static str)] = &[
        ("me", "Read information about the current user."),
        ("items", "Read items."),
    ];
}

scope!(
    /// Read information about the current user.
    Me = "me"
);
scope!(
    /// Read items.
    Items = "items"
);

#[derive(Clone)]
struct App {
    users: Arc<UserDb>,
    tokens: Arc<Tokens>,
}

/// A user authenticated by a token, with the scopes the token grants.
struct TokenUser {
    user: UserRecord,
    scopes: Vec<String>,
}

impl Principal<App> for TokenUser {
    type Credentials = OAuth2Bearer<Oauth2>;

    async fn authenticate(
        bearer: OAuth2Bearer<Oauth2>,
        _: &SecurityScopes,
        app: &App,
    ) -> Result<Self, Denied> {
        // Signature, expiry, issuer and `typ: at+jwt` are checked here.
        let claims = app.tokens.verify(&bearer.token).await?;
        let subject = claims.sub.as_deref().unwrap_or_default();
        let user = app.users.get(subject).ok_or(Denied::InvalidCredentials)?;
        if user.disabled {
            return Err(Denied::Forbidden("Inactive user"));
        }
        Ok(TokenUser {
            user: user.clone(),
            scopes: claims.scopes().map(str::to_owned).collect(),
        })
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// FastAPI's `get_current_active_user`, which requires `me`; routes add their own scopes.
type ActiveUser<R = ()> = Auth<TokenUser, (Me, R)>;

#[derive(Serialize, ToSchema)]
struct UserOut {
    username: String,
    email: String,
    full_name: String,
    /// The scopes of the token used.
    scopes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
struct Item {
    item_id: String,
    owner: String,
}

#[derive(Serialize, ToSchema)]
struct Status {
    status: String,
}

/// Log in, asking for scopes; only scopes the user may have are granted.
#[utoipa::path(
    post,
    path = "/token",
    request_body(content = OAuth2PasswordRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token for the granted scopes", body = TokenResponse),
        (status = 400, description = "`invalid_grant` (wrong username or password) or `invalid_scope`"),
        (status = 422, description = "A required field is missing"),
        (status = 503, description = "Too many logins at once; retry after `Retry-After` seconds"),
    )
)]
async fn login(
    State(app): State<App>,
    form: OAuth2PasswordRequestForm,
) -> Result<TokenResponse, axum::response::Response> {
    if form
        .scopes()
        .any(|s| !Oauth2::SCOPES.iter().any(|(known, _)| *known == s))
    {
        return Err(TokenError::invalid_scope("Unknown scope requested").into_response());
    }
    let user = app
        .users
        .authenticate(&form.username, &form.password)
        .await
        .map_err(common::overloaded)?
        .filter(|user| !user.disabled)
        .ok_or_else(|| {
            TokenError::invalid_grant("Incorrect username or password").into_response()
        })?;
    let mut granted: Vec<String> = Vec::new();
    for scope in form.scopes() {
        if user.scopes.iter().any(|s| s == scope) && !granted.iter().any(|g| g == scope) {
            granted.push(scope.to_owned());
        }
    }
    let token = app
        .tokens
        .issue(&user.username, &granted)
        .map_err(|_| TokenError::invalid_request("Could not issue a token").into_response())?;
    Ok(TokenResponse::bearer(token)
        .expires_in(app.tokens.lifetime.as_secs())
        .scope(granted.join(" ")))
}

/// The current user (requires `me`).
#[utoipa::path(get, path = "/users/me", responses((status = 200, description = "The current user", body = UserOut)))]
async fn read_users_me(current: ActiveUser) -> Json<UserOut> {
    let TokenUser { user, scopes } = current.into_inner();
    Json(UserOut {
        username: user.username,
        email: user.email,
        full_name: user.full_name,
        scopes,
    })
}

/// The current user's items (requires `me` and `items`).
#[utoipa::path(get, path = "/users/me/items", responses((status = 200, description = "Items", body = [Item])))]
async fn read_own_items(current: ActiveUser<Items>) -> Json<Vec<Item>> {
    Json(vec![Item {
        item_id: "Foo".into(),
        owner: current.user.username.clone(),
    }])
}

/// Any valid token, no scope needed.
#[utoipa::path(get, path = "/status", responses((status = 200, description = "OK", body = Status)))]
async fn read_system_status(_: Auth<TokenUser>) -> Json<Status> {
    Json(Status {
        status: "ok".into(),
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = App {
        users: UserDb::demo().await?,
        tokens: Arc::new(Tokens::from_env()?),
    };
    let router = ApiRouter::new()
        .info("OAuth2 scopes", "1.0.0")
        .routes(routes!(login))
        .routes(routes!(read_users_me))
        .routes(routes!(read_own_items))
        .routes(routes!(read_system_status))
        .with_state(app)
        .with_docs(Docs::default());
    common::serve(router).await
}
