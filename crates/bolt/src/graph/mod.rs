//! Typed value structures: graph entities, temporal and spatial values, per Bolt version.
//!
//! | type | tag | 4.x fields | 5.x fields |
//! |---|---|---|---|
//! | [`Node`] | `4E` | id, labels, props | + element_id |
//! | [`Relationship`] | `52` | id, start_id, end_id, type, props | + element_id, start/end element_id |
//! | [`UnboundRelationship`] | `72` | id, type, props | + element_id |
//! | [`Path`] | `50` | nodes, rels, indices | same |
//! | [`Date`] `44`, [`Time`] `54`, [`LocalTime`] `74`, [`LocalDateTime`] `64`, [`Duration`] `45` | | same in every version | |
//! | [`DateTime`] | `46` (local seconds) | | `49` (UTC seconds) |
//! | [`DateTimeZoneId`] | `66` (local seconds) | | `69` (UTC seconds) |
//! | [`Point2D`] `58`, [`Point3D`] `59` | | same | |
//!
//! Every type has `to_value(version)` (the exact form clients of that version decode: mgclient
//! and neo4rs check marker and tag byte for byte, so 4.x always gets the legacy forms) and
//! `from_structure`, which accepts both the 4.x and the 5.x form regardless of version (drivers
//! are not consistent about it and nothing is lost by being lenient). [`StructValue`] decodes any
//! known structure. The `Packer::write_*_with` helpers stream nodes and relationships straight
//! into a record without building a [`Value`] tree.
//!
//! This crate has no time-zone database: a [`DateTimeZoneId`] carries the offset its builder
//! resolved, and decoding one hands back the raw wire seconds ([`ZonedSeconds`]) for the caller
//! to resolve.

mod entity;
mod temporal;

pub use entity::{Node, Path, Relationship, RelationshipHeader, UnboundRelationship};
pub use temporal::{
    Date, DateTime, DateTimeZoneId, Duration, LocalDateTime, LocalTime, Point2D, Point3D, Time,
    ZonedSeconds,
};

use crate::handshake::Version;
use crate::packstream::{Structure, Value};
use crate::Error;

/// Structure tags of the value types.
pub mod tag {
    pub const NODE: u8 = 0x4E;
    pub const RELATIONSHIP: u8 = 0x52;
    pub const UNBOUND_RELATIONSHIP: u8 = 0x72;
    pub const PATH: u8 = 0x50;
    pub const DATE: u8 = 0x44;
    pub const TIME: u8 = 0x54;
    pub const LOCAL_TIME: u8 = 0x74;
    pub const LOCAL_DATE_TIME: u8 = 0x64;
    /// 5.x DateTime with offset, seconds in UTC.
    pub const DATE_TIME: u8 = 0x49;
    /// 5.x DateTime with zone id, seconds in UTC.
    pub const DATE_TIME_ZONE_ID: u8 = 0x69;
    /// 4.x DateTime with offset, seconds as local wall clock.
    pub const LEGACY_DATE_TIME: u8 = 0x46;
    /// 4.x DateTime with zone id, seconds as local wall clock.
    pub const LEGACY_DATE_TIME_ZONE_ID: u8 = 0x66;
    pub const DURATION: u8 = 0x45;
    pub const POINT_2D: u8 = 0x58;
    pub const POINT_3D: u8 = 0x59;
}

/// Any structure this crate knows, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum StructValue {
    Node(Node),
    Relationship(Relationship),
    UnboundRelationship(UnboundRelationship),
    Path(Path),
    Date(Date),
    Time(Time),
    LocalTime(LocalTime),
    LocalDateTime(LocalDateTime),
    DateTime(DateTime),
    /// The wire never carries the zone's offset; see [`DateTimeZoneId::from_structure`].
    DateTimeZoneId {
        seconds: ZonedSeconds,
        nanos: i64,
        tz_id: String,
    },
    Duration(Duration),
    Point2D(Point2D),
    Point3D(Point3D),
}

