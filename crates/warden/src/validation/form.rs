//! Form bodies: [`ValidForm`].

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use validator::Validate;

use super::body::{has_media_type, read_body};
use super::values::Values;
use super::{ValidationError, validator_errors};

const FORM: &str = "application/x-www-form-urlencoded";

/// An `application/x-www-form-urlencoded` body, deserialized and then checked with
/// [`validator`] rules: FastAPI's `Form()` parameters, or its Pydantic model for forms.
///
/// Failures answer 422 with FastAPI's `detail` list located at `["body", name]`, worded as
/// [`ValidQuery`](crate::ValidQuery)'s; values are never echoed (a form often carries a
/// password). As in FastAPI, a field sent empty counts as not sent (an HTML form sends its
/// unfilled inputs empty). A field repeated fills a `Vec<T>` (checkboxes) and is refused for
/// any other field. Another media type answers 415 (multipart forms are not read), a body
/// over axum's `DefaultBodyLimit` 413, as [`ValidJson`](crate::ValidJson) does.
///
/// Document the body with `request_body(content = T, content_type =
/// "application/x-www-form-urlencoded")`:
///
/// ```
/// use serde::Deserialize;
/// use utoipa::ToSchema;
/// use validator::Validate;
/// use warden::ValidForm;
///
/// #[derive(Deserialize, Validate, ToSchema)]
/// struct Signup {
///     #[validate(length(min = 1, max = 50))]
///     username: String,
///     #[validate(length(min = 12))]
///     password: String,
/// }
///
/// /// Create an account.
/// #[utoipa::path(
///     post,
///     path = "/signup",
///     request_body(content = Signup, content_type = "application/x-www-form-urlencoded"),
///     responses((status = 201, description = "Created"))
/// )]
/// async fn signup(ValidForm(form): ValidForm<Signup>) -> String {
///     form.username
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidForm<T>(pub T);

impl<S, T> FromRequest<S> for ValidForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ValidationError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_media_type(&req, FORM) {
            return Err(ValidationError::UnsupportedMediaType { expected: FORM });
        }
        let body = read_body(req, state, None).await?;
        let fields = form_urlencoded::parse(&body).filter(|(_, value)| !value.is_empty());
        let value: T = Values::new(fields)
            .deserialize("body")
            .map_err(|error| ValidationError::Invalid(vec![error]))?;
        value
            .validate()
            .map_err(|errors| ValidationError::Invalid(validator_errors(&errors)))?;
        Ok(Self(value))
    }
}
