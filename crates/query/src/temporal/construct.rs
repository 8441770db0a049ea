//! The constructor functions `date`, `localtime`, `time`, `localdatetime`, `datetime` and
//! `duration`: from a string, a map of components, another temporal, or (points in time only)
//! nothing, which reads the clock.
//!
//! A map may start from another value (`date: d`, `time: t`, `datetime: dt`) and override
//! components of it; `timezone` on a value that already has an offset moves it to the new offset
//! (same instant). Date components come in one of four schemes: calendar (`year`, `month`,
//! `day`), week (`year`, `week`, `dayOfWeek`), quarter (`year`, `quarter`, `dayOfQuarter`) or
//! ordinal (`year`, `ordinalDay`).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use storage::temporal::DateTime;
use storage::Temporal;

use super::duration::DurationBuilder;
use super::parse::{parse_duration, parse_offset, parse_parts};
use super::{naive_time, nanos_of, now, Kind, Parts, NANOS_PER_SECOND};
use crate::error::{QueryError, Result};
use crate::value::Value;

const DATE_KEYS: [&str; 8] = [
    "year",
    "month",
    "day",
    "week",
    "dayOfWeek",
    "quarter",
    "dayOfQuarter",
    "ordinalDay",
];
const TIME_KEYS: [&str; 6] = [
    "hour",
    "minute",
    "second",
    "millisecond",
    "microsecond",
    "nanosecond",
];

fn arg_error(msg: String) -> QueryError {
    QueryError::Argument(msg)
}

/// `kind(arg)`; `arg` is `None` for a call without arguments, never null.
pub fn construct(kind: Kind, arg: Option<Value>) -> Result<Temporal> {
    match (kind, arg) {
        (Kind::Duration, Some(Value::String(s))) => Ok(Temporal::Duration(parse_duration(&s)?)),
        (Kind::Duration, Some(Value::Map(m))) => duration_from_map(&m),
        (Kind::Duration, Some(Value::Temporal(d @ Temporal::Duration(_)))) => Ok(d),
        (_, None) => Parts::of(&Temporal::DateTime(now()))?.build(kind),
        (_, Some(Value::String(s))) => parse_parts(kind, &s)?.build(kind),
        (_, Some(Value::Map(m))) => from_map(kind, &m),
        (Kind::Duration, Some(other))
        | (_, Some(other @ Value::Temporal(Temporal::Duration(_)))) => {
            Err(QueryError::type_error(format!(
                "Cannot make a {} from {}",
                kind.type_name(),
                other.type_name()
            )))
        }
        (_, Some(Value::Temporal(t))) => {
            let parts = Parts::of(&t)?;
            if matches!(kind, Kind::LocalTime | Kind::Time) && parts.time.is_none() {
                return Err(QueryError::type_error(format!(
                    "Cannot make a {} from a {}",
                    kind.type_name(),
                    super::Kind::of(&t).type_name()
                )));
            }
            parts.build(kind)
        }
        (_, Some(other)) => Err(QueryError::type_error(format!(
            "Cannot make a {} from {}",
            kind.type_name(),
            other.type_name()
        ))),
    }
}

/// A UTC datetime `nanos` after the epoch.
pub fn datetime_from_epoch(nanos: i128) -> Result<Temporal> {
    let seconds = i64::try_from(nanos.div_euclid(i128::from(NANOS_PER_SECOND)))
        .map_err(|_| super::range_error())?;
    let t = Temporal::DateTime(DateTime {
        seconds,
        nanos: nanos.rem_euclid(i128::from(NANOS_PER_SECOND)) as u32,
        offset_seconds: 0,
    });
    // Reject instants chrono cannot represent, so every stored datetime can be formatted.
    Parts::of(&t)?;
    Ok(t)
}

fn duration_from_map(map: &BTreeMap<String, Value>) -> Result<Temporal> {
    let mut builder = DurationBuilder::default();
    for (key, value) in map {
        match value {
            Value::Int(i) => builder.add_int(key, *i)?,
            Value::Float(f) => builder.add_float(key, *f)?,
            Value::Null => {}
            other => {
                return Err(QueryError::type_error(format!(
                    "Duration component '{key}' must be a number, got {}",
                    other.type_name()
                )))
            }
        }
    }
    Ok(Temporal::Duration(builder.build()?))
}

/// The keys a map argument of `kind` may have.
fn allowed(kind: Kind, key: &str) -> bool {
    let date = DATE_KEYS.contains(&key) || key == "date";
    let time = TIME_KEYS.contains(&key) || key == "time";
    match kind {
        Kind::Date => date,
        Kind::LocalTime => time,
        Kind::Time => time || key == "timezone",
        Kind::LocalDateTime => date || time || key == "datetime",
        Kind::DateTime => {
            date || time
                || matches!(
                    key,
                    "datetime" | "timezone" | "epochSeconds" | "epochMillis"
                )
        }
        Kind::Duration => false,
    }
}

