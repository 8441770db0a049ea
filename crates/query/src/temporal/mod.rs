//! Temporal values in Cypher: `date`, `localtime`, `time`, `localdatetime`, `datetime` and
//! `duration`.
//!
//! The values themselves are [`storage::Temporal`] (plain integers, storable as properties);
//! this module gives them meaning with `chrono` for the calendar:
//!
//! - [`parse`] — ISO-8601 strings (calendar, week and ordinal dates, basic and extended forms,
//!   UTC offsets, durations in both the unit form `P1Y2DT3H` and the date form `P0001-00-02`);
//! - [`construct`] — the constructor functions, from a string, a map of components, another
//!   temporal, or nothing (the current time, UTC);
//! - [`duration`] — arithmetic (temporal ± duration, duration ± duration, duration × / number)
//!   and `duration.between` / `inMonths` / `inDays` / `inSeconds`;
//! - [`component`] — property access (`d.year`, `t.hour`, `dur.days` ...);
//! - [`format`] — `toString` in Neo4j's canonical forms.
//!
//! Comparison: values of one kind compare (`time` and `datetime` by their instant), durations
//! are not comparable but are orderable (by their average length), different kinds never compare.
//!
//! Not here yet: named time zones (`Europe/Stockholm`; they need a tz database), the `truncate`
//! functions, and a statement-wide clock (each no-argument call reads the system clock).

pub mod component;
pub mod construct;
pub mod duration;
pub mod format;
pub mod parse;

use std::cmp::Ordering;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use storage::temporal::{
    Date, DateTime, LocalDateTime, LocalTime, Time, MAX_OFFSET_SECONDS, NANOS_PER_DAY,
};
use storage::Temporal;

use crate::error::{QueryError, Result};
use crate::value::Value;

pub(crate) const NANOS_PER_SECOND: i64 = 1_000_000_000;
pub(crate) const SECONDS_PER_DAY: i64 = 86_400;
/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// The temporal functions, resolved by name in `Function::resolve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemporalFn {
    /// `date(...)`, `localtime(...)` ...: a constructor of the given kind.
    Construct(Kind),
    /// `datetime.fromepoch(seconds, nanoseconds)`.
    FromEpoch,
    /// `datetime.fromepochmillis(millis)`.
    FromEpochMillis,
    Between,
    InMonths,
    InDays,
    InSeconds,
}

/// The six temporal types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Date,
    LocalTime,
    Time,
    LocalDateTime,
    DateTime,
    Duration,
}

impl Kind {
    pub fn of(t: &Temporal) -> Kind {
        match t {
            Temporal::Date(_) => Kind::Date,
            Temporal::LocalTime(_) => Kind::LocalTime,
            Temporal::Time(_) => Kind::Time,
            Temporal::LocalDateTime(_) => Kind::LocalDateTime,
            Temporal::DateTime(_) => Kind::DateTime,
            Temporal::Duration(_) => Kind::Duration,
        }
    }

    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Date => "DATE",
            Kind::LocalTime => "LOCAL_TIME",
            Kind::Time => "ZONED_TIME",
            Kind::LocalDateTime => "LOCAL_DATE_TIME",
            Kind::DateTime => "ZONED_DATE_TIME",
            Kind::Duration => "DURATION",
        }
    }

    /// Rank among temporal kinds in ORDER BY (openCypher orderability).
    fn order_rank(self) -> u8 {
        match self {
            Kind::DateTime => 0,
            Kind::LocalDateTime => 1,
            Kind::Date => 2,
            Kind::Time => 3,
            Kind::LocalTime => 4,
            Kind::Duration => 5,
        }
    }
}

/// Resolves a lower-cased function name: the function and its argument count range.
pub fn resolve(name: &str) -> Option<(TemporalFn, usize, usize)> {
    use TemporalFn::*;
    let construct = |k| Some((Construct(k), 0, 1));
    // `date.transaction()`, `date.statement()`, `date.realtime()`: the clock, like `date()`.
    let base = match name.split_once('.') {
        Some((base, "transaction" | "statement" | "realtime")) => base,
        Some(("datetime", "fromepoch")) => return Some((FromEpoch, 2, 2)),
        Some(("datetime", "fromepochmillis")) => return Some((FromEpochMillis, 1, 1)),
        Some(("duration", "between")) => return Some((Between, 2, 2)),
        Some(("duration", "inmonths")) => return Some((InMonths, 2, 2)),
        Some(("duration", "indays")) => return Some((InDays, 2, 2)),
        Some(("duration", "inseconds")) => return Some((InSeconds, 2, 2)),
        Some(_) => return None,
        None => name,
    };
    match base {
        "date" => construct(Kind::Date),
        "localtime" => construct(Kind::LocalTime),
        "time" => construct(Kind::Time),
        "localdatetime" => construct(Kind::LocalDateTime),
        "datetime" => construct(Kind::DateTime),
        "duration" if base == name => Some((Construct(Kind::Duration), 1, 1)),
        _ => None,
    }
}

