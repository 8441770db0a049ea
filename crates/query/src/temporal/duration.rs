//! Durations: building them from components, arithmetic with them, and the distance between two
//! points in time (`duration.between` and friends).
//!
//! A duration keeps months, days, seconds and nanoseconds apart because their lengths vary
//! (a month is 28..31 days, a day 23..25 hours across DST); they are only combined when added to a
//! point in time: months first (clamping the day to the month's end), then days, then the time.
//! Fractions are handed down the way Neo4j does it: a fractional month becomes days at the
//! average month length (30.436875 days), a fractional day seconds, a fractional second nanos.

use std::cmp::Ordering;

use chrono::{Datelike, Months, NaiveDateTime, Timelike};
use storage::temporal::{Duration, LocalTime, Time, NANOS_PER_DAY};
use storage::Temporal;

use super::{
    date_of, datetime_at, local_datetime_of, local_of, naive_date, naive_datetime, naive_time,
    nanos_of, range_error, Parts, TemporalFn, NANOS_PER_SECOND, SECONDS_PER_DAY,
};
use crate::error::{QueryError, Result};
use crate::expr::BinOp;
use crate::value::Value;

/// The average Gregorian month (365.2425 / 12 days), in seconds.
const AVG_SECONDS_PER_MONTH: i64 = 2_629_746;

fn overflow() -> QueryError {
    QueryError::Arithmetic("Duration out of range.".into())
}

/// Sums duration components given in named units, exactly for integers and through Neo4j's
/// cascade when any component is fractional.
#[derive(Default)]
pub struct DurationBuilder {
    /// months, days, seconds, nanos.
    exact: [i128; 4],
    float: [f64; 4],
    any_float: bool,
}

fn unit(name: &str) -> Result<(usize, i64)> {
    Ok(match name {
        "years" => (0, 12),
        "quarters" => (0, 3),
        "months" => (0, 1),
        "weeks" => (1, 7),
        "days" => (1, 1),
        "hours" => (2, 3600),
        "minutes" => (2, 60),
        "seconds" => (2, 1),
        "milliseconds" => (3, 1_000_000),
        "microseconds" => (3, 1_000),
        "nanoseconds" => (3, 1),
        other => {
            return Err(QueryError::Argument(format!(
                "No such duration component: '{other}'"
            )))
        }
    })
}

impl DurationBuilder {
    pub fn add_int(&mut self, name: &str, value: i64) -> Result<()> {
        let (i, scale) = unit(name)?;
        self.exact[i] += i128::from(value) * i128::from(scale);
        self.float[i] += value as f64 * scale as f64;
        Ok(())
    }

    pub fn add_float(&mut self, name: &str, value: f64) -> Result<()> {
        let (i, scale) = unit(name)?;
        if !value.is_finite() {
            return Err(overflow());
        }
        self.any_float = true;
        self.float[i] += value * scale as f64;
        Ok(())
    }

    pub fn build(&self) -> Result<Duration> {
        if self.any_float {
            let [m, d, s, n] = self.float;
            approximate(m, d, s, n)
        } else {
            let [m, d, s, n] = self.exact;
            normalize(m, d, s, n)
        }
    }
}

/// A duration from exact components: nanoseconds carried into seconds so that `0 <= nanos < 1e9`.
pub fn normalize(months: i128, days: i128, seconds: i128, nanos: i128) -> Result<Duration> {
    let seconds = seconds + nanos.div_euclid(NANOS_PER_SECOND as i128);
    let nanos = nanos.rem_euclid(NANOS_PER_SECOND as i128);
    let fit = |x: i128| i64::try_from(x).map_err(|_| overflow());
    Ok(Duration {
        months: fit(months)?,
        days: fit(days)?,
        seconds: fit(seconds)?,
        nanos: fit(nanos)?,
    })
}

/// Neo4j's `DurationValue.approximate`: whole units kept, each fraction handed to the next unit.
fn approximate(months: f64, days: f64, seconds: f64, nanos: f64) -> Result<Duration> {
    let whole = |x: f64| -> Result<i128> {
        if x.is_finite() && x.abs() < 9.2e18 {
            Ok(x.trunc() as i128)
        } else {
            Err(overflow())
        }
    };
    let month_nanos = (AVG_SECONDS_PER_MONTH * NANOS_PER_SECOND) as f64;
    let day_nanos = (SECONDS_PER_DAY * NANOS_PER_SECOND) as f64;
    let nanos_per_second = NANOS_PER_SECOND as f64;
    let m = whole(months)?;
    let days = days + (month_nanos * months - month_nanos * m as f64) / day_nanos;
    let d = whole(days)?;
    let seconds = seconds + (day_nanos * days - day_nanos * d as f64) / nanos_per_second;
    let s = whole(seconds)?;
    let nanos = nanos + (nanos_per_second * seconds - nanos_per_second * s as f64);
    normalize(m, d, s, whole(nanos)?)
}

