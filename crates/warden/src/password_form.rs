//! The form of OAuth 2.0's password grant (RFC 6749 §4.3.2), as FastAPI and Swagger UI send it.

use std::borrow::Cow;

use axum::extract::{FromRequest, Request};
use serde::Serialize;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::validation::{FieldError, Loc, ValidationError, has_media_type, read_body};

/// The largest token-request body accepted: 16 KiB is far more than a username, a password
/// and a scope list need.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

const FORM: &str = "application/x-www-form-urlencoded";

/// FastAPI's `OAuth2PasswordRequestForm`: `application/x-www-form-urlencoded` with
/// `username`, `password`, and optionally `grant_type` (which, if sent, must be `password`),
/// `scope` (space-separated), `client_id` and `client_secret`.
///
/// This is what Swagger UI's Authorize dialog posts for a password flow. Missing fields
/// answer 422 with FastAPI's `detail` list; a parameter sent twice is refused (RFC 6749 §3.1
/// forbids repeats); bodies over [`MAX_FORM_BYTES`] answer 413. Values are never echoed.
///
/// ```
/// use warden::{OAuth2PasswordRequestForm, TokenResponse};
///
/// async fn token(form: OAuth2PasswordRequestForm) -> TokenResponse {
///     let scopes: Vec<&str> = form.scopes().collect();
///     // … check form.username / form.password, issue a token for `scopes` …
///     TokenResponse::bearer("…".into())
/// }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OAuth2PasswordRequestForm {
    /// `grant_type`, `password` when present.
    pub grant_type: Option<String>,
    /// `username`.
    pub username: String,
    /// `password`.
    pub password: String,
    /// `scope`, space-separated (empty when absent).
    pub scope: String,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_secret`.
    pub client_secret: Option<String>,
}

impl OAuth2PasswordRequestForm {
    /// The requested scopes (`scope` split on spaces; FastAPI's `.scopes`).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    async fn parse<S: Send + Sync>(
        req: Request,
        state: &S,
        strict: bool,
    ) -> Result<Self, ValidationError> {
        if !has_media_type(&req, FORM) {
            return Err(ValidationError::UnsupportedMediaType { expected: FORM });
        }
        let body = read_body(req, state, Some(MAX_FORM_BYTES)).await?;
        let mut fields: [Option<String>; 6] = Default::default();
        let mut errors = Vec::new();
        for (key, value) in form_urlencoded::parse(&body) {
            let Some(i) = FIELDS.iter().position(|f| *f == key) else {
                continue;
            };
            if fields[i].is_some() {
                errors.push(error(
                    FIELDS[i],
                    "Parameter sent more than once",
                    "duplicate_parameter",
                ));
            }
            fields[i] = Some(value.into_owned());
        }
        let [
            grant_type,
            username,
            password,
            scope,
            client_id,
            client_secret,
        ] = fields;
        match grant_type.as_deref() {
            None if strict => errors.push(error("grant_type", "Field required", "missing")),
            Some(g) if g != "password" => errors.push(error(
                "grant_type",
                "String should match pattern '^password$'",
                "string_pattern_mismatch",
            )),
            _ => {}
        }
        if username.is_none() {
            errors.push(error("username", "Field required", "missing"));
        }
        if password.is_none() {
            errors.push(error("password", "Field required", "missing"));
        }
        match (username, password) {
            (Some(username), Some(password)) if errors.is_empty() => Ok(Self {
                grant_type,
                username,
                password,
                scope: scope.unwrap_or_default(),
                client_id,
                client_secret,
            }),
            _ => Err(ValidationError::Invalid(errors)),
        }
    }
}

const FIELDS: [&str; 6] = [
    "grant_type",
    "username",
    "password",
    "scope",
    "client_id",
    "client_secret",
];

fn error(field: &'static str, msg: &'static str, kind: &'static str) -> FieldError {
    FieldError::new(
        vec![Loc::Field("body".into()), Loc::Field(field.into())],
        msg,
        kind,
    )
}

impl std::fmt::Debug for OAuth2PasswordRequestForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2PasswordRequestForm")
            .field("grant_type", &self.grant_type)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("scope", &self.scope)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl<S: Send + Sync> FromRequest<S> for OAuth2PasswordRequestForm {
    type Rejection = ValidationError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Self::parse(req, state, false).await
    }
}

/// FastAPI's `OAuth2PasswordRequestFormStrict`: the same form, with `grant_type=password`
/// required (as RFC 6749 §4.3.2 does). Dereferences to [`OAuth2PasswordRequestForm`].
///
/// ```
/// use warden::OAuth2PasswordRequestFormStrict;
///
/// async fn token(form: OAuth2PasswordRequestFormStrict) -> String {
///     form.username.clone()
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2PasswordRequestFormStrict(pub OAuth2PasswordRequestForm);