/// Evaluates a temporal function. Arguments are as the caller wrote them (count checked).
pub fn call(f: TemporalFn, args: Vec<Value>) -> Result<Value> {
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let t = match f {
        TemporalFn::Construct(kind) => construct::construct(kind, args.into_iter().next())?,
        TemporalFn::FromEpoch => {
            let seconds = int_arg(&args[0], "datetime.fromepoch")?;
            let nanos = int_arg(&args[1], "datetime.fromepoch")?;
            construct::datetime_from_epoch(
                seconds as i128 * NANOS_PER_SECOND as i128 + nanos as i128,
            )?
        }
        TemporalFn::FromEpochMillis => {
            let millis = int_arg(&args[0], "datetime.fromepochmillis")?;
            construct::datetime_from_epoch(millis as i128 * 1_000_000)?
        }
        TemporalFn::Between | TemporalFn::InMonths | TemporalFn::InDays | TemporalFn::InSeconds => {
            let (a, b) = (temporal_arg(&args[0])?, temporal_arg(&args[1])?);
            Temporal::Duration(duration::between(f, a, b)?)
        }
    };
    Ok(Value::Temporal(t))
}

fn int_arg(v: &Value, name: &str) -> Result<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(QueryError::type_error(format!(
            "{name} expects an integer, got {}",
            other.type_name()
        ))),
    }
}

fn temporal_arg(v: &Value) -> Result<&Temporal> {
    match v {
        Value::Temporal(t) if !matches!(t, Temporal::Duration(_)) => Ok(t),
        other => Err(QueryError::type_error(format!(
            "duration.between expects two temporal instants, got {}",
            other.type_name()
        ))),
    }
}

/// `<`, `>` ...: values of one kind, except durations; `None` otherwise.
pub fn compare(a: &Temporal, b: &Temporal) -> Option<Ordering> {
    use Temporal as T;
    Some(match (a, b) {
        (T::Date(x), T::Date(y)) => x.days.cmp(&y.days),
        (T::LocalTime(x), T::LocalTime(y)) => x.nanos.cmp(&y.nanos),
        (T::Time(x), T::Time(y)) => time_utc_nanos(x)
            .cmp(&time_utc_nanos(y))
            .then(x.offset_seconds.cmp(&y.offset_seconds)),
        (T::LocalDateTime(x), T::LocalDateTime(y)) => {
            (x.seconds, x.nanos).cmp(&(y.seconds, y.nanos))
        }
        (T::DateTime(x), T::DateTime(y)) => {
            (x.seconds, x.nanos, x.offset_seconds).cmp(&(y.seconds, y.nanos, y.offset_seconds))
        }
        _ => return None,
    })
}

/// The total order of ORDER BY among temporal values.
pub fn order(a: &Temporal, b: &Temporal) -> Ordering {
    let (ka, kb) = (Kind::of(a), Kind::of(b));
    if ka != kb {
        return ka.order_rank().cmp(&kb.order_rank());
    }
    match (a, b) {
        (Temporal::Duration(x), Temporal::Duration(y)) => duration::average_nanos(x)
            .cmp(&duration::average_nanos(y))
            .then_with(|| x.cmp(y)),
        _ => compare(a, b).unwrap_or(Ordering::Equal),
    }
}

fn time_utc_nanos(t: &Time) -> i64 {
    t.nanos - i64::from(t.offset_seconds) * NANOS_PER_SECOND
}

// ---- conversions between the stored form and chrono ----

pub(crate) fn range_error() -> QueryError {
    QueryError::Argument("Temporal value out of range.".into())
}

pub(crate) fn naive_date(d: Date) -> Result<NaiveDate> {
    let days = d
        .days
        .checked_add(EPOCH_DAYS_FROM_CE)
        .ok_or_else(range_error)?;
    i32::try_from(days)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(range_error)
}

pub(crate) fn date_of(d: NaiveDate) -> Date {
    Date {
        days: i64::from(d.num_days_from_ce()) - EPOCH_DAYS_FROM_CE,
    }
}

/// Nanoseconds since midnight of a chrono time (a leap second counts as the second before).
pub(crate) fn nanos_of(t: NaiveTime) -> i64 {
    i64::from(t.num_seconds_from_midnight()) * NANOS_PER_SECOND
        + i64::from(t.nanosecond() % 1_000_000_000)
}

pub(crate) fn naive_time(nanos: i64) -> NaiveTime {
    let nanos = nanos.rem_euclid(NANOS_PER_DAY);
    NaiveTime::from_num_seconds_from_midnight_opt(
        (nanos / NANOS_PER_SECOND) as u32,
        (nanos % NANOS_PER_SECOND) as u32,
    )
    .unwrap_or(NaiveTime::MIN)
}

