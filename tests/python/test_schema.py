"""Indexes and constraints over Bolt: the schema statements, what SHOW ... INFO reports, that a
seek through an index answers exactly what a scan answers (while writes go on), and the
constraint errors the drivers receive."""

from __future__ import annotations

import threading

import mgclient
import neo4j
import pytest


def run(driver, query, **params):
    with driver.session() as s:
        return [r.values() for r in s.run(query, **params)]


def plan(driver, query):
    return [row[0].strip("|* ") for row in run(driver, "EXPLAIN " + query)]


def load_people(driver, n=2000):
    run(driver, "UNWIND range(0, $n - 1) AS i CREATE (:Person {id: i, age: i % 70, name: 'p' + toString(i)})", n=n)


SEEKS = [
    ("MATCH (p:Person {id: $v}) RETURN p.id", {"v": 17}),
    ("MATCH (p:Person {id: $v}) RETURN p.id", {"v": 17.0}),
    ("MATCH (p:Person) WHERE p.id = $v RETURN p.id", {"v": 1999}),
    ("MATCH (p:Person) WHERE p.age > 65 AND p.age <= 67 RETURN p.id", {}),
    ("MATCH (p:Person) WHERE 3 >= p.age RETURN p.id", {}),
    ("MATCH (p:Person) WHERE p.age < 2.5 RETURN p.id", {}),
    ("MATCH (p:Person) WHERE p.name >= 'p1998' RETURN p.id", {}),
    ("MATCH (p:Person {id: $v}) RETURN p.id", {"v": None}),
    ("MATCH (p:Person {id: $v}) RETURN p.id", {"v": [1]}),
    ("MATCH (p:Person) WHERE p.age > 'a' RETURN p.id", {}),
    ("MATCH (a:Person {id: 5}), (b:Person {id: a.id + 1}) RETURN b.id", {}),
    ("UNWIND [1, 2, 3] AS x MATCH (p:Person {id: x * 10}) RETURN p.id", {}),
    ("MATCH (p:Person) WHERE p.id > 10 RETURN p.id ORDER BY p.id DESC LIMIT 3", {}),
]


def test_index_seeks_answer_what_scans_answer(driver):
    load_people(driver)
    before = [sorted(run(driver, q, **p)) for q, p in SEEKS]
    assert before[0] == [[17]] and before[1] == [[17]]
    assert before[3] == [[i] for i in range(2000) if i % 70 in (66, 67)]
    assert plan(driver, SEEKS[0][0])[-2] == "ScanAllByLabel"
    run(driver, "CREATE INDEX ON :Person(id)")
    run(driver, "CREATE INDEX ON :Person(age)")
    run(driver, "CREATE INDEX ON :Person(name)")
    run(driver, "CREATE INDEX ON :Person")
    assert "ScanAllByLabelPropertyValue" in plan(driver, SEEKS[0][0])
    assert "ScanAllByLabelPropertyValue" in plan(driver, SEEKS[2][0])
    assert "ScanAllByLabelPropertyRange" in plan(driver, SEEKS[3][0])
    after = [sorted(run(driver, q, **p)) for q, p in SEEKS]
    assert after == before
    # ORDER BY ... LIMIT keeps its order through an index.
    assert run(driver, SEEKS[-1][0]) == [[1999], [1998], [1997]]


def test_show_index_info_and_drop(driver):
    load_people(driver, 100)
    run(driver, "CREATE INDEX ON :Person(id)")
    run(driver, "CREATE INDEX ON :Person")
    run(driver, "CREATE INDEX ON :Person")  # idempotent, as Memgraph
    with driver.session() as s:
        result = s.run("SHOW INDEX INFO")
        rows = [r.values() for r in result]
        assert result.keys() == ["index type", "label", "property", "count"]
    assert rows == [["label", "Person", None, 100], ["label+property", "Person", "id", 100]]
    run(driver, "DROP INDEX ON :Person(id)")
    assert run(driver, "SHOW INDEX INFO") == [["label", "Person", None, 100]]
    with pytest.raises(neo4j.exceptions.ClientError) as err:
        run(driver, "DROP INDEX ON :Person(id)")
    assert "doesn't exist" in err.value.message


