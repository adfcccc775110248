//! Logging in with a password: checked on the hashing pool, then a fresh session.

use axum::Json;
use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use http::header::WWW_AUTHENTICATE;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::json;

use super::{LoggedIn, SessionError, SessionScheme, Sessions};
use crate::error::AuthError;
use crate::password::{HashingPool, PoolError};
use crate::principal::Denied;

/// A successful password login: the new session's cookies, and whether the stored hash
/// should be replaced (`pool.hash(password)`: legacy bcrypt or weaker argon2 parameters).
///
/// Add it to the response like [`LoggedIn`] (it is `IntoResponseParts`).
#[derive(Debug)]
#[must_use = "the session cookie reaches the browser only if this is part of the response"]
pub struct PasswordLogin {
    /// The session's cookies.
    pub session: LoggedIn,
    /// Whether to store a new hash of the password now.
    pub needs_rehash: bool,
}

impl IntoResponseParts for PasswordLogin {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        self.session.into_response_parts(res)
    }
}

/// Why a password login did not start a session.
///
/// As a response: `InvalidCredentials` is 401 `{"detail": "Incorrect username or
/// password"}` with `WWW-Authenticate: APIKey` (the same for an unknown user and a wrong
/// password), `Unavailable` 503 with `Retry-After` (the hashing pool shed the request),
/// `Session` as [`SessionError`].
///
/// ```
/// use axum::response::IntoResponse;
/// use warden::session::LoginError;
///
/// let response = LoginError::InvalidCredentials.into_response();
/// assert_eq!(response.status(), 401);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// Unknown user or wrong password (indistinguishable, also in time).
    #[error("incorrect username or password")]
    InvalidCredentials,
    /// The password could not be checked now.
    #[error("login temporarily unavailable")]
    Unavailable {
        /// Seconds after which a retry makes sense.
        retry_after: u32,
    },
    /// The session could not be started.
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl From<PoolError> for LoginError {
    /// A saturated pool is 503; a too-long password or an unusable stored hash is a
    /// refused login (the latter logged), like the pool's own mapping to [`Denied`].
    fn from(error: PoolError) -> Self {
        match Denied::from(error) {
            Denied::Unavailable { retry_after } => Self::Unavailable { retry_after },
            _ => Self::InvalidCredentials,
        }
    }
}

impl IntoResponse for LoginError {
    fn into_response(self) -> Response {
        match self {
            Self::InvalidCredentials => (
                StatusCode::UNAUTHORIZED,
                [(WWW_AUTHENTICATE, HeaderValue::from_static("APIKey"))],
                Json(json!({ "detail": "Incorrect username or password" })),
            )
                .into_response(),
            Self::Unavailable { retry_after } => {
                AuthError::Unavailable { retry_after }.into_response()
            }
            Self::Session(error) => error.into_response(),
        }
    }
}

impl<K: SessionScheme> Sessions<K> {
    /// Checks `password` on the hashing `pool` and, if right, starts a session holding
    /// `data` with [`login`](Self::login) (fresh id, the request's old session destroyed).
    ///
    /// `account` is the user's stored hash and the session data, or `None` for an unknown
    /// username: a stand-in hash is verified then, so an unknown user costs as much time
    /// as a wrong password and the answer is the same. Pair it with a rate limit on failed
    /// logins (`warden::rate_limit`, feature `rate-limit`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum::extract::State;
    /// use axum::http::HeaderMap;
    /// use axum::response::{IntoResponse, Redirect};
    /// use axum::Form;
    /// use serde::{Deserialize, Serialize};
    /// use warden::password::HashingPool;
    /// use warden::session::{LoginError, Sessions};
    ///
    /// #[derive(Clone)]
    /// struct AppState { pool: Arc<HashingPool> }
    ///
    /// #[derive(Deserialize)]
    /// struct LoginForm { username: String, password: String }
    ///
    /// #[derive(Serialize)]
    /// struct SessionUser { id: u64 }
    ///
    /// /// (stored hash, user id) of a user, from the database.
    /// fn find(username: &str) -> Option<(String, u64)> { None }
    ///
    /// async fn login(
    ///     State(state): State<AppState>,
    ///     sessions: Sessions,
    ///     headers: HeaderMap,
    ///     Form(form): Form<LoginForm>,
    /// ) -> Result<impl IntoResponse, LoginError> {
    ///     let user = find(&form.username);
    ///     let account = user.as_ref().map(|(hash, id)| (hash.as_str(), SessionUser { id: *id }));
    ///     let login = sessions
    ///         .login_with_password(&headers, &state.pool, &form.password, account.as_ref().map(|(h, d)| (*h, d)))
    ///         .await?;
    ///     // if login.needs_rehash { store state.pool.hash(&form.password).await? }
    ///     Ok((login, Redirect::to("/")))
    /// }
    /// ```
    pub async fn login_with_password<T: Serialize + ?Sized>(
        &self,
        headers: &HeaderMap,
        pool: &HashingPool,
        password: &str,
        account: Option<(&str, &T)>,
    ) -> Result<PasswordLogin, LoginError> {
        let verified = pool
            .verify_optional(password, account.map(|(stored, _)| stored))
            .await?;
        let Some((_, data)) = account.filter(|_| verified.is_valid()) else {
            return Err(LoginError::InvalidCredentials);
        };
        let session = self.login(headers, data).await?;
        Ok(PasswordLogin {
            session,
            needs_rehash: verified.needs_rehash(),
        })
    }
}
