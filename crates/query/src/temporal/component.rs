//! Property access on temporal values: `d.year`, `t.hour`, `dt.timezone`, `dur.days` ...
//!
//! Duration components follow Neo4j: `years`, `months`, `weeks`, `days`, `hours`, `minutes`,
//! `seconds`, `milliseconds` ... are the whole duration in that unit within its group (months,
//! days, or seconds), and the `...Of...` forms are the remainder within the next larger unit.

use chrono::{Datelike, NaiveDate};
use storage::temporal::Duration;
use storage::Temporal;

use super::{format, Parts, NANOS_PER_SECOND};
use crate::error::{QueryError, Result};
use crate::value::Value;

fn no_such(t: &Temporal, name: &str) -> QueryError {
    QueryError::Argument(format!(
        "No such field '{name}' on {}",
        super::Kind::of(t).type_name()
    ))
}

/// The value of component `name` of `t`.
pub fn component(t: &Temporal, name: &str) -> Result<Value> {
    if let Temporal::Duration(d) = t {
        return duration_component(d, name)
            .map(Value::Int)
            .ok_or_else(|| no_such(t, name));
    }
    let parts = Parts::of(t)?;
    if let Some(v) = parts.date.and_then(|d| date_component(d, name)) {
        return Ok(Value::Int(v));
    }
    if let Some(v) = parts.time.and_then(|n| time_component(n, name)) {
        return Ok(Value::Int(v));
    }
    if let Some(offset) = parts.offset {
        match name {
            "timezone" | "offset" => return Ok(Value::String(format::offset(offset))),
            "offsetMinutes" => return Ok(Value::Int(i64::from(offset / 60))),
            "offsetSeconds" => return Ok(Value::Int(i64::from(offset))),
            _ => {}
        }
    }
    if let Temporal::DateTime(x) = t {
        match name {
            "epochSeconds" => return Ok(Value::Int(x.seconds)),
            "epochMillis" => {
                let millis = x
                    .seconds
                    .checked_mul(1000)
                    .and_then(|m| m.checked_add(i64::from(x.nanos) / 1_000_000));
                return millis.map(Value::Int).ok_or_else(super::range_error);
            }
            _ => {}
        }
    }
    Err(no_such(t, name))
}

fn date_component(d: NaiveDate, name: &str) -> Option<i64> {
    let quarter_start = NaiveDate::from_ymd_opt(d.year(), d.month0() / 3 * 3 + 1, 1)?;
    Some(match name {
        "year" => i64::from(d.year()),
        "quarter" => i64::from(d.month0() / 3 + 1),
        "month" => i64::from(d.month()),
        "week" => i64::from(d.iso_week().week()),
        "weekYear" => i64::from(d.iso_week().year()),
        "dayOfQuarter" | "quarterDay" => (d - quarter_start).num_days() + 1,
        "day" => i64::from(d.day()),
        "ordinalDay" => i64::from(d.ordinal()),
        "dayOfWeek" | "weekDay" => i64::from(d.weekday().number_from_monday()),
        _ => return None,
    })
}

fn time_component(nanos: i64, name: &str) -> Option<i64> {
    let (seconds, sub) = (nanos / NANOS_PER_SECOND, nanos % NANOS_PER_SECOND);
    Some(match name {
        "hour" => seconds / 3600,
        "minute" => seconds / 60 % 60,
        "second" => seconds % 60,
        "millisecond" => sub / 1_000_000,
        "microsecond" => sub / 1_000,
        "nanosecond" => sub,
        _ => return None,
    })
}

fn duration_component(d: &Duration, name: &str) -> Option<i64> {
    // Seconds and nanos as one signed quantity, so that PT-0.5S has 0 seconds, -500 millis.
    let total = i128::from(d.seconds) * i128::from(NANOS_PER_SECOND) + i128::from(d.nanos);
    let seconds = (total / i128::from(NANOS_PER_SECOND)) as i64;
    let sub = (total % i128::from(NANOS_PER_SECOND)) as i64;
    Some(match name {
        "years" => d.months / 12,
        "quarters" => d.months / 3,
        "months" => d.months,
        "weeks" => d.days / 7,
        "days" => d.days,
        "hours" => seconds / 3600,
        "minutes" => seconds / 60,
        "seconds" => seconds,
        "milliseconds" => (total / 1_000_000) as i64,
        "microseconds" => (total / 1_000) as i64,
        "nanoseconds" => i64::try_from(total).ok()?,
        "quartersOfYear" => d.months % 12 / 3,
        "monthsOfQuarter" => d.months % 3,
        "monthsOfYear" => d.months % 12,
        "daysOfWeek" => d.days % 7,
        "minutesOfHour" => seconds / 60 % 60,
        "secondsOfMinute" => seconds % 60,
        "millisecondsOfSecond" => sub / 1_000_000,
        "microsecondsOfSecond" => sub / 1_000,
        "nanosecondsOfSecond" => sub,
        _ => return None,
    })
}
