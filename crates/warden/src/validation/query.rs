//! Query strings: [`ValidQuery`].

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde::de::DeserializeOwned;
use validator::Validate;

use super::values::Values;
use super::{ValidationError, validator_errors_in};

/// The longest query string [`ValidQuery`] reads, in bytes (8 KiB, what common proxies allow
/// in a whole request line); a longer one answers 414.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

/// The query string, deserialized and then checked with [`validator`] rules: FastAPI's query
/// parameters, or its Pydantic model for query parameters.
///
/// Failures answer 422 with FastAPI's `detail` list located at `["query", name]`
/// (`missing`, `int_parsing`, `float_parsing`, `bool_parsing`, `enum`, `extra_forbidden`
/// with `#[serde(deny_unknown_fields)]`, `value_error` for a rule); values are never echoed.
/// A parameter repeated fills a `Vec<T>` field (FastAPI's `list[T] = Query()`) and is refused
/// for any other field (`duplicate_parameter`). A query string over [`MAX_QUERY_BYTES`]
/// answers 414.
///
/// The extractor does not document the parameters by itself: derive utoipa's `IntoParams`
/// with `#[into_params(parameter_in = Query)]` and name the type in
/// `#[utoipa::path(params(…))]`, as below.
///
/// ```
/// use serde::Deserialize;
/// use utoipa::IntoParams;
/// use validator::Validate;
/// use warden::ValidQuery;
///
/// #[derive(Deserialize, Validate, IntoParams)]
/// #[into_params(parameter_in = Query)]
/// struct Page {
///     /// 1 to 100.
///     #[validate(range(min = 1, max = 100))]
///     #[param(minimum = 1, maximum = 100)]
///     limit: u32,
///     #[serde(default)]
///     tags: Vec<String>,
/// }
///
/// /// Items, a page at a time.
/// #[utoipa::path(get, path = "/items", params(Page), responses((status = 200, description = "Items")))]
/// async fn list_items(ValidQuery(page): ValidQuery<Page>) -> String {
///     format!("{} items tagged {:?}", page.limit, page.tags)
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ValidQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ValidationError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        if query.len() > MAX_QUERY_BYTES {
            return Err(ValidationError::UriTooLong);
        }
        let value: T = Values::new(form_urlencoded::parse(query.as_bytes()))
            .deserialize("query")
            .map_err(|error| ValidationError::Invalid(vec![error]))?;
        value
            .validate()
            .map_err(|errors| ValidationError::Invalid(validator_errors_in("query", &errors)))?;
        Ok(Self(value))
    }
}