pub fn negate(d: &Duration) -> Result<Duration> {
    normalize(
        -i128::from(d.months),
        -i128::from(d.days),
        -i128::from(d.seconds),
        -i128::from(d.nanos),
    )
}

/// The length used to order durations: months and days at their average length.
pub fn average_nanos(d: &Duration) -> i128 {
    ((i128::from(d.months) * i128::from(AVG_SECONDS_PER_MONTH)
        + i128::from(d.days) * i128::from(SECONDS_PER_DAY)
        + i128::from(d.seconds))
        * i128::from(NANOS_PER_SECOND))
        + i128::from(d.nanos)
}

/// `+ - * /` where at least one side is temporal. Nulls were handled by the caller.
pub fn arith(op: BinOp, a: Value, b: Value) -> Result<Value> {
    use Temporal::Duration as Dur;
    let mismatch = |a: &Value, b: &Value| {
        QueryError::type_error(format!(
            "Cannot apply {op:?} to {} and {}",
            a.type_name(),
            b.type_name()
        ))
    };
    let result = match (op, &a, &b) {
        (BinOp::Add, Value::Temporal(Dur(x)), Value::Temporal(Dur(y))) => Dur(combine(x, y, 1)?),
        (BinOp::Sub, Value::Temporal(Dur(x)), Value::Temporal(Dur(y))) => Dur(combine(x, y, -1)?),
        (BinOp::Add, Value::Temporal(t), Value::Temporal(Dur(d)))
        | (BinOp::Add, Value::Temporal(Dur(d)), Value::Temporal(t)) => add(t, d)?,
        (BinOp::Sub, Value::Temporal(t), Value::Temporal(Dur(d)))
            if !matches!(t, Temporal::Duration(_)) =>
        {
            add(t, &negate(d)?)?
        }
        (BinOp::Mul, Value::Temporal(Dur(d)), n) | (BinOp::Mul, n, Value::Temporal(Dur(d))) => {
            match n {
                Value::Int(k) => {
                    let k = i128::from(*k);
                    Dur(normalize(
                        i128::from(d.months) * k,
                        i128::from(d.days) * k,
                        i128::from(d.seconds) * k,
                        i128::from(d.nanos) * k,
                    )?)
                }
                Value::Float(f) => Dur(scale(d, *f)?),
                _ => return Err(mismatch(&a, &b)),
            }
        }
        (BinOp::Div, Value::Temporal(Dur(d)), n) => {
            let divisor = n.as_f64().ok_or_else(|| mismatch(&a, &b))?;
            if divisor == 0.0 {
                return Err(QueryError::Arithmetic("/ by zero".into()));
            }
            Dur(scale(d, 1.0 / divisor)?)
        }
        _ => return Err(mismatch(&a, &b)),
    };
    Ok(Value::Temporal(result))
}

fn combine(x: &Duration, y: &Duration, sign: i128) -> Result<Duration> {
    normalize(
        i128::from(x.months) + sign * i128::from(y.months),
        i128::from(x.days) + sign * i128::from(y.days),
        i128::from(x.seconds) + sign * i128::from(y.seconds),
        i128::from(x.nanos) + sign * i128::from(y.nanos),
    )
}

fn scale(d: &Duration, f: f64) -> Result<Duration> {
    approximate(
        d.months as f64 * f,
        d.days as f64 * f,
        d.seconds as f64 * f,
        d.nanos as f64 * f,
    )
}

/// Adds months (clamping the day), then days, to a date.
fn add_calendar(date: chrono::NaiveDate, d: &Duration) -> Result<chrono::NaiveDate> {
    let months = u32::try_from(d.months.unsigned_abs()).map_err(|_| range_error())?;
    let date = if d.months >= 0 {
        date.checked_add_months(Months::new(months))
    } else {
        date.checked_sub_months(Months::new(months))
    }
    .ok_or_else(range_error)?;
    date.checked_add_signed(chrono::TimeDelta::try_days(d.days).ok_or_else(range_error)?)
        .ok_or_else(range_error)
}

fn add_to_local(n: NaiveDateTime, d: &Duration) -> Result<NaiveDateTime> {
    let date = add_calendar(n.date(), d)?;
    let delta = chrono::TimeDelta::new(d.seconds, d.nanos as u32).ok_or_else(range_error)?;
    date.and_time(n.time())
        .checked_add_signed(delta)
        .ok_or_else(range_error)
}

