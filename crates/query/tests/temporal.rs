//! Temporal values through the engine: constructors, components, ordering, arithmetic,
//! storage as properties and `toString`, checked against the texts Neo4j prints.

use std::collections::HashMap;
use std::sync::Arc;

use query::{Engine, EngineConfig, Value};
use storage::{Storage, StorageConfig};

fn engine() -> Arc<Engine> {
    Engine::new(
        Storage::new(StorageConfig::default()),
        EngineConfig::default(),
    )
}

fn rows(e: &Arc<Engine>, q: &str) -> Vec<Vec<Value>> {
    match e.execute(q, &HashMap::new()) {
        Ok((_, rows, _)) => rows,
        Err(err) => panic!("{q}: {err}"),
    }
}

/// The single value of a one-row, one-column query.
fn one(e: &Arc<Engine>, q: &str) -> Value {
    let mut r = rows(e, q);
    assert_eq!(r.len(), 1, "{q}");
    r.remove(0).remove(0)
}

/// `toString` of the single value `expr` evaluates to.
fn text(e: &Arc<Engine>, expr: &str) -> String {
    match one(e, &format!("RETURN toString({expr})")) {
        Value::String(s) => s,
        other => panic!("{expr}: {other:?}"),
    }
}

fn fails(e: &Arc<Engine>, q: &str) {
    assert!(e.execute(q, &HashMap::new()).is_err(), "{q} should fail");
}

#[test]
fn constructors_from_strings_print_canonically() {
    let e = engine();
    let cases = [
        ("date('2015-07-21')", "2015-07-21"),
        ("date('20150721')", "2015-07-21"),
        ("date('2015-W30-2')", "2015-07-21"),
        ("date('2015-202')", "2015-07-21"),
        ("date('2015-07')", "2015-07-01"),
        ("date('+10000-01-01')", "+10000-01-01"),
        ("localtime('21:40:32.142')", "21:40:32.142"),
        ("localtime('214032.142000001')", "21:40:32.142000001"),
        ("localtime('21:40')", "21:40"),
        ("time('21:40:32+0100')", "21:40:32+01:00"),
        ("time('21:40:32Z')", "21:40:32Z"),
        (
            "localdatetime('2015-07-21T21:40:32.142')",
            "2015-07-21T21:40:32.142",
        ),
        (
            "datetime('2015-07-21T21:40:32.142+01:00')",
            "2015-07-21T21:40:32.142+01:00",
        ),
        ("datetime('2015-07-21T21:40:32')", "2015-07-21T21:40:32Z"),
        ("duration('P14DT16H12M')", "P14DT16H12M"),
        ("duration('P5M1.5D')", "P5M1DT12H"),
        ("duration('PT0.75M')", "PT45S"),
        ("duration('P1Y2M3W4DT5H6M7.8S')", "P1Y2M25DT5H6M7.8S"),
        ("duration('PT-0.5S')", "PT-0.5S"),
        ("duration('PT0S')", "PT0S"),
    ];
    for (expr, expected) in cases {
        assert_eq!(text(&e, expr), expected, "{expr}");
    }
}

