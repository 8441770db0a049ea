//! How one Bolt value is printed, in mgconsole's notation.
//!
//! | value | printed as |
//! |---|---|
//! | null, booleans, integers | `Null`, `true` / `false`, decimal |
//! | float | C++ `std::ostream` default: 6 significant digits, `%g` style (`3.14159`, `1e+21`) |
//! | string | double-quoted, `\\ \' \" \b \f \n \r \t` escaped |
//! | list, map | `[a, b]`, `{k: v}` (keys as they are, unquoted) |
//! | node | `(:L1:L2 {k: v})` |
//! | relationship | `[:TYPE {k: v}]` |
//! | path | `(a)-[:R]->(b)<-[:S]-(c)` |
//! | date, local time, local date-time | `2012-12-05`, `23:56:23.000000000`, `2000-09-12 06:21:45.000000000` |
//! | time, date-time | the local form, then the offset: `... +01:00` |
//! | zoned date-time | the local form, then the zone: `...[Europe/Zagreb]` |
//! | duration | `P1DT2H3M4.000005S` (months are not printed, as in mgconsole) |
//! | point | `POINT({ x:0, y:1, srid:7203 })`, `POINT({ x:0, y:1, z:2, srid:9157 })` |
//!
//! Date-times are printed from the Bolt 4.x forms the console negotiates (seconds on the local
//! wall clock), so no time-zone database is needed; a 5.x UTC form is shifted by its offset
//! where it has one.

use std::fmt::Write;

use bolt::graph::{
    Date, DateTime, Duration, LocalDateTime, Node, Path, Point2D, Point3D, Relationship,
    StructValue, Time, UnboundRelationship, ZonedSeconds,
};
use bolt::{Structure, Value};

/// Nesting deeper than this is printed as `...` (the decoder caps depth too; this keeps the
/// printer's recursion bounded whatever it is given).
const MAX_DEPTH: usize = 64;

/// The value as mgconsole prints it in a table cell or CSV field.
pub fn value_to_string(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 0);
    out
}

fn write_value(out: &mut String, v: &Value, depth: usize) {
    if depth > MAX_DEPTH {
        out.push_str("...");
        return;
    }
    match v {
        Value::Null => out.push_str("Null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float(*f)),
        Value::String(s) => escape_into(out, s),
        Value::Bytes(b) => {
            // mgclient has no byte arrays; print them as a hex literal rather than fail.
            out.push_str("0x");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, depth + 1);
            }
            out.push(']');
        }
        Value::Map(entries) => write_map(out, entries, depth),
        Value::Struct(s) => write_struct(out, s, depth),
    }
}

fn write_map(out: &mut String, entries: &[(String, Value)], depth: usize) {
    out.push('{');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(k);
        out.push_str(": ");
        write_value(out, v, depth + 1);
    }
    out.push('}');
}

/// `"..."` with mgconsole's escapes.
pub fn escape_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' | '\'' | '"' => {
                out.push('\\');
                out.push(c);
            }
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_struct(out: &mut String, s: &Structure, depth: usize) {
    let Ok(value) = StructValue::from_structure(s) else {
        // mgconsole prints the same for a type it does not know.
        out.push_str("{unknown value}");
        return;
    };
    match value {
        StructValue::Node(n) => write_node(out, &n, depth),
        StructValue::Relationship(r) => write_relationship(out, &r, depth),
        StructValue::UnboundRelationship(r) => write_unbound(out, &r, depth),
        StructValue::Path(p) => write_path(out, &p, depth),
        StructValue::Date(d) => write_date(out, d),
        StructValue::Time(t) => write_time(out, t),
        StructValue::LocalTime(t) => write_local_time(out, t.nanos),
        StructValue::LocalDateTime(t) => write_local_date_time(out, t),
        StructValue::DateTime(t) => write_date_time(out, t),
        StructValue::DateTimeZoneId {
            seconds,
            nanos,
            tz_id,
        } => {
            // 4.x sends the local wall clock; a 5.x UTC form has no offset to shift by, so
            // it is printed in UTC (the console negotiates 4.x, so this is rare).
            let local = match seconds {
                ZonedSeconds::Local(s) | ZonedSeconds::Utc(s) => s,
            };
            write_local_date_time(
                out,
                LocalDateTime {
                    seconds: local,
                    nanos,
                },
            );
            out.push('[');
            out.push_str(&tz_id);
            out.push(']');
        }
        StructValue::Duration(d) => write_duration(out, d),
        StructValue::Point2D(p) => write_point2d(out, p),
        StructValue::Point3D(p) => write_point3d(out, p),
    }
}

