//! Temporal and spatial value structures.
//!
//! Seconds and nanoseconds are kept exactly as the wire has them (Int). Only the date-time types
//! differ between versions: 5.x sends seconds since the epoch in UTC (`49`/`69`), 4.x the local
//! wall clock read as if it were UTC (`46`/`66`), i.e. `utc + offset`.

use super::{check_shape, expect_struct, float_field, int_field, invalid, str_field, tag};
use crate::handshake::Version;
use crate::packstream::{Structure, Value};
use crate::Error;

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// Days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    pub days: i64,
}

/// Local time of day with a UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    /// Nanoseconds since midnight, local.
    pub nanos: i64,
    /// Seconds east of UTC.
    pub offset_seconds: i32,
}

/// Nanoseconds since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub nanos: i64,
}

/// A date-time without zone: seconds since the epoch as if the wall clock were UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDateTime {
    pub seconds: i64,
    /// 0..=999_999_999.
    pub nanos: i64,
}

/// A date-time with a fixed UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// 0..=999_999_999.
    pub nanos: i64,
    /// Seconds east of UTC.
    pub offset_seconds: i32,
}

/// A date-time in a named zone (IANA id).
///
/// The offset is not sent in any version, but the 4.x form needs it to compute the local wall
/// clock; the builder of the value (which has the zone rules) supplies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTimeZoneId {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// 0..=999_999_999.
    pub nanos: i64,
    pub tz_id: String,
    /// The zone's offset from UTC at this instant, in seconds east of UTC.
    pub offset_seconds: i32,
}

/// What the seconds of a decoded zoned date-time count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZonedSeconds {
    /// 5.x (`69`): seconds since the epoch in UTC.
    Utc(i64),
    /// 4.x (`66`): the local wall clock read as if it were UTC.
    Local(i64),
}

/// A duration; every component may be negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    pub months: i64,
    pub days: i64,
    pub seconds: i64,
    pub nanos: i64,
}

/// A 2D point (srid 7203 cartesian, 4326 WGS-84).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point2D {
    pub srid: i64,
    pub x: f64,
    pub y: f64,
}

/// A 3D point (srid 9157 cartesian-3D, 4979 WGS-84-3D).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point3D {
    pub srid: i64,
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

fn structure(tag: u8, fields: Vec<Value>) -> Value {
    Value::Struct(Structure::new(tag, fields))
}

fn offset_field(s: &Structure, i: usize) -> Result<i32, Error> {
    let offset = int_field(s, i, "offset must be an integer")?;
    i32::try_from(offset).map_err(|_| invalid(s, "offset out of range"))
}

fn nanos_field(s: &Structure, i: usize) -> Result<i64, Error> {
    let nanos = int_field(s, i, "nanoseconds must be an integer")?;
    if (0..NANOS_PER_SECOND).contains(&nanos) {
        Ok(nanos)
    } else {
        Err(invalid(s, "nanoseconds must be within 0..1e9"))
    }
}

impl Date {
    pub fn to_value(&self) -> Value {
        structure(tag::DATE, vec![self.days.into()])
    }

    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        check_shape(s, tag::DATE, &[1])?;
        Ok(Date {
            days: int_field(s, 0, "days must be an integer")?,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }
}

impl Time {
    pub fn to_value(&self) -> Value {
        structure(
            tag::TIME,
            vec![self.nanos.into(), self.offset_seconds.into()],
        )
    }

    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        check_shape(s, tag::TIME, &[2])?;
        Ok(Time {
            nanos: int_field(s, 0, "nanoseconds must be an integer")?,
            offset_seconds: offset_field(s, 1)?,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }
}

impl LocalTime {
    pub fn to_value(&self) -> Value {
        structure(tag::LOCAL_TIME, vec![self.nanos.into()])
    }

    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        check_shape(s, tag::LOCAL_TIME, &[1])?;
        Ok(LocalTime {
            nanos: int_field(s, 0, "nanoseconds must be an integer")?,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }
}

impl LocalDateTime {
    pub fn to_value(&self) -> Value {
        structure(
            tag::LOCAL_DATE_TIME,
            vec![self.seconds.into(), self.nanos.into()],
        )
    }

    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        check_shape(s, tag::LOCAL_DATE_TIME, &[2])?;
        Ok(LocalDateTime {
            seconds: int_field(s, 0, "seconds must be an integer")?,
            nanos: nanos_field(s, 1)?,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }
}

impl DateTime {
    /// `49` with UTC seconds on 5.x; legacy `46` with local seconds on 4.x.
    pub fn to_value(&self, version: Version) -> Value {
        let (tag, seconds) = if version.has_element_ids() {
            (tag::DATE_TIME, self.seconds)
        } else {
            (
                tag::LEGACY_DATE_TIME,
                self.seconds.saturating_add(i64::from(self.offset_seconds)),
            )
        };
        structure(
            tag,
            vec![
                seconds.into(),
                self.nanos.into(),
                self.offset_seconds.into(),
            ],
        )
    }

