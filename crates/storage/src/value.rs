//! Property values.
//!
//! [`PropertyValue`] is what a vertex or edge property holds. It travels inside
//! [`CommitRecord`](crate::CommitRecord)s, so it has serde and bincode 2 encodings. The bincode
//! `Encode` is derived (variant index as `u32`, then the fields); `Decode` is written by hand to the
//! same format so that it can cap the nesting depth of lists and maps: a record read from a file or
//! a socket must not be able to overflow the stack.
//!
//! New variants (temporal types) are appended at the end so existing encodings keep their meaning.

use std::collections::BTreeMap;

use bincode::de::Decoder;
use bincode::error::DecodeError;
use bincode::Decode;
use serde::{Deserialize, Serialize};

use crate::temporal::Temporal;
use crate::PropertyId;

/// The deepest list/map nesting a decoded [`PropertyValue`] may have.
pub const MAX_VALUE_DEPTH: usize = 128;

/// A property value. Setting a property to [`PropertyValue::Null`] removes it, so a stored
/// property is never `Null` (but list elements and map values may be).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, bincode::Encode)]
pub enum PropertyValue {
    /// No value; also what reading an absent property returns.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float (hence no `Eq`).
    Float(f64),
    /// A UTF-8 string.
    String(String),
    /// A list of values.
    List(Vec<PropertyValue>),
    /// A map with string keys, ordered by key.
    Map(BTreeMap<String, PropertyValue>),
    /// A date, time, date-time or duration.
    Temporal(Temporal),
}

impl PropertyValue {
    /// Whether this is [`PropertyValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, PropertyValue::Null)
    }
}

impl From<bool> for PropertyValue {
    fn from(v: bool) -> Self {
        PropertyValue::Bool(v)
    }
}

impl From<i64> for PropertyValue {
    fn from(v: i64) -> Self {
        PropertyValue::Int(v)
    }
}

impl From<f64> for PropertyValue {
    fn from(v: f64) -> Self {
        PropertyValue::Float(v)
    }
}

impl From<&str> for PropertyValue {
    fn from(v: &str) -> Self {
        PropertyValue::String(v.to_owned())
    }
}

impl From<String> for PropertyValue {
    fn from(v: String) -> Self {
        PropertyValue::String(v)
    }
}

impl<Context> Decode<Context> for PropertyValue {
    fn decode<D: Decoder<Context = Context>>(decoder: &mut D) -> Result<Self, DecodeError> {
        decode_value(decoder, 0)
    }
}
bincode::impl_borrow_decode!(PropertyValue);

/// Decodes one value at nesting `depth`, in the layout the derived `Encode` writes.
fn decode_value<D: Decoder>(decoder: &mut D, depth: usize) -> Result<PropertyValue, DecodeError> {
    let variant = u32::decode(decoder)?;
    Ok(match variant {
        0 => PropertyValue::Null,
        1 => PropertyValue::Bool(bool::decode(decoder)?),
        2 => PropertyValue::Int(i64::decode(decoder)?),
        3 => PropertyValue::Float(f64::decode(decoder)?),
        4 => PropertyValue::String(String::decode(decoder)?),
        5 | 6 if depth >= MAX_VALUE_DEPTH => {
            return Err(DecodeError::Other("property value nested too deeply"))
        }
        5 => {
            let len = decode_len(decoder)?;
            decoder.claim_container_read::<PropertyValue>(len)?;
            // Never trust a length for the allocation: grow as elements actually arrive.
            let mut list = Vec::with_capacity(len.min(1024));
            for _ in 0..len {
                decoder.unclaim_bytes_read(std::mem::size_of::<PropertyValue>());
                list.push(decode_value(decoder, depth + 1)?);
            }
            PropertyValue::List(list)
        }
        6 => {
            let len = decode_len(decoder)?;
            decoder.claim_container_read::<(String, PropertyValue)>(len)?;
            let mut map = BTreeMap::new();
            for _ in 0..len {
                decoder.unclaim_bytes_read(std::mem::size_of::<(String, PropertyValue)>());
                let key = String::decode(decoder)?;
                map.insert(key, decode_value(decoder, depth + 1)?);
            }
            PropertyValue::Map(map)
        }
        7 => PropertyValue::Temporal(Temporal::decode(decoder)?),
        found => {
            return Err(DecodeError::UnexpectedVariant {
                type_name: "PropertyValue",
                allowed: &bincode::error::AllowedEnumVariants::Range { min: 0, max: 7 },
                found,
            })
        }
    })
}