#[test]
fn constructors_from_maps_and_other_temporals() {
    let e = engine();
    let cases = [
        ("date({year: 1984, month: 10, day: 11})", "1984-10-11"),
        ("date({year: 1984, week: 10, dayOfWeek: 3})", "1984-03-07"),
        ("date({year: 1984, quarter: 3, dayOfQuarter: 45})", "1984-08-14"),
        ("date({year: 1984, ordinalDay: 202})", "1984-07-20"),
        ("date({year: 1984})", "1984-01-01"),
        ("localtime({hour: 12, minute: 31, second: 14, nanosecond: 645876123})", "12:31:14.645876123"),
        ("localtime({hour: 12, minute: 31, second: 14, millisecond: 645, microsecond: 876})", "12:31:14.645876"),
        ("time({hour: 10, minute: 35, timezone: '-08:00'})", "10:35-08:00"),
        ("localdatetime({year: 1, month: 1, day: 1, hour: 1, minute: 1, second: 1, nanosecond: 1})", "0001-01-01T01:01:01.000000001"),
        ("datetime({year: 1984, month: 10, day: 11, hour: 12, timezone: '+01:00'})", "1984-10-11T12:00+01:00"),
        ("datetime({epochSeconds: 0})", "1970-01-01T00:00Z"),
        ("datetime({epochMillis: 1500})", "1970-01-01T00:00:01.500Z"),
        ("duration({days: 14, hours: 16, minutes: 12})", "P14DT16H12M"),
        ("duration({months: 0.75})", "P22DT19H51M49.5S"),
        ("duration({weeks: 2.5})", "P17DT12H"),
        // From other values: parts are kept, overridden, or moved to a new zone.
        ("date(datetime('2015-07-21T21:40:32+01:00'))", "2015-07-21"),
        ("date({date: date('2015-07-21'), day: 1})", "2015-07-01"),
        ("localtime(datetime('2015-07-21T21:40:32+01:00'))", "21:40:32"),
        ("datetime(date('2015-07-21'))", "2015-07-21T00:00Z"),
        ("datetime({date: date('2015-07-21'), time: localtime('10:00')})", "2015-07-21T10:00Z"),
        ("datetime({datetime: datetime('2015-07-21T21:40+01:00'), timezone: '+05:00'})", "2015-07-22T01:40+05:00"),
        ("localdatetime({datetime: datetime('2015-07-21T21:40+01:00'), year: 2000})", "2000-07-21T21:40"),
    ];
    for (expr, expected) in cases {
        assert_eq!(text(&e, expr), expected, "{expr}");
    }
    for bad in [
        "RETURN date('2015-13-01')",
        "RETURN date({month: 2})",
        "RETURN date({year: 2015, month: 2, day: 30})",
        "RETURN localtime({hour: 24})",
        "RETURN date({year: 2015, hour: 1})",
        "RETURN duration('P1X')",
        "RETURN localtime(date('2015-07-21'))",
        "RETURN datetime('2015-07-21T21:40[Europe/Stockholm]')",
    ] {
        fails(&e, bad);
    }
    assert_eq!(one(&e, "RETURN date(null)"), Value::Null);
}

#[test]
fn components() {
    let e = engine();
    let r = rows(
        &e,
        "WITH date('1984-10-11') AS d RETURN d.year, d.quarter, d.month, d.week, d.weekYear, \
         d.dayOfQuarter, d.day, d.ordinalDay, d.dayOfWeek",
    );
    let ints = |v: &[i64]| v.iter().map(|i| Value::Int(*i)).collect::<Vec<_>>();
    assert_eq!(r, vec![ints(&[1984, 4, 10, 41, 1984, 11, 11, 285, 4])]);
    let r = rows(
        &e,
        "WITH datetime('2015-07-21T21:40:32.142536789+01:00') AS t RETURN t.hour, t.minute, \
         t.second, t.millisecond, t.microsecond, t.nanosecond, t.offsetMinutes, t.epochSeconds",
    );
    assert_eq!(
        r,
        vec![ints(&[
            21,
            40,
            32,
            142,
            142_536,
            142_536_789,
            60,
            1_437_511_232
        ])]
    );
    assert_eq!(
        one(&e, "RETURN time('12:00-03:30').timezone"),
        Value::String("-03:30".into())
    );
    let r = rows(
        &e,
        "WITH duration('P1Y5M10DT3H25M7.25S') AS d RETURN d.years, d.months, d.monthsOfYear, \
         d.days, d.weeks, d.hours, d.minutes, d.minutesOfHour, d.seconds, d.secondsOfMinute, \
         d.milliseconds, d.nanosecondsOfSecond",
    );
    assert_eq!(
        r,
        vec![ints(&[
            1,
            17,
            5,
            10,
            1,
            3,
            205,
            25,
            12_307,
            7,
            12_307_250,
            250_000_000
        ])]
    );
    fails(&e, "RETURN date('2015-07-21').hour");
}

#[test]
fn comparison_equality_and_ordering() {
    let e = engine();
    let truth = |q: &str| one(&e, &format!("RETURN {q}"));
    assert_eq!(
        truth("date('2015-07-21') < date('2015-07-22')"),
        Value::Bool(true)
    );
    assert_eq!(
        truth("date('2015-07-21') = date('2015-07-21')"),
        Value::Bool(true)
    );
    // The same instant at different offsets.
    assert_eq!(
        truth("datetime('2015-07-21T21:00+01:00') < datetime('2015-07-21T21:00Z')"),
        Value::Bool(true)
    );
    assert_eq!(
        truth("time('10:00+02:00') < time('09:30Z')"),
        Value::Bool(true)
    );
    // Different kinds and durations do not compare.
    assert_eq!(
        truth("date('2015-07-21') < localdatetime('2015-07-22T00:00')"),
        Value::Null
    );
    assert_eq!(truth("duration('P1D') < duration('P2D')"), Value::Null);
    assert_eq!(
        truth("date('2015-07-21') = '2015-07-21'"),
        Value::Bool(false)
    );
    let order: Vec<String> = rows(
        &e,
        "UNWIND [duration('P1M'), duration('PT1H'), date('2000-01-01'), localtime('10:00'), \
         datetime('2000-01-01T00:00Z'), 'x', date('1999-12-31'), duration('P1D')] AS v \
         RETURN toString(v) ORDER BY v",
    )
    .into_iter()
    .map(|r| r[0].to_string())
    .collect();
    assert_eq!(
        order,
        [
            "2000-01-01T00:00Z",
            "1999-12-31",
            "2000-01-01",
            "10:00",
            "PT1H",
            "P1D",
            "P1M",
            "x"
        ]
    );
    // DISTINCT and grouping see equal temporals as one.
    assert_eq!(
        rows(&e, "UNWIND [date('2015-07-21'), date({year: 2015, month: 7, day: 21})] AS d RETURN DISTINCT d").len(),
        1
    );
}