def test_index_built_while_writers_run(driver):
    load_people(driver, 5000)
    stop = threading.Event()
    written = []

    def writer():
        i = 10_000
        with driver.session() as s:
            while not stop.is_set():
                s.run("CREATE (:Person {id: $i, age: 1})", i=i).consume()
                written.append(i)
                i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        run(driver, "CREATE INDEX ON :Person(id)")
    finally:
        stop.set()
        t.join()
    assert written, "the writer ran during the build"
    for i in [0, 4999, written[0], written[len(written) // 2], written[-1]]:
        assert run(driver, "MATCH (p:Person {id: $i}) RETURN count(p)", i=i) == [[1]], i
    total = run(driver, "MATCH (p:Person) WHERE p.id >= 0 RETURN count(p)")
    assert total == [[5000 + len(written)]]


def test_constraints_fail_commits_with_the_schema_code(driver):
    run(driver, "CREATE CONSTRAINT ON (n:User) ASSERT n.email IS UNIQUE")
    run(driver, "CREATE CONSTRAINT ON (n:User) ASSERT EXISTS (n.name)")
    with driver.session() as s:
        result = s.run("SHOW CONSTRAINT INFO")
        rows = [r.values() for r in result]
        assert result.keys() == ["constraint type", "label", "properties", "data_type"]
    assert rows == [["exists", "User", "name", ""], ["unique", "User", ["email"], ""]]
    run(driver, "CREATE (:User {email: 'a@x', name: 'A'})")
    with pytest.raises(neo4j.exceptions.ConstraintError) as err:
        run(driver, "CREATE (:User {email: 'a@x', name: 'B'})")
    assert err.value.code == "Neo.ClientError.Schema.ConstraintValidationFailed"
    assert err.value.message == "Unable to commit due to unique constraint violation on :User(email)"
    with pytest.raises(neo4j.exceptions.ConstraintError) as err:
        run(driver, "CREATE (:User {email: 'b@x'})")
    assert "existence constraint violation on :User(name)" in err.value.message
    # In an explicit transaction the failure comes at commit and nothing is applied.
    with driver.session() as s:
        tx = s.begin_transaction()
        tx.run("CREATE (:User {email: 'c@x', name: 'C'})").consume()
        tx.run("CREATE (:User {email: 'c@x', name: 'D'})").consume()
        with pytest.raises(neo4j.exceptions.ConstraintError):
            tx.commit()
    assert run(driver, "MATCH (u:User) RETURN u.name ORDER BY u.name") == [["A"]]
    run(driver, "DROP CONSTRAINT ON (n:User) ASSERT n.email IS UNIQUE")
    run(driver, "CREATE (:User {email: 'a@x', name: 'B'})")
    with pytest.raises(neo4j.exceptions.ClientError) as err:
        run(driver, "CREATE CONSTRAINT ON (n:User) ASSERT n.email IS UNIQUE")
    assert "because an existing node violates it" in err.value.message


def test_schema_changes_refused_inside_transactions(driver):
    with driver.session() as s:
        tx = s.begin_transaction()
        with pytest.raises(neo4j.exceptions.ClientError) as err:
            tx.run("CREATE INDEX ON :X(y)").consume()
        assert "not allowed in multicommand transactions" in err.value.message


def test_storage_info_and_free_memory(server, driver):
    load_people(driver, 1000)
    run(driver, "MATCH (a:Person {id: 1}), (b:Person {id: 2}) CREATE (a)-[:KNOWS]->(b)")
    run(driver, "FREE MEMORY")
    info = dict(run(driver, "SHOW STORAGE INFO"))
    assert info["vertex_count"] == 1000
    assert info["edge_count"] == 1
    assert info["average_degree"] == pytest.approx(0.002)
    assert info["unreleased_delta_objects"] == 0
    assert info["memory_res"].endswith("MiB")
    assert info["storage_mode"] == "IN_MEMORY_TRANSACTIONAL"


UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}


def size_bytes(text: str) -> float:
    for unit in sorted(UNITS, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * UNITS[unit]
    raise AssertionError(f"not a size: {text!r}")


def tracked(driver) -> float:
    return size_bytes(dict(run(driver, "SHOW STORAGE INFO"))["memory_tracked"])


def test_gc_reclaims_memory_once_no_snapshot_needs_it(server, driver):
    """Deleted data stays while an open transaction can still see it, and GC frees it after."""
    info = dict(run(driver, "SHOW STORAGE INFO"))
    assert info["allocation_limit"] == "unlimited"
    blobs, blob_len = 20_000, 2_000  # about 40 MB of property strings
    run(
        driver,
        "UNWIND range(1, $n) AS i CREATE (:Blob {i: i, data: i + $pad})",
        n=blobs,
        pad="x" * blob_len,
    )
    run(driver, "FREE MEMORY")
    loaded = tracked(driver)
    assert loaded > blobs * blob_len, f"tracked {loaded} bytes after loading the blobs"

    with driver.session() as reader:
        tx = reader.begin_transaction()
        assert tx.run("MATCH (b:Blob) RETURN count(b)").single()[0] == blobs
        run(driver, "MATCH (b:Blob) DETACH DELETE b")
        run(driver, "FREE MEMORY")
        # The reader's snapshot still holds every blob: nothing of it may be freed yet.
        held = dict(run(driver, "SHOW STORAGE INFO"))
        assert held["unreleased_delta_objects"] > 0
        assert size_bytes(held["memory_tracked"]) > loaded - blobs * blob_len / 2
        assert tx.run("MATCH (b:Blob) RETURN sum(size(b.data))").single()[0] > blobs * blob_len
        tx.rollback()

    run(driver, "FREE MEMORY")
    after = dict(run(driver, "SHOW STORAGE INFO"))
    assert after["vertex_count"] == 0
    assert after["unreleased_delta_objects"] == 0
    freed = loaded - size_bytes(after["memory_tracked"])
    assert freed > 0.9 * blobs * blob_len, f"GC freed only {freed:.0f} bytes"


def test_pymgclient_sees_schema_errors(server):
    conn = mgclient.connect(host=server.host, port=server.port)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE CONSTRAINT ON (n:K) ASSERT n.k IS UNIQUE")
    cur.execute("CREATE INDEX ON :K(k)")
    cur.execute("CREATE (:K {k: 1})")
    with pytest.raises(mgclient.DatabaseError, match="unique constraint violation on :K\\(k\\)"):
        cur.execute("CREATE (:K {k: 1})")
    cur.execute("MATCH (n:K {k: 1}) RETURN count(n)")
    assert cur.fetchall() == [(1,)]
    cur.execute("SHOW INDEX INFO")
    assert cur.fetchall() == [("label+property", "K", "k", 1)]
    conn.close()
