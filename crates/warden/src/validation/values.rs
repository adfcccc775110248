//! Named text values — path parameters, query parameters, form fields, headers — read into a
//! `serde` type, with the first error located and worded as pydantic's and never quoting the
//! value (it may be a password).
//!
//! A name sent once fills a scalar field; a name sent several times fills a list (`Vec<T>`,
//! FastAPI's `list[T] = Query()`), and is refused for a scalar field rather than guessed at
//! (parameter pollution). Numbers and booleans are parsed from their text as pydantic's lax
//! mode does (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};

use super::{FieldError, Loc};

/// The values of one part of a request, grouped by name in order of first appearance.
pub(crate) struct Values<'a> {
    entries: Vec<(Cow<'a, str>, Vec<Cow<'a, str>>)>,
}

impl<'a> Values<'a> {
    pub(crate) fn new(pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Self {
        let mut entries: Vec<(Cow<'a, str>, Vec<Cow<'a, str>>)> = Vec::new();
        let mut index: HashMap<Cow<'a, str>, usize> = HashMap::new();
        for (name, value) in pairs {
            match index.get(&name) {
                Some(&i) => entries[i].1.push(value),
                None => {
                    index.insert(name.clone(), entries.len());
                    entries.push((name, vec![value]));
                }
            }
        }
        Self { entries }
    }

    /// Reads `T`; an error is located under `part` (`"query"`, `"path"`…).
    pub(crate) fn deserialize<T: DeserializeOwned>(
        &self,
        part: &'static str,
    ) -> Result<T, FieldError> {
        T::deserialize(Top(self)).map_err(|error| error.located_in(part))
    }
}

/// The field names of struct `T` (`None` for a map, or a struct with a flattened field).
pub(crate) fn struct_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut fields = None;
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// Why the values do not make a `T`. `loc` is relative to the part of the request.
#[derive(Debug)]
pub(crate) struct Error {
    loc: Vec<Loc>,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Missing,
    Extra,
    Repeated,
    Int,
    Float,
    Bool,
    Char,
    Enum(&'static [&'static str]),
    List,
    Object,
    Invalid,
}

impl Error {
    fn new(kind: Kind) -> Self {
        Self {
            loc: Vec::new(),
            kind,
        }
    }

    fn field(kind: Kind, field: &str) -> Self {
        Self {
            loc: vec![Loc::Field(field.to_owned().into())],
            kind,
        }
    }

    /// The same error, one step further out.
    fn at(mut self, step: Loc) -> Self {
        self.loc.insert(0, step);
        self
    }

    fn located_in(self, part: &'static str) -> FieldError {
        let mut loc = vec![Loc::Field(part.into())];
        loc.extend(self.loc);
        let (msg, kind): (Cow<'static, str>, &'static str) = match self.kind {
            Kind::Missing => ("Field required".into(), "missing"),
            Kind::Extra => ("Extra inputs are not permitted".into(), "extra_forbidden"),
            Kind::Repeated => (
                "Parameter sent more than once".into(),
                "duplicate_parameter",
            ),
            Kind::Int => (
                "Input should be a valid integer, unable to parse string as an integer".into(),
                "int_parsing",
            ),
            Kind::Float => (
                "Input should be a valid number, unable to parse string as a number".into(),
                "float_parsing",
            ),
            Kind::Bool => (
                "Input should be a valid boolean, unable to interpret input".into(),
                "bool_parsing",
            ),
            Kind::Char => ("Input should be a single character".into(), "string_type"),
            Kind::Enum(expected) => (enum_message(expected).into(), "enum"),
            Kind::List => ("Input should be a valid list".into(), "list_type"),
            Kind::Object => (
                "Input should be a valid dictionary or object".into(),
                "model_type",
            ),
            Kind::Invalid => ("Invalid value".into(), "value_error"),
        };
        FieldError::new(loc, msg, kind)
    }
}

/// pydantic's wording: `Input should be 'a', 'b' or 'c'` (the accepted values, not the sent
/// one).
fn enum_message(expected: &[&str]) -> String {
    let quoted: Vec<String> = expected.iter().map(|v| format!("'{v}'")).collect();
    match quoted.split_last() {
        None => "Input should be a valid enumeration member".into(),
        Some((last, [])) => format!("Input should be {last}"),
        Some((last, rest)) => format!("Input should be {} or {last}", rest.join(", ")),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} at {:?}", self.kind, self.loc)
    }
}

impl std::error::Error for Error {}