    /// Accepts `49` and legacy `46` (converted to UTC seconds).
    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        let legacy = s.tag == tag::LEGACY_DATE_TIME;
        check_shape(
            s,
            if legacy {
                tag::LEGACY_DATE_TIME
            } else {
                tag::DATE_TIME
            },
            &[3],
        )?;
        let wire_seconds = int_field(s, 0, "seconds must be an integer")?;
        let nanos = nanos_field(s, 1)?;
        let offset_seconds = offset_field(s, 2)?;
        let seconds = if legacy {
            wire_seconds
                .checked_sub(i64::from(offset_seconds))
                .ok_or_else(|| invalid(s, "seconds out of range"))?
        } else {
            wire_seconds
        };
        Ok(DateTime {
            seconds,
            nanos,
            offset_seconds,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }
}

impl DateTimeZoneId {
    /// `69` with UTC seconds on 5.x; legacy `66` with local seconds on 4.x.
    pub fn to_value(&self, version: Version) -> Value {
        let (tag, seconds) = if version.has_element_ids() {
            (tag::DATE_TIME_ZONE_ID, self.seconds)
        } else {
            (
                tag::LEGACY_DATE_TIME_ZONE_ID,
                self.seconds.saturating_add(i64::from(self.offset_seconds)),
            )
        };
        structure(
            tag,
            vec![
                seconds.into(),
                self.nanos.into(),
                self.tz_id.as_str().into(),
            ],
        )
    }

    /// Decodes `69` or legacy `66`. Neither carries the zone's offset, and the legacy form does
    /// not even carry UTC seconds, so `resolve_offset(tz_id, seconds)` must return the zone's
    /// offset at that instant (or `None` for an unknown zone, which fails the decode).
    pub fn from_structure(
        s: &Structure,
        resolve_offset: impl FnOnce(&str, ZonedSeconds) -> Option<i32>,
    ) -> Result<Self, Error> {
        let (seconds, nanos, tz_id) = Self::wire_parts(s)?;
        let offset_seconds =
            resolve_offset(&tz_id, seconds).ok_or_else(|| invalid(s, "unknown time zone"))?;
        let utc = match seconds {
            ZonedSeconds::Utc(utc) => Some(utc),
            ZonedSeconds::Local(local) => local.checked_sub(i64::from(offset_seconds)),
        }
        .ok_or_else(|| invalid(s, "seconds out of range"))?;
        Ok(DateTimeZoneId {
            seconds: utc,
            nanos,
            tz_id,
            offset_seconds,
        })
    }

    /// The raw fields of `69` / `66`.
    pub(super) fn wire_parts(s: &Structure) -> Result<(ZonedSeconds, i64, String), Error> {
        let legacy = s.tag == tag::LEGACY_DATE_TIME_ZONE_ID;
        check_shape(
            s,
            if legacy {
                tag::LEGACY_DATE_TIME_ZONE_ID
            } else {
                tag::DATE_TIME_ZONE_ID
            },
            &[3],
        )?;
        let wire_seconds = int_field(s, 0, "seconds must be an integer")?;
        let seconds = if legacy {
            ZonedSeconds::Local(wire_seconds)
        } else {
            ZonedSeconds::Utc(wire_seconds)
        };
        let nanos = nanos_field(s, 1)?;
        let tz_id = str_field(s, 2, "zone id must be a string")?.to_owned();
        Ok((seconds, nanos, tz_id))
    }
}

impl Duration {
    pub fn to_value(&self) -> Value {
        structure(
            tag::DURATION,
            vec![
                self.months.into(),
                self.days.into(),
                self.seconds.into(),
                self.nanos.into(),
            ],
        )
    }

    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        check_shape(s, tag::DURATION, &[4])?;
        Ok(Duration {
            months: int_field(s, 0, "months must be an integer")?,
            days: int_field(s, 1, "days must be an integer")?,
            seconds: int_field(s, 2, "seconds must be an integer")?,
            nanos: int_field(s, 3, "nanoseconds must be an integer")?,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }
}

impl Point2D {
    pub fn to_value(&self) -> Value {
        structure(
            tag::POINT_2D,
            vec![self.srid.into(), self.x.into(), self.y.into()],
        )
    }

    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        check_shape(s, tag::POINT_2D, &[3])?;
        Ok(Point2D {
            srid: int_field(s, 0, "srid must be an integer")?,
            x: float_field(s, 1, "coordinates must be floats")?,
            y: float_field(s, 2, "coordinates must be floats")?,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }
}

impl Point3D {
    pub fn to_value(&self) -> Value {
        structure(
            tag::POINT_3D,
            vec![
                self.srid.into(),
                self.x.into(),
                self.y.into(),
                self.z.into(),
            ],
        )
    }

