"""LOAD CSV against a real server, through the neo4j driver and pymgclient.

The CSV files are written to pytest's tmp_path; the server reads them by path (it runs on the
same machine). Covers header / no header, options, loading nodes and relationships, bad rows
(the error names file and line, and the session keeps working), IGNORE BAD, missing files,
relative paths (resolved against the server's working directory), gzip files and an oversized
record.
"""

from __future__ import annotations

import gzip
import os

import mgclient
import pytest
from neo4j.exceptions import ClientError

EXTERNAL = "Neo.ClientError.Statement.ExternalResourceFailed"


@pytest.fixture
def conn(server):
    connection = mgclient.connect(host=server.host, port=server.port)
    connection.autocommit = True
    yield connection
    connection.close()


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def people_csv(tmp_path, n: int) -> str:
    lines = ["id,name,age"] + [f"{i},person {i},{20 + i % 50}" for i in range(n)]
    return write(tmp_path, "people.csv", "\n".join(lines) + "\n")


LOAD_PEOPLE = (
    "LOAD CSV FROM $path WITH HEADER AS row "
    "CREATE (:Person {id: toInteger(row.id), name: row.name, age: toInteger(row.age)})"
)
LOAD_KNOWS = (
    "LOAD CSV FROM $path WITH HEADER AS row "
    "MATCH (a:Person {id: toInteger(row.src)}), (b:Person {id: toInteger(row.dst)}) "
    "CREATE (a)-[:KNOWS]->(b)"
)


# ------------------------------------------------------------------------------------------
# neo4j driver


def test_rows_are_maps_or_lists_of_strings(driver, tmp_path):
    path = write(tmp_path, "a.csv", 'id,name\n1,Ann\n2,"Bob, Jr."\n')
    with driver.session() as session:
        got = [r["row"] for r in session.run("LOAD CSV FROM $path WITH HEADER AS row RETURN row", path=path)]
        assert got == [{"id": "1", "name": "Ann"}, {"id": "2", "name": "Bob, Jr."}]
        got = [r["row"] for r in session.run("LOAD CSV FROM $path NO HEADER AS row RETURN row", path=path)]
        assert got == [["id", "name"], ["1", "Ann"], ["2", "Bob, Jr."]]


def test_options_delimiter_quote_nullif(driver, tmp_path):
    path = write(tmp_path, "b.csv", "id|name|note\n1|'x|y'|NA\n2|'it''s'|ok\n")
    query = (
        "LOAD CSV FROM $path WITH HEADER DELIMITER '|' QUOTE \"'\" NULLIF 'NA' AS row "
        "RETURN row.id AS id, row.name AS name, row.note AS note"
    )
    with driver.session() as session:
        got = [r.data() for r in session.run(query, path=path)]
    assert got == [
        {"id": "1", "name": "x|y", "note": None},
        {"id": "2", "name": "it's", "note": "ok"},
    ]


def test_load_nodes_and_relationships(driver, tmp_path):
    people = people_csv(tmp_path, 1000)
    knows = write(
        tmp_path, "knows.csv", "src,dst\n" + "".join(f"{i},{(i + 1) % 1000}\n" for i in range(1000))
    )
    with driver.session() as session:
        summary = session.run(LOAD_PEOPLE, path=people).consume()
        assert summary.counters.nodes_created == 1000
        summary = session.run(LOAD_KNOWS, path=knows).consume()
        assert summary.counters.relationships_created == 1000
        record = session.run(
            "MATCH (a:Person {id: 7})-[:KNOWS]->(b) RETURN a.name AS a, a.age AS age, b.id AS b"
        ).single(strict=True)
        assert record.data() == {"a": "person 7", "age": 27, "b": 8}


def test_bad_row_error_names_file_and_line_and_session_goes_on(driver, tmp_path):
    path = write(tmp_path, "bad.csv", "id,name\n1,Ann\n2,Bob\n3\n4,Dee\n")
    with driver.session() as session:
        with pytest.raises(ClientError) as excinfo:
            session.run(LOAD_PEOPLE, path=path).consume()
        assert excinfo.value.code == EXTERNAL
        message = excinfo.value.message
        assert path in message and "line 4" in message, message
        assert "expected 3 columns, got 1" not in message  # the file has two columns
        assert "expected 2 columns, got 1" in message, message
        # The failed load committed nothing and the session still works.
        assert session.run("MATCH (n) RETURN count(n) AS n").single(strict=True)["n"] == 0
        summary = session.run(
            "LOAD CSV FROM $path WITH HEADER IGNORE BAD AS row CREATE (:P {id: row.id})", path=path
        ).consume()
        assert summary.counters.nodes_created == 3


