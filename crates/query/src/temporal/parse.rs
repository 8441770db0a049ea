//! ISO-8601 text: the string forms the temporal constructors accept.
//!
//! Dates: calendar `2015-07-21` / `20150721` / `2015-07` / `201507`, week `2015-W30-2` /
//! `2015W302` / `2015-W30`, ordinal `2015-202` / `2015202`, and a bare year `2015`; years past
//! 9999 or before 0 need a sign (`+10000-01-01`, `-0001-01-01`).
//! Times: `21:40:32.142`, `214032.142`, `21:40`, `2140`, `21`, with a fraction after `.` or `,`,
//! then optionally `Z` or an offset `+01:00` / `+0100` / `+01`.
//! Date-times: a date, `T`, a time. Durations: `P1Y2M3W4DT5H6M7.8S` (any component may be
//! signed or fractional, a leading `-` negates the whole) and `P2012-02-02T14:37:21.545`.

use chrono::NaiveDate;
use storage::temporal::Duration;

use super::duration::DurationBuilder;
use super::{check_offset, Kind, Parts, NANOS_PER_SECOND};
use crate::error::{QueryError, Result};

fn bad(kind: &str, s: &str) -> QueryError {
    QueryError::Argument(format!("Text cannot be parsed to a {kind}: '{s}'"))
}