impl std::ops::Deref for OAuth2PasswordRequestFormStrict {
    type Target = OAuth2PasswordRequestForm;

    fn deref(&self) -> &OAuth2PasswordRequestForm {
        &self.0
    }
}

impl<S: Send + Sync> FromRequest<S> for OAuth2PasswordRequestFormStrict {
    type Rejection = ValidationError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        OAuth2PasswordRequestForm::parse(req, state, true)
            .await
            .map(Self)
    }
}

fn form_schema(strict: bool) -> RefOr<Schema> {
    let string = |format: Option<KnownFormat>| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(format.map(SchemaFormat::KnownFormat))
    };
    let mut grant_type = string(None).pattern(Some("^password$"));
    if !strict {
        grant_type = grant_type.description(Some("Must be `password` when sent."));
    }
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("grant_type", grant_type)
        .property("username", string(None))
        .property("password", string(Some(KnownFormat::Password)))
        .property(
            "scope",
            string(None)
                .default(Some(serde_json::Value::String(String::new())))
                .description(Some("Requested scopes, separated by spaces.")),
        )
        .property("client_id", string(None))
        .property("client_secret", string(Some(KnownFormat::Password)))
        .required("username")
        .required("password");
    if strict {
        object = object.required("grant_type");
    }
    RefOr::T(Schema::Object(object.build()))
}

impl PartialSchema for OAuth2PasswordRequestForm {
    fn schema() -> RefOr<Schema> {
        form_schema(false)
    }
}

impl ToSchema for OAuth2PasswordRequestForm {
    fn name() -> Cow<'static, str> {
        "OAuth2PasswordRequestForm".into()
    }
}

impl PartialSchema for OAuth2PasswordRequestFormStrict {
    fn schema() -> RefOr<Schema> {
        form_schema(true)
    }
}

impl ToSchema for OAuth2PasswordRequestFormStrict {
    fn name() -> Cow<'static, str> {
        "OAuth2PasswordRequestFormStrict".into()
    }
}

impl<St> crate::openapi::DescribeSecurity<St> for OAuth2PasswordRequestForm {
    fn describe(_: &mut crate::openapi::SchemeRegistry) -> Option<crate::openapi::Alternatives> {
        None
    }
}

impl<St> crate::openapi::DescribeSecurity<St> for OAuth2PasswordRequestFormStrict {
    fn describe(_: &mut crate::openapi::SchemeRegistry) -> Option<crate::openapi::Alternatives> {
        None
    }
}

/// A successful token response (RFC 6749 §5.1), `token_type` `bearer` as FastAPI writes it.
///
/// ```
/// let response = warden::TokenResponse::bearer("abc".into()).expires_in(900);
/// let json = serde_json::to_value(&response).unwrap();
/// assert_eq!(json, serde_json::json!({"access_token": "abc", "token_type": "bearer", "expires_in": 900}));
/// ```
#[derive(Clone, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: Cow<'static, str>,
    /// Lifetime of the access token in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// A refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scopes, when they differ from those requested (RFC 6749 §5.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl TokenResponse {
    /// A bearer token response.
    pub fn bearer(access_token: String) -> Self {
        Self {
            access_token,
            token_type: "bearer".into(),
            expires_in: None,
            refresh_token: None,
            scope: None,
        }
    }

    /// With `expires_in`.
    pub fn expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = Some(seconds);
        self
    }

    /// With the granted `scope`.
    pub fn scope(mut self, scope: String) -> Self {
        self.scope = Some(scope);
        self
    }
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Answers 200 with the JSON body and `Cache-Control: no-store` (RFC 6749 §5.1: responses
/// carrying tokens must not be cached).
impl axum::response::IntoResponse for TokenResponse {
    fn into_response(self) -> axum::response::Response {
        let mut response = axum::Json(self).into_response();
        response.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        response
    }
}
