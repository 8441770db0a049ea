//! `toString` of temporal values, in the forms Neo4j prints (ISO-8601, Java style): seconds
//! only when not zero, fractions in groups of three digits, `Z` for UTC, signed years outside
//! 0000..9999, durations as `P1Y2M3DT4H5M6.7S` (`PT0S` when empty).

use chrono::{Datelike, NaiveDate};
use storage::temporal::Duration;
use storage::Temporal;

use super::{local_of, naive_date, naive_datetime, NANOS_PER_SECOND};

/// The canonical text of `t`. Values that chrono cannot represent (only reachable through a
/// hostile Bolt parameter) print their raw numbers.
pub fn format(t: &Temporal) -> String {
    match t {
        Temporal::Date(d) => naive_date(*d).map_or_else(|_| format!("{t:?}"), date),
        Temporal::LocalTime(l) => time(l.nanos),
        Temporal::Time(x) => time(x.nanos) + &offset(x.offset_seconds),
        Temporal::LocalDateTime(l) => naive_datetime(l.seconds, l.nanos).map_or_else(
            |_| format!("{t:?}"),
            |n| format!("{}T{}", date(n.date()), time(super::nanos_of(n.time()))),
        ),
        Temporal::DateTime(x) => local_of(x).map_or_else(
            |_| format!("{t:?}"),
            |n| {
                format!(
                    "{}T{}{}",
                    date(n.date()),
                    time(super::nanos_of(n.time())),
                    offset(x.offset_seconds)
                )
            },
        ),
        Temporal::Duration(d) => duration(d),
    }
}

pub fn date(d: NaiveDate) -> String {
    let year = d.year();
    let y = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year > 9999 {
        format!("+{year}")
    } else {
        format!("-{:04}", -i64::from(year))
    };
    format!("{y}-{:02}-{:02}", d.month(), d.day())
}

/// `HH:MM[:SS[.fff[fff[fff]]]]`.
pub fn time(nanos: i64) -> String {
    let (seconds, sub) = (nanos / NANOS_PER_SECOND, nanos % NANOS_PER_SECOND);
    let mut s = format!("{:02}:{:02}", seconds / 3600, seconds / 60 % 60);
    if seconds % 60 != 0 || sub != 0 {
        s += &format!(":{:02}", seconds % 60);
    }
    if sub != 0 {
        s += &fraction(sub);
    }
    s
}

/// `.fff`, `.ffffff` or `.fffffffff`: the shortest group of three that is exact.
fn fraction(sub: i64) -> String {
    if sub % 1_000_000 == 0 {
        format!(".{:03}", sub / 1_000_000)
    } else if sub % 1_000 == 0 {
        format!(".{:06}", sub / 1_000)
    } else {
        format!(".{sub:09}")
    }
}

/// `Z`, or `±HH:MM[:SS]`.
pub fn offset(seconds: i32) -> String {
    if seconds == 0 {
        return "Z".into();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let a = seconds.unsigned_abs();
    let mut s = format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60);
    if !a.is_multiple_of(60) {
        s += &format!(":{:02}", a % 60);
    }
    s
}

pub fn duration(d: &Duration) -> String {
    if d.months == 0 && d.days == 0 && d.seconds == 0 && d.nanos == 0 {
        return "PT0S".into();
    }
    let mut s = String::from("P");
    let push = |n: i64, unit: char, s: &mut String| {
        if n != 0 {
            s.push_str(&format!("{n}{unit}"));
        }
    };
    push(d.months / 12, 'Y', &mut s);
    push(d.months % 12, 'M', &mut s);
    push(d.days, 'D', &mut s);
    if d.seconds != 0 || d.nanos != 0 {
        // Seconds and nanoseconds print as one signed decimal.
        let total = i128::from(d.seconds) * i128::from(NANOS_PER_SECOND) + i128::from(d.nanos);
        let negative = total < 0;
        let abs = total.unsigned_abs();
        let whole = (abs / NANOS_PER_SECOND as u128) as i64;
        let sub = (abs % NANOS_PER_SECOND as u128) as i64;
        let sign = if negative { -1 } else { 1 };
        s.push('T');
        push(sign * (whole / 3600), 'H', &mut s);
        push(sign * (whole / 60 % 60), 'M', &mut s);
        let secs = whole % 60;
        if secs != 0 || sub != 0 {
            if negative {
                s.push('-');
            }
            s.push_str(&secs.to_string());
            if sub != 0 {
                let digits = format!("{sub:09}");
                s.push('.');
                s.push_str(digits.trim_end_matches('0'));
            }
            s.push('S');
        }
    }
    s
}
