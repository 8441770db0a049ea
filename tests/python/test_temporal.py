"""Temporal values over Bolt: parameters round-trip through `RETURN $p`, values made by Cypher
arrive as the driver's temporal types, and temporal properties survive storage.

The neo4j driver speaks Bolt 5.x (UTC date-time structures); pymgclient speaks 4.x (the legacy
local-seconds date-time structures, which pymgclient only produces for naive date-times).
"""

from __future__ import annotations

import datetime as dt

import pytest
from neo4j import GraphDatabase
from neo4j.time import Date, DateTime, Duration, Time

PLUS_ONE = dt.timezone(dt.timedelta(hours=1))


@pytest.fixture
def session(server):
    driver = GraphDatabase.driver(server.uri, auth=("", ""))
    with driver.session() as s:
        yield s
    driver.close()


def value(session, query, **params):
    (record,) = list(session.run(query, params))
    return record[0]


@pytest.mark.parametrize(
    "param",
    [
        Date(1984, 10, 11),
        Date(1, 1, 1),
        Time(12, 31, 14, 645876123),
        DateTime(1984, 10, 11, 12, 31, 14, 645876123),
        DateTime(1984, 10, 11, 12, 31, 14, 645876123, tzinfo=PLUS_ONE),
        DateTime(2015, 7, 21, 21, 40, 32, 142000000, tzinfo=dt.timezone.utc),
        Duration(months=14, days=3, seconds=7, nanoseconds=5),
        Duration(seconds=-1, nanoseconds=500000000),
    ],
    ids=repr,
)
def test_neo4j_driver_parameters_round_trip(session, param):
    assert value(session, "RETURN $p", p=param) == param


def test_neo4j_driver_native_python_values(session):
    assert value(session, "RETURN $p", p=dt.date(2020, 2, 29)) == Date(2020, 2, 29)
    got = value(session, "RETURN $p", p=dt.datetime(2020, 2, 29, 23, 59, 1, tzinfo=PLUS_ONE))
    assert got.to_native() == dt.datetime(2020, 2, 29, 23, 59, 1, tzinfo=PLUS_ONE)
    assert value(session, "RETURN $p", p=dt.timedelta(days=2, seconds=3)) == Duration(
        days=2, seconds=3
    )


def test_neo4j_driver_values_made_by_cypher(session):
    assert value(session, "RETURN date({year: 1984, month: 10, day: 11})") == Date(1984, 10, 11)
    got = value(session, "RETURN time('10:35+01:00')")
    assert (got.hour, got.minute, got.utcoffset()) == (10, 35, dt.timedelta(hours=1))
    got = value(session, "RETURN datetime('2015-07-21T21:40:32.142+01:00')")
    assert got == DateTime(2015, 7, 21, 21, 40, 32, 142000000, tzinfo=PLUS_ONE)
    assert value(session, "RETURN duration('P1Y2M3DT4H')") == Duration(
        months=14, days=3, hours=4
    )
    # Parameters take part in Cypher like literals do.
    assert value(session, "RETURN $d + duration('P1D')", d=Date(2020, 2, 28)) == Date(2020, 2, 29)
    assert value(session, "RETURN $d.dayOfWeek", d=Date(2024, 1, 1)) == 1
    assert value(session, "RETURN toString($d)", d=Duration(days=1, seconds=90)) == "P1DT1M30S"


def test_neo4j_driver_temporal_properties_are_stored(session):
    session.run(
        "CREATE (:Event {on: $d, at: $t, took: $dur, history: [date('2000-01-01'), $d]})",
        d=Date(1984, 10, 11),
        t=DateTime(1984, 10, 11, 12, 0, 0, 0, tzinfo=PLUS_ONE),
        dur=Duration(minutes=90),
    ).consume()
    node = value(session, "MATCH (e:Event) RETURN e")
    assert node["on"] == Date(1984, 10, 11)
    assert node["at"] == DateTime(1984, 10, 11, 12, 0, 0, 0, tzinfo=PLUS_ONE)
    assert node["took"] == Duration(minutes=90)
    assert node["history"] == [Date(2000, 1, 1), Date(1984, 10, 11)]
    ordered = [
        r[0]
        for r in session.run(
            "UNWIND [date('2001-01-01'), $d, date('1999-12-31')] AS d RETURN d ORDER BY d",
            d=Date(2000, 6, 1),
        )
    ]
    assert ordered == [Date(1999, 12, 31), Date(2000, 6, 1), Date(2001, 1, 1)]


def test_neo4j_driver_named_zones_are_refused_not_fatal(session):
    from neo4j.exceptions import Neo4jError

    with pytest.raises(Neo4jError):
        value(session, "RETURN datetime('2015-07-21T21:40[Europe/Stockholm]')")
    assert value(session, "RETURN 1") == 1


def test_pymgclient_round_trip(server):
    mgclient = pytest.importorskip("mgclient")
    conn = mgclient.connect(host=server.host, port=server.port)
    conn.autocommit = True
    try:
        cursor = conn.cursor()
        cases = [
            dt.date(1984, 10, 11),
            dt.time(12, 31, 14, 645876),
            dt.datetime(1984, 10, 11, 12, 31, 14, 645876),
            dt.timedelta(days=3, seconds=7, microseconds=5),
        ]
        for case in cases:
            cursor.execute("RETURN $p", {"p": case})
            assert cursor.fetchall() == [(case,)], case
        cursor.execute("RETURN date('2020-02-29') + duration('P1D'), localtime('10:00')")
        assert cursor.fetchall() == [(dt.date(2020, 3, 1), dt.time(10, 0))]
    finally:
        conn.close()