fn write_node(out: &mut String, n: &Node, depth: usize) {
    out.push('(');
    for label in &n.labels {
        out.push(':');
        out.push_str(label);
    }
    if !n.labels.is_empty() && !n.properties.is_empty() {
        out.push(' ');
    }
    if !n.properties.is_empty() {
        write_map(out, &n.properties, depth);
    }
    out.push(')');
}

fn write_rel_body(out: &mut String, rel_type: &str, props: &[(String, Value)], depth: usize) {
    out.push_str("[:");
    out.push_str(rel_type);
    if !props.is_empty() {
        out.push(' ');
        write_map(out, props, depth);
    }
    out.push(']');
}

fn write_relationship(out: &mut String, r: &Relationship, depth: usize) {
    write_rel_body(out, &r.rel_type, &r.properties, depth);
}

fn write_unbound(out: &mut String, r: &UnboundRelationship, depth: usize) {
    write_rel_body(out, &r.rel_type, &r.properties, depth);
}

/// The path's nodes in order with each relationship between them, `<-...-` where it was
/// traversed from its end to its start. Indices out of range print `{unknown value}`.
fn write_path(out: &mut String, p: &Path, depth: usize) {
    let Some(first) = p.nodes.first() else {
        out.push_str("{unknown value}");
        return;
    };
    let mut steps = Vec::with_capacity(p.indices.len() / 2);
    for pair in p.indices.chunks(2) {
        let [rel_index, node_index] = *pair else {
            out.push_str("{unknown value}");
            return;
        };
        let reversed = rel_index < 0;
        let rel = usize::try_from(rel_index.unsigned_abs())
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| p.rels.get(i));
        let node = usize::try_from(node_index)
            .ok()
            .and_then(|i| p.nodes.get(i));
        match (rel, node) {
            (Some(r), Some(n)) => steps.push((reversed, r, n)),
            _ => {
                out.push_str("{unknown value}");
                return;
            }
        }
    }
    write_node(out, first, depth);
    for (reversed, rel, node) in steps {
        out.push_str(if reversed { "<-" } else { "-" });
        write_unbound(out, rel, depth);
        out.push_str(if reversed { "-" } else { "->" });
        write_node(out, node, depth);
    }
}

/// (year, month, day) of a day count since 1970-01-01 in the proleptic Gregorian calendar
/// (Howard Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn write_date(out: &mut String, d: Date) {
    // Day counts beyond what a year fits in are clamped (the server never sends them).
    let (y, m, day) = civil_from_days(d.days.clamp(-(1 << 40), 1 << 40));
    if y < 0 {
        let _ = write!(out, "-{:04}-{m:02}-{day:02}", -y);
    } else {
        let _ = write!(out, "{y:04}-{m:02}-{day:02}");
    }
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// `HH:MM:SS.nnnnnnnnn` of nanoseconds since midnight.
fn write_local_time(out: &mut String, nanos: i64) {
    if nanos < 0 {
        out.push('-');
    }
    let n = nanos.unsigned_abs();
    let secs = n / 1_000_000_000;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{:09}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        n % 1_000_000_000
    );
}

