//! Request headers: [`ValidHeaders`].

use std::borrow::Cow;

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde::de::DeserializeOwned;
use validator::Validate;

use super::values::{Values, struct_fields};
use super::{FieldError, Loc, ValidationError, validator_errors_in};

/// The most [`ValidHeaders`] reads, in bytes: the names and values of the headers its type
/// asks for (8 KiB, like common servers' limit for a header); more answers 431.
pub const MAX_HEADERS_BYTES: usize = 8 * 1024;

/// Request headers as a struct, deserialized and then checked with [`validator`] rules:
/// FastAPI's `Header()` parameters, or its Pydantic model for headers.
///
/// A field reads the header of its name with `_` as `-`, in any case (FastAPI's
/// `convert_underscores`): `x_request_id` reads `X-Request-Id`. Only the headers the type asks
/// for are read, so other headers are not "extra". A header sent several times fills a
/// `Vec<T>` field and is refused for any other field. Failures answer 422 with FastAPI's
/// `detail` list located at `["header", "x-request-id"]`, never echoing a value (headers carry
/// credentials); headers over [`MAX_HEADERS_BYTES`] answer 431. Values that are not UTF-8 are
/// read lossily.
///
/// Document the headers with utoipa's `IntoParams`, `#[into_params(parameter_in = Header,
/// rename_all = "kebab-case")]`, named in `#[utoipa::path(params(…))]`:
///
/// ```
/// use serde::Deserialize;
/// use utoipa::IntoParams;
/// use validator::Validate;
/// use warden::ValidHeaders;
///
/// #[derive(Deserialize, Validate, IntoParams)]
/// #[into_params(parameter_in = Header, rename_all = "kebab-case")]
/// struct Tracing {
///     /// 8 to 64 characters.
///     #[validate(length(min = 8, max = 64))]
///     x_request_id: String,
/// }
///
/// /// Echoes the request id.
/// #[utoipa::path(get, path = "/ping", params(Tracing), responses((status = 200, description = "Pong")))]
/// async fn ping(ValidHeaders(headers): ValidHeaders<Tracing>) -> String {
///     headers.x_request_id
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidHeaders<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidHeaders<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ValidationError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // A struct names its fields; a map (or a flattened struct) takes every header.
        let fields = struct_fields::<T>();
        let mut size = 0;
        let mut pairs = Vec::new();
        for (name, value) in &parts.headers {
            let field = name.as_str().replace('-', "_");
            if fields.is_some_and(|fields| !fields.contains(&field.as_str())) {
                continue;
            }
            size += name.as_str().len() + value.len();
            if size > MAX_HEADERS_BYTES {
                return Err(ValidationError::HeadersTooLarge);
            }
            pairs.push((Cow::Owned(field), String::from_utf8_lossy(value.as_bytes())));
        }
        let value: T = Values::new(pairs)
            .deserialize("header")
            .map_err(|error| ValidationError::Invalid(vec![header_loc(error)]))?;
        value.validate().map_err(|errors| {
            ValidationError::Invalid(
                validator_errors_in("header", &errors)
                    .into_iter()
                    .map(header_loc)
                    .collect(),
            )
        })?;
        Ok(Self(value))
    }
}

/// Names the header as sent (`x-request-id`), not as the field (`x_request_id`).
fn header_loc(mut error: FieldError) -> FieldError {
    if let Some(Loc::Field(name)) = error.loc.get_mut(1) {
        *name = name.replace('_', "-").into();
    }
    error
}