/// Parses the string argument of a point-in-time constructor into its parts.
pub fn parse_parts(kind: Kind, s: &str) -> Result<Parts> {
    let err = || bad(kind.type_name(), s);
    let text = s.trim();
    match kind {
        Kind::Date => Ok(Parts {
            date: Some(parse_date(text).ok_or_else(err)?),
            ..Parts::default()
        }),
        Kind::LocalTime | Kind::Time => {
            let (time, offset) = parse_time_zone(text)?.ok_or_else(err)?;
            Ok(Parts {
                date: None,
                time: Some(time),
                offset,
            })
        }
        Kind::LocalDateTime | Kind::DateTime => {
            let (date, time) = match text.find(['T', 't']) {
                Some(i) => (&text[..i], Some(&text[i + 1..])),
                None => (text, None),
            };
            let date = parse_date(date).ok_or_else(err)?;
            let (time, offset) = match time {
                Some(t) => parse_time_zone(t)?.ok_or_else(err)?,
                None => (0, None),
            };
            Ok(Parts {
                date: Some(date),
                time: Some(time),
                offset,
            })
        }
        Kind::Duration => Err(err()),
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn num(s: &str) -> Option<i64> {
    if all_digits(s) {
        s.parse().ok()
    } else {
        None
    }
}

/// Any ISO-8601 date form (see the module doc).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    // Every form is ASCII; checking that first makes all byte-index slicing below safe.
    if !s.is_ascii() {
        return None;
    }
    let (negative, body) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let signed = body.len() != s.len();
    // The year: up to the first '-' in the extended form, else four digits (more when signed
    // and nothing follows).
    let (year, rest, extended) = match body.find('-') {
        Some(i) => (&body[..i], &body[i + 1..], true),
        None if signed && !body.contains(['W', 'w']) && body.len() > 8 => return None,
        None if body.len() <= 4 || (signed && all_digits(body) && body.len() < 7) => {
            (body, "", false)
        }
        None => body.split_at_checked(4).map(|(y, r)| (y, r, false))?,
    };
    if year.len() < 4 || (!signed && year.len() != 4) {
        return None;
    }
    let year = i32::try_from(num(year)?).ok()?;
    let year = if negative { -year } else { year };
    if rest.is_empty() {
        return if extended {
            None
        } else {
            NaiveDate::from_ymd_opt(year, 1, 1)
        };
    }
    if let Some(week) = rest.strip_prefix(['W', 'w']) {
        let (week, day) = match (extended, week.len()) {
            (_, 2) => (week, "1"),
            (true, 4) if week.as_bytes()[2] == b'-' => (&week[..2], &week[3..]),
            (false, 3) => week.split_at(2),
            _ => return None,
        };
        let weekday = chrono::Weekday::try_from(u8::try_from(num(day)? - 1).ok()?).ok()?;
        return NaiveDate::from_isoywd_opt(year, u32::try_from(num(week)?).ok()?, weekday);
    }
    match (extended, rest.len()) {
        (_, 2) => NaiveDate::from_ymd_opt(year, num(rest)? as u32, 1),
        (_, 3) => NaiveDate::from_yo_opt(year, num(rest)? as u32),
        (true, 5) if rest.as_bytes()[2] == b'-' => {
            NaiveDate::from_ymd_opt(year, num(&rest[..2])? as u32, num(&rest[3..])? as u32)
        }
        (false, 4) => {
            NaiveDate::from_ymd_opt(year, num(&rest[..2])? as u32, num(&rest[2..])? as u32)
        }
        _ => None,
    }
}

/// A time with an optional zone. `Ok(None)` when the text is no time at all; an error for a
/// named zone, which needs a tz database this build does not have.
pub fn parse_time_zone(s: &str) -> Result<Option<(i64, Option<i32>)>> {
    if !s.is_ascii() {
        return Ok(None);
    }
    let split = s[1.min(s.len())..]
        .find(['Z', 'z', '+', '-', '['])
        .map(|i| i + 1);
    let (time, zone) = match split {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let Some(time) = parse_time(time) else {
        return Ok(None);
    };
    let offset = match zone {
        None => None,
        Some(z) => match parse_offset(z)? {
            Some(o) => Some(o),
            None => return Ok(None),
        },
    };
    Ok(Some((time, offset)))
}

/// `Z`, `+01`, `+0100`, `+01:00` (also with seconds) as seconds east of UTC; `Ok(None)` for
/// text that is no offset; an error for a named zone.
pub fn parse_offset(z: &str) -> Result<Option<i32>> {
    if !z.is_ascii() {
        return Ok(None);
    }
    if z.eq_ignore_ascii_case("z") {
        return Ok(Some(0));
    }
    if z.starts_with('[') || z.contains('/') || z.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(QueryError::Unsupported(format!(
            "Named time zones are not supported yet: '{z}'"
        )));
    }
    let sign = match z.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Ok(None),
    };
    let body = &z[1..];
    let fields: Vec<&str> = if body.contains(':') {
        body.split(':').collect()
    } else {
        let mut v = Vec::new();
        let mut rest = body;
        while rest.len() >= 2 {
            let (h, r) = rest.split_at(2);
            v.push(h);
            rest = r;
        }
        if !rest.is_empty() {
            return Ok(None);
        }
        v
    };
    if fields.is_empty() || fields.len() > 3 || fields.iter().any(|f| f.len() != 2) {
        return Ok(None);
    }
    let mut seconds = 0;
    for (f, scale) in fields.iter().zip([3600, 60, 1]) {
        let Some(n) = num(f) else { return Ok(None) };
        if scale != 3600 && n >= 60 {
            return Ok(None);
        }
        seconds += n * scale;
    }
    check_offset(sign * seconds).map(Some)
}

