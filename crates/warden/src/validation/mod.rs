//! Input validation with FastAPI's error shape: 422 and a `detail` list of `{loc, msg, type}`.
//!
//! One extractor per part of the request, each deserializing with `serde` and then checking
//! [`validator`] rules: [`ValidJson`] and [`ValidForm`] (the body, `loc` `["body", …]`),
//! [`ValidQuery`] (`["query", …]`), [`ValidPath`] (`["path", …]`) and [`ValidHeaders`]
//! (`["header", …]`). Each bounds what it reads (413, 414, 431), refuses a wrong media type
//! (415), and never echoes a value back.

mod body;
mod form;
mod headers;
mod json;
mod path;
mod query;
mod values;

use std::borrow::Cow;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;
use validator::{ValidationErrors, ValidationErrorsKind};

pub(crate) use body::{has_media_type, read_body};
pub use form::ValidForm;
pub use headers::{MAX_HEADERS_BYTES, ValidHeaders};
pub use json::{ValidJson, from_json};
pub use path::ValidPath;
pub use query::{MAX_QUERY_BYTES, ValidQuery};

/// One step of an error's location: a field name or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Loc {
    /// A field, or the part of the request (`"body"`, `"query"`, `"path"`, `"header"`).
    Field(Cow<'static, str>),
    /// A position in a list.
    Index(usize),
}

/// One problem with the input, shaped like a pydantic error as FastAPI returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Where: `["body", "price"]`.
    pub loc: Vec<Loc>,
    /// What, for a person.
    pub msg: Cow<'static, str>,
    /// What, for a program: pydantic's error type where one matches (`missing`,
    /// `float_type`, `json_invalid`…), `value_error` for rules of `validator`.
    #[serde(rename = "type")]
    pub kind: Cow<'static, str>,
}

impl FieldError {
    /// An error at `loc`.
    pub fn new(
        loc: Vec<Loc>,
        msg: impl Into<Cow<'static, str>>,
        kind: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            loc,
            msg: msg.into(),
            kind: kind.into(),
        }
    }
}

/// Why a request's input was refused.
///
/// | variant | status | body |
/// |---|---|---|
/// | [`Invalid`](Self::Invalid) | 422 | `{"detail": [{"loc", "msg", "type"}…]}` |
/// | [`TooLarge`](Self::TooLarge) | 413 | `{"detail": "Request body too large"}` |
/// | [`UnsupportedMediaType`](Self::UnsupportedMediaType) | 415 | `{"detail": "Expected …"}` |
/// | [`Unreadable`](Self::Unreadable) | 400 | `{"detail": "Could not read the request body"}` |
/// | [`UriTooLong`](Self::UriTooLong) | 414 | `{"detail": "URI too long"}` |
/// | [`HeadersTooLarge`](Self::HeadersTooLarge) | 431 | `{"detail": "Request header fields too large"}` |
///
/// Messages are fixed or built from field names and rule parameters; a refused *value* is
/// never echoed back (it may be a password).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The input was read but is wrong.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The body is larger than the route accepts.
    #[error("request body too large")]
    TooLarge,
    /// The body is not of the expected media type.
    #[error("unsupported media type")]
    UnsupportedMediaType {
        /// The expected media type.
        expected: &'static str,
    },
    /// The body could not be read (the connection broke, say).
    #[error("could not read the request body")]
    Unreadable,
    /// The query string is longer than [`MAX_QUERY_BYTES`].
    #[error("URI too long")]
    UriTooLong,
    /// The headers to be read are larger than [`MAX_HEADERS_BYTES`].
    #[error("request header fields too large")]
    HeadersTooLarge,
}

impl IntoResponse for ValidationError {
    fn into_response(self) -> Response {
        match self {
            Self::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({ "detail": errors })),
            )
                .into_response(),
            Self::TooLarge => detail(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body too large".into(),
            ),
            Self::UnsupportedMediaType { expected } => detail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Expected {expected}").into(),
            ),
            Self::Unreadable => detail(
                StatusCode::BAD_REQUEST,
                "Could not read the request body".into(),
            ),
            Self::UriTooLong => detail(StatusCode::URI_TOO_LONG, "URI too long".into()),
            Self::HeadersTooLarge => detail(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "Request header fields too large".into(),
            ),
        }
    }
}

fn detail(status: StatusCode, detail: Cow<'static, str>) -> Response {
    (status, Json(serde_json::json!({ "detail": detail }))).into_response()
}

/// Flattens `validator`'s nested errors into located field errors, under `["body", …]`.
pub fn validator_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    validator_errors_in("body", errors)
}

/// Flattens `validator`'s nested errors into field errors located under `part` (`"body"`,
/// `"query"`, `"path"`, `"header"`).
///
/// ```
/// use validator::Validate;
///
/// #[derive(Validate)]
/// struct Page {
///     #[validate(range(max = 100))]
///     limit: u32,
/// }
///
/// let errors = Page { limit: 1000 }.validate().unwrap_err();
/// let detail = warden::validator_errors_in("query", &errors);
/// assert_eq!(serde_json::to_value(&detail[0].loc).unwrap(), serde_json::json!(["query", "limit"]));
/// ```
pub fn validator_errors_in(part: &'static str, errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect(errors, &mut vec![Loc::Field(part.into())], &mut out);
    out
}

fn collect(errors: &ValidationErrors, loc: &mut Vec<Loc>, out: &mut Vec<FieldError>) {
    let mut fields: Vec<_> = errors.errors().iter().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    for (field, kind) in fields {
        let field_loc = (field.as_ref() != "__all__").then(|| Loc::Field(field.to_string().into()));
        if let Some(l) = field_loc.clone() {
            loc.push(l);
        }
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    let msg: Cow<'static, str> = match &error.message {
                        Some(message) => message.to_string().into(),
                        None => describe_rule(&error.code, &error.params).into(),
                    };
                    out.push(FieldError::new(loc.clone(), msg, "value_error"));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, loc, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    loc.push(Loc::Index(*index));
                    collect(inner, loc, out);
                    loc.pop();
                }
            }
        }
        if field_loc.is_some() {
            loc.pop();
        }
    }
}

/// A message from a rule's code and bounds (never from the rejected value).
fn describe_rule(
    code: &str,
    params: &std::collections::HashMap<Cow<'static, str>, serde_json::Value>,
) -> String {
    let bounds: Vec<String> = ["min", "max", "exclusive_min", "exclusive_max", "equal"]
        .iter()
        .filter_map(|k| params.get(*k).map(|v| format!("{k} {v}")))
        .collect();
    if bounds.is_empty() {
        format!("Value error, failed rule `{code}`")
    } else {
        format!("Value error, failed rule `{code}` ({})", bounds.join(", "))
    }
}

macro_rules! no_security {
    ($($ty:ident),*) => {
        $(
            /// Input, not credentials: nothing in the operation's `security`.
            impl<St, T> crate::openapi::DescribeSecurity<St> for $ty<T> {
                fn describe(
                    _: &mut crate::openapi::SchemeRegistry,
                ) -> Option<crate::openapi::Alternatives> {
                    None
                }
            }
        )*
    };
}

no_security!(ValidJson, ValidForm, ValidQuery, ValidPath, ValidHeaders);
