//! Temporal values at the Bolt boundary: the query engine's [`Temporal`] to and from the bolt
//! crate's typed structures (which know the per-version date-time tags).
//!
//! Named zones (`DateTimeZoneId`) are accepted only for zones that are UTC under another name;
//! others need a tz database, which this build does not have yet.

use bolt::graph::{self, StructValue, ZonedSeconds};
use bolt::packstream::{Structure, Value as BoltValue};
use bolt::Version;
use query::QueryError;
use storage::temporal::{Date, DateTime, Duration, LocalDateTime, LocalTime, Time};
use storage::Temporal;

/// The Bolt structure for `t` in `version`'s encoding.
pub fn to_bolt(t: &Temporal, version: Version) -> BoltValue {
    match *t {
        Temporal::Date(d) => graph::Date { days: d.days }.to_value(),
        Temporal::LocalTime(l) => graph::LocalTime { nanos: l.nanos }.to_value(),
        Temporal::Time(x) => graph::Time {
            nanos: x.nanos,
            offset_seconds: x.offset_seconds,
        }
        .to_value(),
        Temporal::LocalDateTime(l) => graph::LocalDateTime {
            seconds: l.seconds,
            nanos: i64::from(l.nanos),
        }
        .to_value(),
        Temporal::DateTime(x) => graph::DateTime {
            seconds: x.seconds,
            nanos: i64::from(x.nanos),
            offset_seconds: x.offset_seconds,
        }
        .to_value(version),
        Temporal::Duration(d) => graph::Duration {
            months: d.months,
            days: d.days,
            seconds: d.seconds,
            nanos: d.nanos,
        }
        .to_value(),
    }
}

fn invalid(what: &str) -> QueryError {
    QueryError::Type(format!("Invalid {what} parameter."))
}

/// A temporal parameter; `Ok(None)` for a structure that is not temporal.
pub fn from_bolt(s: &Structure) -> Result<Option<Temporal>, QueryError> {
    let decoded = match StructValue::from_structure(s) {
        Ok(v) => v,
        Err(e) => return Err(QueryError::Type(format!("Invalid parameter: {e}"))),
    };
    let t = match decoded {
        StructValue::Date(d) => Temporal::Date(Date { days: d.days }),
        StructValue::LocalTime(l) => Temporal::LocalTime(LocalTime { nanos: l.nanos }),
        StructValue::Time(x) => Temporal::Time(Time {
            nanos: x.nanos,
            offset_seconds: x.offset_seconds,
        }),
        StructValue::LocalDateTime(l) => Temporal::LocalDateTime(LocalDateTime {
            seconds: l.seconds,
            nanos: u32::try_from(l.nanos).map_err(|_| invalid("LocalDateTime"))?,
        }),
        StructValue::DateTime(x) => Temporal::DateTime(DateTime {
            seconds: x.seconds,
            nanos: u32::try_from(x.nanos).map_err(|_| invalid("DateTime"))?,
            offset_seconds: x.offset_seconds,
        }),
        StructValue::DateTimeZoneId {
            seconds,
            nanos,
            tz_id,
        } => {
            if !matches!(tz_id.as_str(), "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "Z") {
                return Err(QueryError::Unsupported(format!(
                    "Named time zones are not supported yet: '{tz_id}'"
                )));
            }
            let (ZonedSeconds::Utc(seconds) | ZonedSeconds::Local(seconds)) = seconds;
            Temporal::DateTime(DateTime {
                seconds,
                nanos: u32::try_from(nanos).map_err(|_| invalid("DateTime"))?,
                offset_seconds: 0,
            })
        }
        StructValue::Duration(d) => {
            // Bolt lets nanoseconds take any sign; ours stay within one second, non-negative.
            let total = i128::from(d.seconds) * 1_000_000_000 + i128::from(d.nanos);
            let seconds =
                i64::try_from(total.div_euclid(1_000_000_000)).map_err(|_| invalid("Duration"))?;
            Temporal::Duration(Duration {
                months: d.months,
                days: d.days,
                seconds,
                nanos: total.rem_euclid(1_000_000_000) as i64,
            })
        }
        _ => return Ok(None),
    };
    if !t.is_valid() {
        return Err(invalid("temporal"));
    }
    Ok(Some(t))
}
