//! Typed request and response headers. RocketMQ carries every header field as a string in
//! `extFields` under the Java field name; [`command_header!`] declares a struct once and
//! derives both directions. Reading is lenient the way Java is (numbers written by C++ and
//! Node clients arrive already turned into text; booleans are true only for "true" in any
//! case); writing always emits strings. A required field that is missing is an error the
//! caller answers with INVALID_PARAMETER; `Option` fields may be absent.

pub mod broker;
pub mod namesrv;

use super::command::ExtFields;
use super::error::ProtocolError;

/// A header struct that converts to and from `extFields`.
pub trait CommandHeader: Sized {
    fn write_ext_fields(&self, ext: &mut ExtFields);
    fn read_ext_fields(ext: &ExtFields) -> Result<Self, ProtocolError>;
}

/// A header field type: how it is parsed from, and rendered into, an ext-field string.
pub trait HeaderField: Sized {
    fn parse_field(name: &'static str, raw: Option<&str>) -> Result<Self, ProtocolError>;
    /// `None` leaves the key out (Java omits null fields).
    fn render_field(&self) -> Option<String>;
}

impl HeaderField for String {
    fn parse_field(name: &'static str, raw: Option<&str>) -> Result<Self, ProtocolError> {
        raw.map(str::to_owned)
            .ok_or(ProtocolError::MissingField(name))
    }
    fn render_field(&self) -> Option<String> {
        Some(self.clone())
    }
}

macro_rules! numeric_header_field {
    ($($t:ty),*) => {$(
        impl HeaderField for $t {
            fn parse_field(name: &'static str, raw: Option<&str>) -> Result<Self, ProtocolError> {
                let raw = raw.ok_or(ProtocolError::MissingField(name))?;
                raw.trim().parse().map_err(|_| ProtocolError::InvalidField {
                    field: name,
                    value: raw.to_owned(),
                })
            }
            fn render_field(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
numeric_header_field!(i32, i64);

impl HeaderField for bool {
    /// Java's `Boolean.parseBoolean`: only "true", in any case, is true.
    fn parse_field(name: &'static str, raw: Option<&str>) -> Result<Self, ProtocolError> {
        raw.map(|r| r.eq_ignore_ascii_case("true"))
            .ok_or(ProtocolError::MissingField(name))
    }
    fn render_field(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl<T: HeaderField> HeaderField for Option<T> {
    fn parse_field(name: &'static str, raw: Option<&str>) -> Result<Self, ProtocolError> {
        raw.map(|r| T::parse_field(name, Some(r))).transpose()
    }
    fn render_field(&self) -> Option<String> {
        self.as_ref().and_then(T::render_field)
    }
}

/// Declares a header struct whose fields map to Java field names.
///
/// ```ignore
/// command_header! {
///     /// GET_ROUTEINFO_BY_TOPIC request.
///     pub struct GetRouteInfoRequestHeader {
///         pub topic: String = "topic",
///         pub accept_standard_json_only: Option<bool> = "acceptStandardJsonOnly",
///     }
/// }
/// ```
#[macro_export]
macro_rules! command_header {
    ($(#[$meta:meta])* pub struct $name:ident {
        $($(#[$fmeta:meta])* pub $field:ident : $ty:ty = $key:literal),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $crate::protocol::header::CommandHeader for $name {
            fn write_ext_fields(&self, ext: &mut $crate::protocol::command::ExtFields) {
                $(
                    if let Some(v) = $crate::protocol::header::HeaderField::render_field(&self.$field) {
                        ext.insert($key.to_owned(), v);
                    }
                )*
                let _ = ext;
            }

            fn read_ext_fields(
                ext: &$crate::protocol::command::ExtFields,
            ) -> Result<Self, $crate::protocol::error::ProtocolError> {
                let _ = ext;
                Ok($name {
                    $($field: $crate::protocol::header::HeaderField::parse_field(
                        $key,
                        ext.get($key).map(String::as_str),
                    )?,)*
                })
            }
        }
    };
}

pub use crate::command_header;

#[cfg(test)]
mod tests {
    use super::*;

    command_header! {
        pub struct Sample {
            pub name: String = "name",
            pub count: i32 = "count",
            pub big: Option<i64> = "big",
            pub flag: bool = "flag",
        }
    }

    fn ext(pairs: &[(&str, &str)]) -> ExtFields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn headers_round_trip_through_ext_fields() {
        let h = Sample {
            name: "a".into(),
            count: -3,
            big: Some(1 << 40),
            flag: true,
        };
        let mut map = ExtFields::new();
        h.write_ext_fields(&mut map);
        assert_eq!(map.get("count").map(String::as_str), Some("-3"));
        assert_eq!(Sample::read_ext_fields(&map).unwrap(), h);
    }

    #[test]
    fn optional_fields_may_be_absent_and_required_ones_may_not() {
        let h = Sample::read_ext_fields(&ext(&[("name", "a"), ("count", "1"), ("flag", "TRUE")]))
            .unwrap();
        assert_eq!(h.big, None);
        assert!(h.flag);
        let err = Sample::read_ext_fields(&ext(&[("name", "a"), ("flag", "x")])).unwrap_err();
        assert!(matches!(err, ProtocolError::MissingField("count")));
        let err = Sample::read_ext_fields(&ext(&[("name", "a"), ("count", "one"), ("flag", "x")]))
            .unwrap_err();
        assert!(matches!(
            err,
            ProtocolError::InvalidField { field: "count", .. }
        ));
    }

    #[test]
    fn booleans_follow_java_parse_boolean() {
        let h = Sample::read_ext_fields(&ext(&[("name", ""), ("count", "0"), ("flag", "yes")]))
            .unwrap();
        assert!(!h.flag);
    }
}