def test_using_periodic_commit_loads_in_batches_of_transactions(driver, tmp_path):
    people = people_csv(tmp_path, 2500)
    knows = write(
        tmp_path, "knows.csv", "src,dst\n" + "".join(f"{i},{(i + 7) % 2500}\n" for i in range(2500))
    )
    with driver.session() as session:
        summary = session.run("USING PERIODIC COMMIT 1000 " + LOAD_PEOPLE, path=people).consume()
        assert summary.counters.nodes_created == 2500
        # Each batch matches nodes that earlier batches committed.
        summary = session.run("USING PERIODIC COMMIT 700 " + LOAD_KNOWS, path=knows).consume()
        assert summary.counters.relationships_created == 2500
        record = session.run(
            "MATCH (a:Person {id: 2499})-[:KNOWS]->(b) RETURN b.id AS b"
        ).single(strict=True)
        assert record["b"] == 6

        # Not atomic: a bad row rolls back its own batch only.
        bad = write(tmp_path, "bad.csv", "id,x\n" + "".join(f"{i},x\n" for i in range(7)) + "7\n")
        with pytest.raises(ClientError) as excinfo:
            session.run(
                "USING PERIODIC COMMIT 3 LOAD CSV FROM $path WITH HEADER AS row CREATE (:B {id: row.id})",
                path=bad,
            ).consume()
        assert excinfo.value.code == EXTERNAL
        assert "line 9" in excinfo.value.message, excinfo.value.message
        count = session.run("MATCH (b:B) RETURN count(b) AS n").single(strict=True)["n"]
        assert count == 6, "the batches of rows 1-3 and 4-6 stay committed"

        # It commits as it goes, so not inside an explicit transaction.
        tx = session.begin_transaction()
        with pytest.raises(ClientError) as excinfo:
            tx.run("USING PERIODIC COMMIT 10 " + LOAD_PEOPLE, path=people).consume()
        assert excinfo.value.code == "Neo.ClientError.Statement.SemanticError"
        assert "periodic commit in an open transaction" in excinfo.value.message
        tx.close()
        assert session.run("RETURN 1 AS one").single(strict=True)["one"] == 1


def test_bad_row_inside_an_explicit_transaction(driver, tmp_path):
    path = write(tmp_path, "bad.csv", "a,b\n1,2\n3,4,5\n")
    with driver.session() as session:
        tx = session.begin_transaction()
        tx.run("CREATE (:Before)").consume()
        with pytest.raises(ClientError) as excinfo:
            tx.run("LOAD CSV FROM $path WITH HEADER AS row RETURN row", path=path).consume()
        assert "line 3" in excinfo.value.message
        tx.close()
        assert session.run("MATCH (n) RETURN count(n) AS n").single(strict=True)["n"] == 0


def test_missing_file_and_relative_path(driver, tmp_path):
    missing = str(tmp_path / "nope.csv")
    with driver.session() as session:
        with pytest.raises(ClientError) as excinfo:
            session.run("LOAD CSV FROM $path NO HEADER AS row RETURN row", path=missing).consume()
        assert excinfo.value.code == EXTERNAL
        assert excinfo.value.message == f"CSV file not found: {missing}"
        # The server runs in pytest's working directory: a relative path resolves against it.
        path = write(tmp_path, "rel.csv", "x\n1\n2\n")
        relative = os.path.relpath(path, os.getcwd())
        got = session.run(
            "LOAD CSV FROM $path WITH HEADER AS row RETURN sum(toInteger(row.x)) AS s", path=relative
        ).single(strict=True)["s"]
        assert got == 3


def test_gzip_file(driver, tmp_path):
    path = tmp_path / "people.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("id,name\n1,Ann\n2,Bob\n")
    with driver.session() as session:
        got = session.run(
            "LOAD CSV FROM $path WITH HEADER AS row RETURN collect(row.name) AS names", path=str(path)
        ).single(strict=True)["names"]
    assert got == ["Ann", "Bob"]


def test_load_csv_after_other_clauses(driver, tmp_path):
    path = write(tmp_path, "c.csv", "x\n1\n2\n")
    query = (
        "UNWIND [10, 20] AS k LOAD CSV FROM $path WITH HEADER AS row "
        "WITH k + toInteger(row.x) AS v RETURN collect(v) AS vs"
    )
    with driver.session() as session:
        got = session.run(query, path=path).single(strict=True)["vs"]
    assert sorted(got) == [11, 12, 21, 22]


def test_oversized_record_is_refused(driver, server, tmp_path):
    path = tmp_path / "giant.csv"
    with open(path, "w") as f:
        f.write("a\nsmall\n")
        f.write("x" * (65 * 1024 * 1024))
        f.write("\n")
    with driver.session() as session:
        with pytest.raises(ClientError) as excinfo:
            session.run("LOAD CSV FROM $path WITH HEADER AS row RETURN count(*)", path=str(path)).consume()
        assert "line 3" in excinfo.value.message and "longer than" in excinfo.value.message
        assert session.run("RETURN 1 AS one").single(strict=True)["one"] == 1
    server.assert_alive()


# ------------------------------------------------------------------------------------------
# pymgclient


def test_pymgclient_load_and_query(conn, tmp_path):
    path = people_csv(tmp_path, 100)
    cursor = conn.cursor()
    cursor.execute(LOAD_PEOPLE, {"path": path})
    cursor.fetchall()
    cursor.execute("MATCH (p:Person) RETURN count(p), sum(p.age), min(p.name)")
    assert cursor.fetchall() == [(100, sum(20 + i % 50 for i in range(100)), "person 0")]
    cursor.execute("LOAD CSV FROM $path NO HEADER AS row RETURN row LIMIT 2", {"path": path})
    assert cursor.fetchall() == [(["id", "name", "age"],), (["0", "person 0", "20"],)]


def test_pymgclient_bad_row_error_and_connection_goes_on(conn, tmp_path):
    path = write(tmp_path, "bad.csv", 'id,name\n1,Ann\n2,"Bob\n')
    cursor = conn.cursor()
    with pytest.raises(mgclient.DatabaseError) as excinfo:
        cursor.execute("LOAD CSV FROM $path WITH HEADER AS row RETURN row.name", {"path": path})
        cursor.fetchall()
    message = str(excinfo.value)
    assert path in message and "line 3" in message, message
    cursor.execute("RETURN 1")
    assert cursor.fetchall() == [(1,)]
    cursor.execute(
        "LOAD CSV FROM $path WITH HEADER IGNORE BAD AS row RETURN row.name", {"path": path}
    )
    assert cursor.fetchall() == [("Ann",)]
