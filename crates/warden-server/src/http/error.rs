//! Domain errors as HTTP answers: the one place where that mapping lives.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use warden::{TokenError, TokenErrorCode};

use crate::domain::DomainError;
use crate::storage::StorageError;

/// A domain error met at the token endpoint: RFC 6749 §5.2 bodies.
pub struct TokenEndpointError(pub DomainError);

impl From<DomainError> for TokenEndpointError {
    fn from(error: DomainError) -> Self {
        Self(error)
    }
}

impl IntoResponse for TokenEndpointError {
    fn into_response(self) -> Response {
        let (code, description) = match self.0 {
            DomainError::InvalidGrant => (
                TokenErrorCode::InvalidGrant,
                "The grant is invalid, expired or revoked",
            ),
            DomainError::InvalidClient => (
                TokenErrorCode::InvalidClient,
                "Client authentication failed",
            ),
            DomainError::UnauthorizedClient => (
                TokenErrorCode::UnauthorizedClient,
                "The client may not use this grant type",
            ),
            DomainError::UnsupportedGrantType => (
                TokenErrorCode::UnsupportedGrantType,
                "Unsupported grant type",
            ),
            DomainError::InvalidScope => (TokenErrorCode::InvalidScope, "Invalid scope"),
            DomainError::InvalidTarget(message) => (TokenErrorCode::InvalidTarget, message),
            DomainError::InvalidDPoPProof => (
                TokenErrorCode::InvalidDPoPProof,
                "The DPoP proof is invalid, replayed, or not for this request",
            ),
            DomainError::UseDPoPNonce { nonce } => {
                let mut response = TokenError::new(
                    TokenErrorCode::UseDPoPNonce,
                    "Send the DPoP proof again with the nonce in DPoP-Nonce",
                )
                .into_response();
                // Our own base64url, so always a valid header value (RFC 9449 §8.1).
                if let Ok(value) = HeaderValue::from_str(&nonce) {
                    response.headers_mut().insert("dpop-nonce", value);
                }
                return response;
            }
            DomainError::InvalidRequest(message) => (TokenErrorCode::InvalidRequest, message),
            // Said only after the password was right: the holder of the password learns that
            // a second factor stands between them and a token, as on any login page.
            DomainError::SecondFactorRequired => (
                TokenErrorCode::InvalidGrant,
                "This account requires a second factor: send its code as the otp parameter, \
                 or sign in through the browser (authorization code flow)",
            ),
            DomainError::InvalidCode => (
                TokenErrorCode::InvalidGrant,
                "The second-factor code is invalid, expired or already used",
            ),
            DomainError::EnrolmentRequired => (
                TokenErrorCode::InvalidGrant,
                "This account must set up a second factor first: sign in through the browser",
            ),
            DomainError::Storage(StorageError::InvalidText) => (
                TokenErrorCode::InvalidRequest,
                "a parameter holds a character that is not allowed",
            ),
            DomainError::Throttled { retry_after } => {
                // RFC 6749 has no code for this; 429 and Retry-After say it (RFC 6585 §4).
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({"error": "temporarily_unavailable", "error_description": "Too many login attempts; retry later"})),
                )
                    .into_response();
                let headers = response.headers_mut();
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                return response;
            }
            other => return ApiError(other).into_response(),
        };
        TokenError::new(code, description).into_response()
    }
}