fn write_local_date_time(out: &mut String, t: LocalDateTime) {
    let days = t.seconds.div_euclid(SECONDS_PER_DAY);
    let secs_of_day = t.seconds.rem_euclid(SECONDS_PER_DAY);
    write_date(out, Date { days });
    out.push(' ');
    write_local_time(out, secs_of_day * NANOS_PER_SECOND + t.nanos);
}

/// ` +HH:MM` / `-HH:MM` (with `:SS` when the offset has seconds).
fn write_offset(out: &mut String, offset_seconds: i32) {
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let o = offset_seconds.unsigned_abs();
    let _ = write!(out, "{sign}{:02}:{:02}", o / 3600, o / 60 % 60);
    if !o.is_multiple_of(60) {
        let _ = write!(out, ":{:02}", o % 60);
    }
}

fn write_time(out: &mut String, t: Time) {
    write_local_time(out, t.nanos);
    write_offset(out, t.offset_seconds);
}

fn write_date_time(out: &mut String, t: DateTime) {
    // `DateTime::from_structure` gives UTC seconds for both wire forms: print local time.
    let local = t.seconds.saturating_add(i64::from(t.offset_seconds));
    write_local_date_time(
        out,
        LocalDateTime {
            seconds: local,
            nanos: t.nanos,
        },
    );
    out.push(' ');
    write_offset(out, t.offset_seconds);
}

/// ISO-8601-like `P<days>DT<h>H<m>M<s>.<micros>S`, as mgconsole prints it: months are not
/// printed, the sub-day part is cut to microseconds, and `T` appears only when it is positive.
fn write_duration(out: &mut String, d: Duration) {
    let micros = (i128::from(d.seconds) * 1_000_000_000 + i128::from(d.nanos)) / 1000;
    out.push('P');
    if d.days != 0 {
        let _ = write!(out, "{}D", d.days);
    }
    if micros > 0 {
        out.push('T');
    }
    let hours = micros / 3_600_000_000;
    let minutes = (micros - hours * 3_600_000_000) / 60_000_000;
    let rest = micros - hours * 3_600_000_000 - minutes * 60_000_000;
    let seconds = rest / 1_000_000;
    let sub = rest - seconds * 1_000_000;
    if hours != 0 {
        let _ = write!(out, "{hours}H");
    }
    if minutes != 0 {
        let _ = write!(out, "{minutes}M");
    }
    if seconds == 0 && sub == 0 {
        return;
    }
    if seconds == 0 && sub < 0 {
        out.push('-');
    }
    let _ = write!(out, "{seconds}");
    if sub != 0 {
        let _ = write!(out, ".{:06}", sub.abs());
    }
    out.push('S');
}

fn write_point2d(out: &mut String, p: Point2D) {
    let _ = write!(
        out,
        "POINT({{ x:{}, y:{}, srid:{} }})",
        format_float(p.x),
        format_float(p.y),
        p.srid
    );
}

fn write_point3d(out: &mut String, p: Point3D) {
    let _ = write!(
        out,
        "POINT({{ x:{}, y:{}, z:{}, srid:{} }})",
        format_float(p.x),
        format_float(p.y),
        format_float(p.z),
        p.srid
    );
}

