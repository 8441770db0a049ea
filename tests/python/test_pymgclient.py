"""pymgclient (Memgraph's DB-API client; 1.5.2 or 1.6.0, whichever the venv pins) against ferrograph.

pymgclient speaks Bolt 4.1 (1.5.x) or 4.4 (1.6.x) and runs transactions as Cypher text: with
`autocommit=False` its first `execute` sends `RUN "BEGIN"`, and `commit()` / `rollback()` send
`RUN "COMMIT"` / `RUN "ROLLBACK"`. It has no bytes type, so the round-trip cases skip bytes.
"""

from __future__ import annotations

import re

import mgclient
import pytest

from boltraw import same_value
from values import round_trip_cases

BIG = 250_000


def connect(server, autocommit: bool = False, **kwargs):
    conn = mgclient.connect(host=server.host, port=server.port, **kwargs)
    if not kwargs.get("lazy"):  # lazy connections are always autocommit
        conn.autocommit = autocommit
    return conn


@pytest.fixture
def conn(server):
    connection = connect(server, autocommit=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def shared_conn(shared_server):
    connection = connect(shared_server, autocommit=True)
    yield connection
    connection.close()


def fetch(connection, query, params=None):
    cursor = connection.cursor()
    cursor.execute(query, params or {})
    return cursor.fetchall()


def scalar(connection, query, params=None):
    (row,) = fetch(connection, query, params)
    (value,) = row
    return value


# ------------------------------------------------------------------------------------------
# Connecting


def test_connect_default_is_a_transaction(server):
    connection = connect(server)
    try:
        assert connection.status == mgclient.CONN_STATUS_READY
        assert connection.autocommit is False
        cursor = connection.cursor()
        cursor.execute("RETURN 1 AS x, 'y' AS y")
        assert [column.name for column in cursor.description] == ["x", "y"]
        assert cursor.fetchall() == [(1, "y")]
        assert connection.status == mgclient.CONN_STATUS_IN_TRANSACTION
        connection.commit()
        assert connection.status == mgclient.CONN_STATUS_READY
    finally:
        connection.close()


def test_connect_with_credentials(server):
    connection = mgclient.connect(
        host=server.host, port=server.port, username="memgraph", password="anything"
    )
    try:
        connection.autocommit = True
        assert scalar(connection, "RETURN 'ok'") == "ok"
    finally:
        connection.close()


# ------------------------------------------------------------------------------------------
# Parameters

CASES = round_trip_cases(with_bytes=False)


@pytest.mark.parametrize("param", [v for _, v in CASES], ids=[i for i, _ in CASES])
def test_parameter_round_trip(shared_conn, param):
    cursor = shared_conn.cursor()
    cursor.execute("RETURN $p AS p", {"p": param})
    assert [column.name for column in cursor.description] == ["p"]
    ((got,),) = cursor.fetchall()
    assert same_value(got, param), f"sent {param!r:.200}, got {got!r:.200}"


def test_several_parameters(shared_conn):
    rows = fetch(
        shared_conn,
        "RETURN $a AS a, $b AS b, $c AS c",
        {"a": -7, "b": ["x", None], "c": {"d": 1.25}},
    )
    assert rows == [(-7, ["x", None], {"d": 1.25})]


# ------------------------------------------------------------------------------------------
# Graph values


def test_graph_values_node_relationship_path(conn):
    ((a, b, p),) = fetch(
        conn,
        "CREATE p=(a:Person {name:'A'})-[:KNOWS {since:1}]->(b:Person:Admin {name:'B'}) "
        "RETURN a, b, p",
    )
    assert isinstance(a, mgclient.Node) and isinstance(b, mgclient.Node)
    assert a.labels == {"Person"} and b.labels == {"Person", "Admin"}
    assert a.properties == {"name": "A"} and b.properties == {"name": "B"}
    assert isinstance(a.id, int) and a.id != b.id

    assert isinstance(p, mgclient.Path)
    assert [n.id for n in p.nodes] == [a.id, b.id]
    (rel,) = p.relationships
    assert isinstance(rel, mgclient.Relationship)
    assert rel.type == "KNOWS" and rel.properties == {"since": 1}
    assert (rel.start_id, rel.end_id) == (a.id, b.id)

    ((back,),) = fetch(conn, "MATCH p=(b)<-[:KNOWS]-(a) RETURN p")
    assert [n.id for n in back.nodes] == [b.id, a.id]
    assert back.nodes[0].labels == {"Person", "Admin"}
    (back_rel,) = back.relationships
    assert back_rel.id == rel.id
    assert (back_rel.start_id, back_rel.end_id) == (a.id, b.id), "rel keeps its direction"

    ((x, r, y),) = fetch(conn, "MATCH (x:Person {name: 'A'})-[r:KNOWS]->(y) RETURN x, r, y")
    assert isinstance(r, mgclient.Relationship)
    assert r.id == rel.id and r.type == "KNOWS" and r.properties == {"since": 1}
    assert (r.start_id, r.end_id) == (x.id, y.id) == (a.id, b.id)


# ------------------------------------------------------------------------------------------
# The Cypher slice, through pymgclient


def names(connection, query, params=None):
    return sorted(row[0] for row in fetch(connection, query, params))


def test_cypher_slice(conn):
    fetch(
        conn,
        "CREATE (a:Person {name: 'A', age: 20})-[:KNOWS {since: 2001}]->"
        "(b:Person {name: 'B', age: 30}), (:Person {name: 'C', age: 40})",
    )
    assert names(conn, "MATCH (n:Person) RETURN n.name") == ["A", "B", "C"]
    assert scalar(conn, "MATCH (n:Person {name: $name}) RETURN n.age", {"name": "B"}) == 30
    assert names(conn, "MATCH (n:Person) WHERE n.age >= 30 AND NOT n.name = 'C' RETURN n.name") == [
        "B"
    ]
    assert names(conn, "MATCH (n:Person) WHERE n.age < 25 OR n.age > 35 RETURN n.name") == [
        "A",
        "C",
    ]
    assert fetch(conn, "MATCH (x)-[r:KNOWS]->(y) RETURN x.name AS x, r.since AS s, y.name AS y") == [
        ("A", 2001, "B")
    ]
    assert fetch(conn, "MATCH (y)<-[:KNOWS]-(x) RETURN x.name, y.name") == [("A", "B")]

    fetch(conn, "MATCH (n:Person {name: 'C'}) SET n.age = 41, n:Admin")
    ((c,),) = fetch(conn, "MATCH (n:Admin) RETURN n")
    assert c.labels == {"Person", "Admin"} and c.properties == {"name": "C", "age": 41}
    fetch(conn, "MATCH (n:Admin) REMOVE n.age, n:Admin")
    ((c,),) = fetch(conn, "MATCH (n {name: 'C'}) RETURN n")
    assert c.labels == {"Person"} and c.properties == {"name": "C"}

    assert scalar(conn, "MATCH (n:Person) RETURN count(*)") == 3
    assert len(fetch(conn, "MATCH (n:Person) RETURN n LIMIT 2")) == 2
    fetch(conn, "MATCH (n {name: 'C'}) DELETE n")
    fetch(conn, "MATCH (n {name: 'A'}) DETACH DELETE n")
    assert names(conn, "MATCH (n) RETURN n.name") == ["B"]
    assert scalar(conn, "MATCH ()-[r]->() RETURN count(*)") == 0


# ------------------------------------------------------------------------------------------
# Transactions


def test_autocommit_writes_are_visible_at_once(server, conn):
    fetch(conn, "CREATE (:Auto)")
    other = connect(server, autocommit=True)
    try:
        assert scalar(other, "MATCH (n:Auto) RETURN count(*)") == 1
    finally:
        other.close()


def test_commit_makes_writes_visible_to_other_connections(server):
    writer = connect(server, autocommit=False)
    reader = connect(server, autocommit=True)
    try:
        fetch(writer, "CREATE (:Tx {v: 1})")
        assert writer.status == mgclient.CONN_STATUS_IN_TRANSACTION
        assert scalar(writer, "MATCH (n:Tx) RETURN count(*)") == 1, "a tx sees its own writes"
        assert scalar(reader, "MATCH (n:Tx) RETURN count(*)") == 0, "uncommitted is invisible"
        writer.commit()
        assert scalar(reader, "MATCH (n:Tx) RETURN count(*)") == 1
    finally:
        writer.close()
        reader.close()


def test_rollback_really_discards(server):
    connection = connect(server, autocommit=False)
    try:
        fetch(connection, "CREATE (:Tx {v: 1})-[:R]->(:Tx {v: 2})")
        assert scalar(connection, "MATCH (n:Tx) RETURN count(*)") == 2
        connection.rollback()
        assert connection.status == mgclient.CONN_STATUS_READY
        assert scalar(connection, "MATCH (n) RETURN count(*)") == 0
        assert scalar(connection, "MATCH ()-[r]->() RETURN count(*)") == 0
        connection.commit()
    finally:
        connection.close()


def test_snapshot_isolation_between_two_transactions(server):
    setup = connect(server, autocommit=True)
    writer = connect(server, autocommit=False)
    reader = connect(server, autocommit=False)
    try:
        fetch(setup, "CREATE (:Iso {v: 0})")
        assert scalar(reader, "MATCH (n:Iso) RETURN n.v") == 0  # opens the reader's tx
        fetch(writer, "CREATE (:Iso {v: 1})")
        fetch(writer, "MATCH (n:Iso {v: 0}) SET n.v = 10")
        assert scalar(reader, "MATCH (n:Iso) RETURN count(*)") == 1
        writer.commit()
        assert scalar(reader, "MATCH (n:Iso) RETURN count(*)") == 1, "snapshot kept"
        assert scalar(reader, "MATCH (n:Iso) RETURN n.v") == 0
        reader.commit()
        assert names(setup, "MATCH (n:Iso) RETURN n.v") == [1, 10]
    finally:
        for connection in (setup, writer, reader):
            connection.close()


def test_cypher_transaction_statements(server, conn):
    """BEGIN / COMMIT / ROLLBACK sent as query text, the way pymgclient itself does."""
    other = connect(server, autocommit=True)
    try:
        cursor = conn.cursor()
        cursor.execute("BEGIN")
        assert cursor.fetchall() == []
        cursor.execute("CREATE (:Stmt {v: 1})")
        assert scalar(other, "MATCH (n:Stmt) RETURN count(*)") == 0
        cursor.execute("ROLLBACK")
        assert cursor.fetchall() == []
        assert scalar(conn, "MATCH (n:Stmt) RETURN count(*)") == 0

        cursor.execute("BEGIN")
        cursor.execute("CREATE (:Stmt {v: 2})")
        cursor.execute("COMMIT")
        assert cursor.fetchall() == []
        assert scalar(other, "MATCH (n:Stmt) RETURN n.v") == 2
    finally:
        other.close()


def test_closing_with_an_open_transaction_rolls_it_back(server):
    connection = connect(server, autocommit=False)
    fetch(connection, "CREATE (:Abandoned)")
    connection.close()
    other = connect(server, autocommit=True)
    try:
        # Invisible whether or not the server has seen the close yet; a fresh write of the
        # same data must also succeed (nothing is left holding it).
        fetch(other, "CREATE (:Abandoned)")
        assert scalar(other, "MATCH (n:Abandoned) RETURN count(*)") == 1
    finally:
        other.close()


# ------------------------------------------------------------------------------------------
# Errors


def assert_syntax_error_message(exc: Exception, line: int):
    message = str(exc)
    assert re.search(r"line", message, re.I) and re.search(r"column", message, re.I), message
    assert re.search(rf"line\W*{line}\b", message, re.I), message


def test_syntax_error_then_working_query_autocommit(conn):
    cursor = conn.cursor()
    with pytest.raises(mgclient.DatabaseError) as excinfo:
        cursor.execute("UNWIND [1, 2] AS x\nRETURN x +* 2")
    assert_syntax_error_message(excinfo.value, line=2)
    cursor.execute("RETURN 2 AS x")
    assert cursor.fetchall() == [(2,)]
    with pytest.raises(mgclient.DatabaseError):
        cursor.execute("RETURN $missing")
    assert scalar(conn, "RETURN 3") == 3


def test_syntax_error_inside_transaction_discards_it(server):
    connection = connect(server, autocommit=False)
    try:
        fetch(connection, "CREATE (:Doomed)")
        with pytest.raises(mgclient.DatabaseError):
            fetch(connection, "RETURN (")
        # pymgclient treats the transaction as gone; the next execute opens a new one.
        assert scalar(connection, "MATCH (n:Doomed) RETURN count(*)") == 0
        fetch(connection, "CREATE (:Fine)")
        connection.commit()
        assert scalar(connection, "MATCH (n:Fine) RETURN count(*)") == 1
        connection.commit()
    finally:
        connection.close()


# ------------------------------------------------------------------------------------------
# Streaming


def test_stream_250k_rows_in_order(conn):
    rows = fetch(conn, "UNWIND range(1, 250000) AS i RETURN i")
    assert [row[0] for row in rows] == list(range(1, BIG + 1))


def test_stream_in_a_transaction_with_fetchmany(server):
    connection = connect(server, autocommit=False)
    try:
        cursor = connection.cursor()
        cursor.execute("UNWIND range(1, $n) AS i RETURN i", {"n": BIG})
        got = []
        while True:
            batch = cursor.fetchmany(9973)
            if not batch:
                break
            got.extend(row[0] for row in batch)
        assert got == list(range(1, BIG + 1))
        connection.commit()
    finally:
        connection.close()


def test_lazy_connection_streams_in_order(server):
    connection = connect(server, lazy=True)
    try:
        assert connection.autocommit is True
        cursor = connection.cursor()
        cursor.execute("UNWIND range(1, 20000) AS i RETURN i")
        got = [cursor.fetchone()[0] for _ in range(20000)]
        assert cursor.fetchone() is None
        assert got == list(range(1, 20001))
        # The connection is usable again after the stream is drained.
        cursor.execute("RETURN 1")
        assert cursor.fetchall() == [(1,)]
    finally:
        connection.close()