/// A time of day without zone, as nanoseconds since midnight.
fn parse_time(s: &str) -> Option<i64> {
    let (hms, fraction) = match s.find(['.', ',']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let fields: Vec<&str> = if hms.contains(':') {
        hms.split(':').collect()
    } else {
        hms.as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect()
    };
    if fields.is_empty() || fields.len() > 3 || fields.iter().any(|f| f.len() != 2) {
        return None;
    }
    if fraction.is_some() && fields.len() != 3 {
        return None;
    }
    let (h, m, sec) = (
        num(fields[0])?,
        fields.get(1).map_or(Some(0), |f| num(f))?,
        fields.get(2).map_or(Some(0), |f| num(f))?,
    );
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let nanos = match fraction {
        Some(f) => fraction_nanos(f)?,
        None => 0,
    };
    Some(((h * 60 + m) * 60 + sec) * NANOS_PER_SECOND + nanos)
}

/// Up to nine fraction digits as nanoseconds.
fn fraction_nanos(f: &str) -> Option<i64> {
    if !all_digits(f) || f.len() > 9 {
        return None;
    }
    Some(num(f)? * 10i64.pow(9 - f.len() as u32))
}

/// A duration string (see the module doc).
pub fn parse_duration(s: &str) -> Result<Duration> {
    let err = || bad("DURATION", s);
    let text = s.trim();
    if !text.is_ascii() {
        return Err(err());
    }
    let (negate, text) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let body = text
        .strip_prefix(['P', 'p'])
        .filter(|b| !b.is_empty())
        .ok_or_else(err)?;
    let mut builder = DurationBuilder::default();
    if body.as_bytes()[0].is_ascii_digit()
        && body.len() >= 4
        && body[..4].bytes().all(|b| b.is_ascii_digit())
        && !body[..4].contains(['Y', 'M', 'W', 'D'])
        && body.len() > 4
        && matches!(body.as_bytes()[4], b'-' | b'T' | b't')
    {
        // The alternative form: P<date>T<time>, each field a count.
        let (date, time) = match body.find(['T', 't']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let parts: Vec<&str> = date.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(err());
        };
        builder.add_int("years", num(y).ok_or_else(err)?)?;
        builder.add_int("months", num(m).ok_or_else(err)?)?;
        builder.add_int("days", num(d).ok_or_else(err)?)?;
        if let Some(time) = time {
            let nanos = parse_time(time).ok_or_else(err)?;
            builder.add_int("nanoseconds", nanos)?;
        }
    } else {
        let mut in_time = false;
        let mut rest = body;
        let mut any = false;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix(['T', 't']) {
                if in_time {
                    return Err(err());
                }
                in_time = true;
                rest = r;
                continue;
            }
            let end = rest
                .find(|c: char| c.is_ascii_alphabetic())
                .ok_or_else(err)?;
            let (number, unit) = (&rest[..end], rest[end..].chars().next().unwrap_or(' '));
            rest = &rest[end + 1..];
            let unit = match (in_time, unit.to_ascii_uppercase()) {
                (false, 'Y') => "years",
                (false, 'M') => "months",
                (false, 'W') => "weeks",
                (false, 'D') => "days",
                (true, 'H') => "hours",
                (true, 'M') => "minutes",
                (true, 'S') => "seconds",
                _ => return Err(err()),
            };
            add_number(&mut builder, unit, number).ok_or_else(err)??;
            any = true;
        }
        if !any {
            return Err(err());
        }
    }
    let d = builder.build()?;
    if negate {
        super::duration::negate(&d)
    } else {
        Ok(d)
    }
}

