//! Path parameters: [`ValidPath`].

use std::borrow::Cow;

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, path::ErrorKind};
use http::request::Parts;
use serde::de::DeserializeOwned;
use validator::Validate;

use super::values::Values;
use super::{FieldError, Loc, ValidationError, validator_errors_in};

/// The route's path parameters as a struct, deserialized and then checked with
/// [`validator`] rules: FastAPI's path parameters.
///
/// Fields are the parameters' names in the route (`/items/{item_id}` → `item_id`). Failures
/// answer 422 with FastAPI's `detail` list located at `["path", name]` (`int_parsing`…,
/// `value_error` for a rule, `string_unicode` for a parameter that is not UTF-8 once
/// percent-decoded); values are never echoed.
///
/// Document the parameters with utoipa's `IntoParams` and `#[into_params(parameter_in =
/// Path)]`, named in `#[utoipa::path(params(…))]`:
///
/// ```
/// use serde::Deserialize;
/// use utoipa::IntoParams;
/// use validator::Validate;
/// use warden::ValidPath;
///
/// #[derive(Deserialize, Validate, IntoParams)]
/// #[into_params(parameter_in = Path)]
/// struct ItemPath {
///     /// At least 1.
///     #[validate(range(min = 1))]
///     #[param(minimum = 1)]
///     item_id: u64,
/// }
///
/// /// One item.
/// #[utoipa::path(get, path = "/items/{item_id}", params(ItemPath), responses((status = 200, description = "The item")))]
/// async fn read_item(ValidPath(path): ValidPath<ItemPath>) -> String {
///     path.item_id.to_string()
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ValidationError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Percent-decoded by axum; a route without parameters has none.
        let params = match Path::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(Path(params)) => params,
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                let loc = match error.kind() {
                    ErrorKind::InvalidUtf8InPathParam { key } => {
                        vec![Loc::Field("path".into()), Loc::Field(key.clone().into())]
                    }
                    _ => vec![Loc::Field("path".into())],
                };
                return Err(ValidationError::Invalid(vec![FieldError::new(
                    loc,
                    "Input should be a valid string, unable to parse raw data as a unicode string",
                    "string_unicode",
                )]));
            }
            Err(_) => Vec::new(),
        };
        let pairs = params
            .iter()
            .map(|(name, value)| (Cow::Borrowed(name.as_str()), Cow::Borrowed(value.as_str())));
        let value: T = Values::new(pairs)
            .deserialize("path")
            .map_err(|error| ValidationError::Invalid(vec![error]))?;
        value
            .validate()
            .map_err(|errors| ValidationError::Invalid(validator_errors_in("path", &errors)))?;
        Ok(Self(value))
    }
}