struct MapArgs<'a> {
    map: &'a BTreeMap<String, Value>,
}

impl MapArgs<'_> {
    fn int(&self, key: &str) -> Result<Option<i64>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Int(i)) => Ok(Some(*i)),
            Some(other) => Err(QueryError::type_error(format!(
                "Component '{key}' must be an integer, got {}",
                other.type_name()
            ))),
        }
    }

    fn temporal(&self, key: &str) -> Result<Option<Parts>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Temporal(t)) => Parts::of(t).map(Some),
            Some(other) => Err(QueryError::type_error(format!(
                "'{key}' must be a temporal value, got {}",
                other.type_name()
            ))),
        }
    }

    fn has_any(&self, keys: &[&str]) -> bool {
        keys.iter().any(|k| self.map.contains_key(*k))
    }
}

fn from_map(kind: Kind, map: &BTreeMap<String, Value>) -> Result<Temporal> {
    if let Some(key) = map.keys().find(|k| !allowed(kind, k)) {
        return Err(arg_error(format!(
            "'{key}' is not a component of {}",
            kind.type_name()
        )));
    }
    let args = MapArgs { map };
    let timezone = match map.get("timezone") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(parse_offset(s)?.ok_or_else(|| arg_error(format!("Invalid time zone: '{s}'")))?)
        }
        Some(other) => {
            return Err(QueryError::type_error(format!(
                "timezone must be a string, got {}",
                other.type_name()
            )))
        }
    };
    let mut parts = Parts::default();
    if let Some(seconds) = args.int("epochSeconds")? {
        let nanos = i128::from(seconds) * i128::from(NANOS_PER_SECOND)
            + i128::from(args.int("nanosecond")?.unwrap_or(0));
        parts = Parts::of(&datetime_from_epoch(nanos)?)?;
    } else if let Some(millis) = args.int("epochMillis")? {
        parts = Parts::of(&datetime_from_epoch(i128::from(millis) * 1_000_000)?)?;
    } else if let Some(base) = args.temporal("datetime")? {
        parts = base;
    }
    if let Some(date) = args.temporal("date")? {
        parts.date = Some(
            date.date
                .ok_or_else(|| arg_error("'date' has no date".into()))?,
        );
    }
    if let Some(time) = args.temporal("time")? {
        parts.time = Some(
            time.time
                .ok_or_else(|| arg_error("'time' has no time".into()))?,
        );
        parts.offset = time.offset.or(parts.offset);
    }
    // A new zone for a value that had one: the same instant at the new offset.
    if let (Some(tz), Some(old)) = (timezone, parts.offset) {
        shift(&mut parts, i64::from(tz) - i64::from(old));
    }
    if timezone.is_some() {
        parts.offset = timezone;
    }
    if args.has_any(&DATE_KEYS) {
        parts.date = Some(date_from_map(&args, parts.date)?);
    }
    let epoch = args.has_any(&["epochSeconds", "epochMillis"]);
    if args.has_any(&TIME_KEYS) && !epoch {
        parts.time = Some(time_from_map(&args, parts.time)?);
    } else if matches!(kind, Kind::LocalTime | Kind::Time) && parts.time.is_none() {
        return Err(arg_error(format!("{} needs an hour", kind.type_name())));
    }
    if matches!(kind, Kind::Date | Kind::LocalDateTime | Kind::DateTime) && parts.date.is_none() {
        return Err(arg_error(format!("{} needs a year", kind.type_name())));
    }
    parts.build(kind)
}

/// Moves the parts' wall clock by `seconds` (and the date with it, when there is one).
fn shift(parts: &mut Parts, seconds: i64) {
    let Some(time) = parts.time else { return };
    let delta = chrono::TimeDelta::seconds(seconds);
    match parts.date {
        Some(date) => {
            // Only fails at the ends of chrono's range; the value is then left unshifted and
            // building it reports the range error.
            if let Some(moved) = date.and_time(naive_time(time)).checked_add_signed(delta) {
                parts.date = Some(moved.date());
                parts.time = Some(nanos_of(moved.time()));
            }
        }
        None => {
            parts.time = Some(
                (time + seconds * NANOS_PER_SECOND).rem_euclid(storage::temporal::NANOS_PER_DAY),
            )
        }
    }
}

fn small(v: Option<i64>) -> Result<Option<u32>> {
    v.map(|x| u32::try_from(x).map_err(|_| arg_error(format!("Invalid date component: {x}"))))
        .transpose()
}