/// A point in time plus a duration. Units a type does not have are dropped (a time ignores
/// months and days); a date takes whole days of the duration's seconds.
fn add(t: &Temporal, d: &Duration) -> Result<Temporal> {
    let time_nanos = |nanos: i64| -> i64 {
        let delta = (i128::from(d.seconds) * i128::from(NANOS_PER_SECOND) + i128::from(d.nanos))
            .rem_euclid(i128::from(NANOS_PER_DAY)) as i64;
        (nanos + delta).rem_euclid(NANOS_PER_DAY)
    };
    Ok(match t {
        Temporal::Date(date) => {
            let whole_days = Duration {
                days: d
                    .days
                    .checked_add(d.seconds / SECONDS_PER_DAY)
                    .ok_or_else(overflow)?,
                ..*d
            };
            Temporal::Date(date_of(add_calendar(naive_date(*date)?, &whole_days)?))
        }
        Temporal::LocalTime(l) => Temporal::LocalTime(LocalTime {
            nanos: time_nanos(l.nanos),
        }),
        Temporal::Time(x) => Temporal::Time(Time {
            nanos: time_nanos(x.nanos),
            offset_seconds: x.offset_seconds,
        }),
        Temporal::LocalDateTime(l) => Temporal::LocalDateTime(local_datetime_of(add_to_local(
            naive_datetime(l.seconds, l.nanos)?,
            d,
        )?)),
        Temporal::DateTime(x) => {
            let local = add_to_local(local_of(x)?, d)?;
            Temporal::DateTime(datetime_at(local, x.offset_seconds))
        }
        Temporal::Duration(x) => Temporal::Duration(combine(x, d, 1)?),
    })
}

/// `duration.between(a, b)` and `inMonths` / `inDays` / `inSeconds`. When both have an offset
/// `b` is first moved to `a`'s offset; a missing date is taken from the other side (or the epoch),
/// a missing time is midnight.
pub fn between(f: TemporalFn, a: &Temporal, b: &Temporal) -> Result<Duration> {
    let (pa, mut pb) = (Parts::of(a)?, Parts::of(b)?);
    if let (Some(oa), Some(ob)) = (pa.offset, pb.offset) {
        if let (Some(date), Some(time)) = (pb.date, pb.time) {
            let shifted = date
                .and_time(naive_time(time))
                .checked_add_signed(chrono::TimeDelta::seconds(i64::from(oa) - i64::from(ob)))
                .ok_or_else(range_error)?;
            pb.date = Some(shifted.date());
            pb.time = Some(nanos_of(shifted.time()));
        } else if let Some(time) = pb.time {
            pb.time = Some(time + (i64::from(oa) - i64::from(ob)) * NANOS_PER_SECOND);
        }
    }
    let has_dates = pa.date.is_some() && pb.date.is_some();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(range_error)?;
    let date_a = pa.date.or(pb.date).unwrap_or(epoch);
    let date_b = pb.date.or(pa.date).unwrap_or(epoch);
    let at = |date: chrono::NaiveDate, time: Option<i64>| {
        date.and_time(naive_time(0))
            .checked_add_signed(nanos_delta(time.unwrap_or(0)))
            .ok_or_else(range_error)
    };
    let (start, end) = (at(date_a, pa.time)?, at(date_b, pb.time)?);
    let total_nanos = |from: NaiveDateTime| -> Result<i128> {
        (end - from)
            .num_nanoseconds()
            .map(i128::from)
            .ok_or_else(range_error)
    };
    let months = if has_dates {
        months_between(start, end)
    } else {
        0
    };
    match f {
        TemporalFn::InMonths => normalize(i128::from(months), 0, 0, 0),
        TemporalFn::InDays => {
            let days = if has_dates {
                total_nanos(start)? / i128::from(NANOS_PER_DAY)
            } else {
                0
            };
            normalize(0, days, 0, 0)
        }
        TemporalFn::InSeconds => normalize(0, 0, 0, total_nanos(start)?),
        _ => {
            let after_months = add_to_local(
                start,
                &Duration {
                    months,
                    days: 0,
                    seconds: 0,
                    nanos: 0,
                },
            )?;
            let rest = total_nanos(after_months)?;
            let days = if has_dates {
                rest / i128::from(NANOS_PER_DAY)
            } else {
                0
            };
            normalize(
                i128::from(months),
                days,
                0,
                rest - days * i128::from(NANOS_PER_DAY),
            )
        }
    }
}

fn nanos_delta(nanos: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::nanoseconds(nanos)
}

/// Whole months from `a` to `b`, truncated toward zero (Java's `until(b, MONTHS)`).
fn months_between(a: NaiveDateTime, b: NaiveDateTime) -> i64 {
    let month_index = |n: &NaiveDateTime| i64::from(n.year()) * 12 + i64::from(n.month0());
    let rest = |n: &NaiveDateTime| (n.day(), n.num_seconds_from_midnight(), n.nanosecond());
    let mut months = month_index(&b) - month_index(&a);
    match rest(&b).cmp(&rest(&a)) {
        Ordering::Less if months > 0 => months -= 1,
        Ordering::Greater if months < 0 => months += 1,
        _ => {}
    }
    months
}