impl StructValue {
    /// Decodes a known structure; an unknown tag is [`Error::UnknownStruct`].
    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        Ok(match s.tag {
            tag::NODE => StructValue::Node(Node::from_structure(s)?),
            tag::RELATIONSHIP => StructValue::Relationship(Relationship::from_structure(s)?),
            tag::UNBOUND_RELATIONSHIP => {
                StructValue::UnboundRelationship(UnboundRelationship::from_structure(s)?)
            }
            tag::PATH => StructValue::Path(Path::from_structure(s)?),
            tag::DATE => StructValue::Date(Date::from_structure(s)?),
            tag::TIME => StructValue::Time(Time::from_structure(s)?),
            tag::LOCAL_TIME => StructValue::LocalTime(LocalTime::from_structure(s)?),
            tag::LOCAL_DATE_TIME => StructValue::LocalDateTime(LocalDateTime::from_structure(s)?),
            tag::DATE_TIME | tag::LEGACY_DATE_TIME => {
                StructValue::DateTime(DateTime::from_structure(s)?)
            }
            tag::DATE_TIME_ZONE_ID | tag::LEGACY_DATE_TIME_ZONE_ID => {
                let (seconds, nanos, tz_id) = DateTimeZoneId::wire_parts(s)?;
                StructValue::DateTimeZoneId {
                    seconds,
                    nanos,
                    tz_id,
                }
            }
            tag::DURATION => StructValue::Duration(Duration::from_structure(s)?),
            tag::POINT_2D => StructValue::Point2D(Point2D::from_structure(s)?),
            tag::POINT_3D => StructValue::Point3D(Point3D::from_structure(s)?),
            tag => return Err(Error::UnknownStruct { tag }),
        })
    }

    /// Decodes a value that must be a known structure.
    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }

    /// Encodes in the form `version` uses. A zoned date-time decoded from the wire is written back
    /// with the tag matching its seconds basis (its offset is unknown, so it cannot be converted).
    pub fn to_value(&self, version: Version) -> Value {
        match self {
            StructValue::Node(v) => v.to_value(version),
            StructValue::Relationship(v) => v.to_value(version),
            StructValue::UnboundRelationship(v) => v.to_value(version),
            StructValue::Path(v) => v.to_value(version),
            StructValue::Date(v) => v.to_value(),
            StructValue::Time(v) => v.to_value(),
            StructValue::LocalTime(v) => v.to_value(),
            StructValue::LocalDateTime(v) => v.to_value(),
            StructValue::DateTime(v) => v.to_value(version),
            StructValue::DateTimeZoneId {
                seconds,
                nanos,
                tz_id,
            } => {
                let (tag, secs) = match seconds {
                    ZonedSeconds::Utc(s) => (tag::DATE_TIME_ZONE_ID, *s),
                    ZonedSeconds::Local(s) => (tag::LEGACY_DATE_TIME_ZONE_ID, *s),
                };
                Value::Struct(Structure::new(
                    tag,
                    vec![secs.into(), (*nanos).into(), tz_id.as_str().into()],
                ))
            }
            StructValue::Duration(v) => v.to_value(),
            StructValue::Point2D(v) => v.to_value(),
            StructValue::Point3D(v) => v.to_value(),
        }
    }
}

// Field readers shared by the typed conversions. `reason` names the field for the error.

fn expect_struct(v: &Value) -> Result<&Structure, Error> {
    v.as_struct().ok_or(Error::UnexpectedValue {
        expected: "a structure",
        found: v.type_name(),
    })
}

fn check_shape(s: &Structure, tag: u8, field_counts: &[usize]) -> Result<(), Error> {
    if s.tag != tag {
        return Err(Error::InvalidStruct {
            tag: s.tag,
            fields: s.fields.len(),
            reason: "unexpected tag",
        });
    }
    if !field_counts.contains(&s.fields.len()) {
        return Err(invalid(s, "wrong number of fields"));
    }
    Ok(())
}

fn invalid(s: &Structure, reason: &'static str) -> Error {
    Error::InvalidStruct {
        tag: s.tag,
        fields: s.fields.len(),
        reason,
    }
}

fn int_field(s: &Structure, i: usize, reason: &'static str) -> Result<i64, Error> {
    s.fields
        .get(i)
        .and_then(Value::as_int)
        .ok_or_else(|| invalid(s, reason))
}

fn float_field(s: &Structure, i: usize, reason: &'static str) -> Result<f64, Error> {
    s.fields
        .get(i)
        .and_then(Value::as_float)
        .ok_or_else(|| invalid(s, reason))
}

fn str_field<'s>(s: &'s Structure, i: usize, reason: &'static str) -> Result<&'s str, Error> {
    s.fields
        .get(i)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(s, reason))
}

fn map_field(s: &Structure, i: usize, reason: &'static str) -> Result<Vec<(String, Value)>, Error> {
    s.fields
        .get(i)
        .and_then(Value::as_map)
        .map(<[_]>::to_vec)
        .ok_or_else(|| invalid(s, reason))
}

fn list_field<'s>(s: &'s Structure, i: usize, reason: &'static str) -> Result<&'s [Value], Error> {
    s.fields
        .get(i)
        .and_then(Value::as_list)
        .ok_or_else(|| invalid(s, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_tags_are_typed_errors() {
        let s = Structure::new(0x56, vec![]);
        assert_eq!(
            StructValue::from_structure(&s),
            Err(Error::UnknownStruct { tag: 0x56 })
        );
        assert_eq!(
            StructValue::from_value(&Value::Int(1)),
            Err(Error::UnexpectedValue {
                expected: "a structure",
                found: "an integer"
            })
        );
    }

    #[test]
    fn struct_value_round_trips_per_version() {
        let values = [
            StructValue::Date(Date { days: -1 }),
            StructValue::DateTime(DateTime {
                seconds: 4500,
                nanos: 42,
                offset_seconds: 3600,
            }),
            StructValue::DateTimeZoneId {
                seconds: ZonedSeconds::Utc(1),
                nanos: 2,
                tz_id: "Europe/Paris".into(),
            },
            StructValue::Point3D(Point3D {
                srid: 9157,
                x: 1.0,
                y: 2.0,
                z: 3.0,
            }),
        ];
        for version in [Version::V4_4, Version::V5_8] {
            for v in &values {
                let back = StructValue::from_value(&v.to_value(version)).unwrap();
                assert_eq!(&back, v, "{version}");
            }
        }
    }
}