/// Adds one `number unit` pair; `None` when the number does not parse. Fractional seconds are
/// exact (nanoseconds); other fractions go through the builder's float path.
fn add_number(builder: &mut DurationBuilder, unit: &str, number: &str) -> Option<Result<()>> {
    let (negative, digits) = match number.as_bytes().first()? {
        b'-' => (true, &number[1..]),
        b'+' => (false, &number[1..]),
        _ => (false, number),
    };
    let sign = if negative { -1 } else { 1 };
    match digits.find(['.', ',']) {
        None => Some(builder.add_int(unit, sign * num(digits)?)),
        Some(i) if unit == "seconds" => {
            let whole = if i == 0 { 0 } else { num(&digits[..i])? };
            let nanos = fraction_nanos(&digits[i + 1..])?;
            Some(
                builder
                    .add_int("seconds", sign * whole)
                    .and_then(|_| builder.add_int("nanoseconds", sign * nanos)),
            )
        }
        Some(_) => {
            let x: f64 = digits.replace(',', ".").parse().ok()?;
            Some(builder.add_float(unit, sign as f64 * x))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn date_forms() {
        assert_eq!(parse_date("2015-07-21"), d(2015, 7, 21));
        assert_eq!(parse_date("20150721"), d(2015, 7, 21));
        assert_eq!(parse_date("2015-07"), d(2015, 7, 1));
        assert_eq!(parse_date("201507"), d(2015, 7, 1));
        assert_eq!(parse_date("2015-W30-2"), d(2015, 7, 21));
        assert_eq!(parse_date("2015W302"), d(2015, 7, 21));
        assert_eq!(parse_date("2015-W30"), d(2015, 7, 20));
        assert_eq!(parse_date("2015-202"), d(2015, 7, 21));
        assert_eq!(parse_date("2015202"), d(2015, 7, 21));
        assert_eq!(parse_date("2015"), d(2015, 1, 1));
        assert_eq!(parse_date("+10000-01-01"), d(10000, 1, 1));
        assert_eq!(parse_date("-0001-01-01"), d(-1, 1, 1));
        assert_eq!(parse_date("2015-13-01"), None);
        assert_eq!(parse_date("15-01-01"), None);
        assert_eq!(parse_date("2015-07-21x"), None);
    }

    #[test]
    fn time_and_offset_forms() {
        let t = |h: i64, m: i64, s: i64, n: i64| ((h * 60 + m) * 60 + s) * NANOS_PER_SECOND + n;
        assert_eq!(
            parse_time_zone("21:40:32.142").unwrap(),
            Some((t(21, 40, 32, 142_000_000), None))
        );
        assert_eq!(
            parse_time_zone("214032,5").unwrap(),
            Some((t(21, 40, 32, 500_000_000), None))
        );
        assert_eq!(parse_time_zone("21").unwrap(), Some((t(21, 0, 0, 0), None)));
        assert_eq!(
            parse_time_zone("2140Z").unwrap(),
            Some((t(21, 40, 0, 0), Some(0)))
        );
        assert_eq!(
            parse_time_zone("21:40-08:00").unwrap(),
            Some((t(21, 40, 0, 0), Some(-8 * 3600)))
        );
        assert_eq!(
            parse_time_zone("21:40+0130").unwrap(),
            Some((t(21, 40, 0, 0), Some(5400)))
        );
        assert_eq!(parse_time_zone("24:00").unwrap(), None);
        assert!(parse_time_zone("12:00[Europe/Stockholm]").is_err());
    }

    #[test]
    fn duration_forms() {
        let dur = |months, days, seconds, nanos| Duration {
            months,
            days,
            seconds,
            nanos,
        };
        assert_eq!(
            parse_duration("P1Y2M3W4DT5H6M7.8S").unwrap(),
            dur(14, 25, 5 * 3600 + 6 * 60 + 7, 800_000_000)
        );
        assert_eq!(parse_duration("PT0.5S").unwrap(), dur(0, 0, 0, 500_000_000));
        assert_eq!(
            parse_duration("PT-0.5S").unwrap(),
            dur(0, 0, -1, 500_000_000)
        );
        assert_eq!(parse_duration("P1.5D").unwrap(), dur(0, 1, 43_200, 0));
        assert_eq!(parse_duration("-P1D").unwrap(), dur(0, -1, 0, 0));
        assert_eq!(
            parse_duration("P2012-02-02T14:37:21.545").unwrap(),
            dur(2012 * 12 + 2, 2, 14 * 3600 + 37 * 60 + 21, 545_000_000)
        );
        assert!(parse_duration("P").is_err());
        assert!(parse_duration("1D").is_err());
        assert!(parse_duration("PT1D").is_err());
    }

    proptest::proptest! {
        /// Parsers take user text: they may refuse it, never panic on it.
        #[test]
        fn parsers_never_panic(s in "[-+0-9:.,TWZPYMDHS\\[\\]/é ]{0,24}") {
            let _ = parse_date(&s);
            let _ = parse_time_zone(&s);
            let _ = parse_offset(&s);
            let _ = parse_duration(&s);
            for kind in [Kind::Date, Kind::Time, Kind::DateTime, Kind::Duration] {
                let _ = parse_parts(kind, &s);
            }
        }
    }
}