/// Every constructor keeps the kind of the problem and the names of fields (which the
/// application declared, or the client sent as names), never a value.
impl de::Error for Error {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self::new(Kind::Invalid)
    }

    fn invalid_type(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::new(expected_kind(&expected.to_string()))
    }

    fn invalid_value(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::new(expected_kind(&expected.to_string()))
    }

    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        Self::new(Kind::Enum(expected))
    }

    fn unknown_field(field: &str, _: &'static [&'static str]) -> Self {
        Self::field(Kind::Extra, field)
    }

    fn missing_field(field: &'static str) -> Self {
        Self::field(Kind::Missing, field)
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::field(Kind::Repeated, field)
    }
}

/// The kind of error for a value that is not what `expected` describes.
fn expected_kind(expected: &str) -> Kind {
    if expected.starts_with('f') {
        Kind::Float
    } else if expected.starts_with('i') || expected.starts_with('u') {
        Kind::Int
    } else if expected.contains("bool") {
        Kind::Bool
    } else if expected.contains("sequence") {
        Kind::List
    } else if expected.contains("struct") || expected.contains("map") {
        Kind::Object
    } else {
        Kind::Invalid
    }
}

/// The whole part: a map from names to values.
struct Top<'v, 'a>(&'v Values<'a>);

impl<'de> Deserializer<'de> for Top<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(Map {
            entries: self.0.entries.iter(),
            current: None,
        })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

type Entry<'a> = (Cow<'a, str>, Vec<Cow<'a, str>>);

struct Map<'v, 'a> {
    entries: std::slice::Iter<'v, Entry<'a>>,
    current: Option<&'v Entry<'a>>,
}

impl<'de> MapAccess<'de> for Map<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        seed.deserialize(entry.0.as_ref().into_deserializer())
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (name, values) = self.current.take().ok_or(Error::new(Kind::Invalid))?;
        seed.deserialize(Many(values))
            .map_err(|error| error.at(Loc::Field(name.to_string().into())))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// The values sent under one name: a list, or (sent once) a scalar.
struct Many<'v, 'a>(&'v [Cow<'a, str>]);

impl<'v> Many<'v, '_> {
    fn one(&self) -> Result<One<'v>, Error> {
        match self.0 {
            [value] => Ok(One(value)),
            _ => Err(Error::new(Kind::Repeated)),
        }
    }

    fn seq<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(Seq {
            values: self.0.iter().enumerate(),
        })
    }
}

macro_rules! through_one {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                self.one()?.$method(visitor)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Many<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            [value] => One(value).deserialize_any(visitor),
            _ => self.seq(visitor),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.seq(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        self.seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.seq(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.one()?.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Error> {
        Err(Error::new(Kind::Object))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.one()?.deserialize_enum(name, variants, visitor)
    }

    through_one! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_unit
        deserialize_map deserialize_identifier
    }
}

struct Seq<'v, 'a> {
    values: std::iter::Enumerate<std::slice::Iter<'v, Cow<'a, str>>>,
}

impl<'de> SeqAccess<'de> for Seq<'_, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.values.next() {
            None => Ok(None),
            Some((index, value)) => seed
                .deserialize(One(value))
                .map(Some)
                .map_err(|error| error.at(Loc::Index(index))),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.values.len())
    }
}

/// One value, parsed from its text.
struct One<'v>(&'v str);

macro_rules! parse_number {
    ($($method:ident $visit:ident $kind:ident;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                match self.0.trim().parse() {
                    Ok(number) => visitor.$visit(number),
                    Err(_) => Err(Error::new(Kind::$kind)),
                }
            }
        )*
    };
}

