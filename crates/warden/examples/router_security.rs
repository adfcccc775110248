//! Security for a whole router, declared once: FastAPI's `APIRouter(dependencies=[…])`.
//!
//! Everything under `/api` needs an API key (`X-API-Key`) or a bearer token from `/token`;
//! the router says so once (`require_with_state`), and every route added to it — before or
//! after, nested or not — is enforced and documented with that requirement. `/health` and
//! `/token` are on the outer router, which requires nothing, so they stay public.
//! `/api/users/me` needs the `me` scope on top: its handler asks for it, and the document
//! shows the router's requirement and the handler's scope merged. The API key grants `items`
//! only, so it reaches `/api/items` but not `/api/users/me` (403).
//!
//! ```sh
//! API_KEY=my-key DEMO_PASSWORD='correct horse battery' cargo run -p warden --features full --example router_security
//! curl http://127.0.0.1:8000/health                                # public
//! curl -H 'X-API-Key: my-key' http://127.0.0.1:8000/api/items      # 200
//! curl -i -H 'X-API-Key: my-key' http://127.0.0.1:8000/api/users/me  # 403: needs `me`
//! TOKEN=$(curl -s -d username=johndoe -d 'password=correct horse battery' -d scope=me http://127.0.0.1:8000/token | jq -r .access_token)
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/api/users/me
//! ```

mod common;

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use common::tokens::Tokens;
use common::users::UserDb;
use serde::Serialize;
use utoipa::ToSchema;
use warden::openapi::{ApiRouter, Docs};
use warden::{
    ApiKeyHeader, ApiKeyScheme, Auth, Denied, Either, OAuth2Bearer, OAuth2Flow,
    OAuth2PasswordRequestForm, OAuth2Scheme, Principal, SecurityScopes, TokenError, TokenResponse,
    routes, scope,
};

struct Key;
impl ApiKeyScheme for Key {
    const SCHEME_NAME: &'static str = "APIKeyHeader";
    const NAME: &'static str = "X-API-Key";
    const DESCRIPTION: Option<&'static str> = Some("A service key; grants `items`");
}

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

/// The scopes an API key grants.
const KEY_SCOPES: &[&str] = &["items"];

#[derive(Clone)]
struct App {
    api_key: Arc<str>,
    users: Arc<UserDb>,
    tokens: Arc<Tokens>,
}

/// Whoever called: a service with the API key, or a user with a token.
struct Caller {
    name: String,
    scopes: Vec<String>,
}

impl Principal<App> for Caller {
    type Credentials = Either<ApiKeyHeader<Key>, OAuth2Bearer<Oauth2>>;

    async fn authenticate(
        credentials: Self::Credentials,
        _: &SecurityScopes,
        app: &App,
    ) -> Result<Self, Denied> {
        match credentials {
            Either::Left(key) => {
                if warden::constant_time_eq(key.key.as_bytes(), app.api_key.as_bytes()) {
                    Ok(Caller {
                        name: "service".into(),
                        scopes: KEY_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
                    })
                } else {
                    Err(Denied::InvalidCredentials)
                }
            }
            Either::Right(bearer) => {
                let claims = app.tokens.verify(&bearer.token).await?;
                let subject = claims.sub.as_deref().unwrap_or_default();
                let user = app.users.get(subject).ok_or(Denied::InvalidCredentials)?;
                if user.disabled {
                    return Err(Denied::Forbidden("Inactive user"));
                }
                Ok(Caller {
                    name: user.username.clone(),
                    scopes: claims.scopes().map(str::to_owned).collect(),
                })
            }
        }
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

#[derive(Serialize, ToSchema)]
struct Health {
    status: String,
}

#[derive(Serialize, ToSchema)]
struct Item {
    item_id: String,
}

#[derive(Serialize, ToSchema)]
struct CallerOut {
    username: String,
    /// The scopes of the credentials used.
    scopes: Vec<String>,
}

/// Liveness: public.
#[utoipa::path(get, path = "/health", responses((status = 200, description = "Up", body = Health)))]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Log in (public), asking for scopes; only scopes the user may have are granted.
#[utoipa::path(
    post,
    path = "/token",
    request_body(content = OAuth2PasswordRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token for the granted scopes", body = TokenResponse),
        (status = 400, description = "`invalid_grant`: wrong username or password"),
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
        .filter(|user| !user.disabled)
        .ok_or_else(|| {
            TokenError::invalid_grant("Incorrect username or password").into_response()
        })?;
    let granted: Vec<String> = form
        .scopes()
        .filter(|scope| user.scopes.iter().any(|s| s == scope))
        .map(str::to_owned)
        .collect();
    let token = app
        .tokens
        .issue(&user.username, &granted)
        .map_err(|_| TokenError::invalid_request("Could not issue a token").into_response())?;
    Ok(TokenResponse::bearer(token)
        .expires_in(app.tokens.lifetime.as_secs())
        .scope(granted.join(" ")))
}

/// Items: any caller the router lets through.
#[utoipa::path(get, path = "/items", responses((status = 200, description = "Items", body = [Item])))]
async fn read_items() -> Json<Vec<Item>> {
    Json(vec![Item {
        item_id: "Foo".into(),
    }])
}

/// The caller, which needs `me` on top of the router's requirement.
#[utoipa::path(get, path = "/users/me", responses((status = 200, description = "The caller", body = CallerOut)))]
async fn read_me(caller: Auth<Caller, Me>) -> Json<CallerOut> {
    let Caller { name, scopes } = caller.into_inner();
    Json(CallerOut {
        username: name,
        scopes,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = App {
        api_key: common::secret("API_KEY").into(),
        users: UserDb::demo().await?,
        tokens: Arc::new(Tokens::from_env()?),
    };
    // Declared once: every route of `api` needs a caller.
    let api = ApiRouter::new()
        .require_with_state::<Auth<Caller>>(app.clone())
        .routes(routes!(read_items))
        .routes(routes!(read_me));
    let router = ApiRouter::new()
        .info("Security for a whole router", "1.0.0")
        .routes(routes!(health))
        .routes(routes!(login))
        .nest("/api", api)
        .with_state(app)
        .with_docs(Docs::default());
    common::serve(router).await
}
