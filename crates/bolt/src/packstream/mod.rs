//! PackStream v1: the value model and its binary encoding.
//!
//! * [`Value`] / [`Structure`] — the owned value tree (maps keep insertion order).
//! * [`Packer`] — writes values (or just headers, so callers can stream rows without building a
//!   tree) into a `Vec<u8>`, always in the minimal encoding.
//! * [`Unpacker`] — reads values from a byte slice. It accepts every legal width, checks every
//!   declared length against the bytes left before allocating, caps nesting depth, rejects
//!   reserved markers and invalid UTF-8, and never panics.
//!
//! Byte layout (big-endian everywhere):
//!
//! ```text
//! 00..7F, F0..FF  tiny int          C8/C9/CA/CB  int 8/16/32/64
//! 80..8F          tiny string       D0/D1/D2     string, u8/u16/u32 byte length
//! 90..9F          tiny list         D4/D5/D6     list, u8/u16/u32 item count
//! A0..AF          tiny map          D8/D9/DA     map, u8/u16/u32 entry count
//! B0..BF          structure (low nibble = field count) followed by a tag byte
//! C0 null   C1 float64   C2 false   C3 true   CC/CD/CE bytes, u8/u16/u32 length
//! ```
//!
//! What it does not do: PackStream v2 (Bolt 6.1's UUID marker `E0`) is treated as invalid.

mod pack;
mod unpack;

pub use pack::Packer;
pub use unpack::{Unpacker, DEFAULT_MAX_DEPTH};

/// Marker bytes (see the module doc for the layout).
pub mod marker {
    pub const NULL: u8 = 0xC0;
    pub const FLOAT_64: u8 = 0xC1;
    pub const FALSE: u8 = 0xC2;
    pub const TRUE: u8 = 0xC3;
    pub const INT_8: u8 = 0xC8;
    pub const INT_16: u8 = 0xC9;
    pub const INT_32: u8 = 0xCA;
    pub const INT_64: u8 = 0xCB;
    pub const BYTES_8: u8 = 0xCC;
    pub const BYTES_16: u8 = 0xCD;
    pub const BYTES_32: u8 = 0xCE;
    pub const TINY_STRING: u8 = 0x80;
    pub const STRING_8: u8 = 0xD0;
    pub const STRING_16: u8 = 0xD1;
    pub const STRING_32: u8 = 0xD2;
    pub const TINY_LIST: u8 = 0x90;
    pub const LIST_8: u8 = 0xD4;
    pub const LIST_16: u8 = 0xD5;
    pub const LIST_32: u8 = 0xD6;
    pub const TINY_MAP: u8 = 0xA0;
    pub const MAP_8: u8 = 0xD8;
    pub const MAP_16: u8 = 0xD9;
    pub const MAP_32: u8 = 0xDA;
    pub const TINY_STRUCT: u8 = 0xB0;
}

/// A PackStream value.
///
/// Maps are association lists in insertion order; the decoder resolves duplicate keys by letting
/// the last value win (at the position of the first occurrence). No `Eq`: floats are IEEE-754
/// (`NaN != NaN`), which `PartialEq` reflects.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    String(String),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
    Struct(Structure),
}

/// A tagged structure: graph entities, temporal and spatial values (see [`crate::graph`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Structure {
    pub tag: u8,
    /// At most 15 fields (the count lives in the marker's low nibble).
    pub fields: Vec<Value>,
}

impl Structure {
    pub fn new(tag: u8, fields: Vec<Value>) -> Self {
        Structure { tag, fields }
    }
}

impl Value {
    /// A short name of the value's kind, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bytes(_) => "bytes",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
            Value::Struct(_) => "a structure",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_struct(&self) -> Option<&Structure> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// Looks `key` up if this is a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| map_get(m, key))
    }

    /// Builds a map value from borrowed keys.
    pub fn map<'k>(entries: impl IntoIterator<Item = (&'k str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }
}

/// Looks `key` up in an association list (the last entry with that key wins, matching the
/// decoder; decoded maps never hold duplicates).
pub fn map_get<'m>(map: &'m [(String, Value)], key: &str) -> Option<&'m Value> {
    map.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v)
    }
}

impl From<Vec<(String, Value)>> for Value {
    fn from(v: Vec<(String, Value)>) -> Self {
        Value::Map(v)
    }
}

impl From<Structure> for Value {
    fn from(v: Structure) -> Self {
        Value::Struct(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Encodes one value into a fresh buffer.
pub fn to_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    Packer::new(&mut out).write_value(value);
    out
}

/// Decodes exactly one value from `bytes` with the default limits; trailing bytes are an error.
pub fn from_bytes(bytes: &[u8]) -> Result<Value, crate::Error> {
    let mut unpacker = Unpacker::new(bytes);
    let value = unpacker.read_value()?;
    unpacker.expect_end()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_and_lookup() {
        let v = Value::map([("a", Value::Int(1)), ("b", "x".into())]);
        assert_eq!(v.get("a").and_then(Value::as_int), Some(1));
        assert_eq!(v.get("b").and_then(Value::as_str), Some("x"));
        assert_eq!(v.get("c"), None);
        assert_eq!(Value::Null.get("a"), None);
        assert_eq!(Value::from(Option::<i64>::None), Value::Null);
        assert_eq!(Value::from(Some(3_i64)), Value::Int(3));
        assert_eq!(Value::Float(1.0).type_name(), "a float");
    }

    #[test]
    fn map_get_prefers_last() {
        let m = vec![
            ("k".to_owned(), Value::Int(1)),
            ("k".to_owned(), Value::Int(2)),
        ];
        assert_eq!(map_get(&m, "k"), Some(&Value::Int(2)));
    }
}
