//! OAuth2 password flow with JWT access tokens: FastAPI's `OAuth2PasswordBearer` tutorial.
//!
//! Fixed from the seeds: tokens are EdDSA-signed `at+jwt` access tokens (`warden::jwt`) with
//! a key generated at start-up or read from `JWT_PRIVATE_KEY`, never a constant; passwords are argon2id hashes checked off the async
//! workers; an unknown user costs the same time as a wrong password; a failed login answers
//! RFC 6749's `invalid_grant`, and an invalid token 401 — never 200.
//!
//! ```sh
//! DEMO_PASSWORD='correct horse battery' cargo run -p warden --features full --example oauth2_password_jwt
//! TOKEN=$(curl -s -d username=johndoe -d 'password=correct horse battery' http://127.0.0.1:8000/token | jq -r .access_token)
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/users/me
//! ```
//! Or open <http://127.0.0.1:8000/docs>, press Authorize and log in as `johndoe`.

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
    SecurityScopes, TokenError, TokenResponse, routes,
};

/// The scheme: bearer tokens obtained with the password flow at `/token`.
struct Oauth2;

impl OAuth2Scheme for Oauth2 {
    const SCHEME_NAME: &'static str = "OAuth2PasswordBearer";
    const FLOWS: &'static [OAuth2Flow] = &[OAuth2Flow::password("/token")];
}

#[derive(Clone)]
struct App {
    users: Arc<UserDb>,
    tokens: Arc<Tokens>,
}

/// FastAPI's `get_current_active_user`: a valid token of an existing, enabled user.
struct CurrentUser(UserRecord);

impl Principal<App> for CurrentUser {
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
        Ok(CurrentUser(user.clone()))
    }

    fn has_scope(&self, _: &str) -> bool {
        false
    }
}

#[derive(Serialize, ToSchema)]
struct UserOut {
    username: String,
    email: String,
    full_name: String,
    disabled: bool,
}

#[derive(Serialize, ToSchema)]
struct Item {
    item_id: String,
    owner: String,
}

/// Log in: exchange a username and password for an access token.
#[utoipa::path(
    post,
    path = "/token",
    request_body(content = OAuth2PasswordRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token", body = TokenResponse),
        (status = 400, description = "`invalid_grant`: wrong username or password (RFC 6749 §5.2)"),
        (status = 422, description = "A required field is missing"),
        (status = 503, description = "Too many logins at once; retry after `Retry-After` seconds"),
    )
)]
async fn login(
    State(app): State<App>,
    form: OAuth2PasswordRequestForm,
) -> Result<TokenResponse, axum::response::Response> {
    let user = app
        .users
        .authenticate(&form.username, &form.password)
        .await
        .map_err(common::overloaded)?
        .ok_or_else(|| {
            TokenError::invalid_grant("Incorrect username or password").into_response()
        })?;
    if user.disabled {
        return Err(TokenError::invalid_grant("Incorrect username or password").into_response());
    }
    let token = app
        .tokens
        .issue(&user.username, &[])
        .map_err(|_| TokenError::invalid_request("Could not issue a token").into_response())?;
    Ok(TokenResponse::bearer(token).expires_in(app.tokens.lifetime.as_secs()))
}

/// The current user.
#[utoipa::path(get, path = "/users/me", responses((status = 200, description = "The current user", body = UserOut)))]
async fn read_users_me(user: Auth<CurrentUser>) -> Json<UserOut> {
    let CurrentUser(user) = user.into_inner();
    Json(UserOut {
        username: user.username,
        email: user.email,
        full_name: user.full_name,
        disabled: user.disabled,
    })
}

/// The current user's items.
#[utoipa::path(get, path = "/users/me/items", responses((status = 200, description = "Items", body = [Item])))]
async fn read_own_items(user: Auth<CurrentUser>) -> Json<Vec<Item>> {
    Json(vec![Item {
        item_id: "Foo".into(),
        owner: user.0.username.clone(),
    }])
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = App {
        users: UserDb::demo().await?,
        tokens: Arc::new(Tokens::from_env()?),
    };
    let router = ApiRouter::new()
        .info("OAuth2 password flow with JWT", "1.0.0")
        .routes(routes!(login))
        .routes(routes!(read_users_me))
        .routes(routes!(read_own_items))
        .with_state(app)
        .with_docs(Docs::default());
    common::serve(router).await
}