/// A container length as bincode writes it (`u64`).
fn decode_len<D: Decoder>(decoder: &mut D) -> Result<usize, DecodeError> {
    let len = u64::decode(decoder)?;
    usize::try_from(len).map_err(|_| DecodeError::OutsideUsizeRange(len))
}

/// The bincode encoding of `value` (how [`Attrs`](crate::attrs::Attrs) stores lists, maps and
/// temporals).
pub(crate) fn encode_value_bytes(value: &PropertyValue) -> Vec<u8> {
    bincode::encode_to_vec(value, bincode::config::standard()).expect("encoding into a Vec")
}

/// Decodes what [`encode_value_bytes`] wrote.
pub(crate) fn decode_value_bytes(bytes: &[u8]) -> PropertyValue {
    bincode::decode_from_slice(bytes, bincode::config::standard())
        .map(|(value, _)| value)
        .expect("a value this storage encoded")
}

/// Sets `key` in a sorted pair vector the way [`Attrs::set`](crate::attrs::Attrs::set) does (used by readers that
/// rebuild an old version from a copy).
pub(crate) fn set_in_sorted(
    pairs: &mut Vec<(PropertyId, PropertyValue)>,
    key: PropertyId,
    value: PropertyValue,
) {
    match (pairs.binary_search_by_key(&key, |(k, _)| *k), value) {
        (Ok(index), PropertyValue::Null) => {
            pairs.remove(index);
        }
        (Ok(index), value) => pairs[index].1 = value,
        (Err(_), PropertyValue::Null) => {}
        (Err(index), value) => pairs.insert(index, (key, value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &PropertyValue) -> Vec<u8> {
        bincode::encode_to_vec(value, bincode::config::standard()).unwrap()
    }

    fn decode(bytes: &[u8]) -> Result<PropertyValue, DecodeError> {
        bincode::decode_from_slice(bytes, bincode::config::standard()).map(|(v, _)| v)
    }

    #[test]
    fn bincode_round_trips_every_variant() {
        let mut map = BTreeMap::new();
        map.insert(
            "k".to_owned(),
            PropertyValue::List(vec![PropertyValue::Null, 1.5.into()]),
        );
        let values = [
            PropertyValue::Null,
            true.into(),
            (-7i64).into(),
            f64::MAX.into(),
            "héllo".into(),
            PropertyValue::List(vec![1i64.into(), "x".into(), PropertyValue::List(vec![])]),
            PropertyValue::Map(map),
            PropertyValue::Temporal(Temporal::Date(crate::temporal::Date { days: -719_162 })),
            PropertyValue::Temporal(Temporal::DateTime(crate::temporal::DateTime {
                seconds: 1,
                nanos: 999_999_999,
                offset_seconds: -3600,
            })),
            PropertyValue::Temporal(Temporal::Duration(crate::temporal::Duration {
                months: -1,
                days: 2,
                seconds: -3,
                nanos: 4,
            })),
        ];
        for value in values {
            assert_eq!(decode(&encode(&value)).unwrap(), value);
        }
    }

    #[test]
    fn decode_rejects_deep_nesting_and_bad_variants() {
        let mut value = PropertyValue::Null;
        for _ in 0..=MAX_VALUE_DEPTH {
            value = PropertyValue::List(vec![value]);
        }
        assert!(decode(&encode(&value)).is_err());
        // A hostile stream: "list of 1" repeated far deeper than the cap, never terminated.
        let bytes: Vec<u8> = std::iter::repeat_n([5u8, 1u8], 100_000).flatten().collect();
        assert!(decode(&bytes).is_err());
        assert!(matches!(
            decode(&[8]),
            Err(DecodeError::UnexpectedVariant { found: 8, .. })
        ));
        // A local time past midnight is out of range.
        let bad = PropertyValue::Temporal(Temporal::LocalTime(crate::temporal::LocalTime {
            nanos: crate::temporal::NANOS_PER_DAY,
        }));
        assert!(decode(&encode(&bad)).is_err());
        // A huge declared length with no elements is an error, not an allocation.
        assert!(decode(&[5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]).is_err());
    }
}