/// RFC 7591 §3.2.2: 400 with the registration error codes.
impl IntoResponse for crate::domain::RegistrationError {
    fn into_response(self) -> Response {
        use crate::domain::RegistrationError as E;
        let (code, description) = match self {
            E::RedirectUri(m) => ("invalid_redirect_uri", m),
            E::Metadata(m) => ("invalid_client_metadata", m),
            E::SoftwareStatement => (
                "invalid_software_statement",
                "software statements are not supported",
            ),
            E::Domain(error) => return ApiError(error).into_response(),
            // RFC 7592 §2, RFC 6750 §3.1: the registration access token is a bearer token.
            E::InvalidToken => {
                let mut response = (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({ "error": "invalid_token" })),
                )
                    .into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
                return response;
            }
        };
        let mut response = (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": code, "error_description": description })),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// RFC 9470 §3: 401 with `error="insufficient_user_authentication"`, asking for a second
/// factor within the last five minutes (`acr_values`, `max_age`), so an OAuth client knows
/// to send the user through the authorization endpoint again with those parameters.
fn recent_authentication_required() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "detail": "A recent second factor is required" })),
    )
        .into_response();
    let challenge = format!(
        "Bearer error=\"insufficient_user_authentication\", \
         error_description=\"A recent second factor is required\", \
         acr_values=\"{}\", max_age=\"{}\"",
        crate::domain::ACR_MFA,
        crate::domain::RECENT_AUTHENTICATION_SECS
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// A domain error met anywhere else: FastAPI's `{"detail": …}`.
pub struct ApiError(pub DomainError);

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        Self(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, detail): (StatusCode, std::borrow::Cow<'static, str>) = match &self.0 {
            DomainError::InvalidRequest(m) | DomainError::WeakPassword(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, (*m).into())
            }
            DomainError::UsernameTaken => (StatusCode::CONFLICT, "Username already taken".into()),
            DomainError::NotFound => (StatusCode::NOT_FOUND, "Not found".into()),
            DomainError::ProviderExists => (
                StatusCode::CONFLICT,
                "An upstream provider with this id already exists".into(),
            ),
            DomainError::LastSignInMethod => (
                StatusCode::CONFLICT,
                "This is the account's only way to sign in: set a password, add a passkey or \
                 link another provider first"
                    .into(),
            ),
            DomainError::PasskeysDisabled => (
                StatusCode::NOT_FOUND,
                "Passkeys are not available on this server".into(),
            ),
            DomainError::InvalidPasskey(m) => (StatusCode::BAD_REQUEST, (*m).into()),
            DomainError::Forbidden => (StatusCode::FORBIDDEN, "Forbidden".into()),
            DomainError::RegistrationClosed => {
                (StatusCode::FORBIDDEN, "Registration is closed".into())
            }
            DomainError::InvalidGrant => (StatusCode::BAD_REQUEST, "Incorrect password".into()),
            DomainError::InvalidCode => (
                StatusCode::BAD_REQUEST,
                "The code is invalid, expired or already used".into(),
            ),
            DomainError::SecondFactorRequired | DomainError::EnrolmentRequired => {
                (StatusCode::FORBIDDEN, "A second factor is required".into())
            }
            DomainError::RecentAuthenticationRequired => {
                return recent_authentication_required();
            }
            DomainError::Throttled { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts, retry later".into(),
            ),
            // Only the token endpoint reads proofs itself; elsewhere a proof error is the
            // request's.
            DomainError::InvalidTarget(m) => (StatusCode::BAD_REQUEST, (*m).into()),
            DomainError::InvalidDPoPProof | DomainError::UseDPoPNonce { .. } => {
                (StatusCode::BAD_REQUEST, "Invalid DPoP proof".into())
            }
            DomainError::Busy { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Too busy, retry later".into(),
            ),
            // A key asking for scopes beyond the owner's roles or the caller's credential.
            DomainError::InvalidScope => (StatusCode::BAD_REQUEST, "Scope not granted".into()),
            DomainError::InvalidClient
            | DomainError::UnauthorizedClient
            | DomainError::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "Bad request".into()),
            DomainError::Storage(StorageError::InvalidText) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Input holds a character that is not allowed".into(),
            ),
            DomainError::Storage(error) => {
                tracing::error!(%error, "storage failure");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service unavailable".into(),
                )
            }
            DomainError::Internal(what) => {
                tracing::error!(what, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal server error".into(),
                )
            }
        };
        let mut response = (status, Json(json!({ "detail": detail }))).into_response();
        if let DomainError::Busy { retry_after } | DomainError::Throttled { retry_after } = self.0 {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}
