//! Input validation with FastAPI's error shape: 422 and a `detail` list of `{loc, msg, type}`.

use std::borrow::Cow;

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

/// One step of an error's location: a field name or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Loc {
    /// A field, or the part of the request (`"body"`, `"query"`).
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
        }
    }
}

fn detail(status: StatusCode, detail: Cow<'static, str>) -> Response {
    (status, Json(serde_json::json!({ "detail": detail }))).into_response()
}

/// Reads the body, bounded by axum's `DefaultBodyLimit` (2 MiB unless configured) and by
/// `limit` when given.
pub(crate) async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
    limit: Option<usize>,
) -> Result<axum::body::Bytes, ValidationError> {
    let bytes = match limit {
        Some(limit) => axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|err| {
                if is_length_limit(&err) {
                    ValidationError::TooLarge
                } else {
                    ValidationError::Unreadable
                }
            })?,
        None => axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ValidationError::TooLarge
                } else {
                    ValidationError::Unreadable
                }
            })?,
    };
    Ok(bytes)
}

fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

pub(crate) fn has_media_type(req: &Request, expected: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case(expected)
                || (expected == "application/json"
                    && v.len() > 5
                    && v[v.len() - 5..].eq_ignore_ascii_case("+json"))
        })
        .unwrap_or(false)
}

/// A JSON body, deserialized and then checked with [`validator`] rules: FastAPI's pydantic
/// body parameter.
///
/// Failures answer 422 with FastAPI's `detail` list, so clients written for FastAPI keep
/// working; a body over the route's limit answers 413, a body that is not JSON 415.
///
/// ```
/// use serde::Deserialize;
/// use validator::Validate;
/// use warden::ValidJson;
///
/// #[derive(Deserialize, Validate)]
/// struct Item {
///     #[validate(length(min = 1, max = 100))]
///     name: String,
///     #[validate(range(exclusive_min = 0.0))]
///     price: f64,
/// }
///
/// async fn create_item(ValidJson(item): ValidJson<Item>) -> String {
///     item.name
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ValidationError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_media_type(&req, "application/json") {
            return Err(ValidationError::UnsupportedMediaType {
                expected: "application/json",
            });
        }
        let bytes = read_body(req, state, None).await?;
        let value: T = from_json(&bytes)?;
        value
            .validate()
            .map_err(|errors| ValidationError::Invalid(validator_errors(&errors)))?;
        Ok(Self(value))
    }
}

impl<St, T> crate::openapi::DescribeSecurity<St> for ValidJson<T> {
    fn describe(_: &mut crate::openapi::SchemeRegistry) -> Option<crate::openapi::Alternatives> {
        None
    }
}

/// Deserializes JSON, locating the first error the way pydantic would.
pub fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ValidationError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let mut loc = vec![Loc::Field("body".into())];
        for segment in err.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => loc.push(Loc::Index(*index)),
                serde_path_to_error::Segment::Map { key } => {
                    loc.push(Loc::Field(key.clone().into()))
                }
                serde_path_to_error::Segment::Enum { variant } => {
                    loc.push(Loc::Field(variant.clone().into()))
                }
                serde_path_to_error::Segment::Unknown => {}
            }
        }
        ValidationError::Invalid(vec![json_error(err.inner(), loc)])
    })?;
    de.end().map_err(|err| {
        ValidationError::Invalid(vec![json_error(&err, vec![Loc::Field("body".into())])])
    })?;
    Ok(value)
}