fn date_from_map(args: &MapArgs<'_>, base: Option<NaiveDate>) -> Result<NaiveDate> {
    let year = match args.int("year")? {
        Some(y) => Some(i32::try_from(y).map_err(|_| arg_error(format!("Invalid year: {y}")))?),
        None => None,
    };
    let invalid = || arg_error("Invalid date components.".into());
    let week = small(args.int("week")?)?;
    let day_of_week = small(args.int("dayOfWeek")?)?;
    let quarter = small(args.int("quarter")?)?;
    let day_of_quarter = small(args.int("dayOfQuarter")?)?;
    let ordinal = small(args.int("ordinalDay")?)?;
    let (month, day) = (small(args.int("month")?)?, small(args.int("day")?)?);
    if year.is_none() && base.is_none() {
        return Err(arg_error("A date needs a year.".into()));
    }
    if week.is_some() || (day_of_week.is_some() && month.is_none() && day.is_none()) {
        let iso = base.map(|b| b.iso_week());
        let year = year.or(iso.map(|w| w.year())).ok_or_else(invalid)?;
        let week = week.or(iso.map(|w| w.week())).unwrap_or(1);
        let dow = day_of_week
            .or(base.map(|b| b.weekday().number_from_monday()))
            .unwrap_or(1);
        let weekday =
            chrono::Weekday::try_from(u8::try_from(dow.wrapping_sub(1)).map_err(|_| invalid())?)
                .map_err(|_| invalid())?;
        return NaiveDate::from_isoywd_opt(year, week, weekday).ok_or_else(invalid);
    }
    let year = year.or(base.map(|b| b.year())).ok_or_else(invalid)?;
    if quarter.is_some() || day_of_quarter.is_some() {
        let quarter = quarter.or(base.map(|b| b.month0() / 3 + 1)).unwrap_or(1);
        if !(1..=4).contains(&quarter) {
            return Err(invalid());
        }
        let start = NaiveDate::from_ymd_opt(year, (quarter - 1) * 3 + 1, 1).ok_or_else(invalid)?;
        let doq = match (day_of_quarter, base) {
            (Some(d), _) => d,
            (None, Some(b)) => {
                let b_start = NaiveDate::from_ymd_opt(b.year(), b.month0() / 3 * 3 + 1, 1)
                    .ok_or_else(invalid)?;
                (b - b_start).num_days() as u32 + 1
            }
            (None, None) => 1,
        };
        let end = start
            .checked_add_months(chrono::Months::new(3))
            .ok_or_else(invalid)?;
        let date = start
            .checked_add_signed(chrono::TimeDelta::days(i64::from(doq) - 1))
            .filter(|d| doq >= 1 && *d < end)
            .ok_or_else(invalid)?;
        return Ok(date);
    }
    if let Some(ordinal) = ordinal {
        return NaiveDate::from_yo_opt(year, ordinal).ok_or_else(invalid);
    }
    let month = month.or(base.map(|b| b.month())).unwrap_or(1);
    let day = day.or(base.map(|b| b.day())).unwrap_or(1);
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(invalid)
}

fn time_from_map(args: &MapArgs<'_>, base: Option<i64>) -> Result<i64> {
    let invalid = || arg_error("Invalid time components.".into());
    let base = base.unwrap_or(0);
    let base_seconds = base / NANOS_PER_SECOND;
    let hour = args.int("hour")?.unwrap_or(base_seconds / 3600);
    let minute = args.int("minute")?.unwrap_or(base_seconds / 60 % 60);
    let second = args.int("second")?.unwrap_or(base_seconds % 60);
    let (ms, us, ns) = (
        args.int("millisecond")?,
        args.int("microsecond")?,
        args.int("nanosecond")?,
    );
    let sub = if ms.is_some() || us.is_some() || ns.is_some() {
        let limit_ns = if ms.is_some() || us.is_some() {
            1_000
        } else {
            NANOS_PER_SECOND
        };
        let limit_us = if ms.is_some() { 1_000 } else { 1_000_000 };
        let (ms, us, ns) = (ms.unwrap_or(0), us.unwrap_or(0), ns.unwrap_or(0));
        if !(0..1_000).contains(&ms) || !(0..limit_us).contains(&us) || !(0..limit_ns).contains(&ns)
        {
            return Err(invalid());
        }
        ms * 1_000_000 + us * 1_000 + ns
    } else {
        base % NANOS_PER_SECOND
    };
    if !(0..24).contains(&hour) || !(0..60).contains(&minute) || !(0..60).contains(&second) {
        return Err(invalid());
    }
    Ok(((hour * 60 + minute) * 60 + second) * NANOS_PER_SECOND + sub)
}