/// A double as C++'s `std::ostream << double` prints it by default (`%g`, precision 6):
/// fixed notation when the decimal exponent is in -5..6, scientific otherwise, trailing zeros
/// removed; `inf`, `-inf`, `nan`.
pub fn format_float(f: f64) -> String {
    const PRECISION: i32 = 6;
    if f.is_nan() {
        return if f.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf" } else { "inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Round to 6 significant digits first: the exponent after rounding picks the style.
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, f);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..PRECISION).contains(&exp) {
        let decimals = (PRECISION - 1 - exp).max(0) as usize;
        trim_fraction(format!("{f:.decimals$}"))
    } else {
        let mantissa = trim_fraction(mantissa.to_string());
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

fn trim_fraction(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bolt::graph::{DateTimeZoneId, LocalTime, Node, Path, UnboundRelationship};
    use bolt::Version;

    fn node(labels: &[&str], props: Vec<(String, Value)>) -> Node {
        Node {
            id: 0,
            labels: labels.iter().map(|l| l.to_string()).collect(),
            properties: props,
            element_id: "0".into(),
        }
    }

    fn s(v: &Value) -> String {
        value_to_string(v)
    }

    #[test]
    fn floats_print_like_cpp_ostream() {
        let cases = [
            (1.23456789, "1.23457"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (1e21, "1e+21"),
            (123456789.0, "1.23457e+08"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (999999.5, "1e+06"),
            (2.0 / 3.0, "0.666667"),
            (1e-300, "1e-300"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for (f, want) in cases {
            assert_eq!(format_float(f), want, "{f:e}");
        }
    }

    #[test]
    fn scalars_strings_lists_and_maps() {
        assert_eq!(s(&Value::Null), "Null");
        assert_eq!(s(&true.into()), "true");
        assert_eq!(s(&Value::Int(-42)), "-42");
        assert_eq!(s(&"plain".into()), "\"plain\"");
        assert_eq!(
            s(&"it's \"q\" \\ \u{8}\u{c}\n\r\t ü".into()),
            r#""it\'s \"q\" \\ \b\f\n\r\t ü""#
        );
        assert_eq!(
            s(&Value::List(vec![
                1.into(),
                "a".into(),
                Value::List(vec![])
            ])),
            "[1, \"a\", []]"
        );
        assert_eq!(
            s(&Value::Map(vec![
                ("k".into(), 1.5.into()),
                ("odd key".into(), Value::Null)
            ])),
            "{k: 1.5, odd key: Null}"
        );
        assert_eq!(s(&Value::Bytes(vec![1, 0xab])), "0x01ab");
    }

    #[test]
    fn graph_entities() {
        let v = Version::V4_4;
        let n = node(&["City", "Capital"], vec![("name".into(), "Zagreb".into())]);
        assert_eq!(s(&n.to_value(v)), "(:City:Capital {name: \"Zagreb\"})");
        assert_eq!(s(&node(&[], vec![]).to_value(v)), "()");
        assert_eq!(
            s(&node(&[], vec![("x".into(), 1.into())]).to_value(v)),
            "({x: 1})"
        );
        assert_eq!(s(&node(&["Only"], vec![]).to_value(v)), "(:Only)");
        let r = Relationship {
            id: 1,
            start_id: 0,
            end_id: 2,
            rel_type: "ROAD".into(),
            properties: vec![("km".into(), 300.into())],
            element_id: "1".into(),
            start_element_id: "0".into(),
            end_element_id: "2".into(),
        };
        assert_eq!(s(&r.to_value(v)), "[:ROAD {km: 300}]");
        let unbound = |id, t: &str| UnboundRelationship {
            id,
            rel_type: t.into(),
            properties: vec![],
            element_id: id.to_string(),
        };
        let path = Path {
            nodes: vec![
                node(&["A"], vec![]),
                node(&["B"], vec![]),
                node(&["C"], vec![]),
            ],
            rels: vec![unbound(10, "R"), unbound(11, "S")],
            indices: vec![1, 1, -2, 2],
        };
        assert_eq!(s(&path.to_value(v)), "(:A)-[:R]->(:B)<-[:S]-(:C)");
        let broken = Path {
            indices: vec![5, 1],
            ..path
        };
        assert_eq!(s(&broken.to_value(v)), "{unknown value}");
    }

    #[test]
    fn temporal_values() {
        let v = Version::V4_4;
        // 2012-12-05 is day 15679.
        assert_eq!(s(&Date { days: 15679 }.to_value()), "2012-12-05");
        assert_eq!(s(&Date { days: 0 }.to_value()), "1970-01-01");
        assert_eq!(s(&Date { days: -1 }.to_value()), "1969-12-31");
        assert_eq!(
            s(&LocalTime {
                nanos: (23 * 3600 + 56 * 60 + 23) * NANOS_PER_SECOND + 5
            }
            .to_value()),
            "23:56:23.000000005"
        );
        let ldt = LocalDateTime {
            seconds: 968_739_705, // 2000-09-12 06:21:45
            nanos: 0,
        };
        assert_eq!(s(&ldt.to_value()), "2000-09-12 06:21:45.000000000");
        let before_epoch = LocalDateTime {
            seconds: -1,
            nanos: 500_000_000,
        };
        assert_eq!(s(&before_epoch.to_value()), "1969-12-31 23:59:59.500000000");
        let dt = DateTime {
            seconds: 968_739_705 - 3600, // 06:21:45 at +01:00
            nanos: 0,
            offset_seconds: 3600,
        };
        for version in [Version::V4_4, Version::V5_2] {
            assert_eq!(
                s(&dt.to_value(version)),
                "2000-09-12 06:21:45.000000000 +01:00"
            );
        }
        let zoned = DateTimeZoneId {
            seconds: 968_739_705 - 7200,
            nanos: 0,
            tz_id: "Europe/Zagreb".into(),
            offset_seconds: 7200,
        };
        assert_eq!(
            s(&zoned.to_value(v)),
            "2000-09-12 06:21:45.000000000[Europe/Zagreb]"
        );
        let t = Time {
            nanos: 3600 * NANOS_PER_SECOND,
            offset_seconds: -5400,
        };
        assert_eq!(s(&t.to_value()), "01:00:00.000000000-01:30");
    }

    #[test]
    fn durations_like_mgconsole() {
        let d = |months, days, seconds, nanos| {
            s(&Duration {
                months,
                days,
                seconds,
                nanos,
            }
            .to_value())
        };
        assert_eq!(d(0, 1, 2 * 3600 + 3 * 60 + 4, 5000), "P1DT2H3M4.000005S");
        assert_eq!(d(14, 0, 0, 0), "P", "months are not printed");
        assert_eq!(d(0, 3, 0, 0), "P3D");
        assert_eq!(d(0, 0, 90, 0), "PT1M30S");
        assert_eq!(d(0, 0, 0, 999), "P", "below a microsecond");
        assert_eq!(d(0, 0, -1, -500_000_000), "P-1.500000S");
        assert_eq!(d(0, 0, 0, -250_000_000), "P-0.250000S");
        assert_eq!(d(0, -2, -3600, 0), "P-2D-1H");
        assert_eq!(
            d(0, 0, 1, -1),
            "PT0.999999S",
            "the sum is cut, not each part"
        );
    }

    #[test]
    fn points() {
        let p2 = Point2D {
            srid: 7203,
            x: 0.0,
            y: 1.5,
        };
        assert_eq!(s(&p2.to_value()), "POINT({ x:0, y:1.5, srid:7203 })");
        let p3 = Point3D {
            srid: 9157,
            x: 0.0,
            y: 1.0,
            z: 2.0,
        };
        assert_eq!(s(&p3.to_value()), "POINT({ x:0, y:1, z:2, srid:9157 })");
    }

    #[test]
    fn unknown_structures_and_deep_nesting_do_not_panic() {
        let unknown = Value::Struct(Structure::new(0x01, vec![]));
        assert_eq!(s(&unknown), "{unknown value}");
        let malformed = Value::Struct(Structure::new(0x4E, vec![Value::Null]));
        assert_eq!(s(&malformed), "{unknown value}");
        let mut deep = Value::Int(1);
        for _ in 0..1000 {
            deep = Value::List(vec![deep]);
        }
        let text = s(&deep);
        assert!(text.starts_with("[[[") && text.contains("..."));
    }
}
