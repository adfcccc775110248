//! JSON bodies: [`ValidJson`], and JSON errors located and worded as pydantic's.

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use validator::Validate;

use super::body::{has_media_type, read_body};
use super::{FieldError, Loc, ValidationError, validator_errors};

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