pub(crate) fn naive_datetime(seconds: i64, nanos: u32) -> Result<NaiveDateTime> {
    chrono::DateTime::from_timestamp(seconds, nanos)
        .map(|d| d.naive_utc())
        .ok_or_else(range_error)
}

pub(crate) fn local_datetime_of(n: NaiveDateTime) -> LocalDateTime {
    let utc = n.and_utc();
    LocalDateTime {
        seconds: utc.timestamp(),
        nanos: utc.timestamp_subsec_nanos() % 1_000_000_000,
    }
}

/// A datetime's wall clock at its own offset.
pub(crate) fn local_of(d: &DateTime) -> Result<NaiveDateTime> {
    let local = d
        .seconds
        .checked_add(i64::from(d.offset_seconds))
        .ok_or_else(range_error)?;
    naive_datetime(local, d.nanos)
}

/// The datetime whose wall clock at `offset_seconds` is `local`.
pub(crate) fn datetime_at(local: NaiveDateTime, offset_seconds: i32) -> DateTime {
    let l = local_datetime_of(local);
    DateTime {
        seconds: l.seconds - i64::from(offset_seconds),
        nanos: l.nanos,
        offset_seconds,
    }
}

pub(crate) fn check_offset(offset_seconds: i64) -> Result<i32> {
    i32::try_from(offset_seconds)
        .ok()
        .filter(|o| (-MAX_OFFSET_SECONDS..=MAX_OFFSET_SECONDS).contains(o))
        .ok_or_else(|| QueryError::Argument(format!("Invalid UTC offset: {offset_seconds}s")))
}

/// The parts a temporal value has: a date, a time of day, an offset. Constructors take these
/// apart and put them back together as the requested kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct Parts {
    pub date: Option<NaiveDate>,
    pub time: Option<i64>,
    pub offset: Option<i32>,
}

impl Parts {
    pub fn of(t: &Temporal) -> Result<Parts> {
        Ok(match *t {
            Temporal::Date(d) => Parts {
                date: Some(naive_date(d)?),
                ..Parts::default()
            },
            Temporal::LocalTime(LocalTime { nanos }) => Parts {
                time: Some(nanos),
                ..Parts::default()
            },
            Temporal::Time(Time {
                nanos,
                offset_seconds,
            }) => Parts {
                time: Some(nanos),
                offset: Some(offset_seconds),
                ..Parts::default()
            },
            Temporal::LocalDateTime(l) => {
                let n = naive_datetime(l.seconds, l.nanos)?;
                Parts {
                    date: Some(n.date()),
                    time: Some(nanos_of(n.time())),
                    offset: None,
                }
            }
            Temporal::DateTime(d) => {
                let n = local_of(&d)?;
                Parts {
                    date: Some(n.date()),
                    time: Some(nanos_of(n.time())),
                    offset: Some(d.offset_seconds),
                }
            }
            Temporal::Duration(_) => {
                return Err(QueryError::type_error("A duration is not a point in time."))
            }
        })
    }

    /// Builds `kind` from these parts: a missing time is midnight, a missing offset is UTC, a
    /// missing date is an error for the kinds that need one.
    pub fn build(self, kind: Kind) -> Result<Temporal> {
        let need_date = || {
            self.date.ok_or_else(|| {
                QueryError::Argument(format!(
                    "Cannot make a {} without a date.",
                    kind.type_name()
                ))
            })
        };
        let time = self.time.unwrap_or(0);
        if !(0..NANOS_PER_DAY).contains(&time) {
            return Err(QueryError::Argument("Invalid time of day.".into()));
        }
        let offset = self.offset.unwrap_or(0);
        Ok(match kind {
            Kind::Date => Temporal::Date(date_of(need_date()?)),
            Kind::LocalTime => Temporal::LocalTime(LocalTime { nanos: time }),
            Kind::Time => Temporal::Time(Time {
                nanos: time,
                offset_seconds: offset,
            }),
            Kind::LocalDateTime => {
                Temporal::LocalDateTime(local_datetime_of(need_date()?.and_time(naive_time(time))))
            }
            Kind::DateTime => {
                Temporal::DateTime(datetime_at(need_date()?.and_time(naive_time(time)), offset))
            }
            Kind::Duration => {
                return Err(QueryError::type_error("A duration is not a point in time."))
            }
        })
    }
}

/// The current instant as a UTC datetime (the default time zone is UTC).
pub(crate) fn now() -> DateTime {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    DateTime {
        seconds: since.as_secs() as i64,
        nanos: since.subsec_nanos(),
        offset_seconds: 0,
    }
}