    pub fn from_structure(s: &Structure) -> Result<Self, Error> {
        check_shape(s, tag::POINT_3D, &[4])?;
        Ok(Point3D {
            srid: int_field(s, 0, "srid must be an integer")?,
            x: float_field(s, 1, "coordinates must be floats")?,
            y: float_field(s, 2, "coordinates must be floats")?,
            z: float_field(s, 3, "coordinates must be floats")?,
        })
    }

    pub fn from_value(v: &Value) -> Result<Self, Error> {
        Self::from_structure(expect_struct(v)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packstream::to_bytes;

    /// bolt.md §4: 1970-01-01T02:15:00.000000042+01:00.
    #[test]
    fn datetime_golden_per_version() {
        let dt = DateTime {
            seconds: 4500,
            nanos: 42,
            offset_seconds: 3600,
        };
        let v5 = to_bytes(&dt.to_value(Version::V5_0));
        assert_eq!(v5, [0xB3, 0x49, 0xC9, 0x11, 0x94, 0x2A, 0xC9, 0x0E, 0x10]);
        let v4 = to_bytes(&dt.to_value(Version::V4_4));
        assert_eq!(v4, [0xB3, 0x46, 0xC9, 0x1F, 0xA4, 0x2A, 0xC9, 0x0E, 0x10]);
        assert_eq!(DateTime::from_value(&dt.to_value(Version::V4_4)), Ok(dt));
        assert_eq!(DateTime::from_value(&dt.to_value(Version::V5_8)), Ok(dt));
    }

    #[test]
    fn zoned_datetime_needs_an_offset_resolver() {
        let paris = DateTimeZoneId {
            seconds: 1_700_000_000,
            nanos: 5,
            tz_id: "Europe/Paris".into(),
            offset_seconds: 3600,
        };
        let v4 = paris.to_value(Version::V4_1);
        let v5 = paris.to_value(Version::V5_6);
        assert_eq!(v4.as_struct().unwrap().tag, 0x66);
        assert_eq!(v4.as_struct().unwrap().fields[0], Value::Int(1_700_003_600));
        assert_eq!(v5.as_struct().unwrap().tag, 0x69);
        let resolve = |tz: &str, _| (tz == "Europe/Paris").then_some(3600);
        for v in [&v4, &v5] {
            let s = v.as_struct().unwrap();
            assert_eq!(
                DateTimeZoneId::from_structure(s, resolve),
                Ok(paris.clone())
            );
            assert!(DateTimeZoneId::from_structure(s, |_, _| None).is_err());
        }
    }

    #[test]
    fn plain_temporals_and_points() {
        assert_eq!(to_bytes(&Date { days: 1 }.to_value()), [0xB1, 0x44, 0x01]);
        let d = Duration {
            months: -1,
            days: 2,
            seconds: -3,
            nanos: 4,
        };
        assert_eq!(to_bytes(&d.to_value())[..2], [0xB4, 0x45]);
        assert_eq!(Duration::from_value(&d.to_value()), Ok(d));
        let t = Time {
            nanos: 1,
            offset_seconds: -3600,
        };
        assert_eq!(Time::from_value(&t.to_value()), Ok(t));
        let lt = LocalTime { nanos: 86_399 };
        assert_eq!(LocalTime::from_value(&lt.to_value()), Ok(lt));
        let ldt = LocalDateTime {
            seconds: -5,
            nanos: 999_999_999,
        };
        assert_eq!(LocalDateTime::from_value(&ldt.to_value()), Ok(ldt));
        let p = Point2D {
            srid: 4326,
            x: 1.5,
            y: -2.0,
        };
        assert_eq!(to_bytes(&p.to_value())[..2], [0xB3, 0x58]);
        assert_eq!(Point2D::from_value(&p.to_value()), Ok(p));
        let p3 = Point3D {
            srid: 9157,
            x: 0.0,
            y: 1.0,
            z: 2.0,
        };
        assert_eq!(to_bytes(&p3.to_value())[..2], [0xB4, 0x59]);
        assert_eq!(Point3D::from_value(&p3.to_value()), Ok(p3));
    }

    #[test]
    fn rejects_bad_fields() {
        let bad_nanos = Structure::new(tag::DATE_TIME, vec![0.into(), (-1).into(), 0.into()]);
        assert!(DateTime::from_structure(&bad_nanos).is_err());
        let bad_offset = Structure::new(tag::TIME, vec![0.into(), Value::Int(i64::MAX)]);
        assert!(Time::from_structure(&bad_offset).is_err());
        let overflow = Structure::new(
            tag::LEGACY_DATE_TIME,
            vec![Value::Int(i64::MIN), 0.into(), 1.into()],
        );
        assert!(DateTime::from_structure(&overflow).is_err());
        let int_coords = Structure::new(tag::POINT_2D, vec![1.into(), 1.into(), 1.into()]);
        assert!(Point2D::from_structure(&int_coords).is_err());
        assert!(Date::from_value(&Value::Null).is_err());
    }
}