fn json_error(err: &serde_json::Error, mut loc: Vec<Loc>) -> FieldError {
    use serde_json::error::Category;
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            FieldError::new(loc, "JSON decode error", "json_invalid")
        }
        Category::Data => {
            let message = err.to_string();
            if let Some(field) = between(&message, "missing field `", "`") {
                loc.push(Loc::Field(field.to_owned().into()));
                FieldError::new(loc, "Field required", "missing")
            } else if let Some(field) = between(&message, "unknown field `", "`") {
                // The path already ends at the unknown key when the deserializer saw it.
                if loc.last() != Some(&Loc::Field(field.to_owned().into())) {
                    loc.push(Loc::Field(field.to_owned().into()));
                }
                FieldError::new(loc, "Extra inputs are not permitted", "extra_forbidden")
            } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
                let expected = message.split("expected ").nth(1).unwrap_or("");
                let (msg, kind) = if expected.starts_with('f') {
                    ("Input should be a valid number", "float_type")
                } else if expected.starts_with('i') || expected.starts_with('u') {
                    ("Input should be a valid integer", "int_type")
                } else if expected.contains("string") || expected.contains("char") {
                    ("Input should be a valid string", "string_type")
                } else if expected.contains("bool") {
                    ("Input should be a valid boolean", "bool_type")
                } else if expected.contains("sequence") {
                    ("Input should be a valid list", "list_type")
                } else if expected.contains("struct") || expected.contains("map") {
                    ("Input should be a valid dictionary or object", "model_type")
                } else {
                    ("Input has the wrong type", "type_error")
                };
                FieldError::new(loc, msg, kind)
            } else {
                FieldError::new(loc, "Invalid value", "value_error")
            }
        }
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &s[s.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

/// Flattens `validator`'s nested errors into located field errors.
pub fn validator_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect(errors, &mut vec![Loc::Field("body".into())], &mut out);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[validate(length(min = 1, max = 10))]
        name: String,
        #[validate(range(exclusive_min = 0.0))]
        price: f64,
        #[serde(default)]
        #[validate(nested)]
        tags: Vec<Tag>,
    }

    #[derive(Debug, Deserialize, Validate)]
    struct Tag {
        #[validate(length(min = 2))]
        label: String,
    }

    fn errors(json: &str) -> serde_json::Value {
        let err = match from_json::<Item>(json.as_bytes()) {
            Err(e) => e,
            Ok(item) => match item.validate() {
                Err(e) => ValidationError::Invalid(validator_errors(&e)),
                Ok(()) => panic!("accepted {json}"),
            },
        };
        match err {
            ValidationError::Invalid(list) => serde_json::to_value(list).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_field() {
        assert_eq!(
            errors(r#"{"name": "x"}"#),
            serde_json::json!([{"loc": ["body", "price"], "msg": "Field required", "type": "missing"}])
        );
    }

    #[test]
    fn wrong_type_is_located() {
        let e = errors(r#"{"name": "x", "price": "ten"}"#);
        assert_eq!(e[0]["loc"], serde_json::json!(["body", "price"]));
        assert_eq!(e[0]["type"], "float_type");
        assert!(!e.to_string().contains("ten"), "value echoed: {e}");
    }

    #[test]
    fn malformed_json() {
        assert_eq!(errors(r#"{"name": "#)[0]["type"], "json_invalid");
        assert_eq!(
            errors(r#"{"name": "x", "price": 1} trailing"#)[0]["type"],
            "json_invalid"
        );
    }

    #[test]
    fn unknown_field() {
        let e = errors(r#"{"name": "x", "price": 1, "admin": true}"#);
        assert_eq!(e[0]["loc"], serde_json::json!(["body", "admin"]));
        assert_eq!(e[0]["type"], "extra_forbidden");
    }

    #[test]
    fn rules_are_reported_per_field_and_nested() {
        let e = errors(r#"{"name": "", "price": -1, "tags": [{"label": "ok"}, {"label": "x"}]}"#);
        let locs: Vec<_> = e
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["loc"].clone())
            .collect();
        assert_eq!(
            locs,
            [
                serde_json::json!(["body", "name"]),
                serde_json::json!(["body", "price"]),
                serde_json::json!(["body", "tags", 1, "label"]),
            ]
        );
        assert!(e[0]["msg"].as_str().unwrap().contains("length"));
    }
}