#[test]
fn arithmetic() {
    let e = engine();
    let cases = [
        ("date('1984-10-11') + duration({months: 1, days: 2})", "1984-11-13"),
        ("date('2015-01-31') + duration('P1M')", "2015-02-28"),
        ("date('2015-03-01') - duration('P1D')", "2015-02-28"),
        ("date('2015-03-01') + duration('PT47H')", "2015-03-02"),
        ("localtime('23:58') + duration({minutes: 6})", "00:04"),
        ("time('12:00+01:00') - duration('PT13H')", "23:00+01:00"),
        ("localdatetime('1984-10-11T12:30') + duration({days: 4, minutes: 6})", "1984-10-15T12:36"),
        ("datetime('9999-09-09T09:59:59.999999999+11:59') + duration('PT0.000000001S')", "9999-09-09T10:00+11:59"),
        ("duration('P1D') + duration('PT1H')", "P1DT1H"),
        ("duration('P1D') - duration('PT1H')", "P1DT-1H"),
        ("duration('P1M1DT1S') * 2", "P2M2DT2S"),
        ("duration('P1D') * 1.5", "P1DT12H"),
        ("duration('P1D') / 2", "PT12H"),
        ("duration.between(date('1984-10-11'), date('2015-07-21'))", "P30Y9M10D"),
        ("duration.between(localtime('12:00'), localtime('10:30:01'))", "PT-1H-29M-59S"),
        ("duration.between(datetime('2015-07-21T21:40+01:00'), datetime('2015-07-21T21:40Z'))", "PT1H"),
        ("duration.inMonths(date('1984-10-11'), date('2015-07-21'))", "P30Y9M"),
        ("duration.inDays(date('2015-07-01'), date('2015-07-21'))", "P20D"),
        ("duration.inSeconds(localdatetime('2015-07-21T00:00'), localdatetime('2015-07-22T00:00:01.5'))", "PT24H1.5S"),
    ];
    for (expr, expected) in cases {
        assert_eq!(text(&e, expr), expected, "{expr}");
    }
    fails(&e, "RETURN date('2015-07-21') + date('2015-07-21')");
    fails(&e, "RETURN duration('P1D') - date('2015-07-21')");
    assert_eq!(one(&e, "RETURN date('2015-07-21') + null"), Value::Null);
}

#[test]
fn temporals_are_stored_as_properties() {
    let e = engine();
    rows(
        &e,
        "CREATE (:E {d: date('2015-07-21'), t: time('10:00+01:00'), l: [duration('P1D')]})",
    );
    let r = rows(
        &e,
        "MATCH (n:E) RETURN toString(n.d), toString(n.t), toString(n.l[0])",
    );
    assert_eq!(
        r,
        vec![vec![
            Value::String("2015-07-21".into()),
            Value::String("10:00+01:00".into()),
            Value::String("P1D".into()),
        ]]
    );
    let r = rows(
        &e,
        "MATCH (n:E) WHERE n.d = date({year: 2015, month: 7, day: 21}) RETURN n.d.year",
    );
    assert_eq!(r, vec![vec![Value::Int(2015)]]);
}

#[test]
fn now_reads_the_clock() {
    let e = engine();
    let year = |q: &str| match one(&e, q) {
        Value::Int(y) => y,
        other => panic!("{q}: {other:?}"),
    };
    assert!(year("RETURN date().year") >= 2024);
    assert!(year("RETURN datetime.transaction().year") >= 2024);
    assert_eq!(one(&e, "RETURN datetime().offsetSeconds"), Value::Int(0));
}