impl<'de> Deserializer<'de> for One<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.0)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // pydantic's lax booleans.
        let value = self.0.trim().to_ascii_lowercase();
        match value.as_str() {
            "true" | "1" | "yes" | "y" | "on" | "t" => visitor.visit_bool(true),
            "false" | "0" | "no" | "n" | "off" | "f" => visitor.visit_bool(false),
            _ => Err(Error::new(Kind::Bool)),
        }
    }

    parse_number! {
        deserialize_i8 visit_i8 Int;
        deserialize_i16 visit_i16 Int;
        deserialize_i32 visit_i32 Int;
        deserialize_i64 visit_i64 Int;
        deserialize_i128 visit_i128 Int;
        deserialize_u8 visit_u8 Int;
        deserialize_u16 visit_u16 Int;
        deserialize_u32 visit_u32 Int;
        deserialize_u64 visit_u64 Int;
        deserialize_u128 visit_u128 Int;
        deserialize_f32 visit_f32 Float;
        deserialize_f64 visit_f64 Float;
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let mut chars = self.0.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(Error::new(Kind::Char)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_bytes(self.0.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        // Unit variants named by the value; `unknown_variant` lists the accepted ones.
        let value: de::value::StrDeserializer<'_, Error> = self.0.into_deserializer();
        value.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error::new(Kind::List))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Error> {
        Err(Error::new(Kind::List))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value, Error> {
        Err(Error::new(Kind::List))
    }

    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error::new(Kind::Object))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Error> {
        Err(Error::new(Kind::Object))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! { str string identifier }
}

/// Records the field names a struct asks for, and stops there.
struct Probe<'f>(&'f mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error::new(Kind::Invalid))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Error> {
        *self.0 = Some(fields);
        Err(Error::new(Kind::Invalid))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Search {
        q: String,
        #[serde(default)]
        limit: Option<u32>,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        ids: Vec<u64>,
        #[serde(default)]
        exact: bool,
        #[serde(default)]
        order: Option<Order>,
        #[serde(default)]
        ratio: Option<f64>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Order {
        Asc,
        Desc,
    }

    fn read(pairs: &[(&str, &str)]) -> Result<Search, serde_json::Value> {
        let values = Values::new(
            pairs
                .iter()
                .map(|(k, v)| (Cow::Borrowed(*k), Cow::Borrowed(*v))),
        );
        values
            .deserialize::<Search>("query")
            .map_err(|e| serde_json::to_value(e).unwrap())
    }

    #[test]
    fn scalars_lists_options_enums() {
        let s = read(&[
            ("q", "rust"),
            ("limit", " 10 "),
            ("tags", "a"),
            ("tags", "b"),
            ("ids", "7"),
            ("exact", "yes"),
            ("order", "desc"),
            ("ratio", "0.5"),
        ])
        .unwrap();
        assert_eq!(s.limit, Some(10));
        assert_eq!(s.tags, ["a", "b"]);
        assert_eq!(s.ids, [7], "a list sent once is a list of one");
        assert!(s.exact);
        assert_eq!(s.order, Some(Order::Desc));
        assert_eq!(s.ratio, Some(0.5));
        assert_eq!(read(&[("q", "")]).unwrap().q, "");
    }

    #[test]
    fn errors_are_located_and_never_quote_the_value() {
        let e = read(&[("limit", "5")]).unwrap_err();
        assert_eq!(
            e,
            serde_json::json!({"loc": ["query", "q"], "msg": "Field required", "type": "missing"})
        );
        let e = read(&[("q", "x"), ("limit", "secret-ish")]).unwrap_err();
        assert_eq!(e["loc"], serde_json::json!(["query", "limit"]));
        assert_eq!(e["type"], "int_parsing");
        assert!(!e.to_string().contains("secret-ish"));
        let e = read(&[("q", "x"), ("ids", "1"), ("ids", "two")]).unwrap_err();
        assert_eq!(e["loc"], serde_json::json!(["query", "ids", 1]));
        let e = read(&[("q", "x"), ("exact", "maybe")]).unwrap_err();
        assert_eq!(e["type"], "bool_parsing");
        let e = read(&[("q", "x"), ("ratio", "half")]).unwrap_err();
        assert_eq!(e["type"], "float_parsing");
        let e = read(&[("q", "x"), ("order", "sideways")]).unwrap_err();
        assert_eq!(e["type"], "enum");
        assert_eq!(e["msg"], "Input should be 'asc' or 'desc'");
        assert!(!e.to_string().contains("sideways"));
    }

    #[test]
    fn repeated_scalars_and_unknown_names_are_refused() {
        let e = read(&[("q", "a"), ("q", "b")]).unwrap_err();
        assert_eq!(e["loc"], serde_json::json!(["query", "q"]));
        assert_eq!(e["type"], "duplicate_parameter");
        let e = read(&[("q", "a"), ("admin", "true")]).unwrap_err();
        assert_eq!(e["loc"], serde_json::json!(["query", "admin"]));
        assert_eq!(e["type"], "extra_forbidden");
    }

    #[test]
    fn probe_lists_struct_fields() {
        assert_eq!(
            struct_fields::<Search>(),
            Some(&["q", "limit", "tags", "ids", "exact", "order", "ratio"][..])
        );
        assert_eq!(
            struct_fields::<std::collections::HashMap<String, String>>(),
            None
        );
    }
}
