"""The official neo4j Python driver (5.28.x or 6.x, whichever the venv pins) against ferrograph.

Covers what issue 2 promises a user of this driver: connecting, parameters of every PackStream
type, graph values, the Cypher slice (CREATE / MATCH / WHERE / RETURN / SET / REMOVE / DELETE /
LIMIT / count(*)) with summary counters, autocommit and explicit transactions (commit, rollback,
snapshot isolation), managed transactions, errors followed by work on the same session,
streaming 250k rows, several open results in one transaction, and consuming a result early.
"""

from __future__ import annotations

import re
import warnings

import neo4j
import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import ClientError, CypherSyntaxError, Neo4jError
from neo4j.graph import Node, Path, Relationship

from boltraw import same_value
from neo4j_helpers import make_driver, value
from values import round_trip_cases

SYNTAX_ERROR = "Neo.ClientError.Statement.SyntaxError"
PARAMETER_MISSING = "Neo.ClientError.Statement.ParameterMissing"
DRIVER_MAJOR = int(neo4j.__version__.split(".")[0])


@pytest.fixture(scope="module")
def shared_driver(shared_server):
    with make_driver(shared_server) as drv:
        yield drv


def rows(session_or_tx, query, **params):
    """Runs a query and returns (list of record dicts, summary)."""
    result = session_or_tx.run(query, params)
    # Not record.data(): that turns nodes and relationships into plain dicts and tuples.
    records = [dict(record.items()) for record in result]
    return records, result.consume()


def count(driver, query, **params):
    with driver.session() as session:
        return value(session, query, **params)


def legacy_id(entity) -> int:
    """The integer id (deprecated in the driver, still sent by the server)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return entity.id


# ------------------------------------------------------------------------------------------
# Connecting


def test_verify_connectivity_and_server_info(driver):
    driver.verify_connectivity()
    info = driver.get_server_info()
    assert info.agent.startswith("Neo4j/"), info.agent
    assert info.protocol_version == (5, 8)


@pytest.mark.parametrize(
    "auth",
    [None, ("", ""), ("neo4j", "any-password"), neo4j.basic_auth("memgraph", "x")],
    ids=["none", "empty-basic", "basic", "basic_auth"],
)
def test_any_credentials_connect_without_auth_configured(server, auth):
    with make_driver(server, auth=auth) as drv:
        with drv.session() as session:
            assert value(session, "RETURN 1 AS x") == 1


def test_localhost_uri_connects(server):
    with GraphDatabase.driver(f"bolt://localhost:{server.port}", auth=("", "")) as drv:
        records, _, keys = drv.execute_query("RETURN 'hi' AS greeting")
        assert keys == ["greeting"]
        assert records[0]["greeting"] == "hi"


# ------------------------------------------------------------------------------------------
# Parameters: every PackStream type round-trips through `RETURN $p AS p`

CASES = round_trip_cases(with_bytes=True)


@pytest.mark.parametrize("param", [v for _, v in CASES], ids=[i for i, _ in CASES])
def test_parameter_round_trip(shared_driver, param):
    with shared_driver.session() as session:
        result = session.run("RETURN $p AS p", p=param)
        assert result.keys() == ["p"]
        got = result.single(strict=True)["p"]
    assert same_value(got, param), f"sent {param!r:.200}, got {got!r:.200}"


def test_several_parameters_and_columns(shared_driver):
    with shared_driver.session() as session:
        record = session.run(
            "RETURN $a AS a, $b AS b, $c AS c, $d AS d",
            a=1,
            b="two",
            c=[3.0, None],
            d={"e": False},
        ).single(strict=True)
    assert record.keys() == ["a", "b", "c", "d"]
    assert record.values() == [1, "two", [3.0, None], {"e": False}]


def test_parameter_missing_is_a_client_error(driver):
    with driver.session() as session:
        with pytest.raises(ClientError) as excinfo:
            session.run("RETURN $nope AS x").consume()
        assert excinfo.value.code == PARAMETER_MISSING
        assert value(session, "RETURN $here AS x", here=5) == 5


# ------------------------------------------------------------------------------------------
# Graph values


def test_graph_values_node_relationship_path(driver):
    with driver.session() as session:
        record = session.run(
            "CREATE p=(a:Person {name:'A'})-[:KNOWS {since:1}]->(b:Person:Admin {name:'B'}) "
            "RETURN a, b, p"
        ).single(strict=True)
        a, b, p = record["a"], record["b"], record["p"]

        assert isinstance(a, Node) and isinstance(b, Node) and isinstance(p, Path)
        assert set(a.labels) == {"Person"}
        assert set(b.labels) == {"Person", "Admin"}
        assert dict(a) == {"name": "A"} and a["name"] == "A"
        assert dict(b) == {"name": "B"}
        assert a.element_id != b.element_id
        for node in (a, b):
            assert node.element_id == str(legacy_id(node)), "element_id is the decimal id"

        assert len(p) == 1
        assert [n.element_id for n in p.nodes] == [a.element_id, b.element_id]
        assert p.start_node.element_id == a.element_id
        assert p.end_node.element_id == b.element_id
        (rel,) = p.relationships
        assert isinstance(rel, Relationship)
        assert rel.type == "KNOWS"
        assert dict(rel) == {"since": 1}
        assert rel.start_node.element_id == a.element_id
        assert rel.end_node.element_id == b.element_id
        assert rel.element_id == str(legacy_id(rel))

        # The same relationship walked backwards: path order follows the pattern, the
        # relationship keeps its own direction.
        back = session.run("MATCH p=(b)<-[:KNOWS]-(a) RETURN p").single(strict=True)["p"]
        assert [n.element_id for n in back.nodes] == [b.element_id, a.element_id]
        assert back.start_node.element_id == b.element_id
        assert back.end_node.element_id == a.element_id
        assert set(back.start_node.labels) == {"Person", "Admin"}
        assert dict(back.end_node) == {"name": "A"}
        (back_rel,) = back.relationships
        assert back_rel.element_id == rel.element_id
        assert back_rel.start_node.element_id == a.element_id
        assert back_rel.end_node.element_id == b.element_id
        assert dict(back_rel) == {"since": 1}

        record = session.run(
            "MATCH (x:Person {name: 'A'})-[r:KNOWS]->(y) RETURN x, r, y"
        ).single(strict=True)
        r = record["r"]
        assert isinstance(r, Relationship)
        assert r.element_id == rel.element_id
        assert r.type == "KNOWS" and r["since"] == 1
        assert r.start_node.element_id == record["x"].element_id == a.element_id
        assert r.end_node.element_id == record["y"].element_id == b.element_id


def test_nodes_in_lists_and_maps(driver):
    with driver.session() as session:
        session.run("CREATE (:Item {k: 1})").consume()
        record = session.run("MATCH (n:Item) RETURN [n, n] AS l, {node: n} AS m").single(
            strict=True
        )
    first, second = record["l"]
    assert isinstance(first, Node) and first.element_id == second.element_id
    assert record["m"]["node"].element_id == first.element_id
    assert dict(record["m"]["node"]) == {"k": 1}


# ------------------------------------------------------------------------------------------
# The Cypher slice


def test_create_with_properties_and_parameters(driver):
    with driver.session() as session:
        records, summary = rows(
            session,
            "CREATE (n:Person {name: $name, age: $age, tags: $tags}) RETURN n",
            name="Ann",
            age=33,
            tags=["x", "y"],
        )
    (record,) = records
    node = record["n"]
    assert set(node.labels) == {"Person"}
    assert dict(node) == {"name": "Ann", "age": 33, "tags": ["x", "y"]}
    assert summary.counters.nodes_created == 1
    assert summary.counters.contains_updates
    assert summary.query_type in ("w", "rw")


def test_create_relationships(driver):
    with driver.session() as session:
        _, summary = rows(session, "CREATE (:Person {name: 'A'}), (:Person {name: 'B'})")
        assert summary.counters.nodes_created == 2
        records, summary = rows(
            session,
            "MATCH (a:Person {name: 'A'}), (b:Person {name: 'B'}) "
            "CREATE (a)-[r:KNOWS {since: $since}]->(b) RETURN r",
            since=2020,
        )
        assert summary.counters.relationships_created == 1
        assert summary.counters.nodes_created == 0
        rel = records[0]["r"]
        assert rel.type == "KNOWS" and dict(rel) == {"since": 2020}

        _, summary = rows(
            session, "CREATE (:City {name: 'X'})<-[:LIVES_IN]-(:Person {name: 'C'})"
        )
        assert summary.counters.nodes_created == 2
        assert summary.counters.relationships_created == 1
        assert value(session, "MATCH (p:Person)-[:LIVES_IN]->(c:City) RETURN p.name") == "C"


@pytest.fixture
def people(driver):
    """Three people (A 20, B 30, C 40) and a company."""
    with driver.session() as session:
        _, summary = rows(
            session,
            "CREATE (:Person {name: 'A', age: 20}), (:Person {name: 'B', age: 30}), "
            "(:Person {name: 'C', age: 40}), (:Company {name: 'Acme'})",
        )
    assert summary.counters.nodes_created == 4
    return driver


def names(session, query, **params):
    return sorted(r["name"] for r in session.run(query, params))


def test_match_by_label(people):
    with people.session() as session:
        assert names(session, "MATCH (n:Person) RETURN n.name AS name") == ["A", "B", "C"]
        assert names(session, "MATCH (n:Company) RETURN n.name AS name") == ["Acme"]
        assert names(session, "MATCH (n:Nobody) RETURN n.name AS name") == []
        all_nodes = [r["n"] for r in session.run("MATCH (n) RETURN n")]
        assert len(all_nodes) == 4
        assert all(isinstance(n, Node) for n in all_nodes)
        summary = session.run("MATCH (n:Person) RETURN n").consume()
        assert summary.query_type == "r"
        assert not summary.counters.contains_updates


def test_match_by_property(people):
    with people.session() as session:
        assert value(session, "MATCH (n:Person {name: 'B'}) RETURN n.age AS age") == 30
        assert value(session, "MATCH (n:Person {name: $name}) RETURN n.age", name="C") == 40
        assert names(session, "MATCH (n {name: 'Acme'}) RETURN n.name AS name") == ["Acme"]
        assert names(session, "MATCH (n:Person {age: 99}) RETURN n.name AS name") == []
        assert names(
            session, "MATCH (n:Person {name: 'A', age: 20}) RETURN n.name AS name"
        ) == ["A"]


def test_match_relationship_patterns_both_directions(driver):
    with driver.session() as session:
        rows(
            session,
            "CREATE (a:Person {name: 'A'})-[:KNOWS {since: 2001}]->(b:Person {name: 'B'})"
            "-[:KNOWS {since: 2002}]->(c:Person {name: 'C'}), (a)-[:LIKES]->(c)",
        )

        def pairs(query):
            return sorted(tuple(r.values()) for r in session.run(query))

        expected = [("A", "B", 2001), ("B", "C", 2002)]
        assert (
            pairs("MATCH (x:Person)-[r:KNOWS]->(y:Person) RETURN x.name, y.name, r.since")
            == expected
        )
        assert (
            pairs("MATCH (y:Person)<-[r:KNOWS]-(x:Person) RETURN x.name, y.name, r.since")
            == expected
        )
        assert pairs("MATCH (x {name: 'A'})-[]->(y) RETURN y.name") == [("B",), ("C",)]
        assert pairs("MATCH (x)-[:LIKES]->(y) RETURN x.name, y.name") == [("A", "C")]
        assert pairs("MATCH (x)<-[:LIKES]-(y) RETURN x.name, y.name") == [("C", "A")]
        assert pairs("MATCH (x {name: 'B'})<-[:KNOWS]-(y) RETURN y.name") == [("A",)]
        assert pairs("MATCH (x {name: 'B'})-[:LIKES]->(y) RETURN y.name") == []
        assert pairs(
            "MATCH (c {name: 'C'})<-[:KNOWS]-(b)<-[:KNOWS]-(a) RETURN a.name, b.name"
        ) == [("A", "B")]


WHERE_CASES = [
    ("n.age = 30", {}, ["B"]),
    ("n.age <> 30", {}, ["A", "C"]),
    ("n.age < 30", {}, ["A"]),
    ("n.age <= 30", {}, ["A", "B"]),
    ("n.age > 30", {}, ["C"]),
    ("n.age >= 30", {}, ["B", "C"]),
    ("n.name < 'B'", {}, ["A"]),
    ("n.age > 20 AND n.age < 40", {}, ["B"]),
    ("n.age = 20 OR n.name = 'C'", {}, ["A", "C"]),
    ("NOT n.age = 30", {}, ["A", "C"]),
    ("NOT (n.age < 25 OR n.age > 35)", {}, ["B"]),
    ("n.age > $min AND NOT n.name = $skip", {"min": 15, "skip": "B"}, ["A", "C"]),
    ("n.name = $name OR n.age >= $age", {"name": "A", "age": 40}, ["A", "C"]),
    ("n.missing = 1", {}, []),
]


def test_where_comparisons_and_boolean_logic(people):
    with people.session() as session:
        for condition, params, expected in WHERE_CASES:
            got = names(
                session, f"MATCH (n:Person) WHERE {condition} RETURN n.name AS name", **params
            )
            assert got == expected, f"WHERE {condition}"


def test_return_aliases_and_property_access(people):
    with people.session() as session:
        result = session.run(
            "MATCH (n:Person {name: 'A'}) RETURN n.name AS name, n.age AS years, "
            "n.missing AS missing, n"
        )
        assert result.keys() == ["name", "years", "missing", "n"]
        record = result.single(strict=True)
        assert (record["name"], record["years"], record["missing"]) == ("A", 20, None)
        assert isinstance(record["n"], Node)

        result = session.run("MATCH (n:Person {name: 'A'}) RETURN n.name")
        assert result.keys() == ["n.name"]
        assert result.single(strict=True)["n.name"] == "A"

        record = session.run(
            "RETURN 1 AS x, 'a' AS y, [1, 'two', null] AS l, {k: 1, m: {n: true}} AS m, "
            "$p AS p, 1 < 2 AS lt, NOT true AS f, true AND false AS conj, true OR false AS disj",
            p=[1.5],
        ).single(strict=True)
        assert record.data() == {
            "x": 1,
            "y": "a",
            "l": [1, "two", None],
            "m": {"k": 1, "m": {"n": True}},
            "p": [1.5],
            "lt": True,
            "f": False,
            "conj": False,
            "disj": True,
        }


def test_set_and_remove_properties(driver):
    with driver.session() as session:
        rows(session, "CREATE (:Person {name: 'A', age: 20})")
        _, summary = rows(
            session, "MATCH (n:Person {name: 'A'}) SET n.age = 21, n.city = 'Paris'"
        )
        assert summary.counters.properties_set == 2
        node = value(session, "MATCH (n:Person) RETURN n")
        assert dict(node) == {"name": "A", "age": 21, "city": "Paris"}

        _, summary = rows(session, "MATCH (n:Person {name: 'A'}) SET n.age = $age", age=22)
        assert summary.counters.properties_set == 1
        assert value(session, "MATCH (n:Person) RETURN n.age") == 22

        rows(session, "MATCH (n:Person {name: 'A'}) REMOVE n.city")
        assert dict(value(session, "MATCH (n:Person) RETURN n")) == {"name": "A", "age": 22}

        rows(session, "MATCH (n:Person {name: 'A'}) SET n.age = null")
        assert dict(value(session, "MATCH (n:Person) RETURN n")) == {"name": "A"}
        assert value(session, "MATCH (n:Person) RETURN n.age") is None


def test_set_and_remove_relationship_properties(driver):
    with driver.session() as session:
        rows(session, "CREATE (:P)-[:R {w: 1}]->(:P)")
        _, summary = rows(session, "MATCH ()-[r:R]->() SET r.w = 5, r.tag = 'x'")
        assert summary.counters.properties_set == 2
        assert dict(value(session, "MATCH ()-[r:R]->() RETURN r")) == {"w": 5, "tag": "x"}
        rows(session, "MATCH ()-[r:R]->() REMOVE r.tag")
        assert dict(value(session, "MATCH ()-[r:R]->() RETURN r")) == {"w": 5}


def test_set_and_remove_labels(driver):
    with driver.session() as session:
        rows(session, "CREATE (:Person {name: 'A'})")
        _, summary = rows(session, "MATCH (n:Person) SET n:Admin")
        assert summary.counters.labels_added == 1
        assert set(value(session, "MATCH (n:Person) RETURN n").labels) == {"Person", "Admin"}
        assert value(session, "MATCH (n:Admin) RETURN count(*)") == 1

        _, summary = rows(session, "MATCH (n:Person) SET n:Red:Blue")
        assert summary.counters.labels_added == 2
        assert set(value(session, "MATCH (n:Person) RETURN n").labels) == {
            "Person",
            "Admin",
            "Red",
            "Blue",
        }

        _, summary = rows(session, "MATCH (n:Person) REMOVE n:Admin")
        assert summary.counters.labels_removed == 1
        assert value(session, "MATCH (n:Admin) RETURN count(*)") == 0
        rows(session, "MATCH (n:Person) REMOVE n:Red:Blue")
        assert set(value(session, "MATCH (n {name: 'A'}) RETURN n").labels) == {"Person"}


def test_delete_and_detach_delete(driver):
    with driver.session() as session:
        rows(
            session,
            "CREATE (:Person {name: 'A'})-[:KNOWS]->(:Person {name: 'B'}), "
            "(:Person {name: 'Loner'})",
        )
        _, summary = rows(session, "MATCH (n:Person {name: 'Loner'}) DELETE n")
        assert summary.counters.nodes_deleted == 1

        # A node that still has relationships cannot be deleted without DETACH.
        with pytest.raises(Neo4jError):
            rows(session, "MATCH (n:Person {name: 'A'}) DELETE n")
        assert value(session, "MATCH (n) RETURN count(*)") == 2
        assert value(session, "MATCH ()-[r]->() RETURN count(*)") == 1

        _, summary = rows(session, "MATCH (:Person)-[r:KNOWS]->(:Person) DELETE r")
        assert summary.counters.relationships_deleted == 1
        assert value(session, "MATCH ()-[r]->() RETURN count(*)") == 0

        rows(
            session,
            "MATCH (a:Person {name: 'A'}), (b:Person {name: 'B'}) "
            "CREATE (a)-[:KNOWS]->(b), (b)-[:KNOWS]->(a)",
        )
        _, summary = rows(session, "MATCH (n:Person {name: 'A'}) DETACH DELETE n")
        assert summary.counters.nodes_deleted == 1
        assert summary.counters.relationships_deleted == 2
        assert names(session, "MATCH (n) RETURN n.name AS name") == ["B"]
        assert value(session, "MATCH ()-[r]->() RETURN count(*)") == 0


def test_limit(people):
    with people.session() as session:
        assert [r["i"] for r in session.run("UNWIND range(1, 10) AS i RETURN i LIMIT 3")] == [
            1,
            2,
            3,
        ]
        assert list(session.run("UNWIND range(1, 10) AS i RETURN i LIMIT 0")) == []
        assert len(list(session.run("MATCH (n:Person) RETURN n LIMIT 2"))) == 2
        assert len(list(session.run("MATCH (n) RETURN n LIMIT $n", n=3))) == 3
        assert len(list(session.run("MATCH (n) RETURN n LIMIT 100"))) == 4


def test_count_star(driver):
    with driver.session() as session:
        assert value(session, "MATCH (n) RETURN count(*) AS c") == 0
        rows(session, "CREATE (:Person)-[:KNOWS]->(:Person), (:Person), (:Company)")
        result = session.run("MATCH (n:Person) RETURN count(*) AS c")
        assert result.keys() == ["c"]
        assert result.single(strict=True)["c"] == 3
        assert value(session, "MATCH (n) RETURN count(*)") == 4
        assert value(session, "MATCH ()-[r:KNOWS]->() RETURN count(*)") == 1
        assert value(session, "MATCH (n:Nobody) RETURN count(*)") == 0
        assert value(session, "UNWIND range(1, 100) AS i RETURN count(*)") == 100


def test_unwind_and_range(shared_driver):
    with shared_driver.session() as session:
        assert [r["x"] for r in session.run("UNWIND [1, 'a', null] AS x RETURN x")] == [
            1,
            "a",
            None,
        ]
        assert [r["x"] for r in session.run("UNWIND $l AS x RETURN x", l=[3, 2, 1])] == [3, 2, 1]
        assert value(session, "RETURN range(0, 10, 3) AS r") == [0, 3, 6, 9]
        assert value(session, "RETURN range(1, 5) AS r") == [1, 2, 3, 4, 5]
        assert list(session.run("UNWIND [] AS x RETURN x")) == []


# ------------------------------------------------------------------------------------------
# Transactions


def test_autocommit_is_visible_to_other_sessions(driver):
    with driver.session() as session:
        summary = session.run("CREATE (:Auto {v: 1})").consume()
        assert summary.counters.nodes_created == 1
    assert count(driver, "MATCH (n:Auto) RETURN count(*)") == 1
    records, summary, keys = driver.execute_query(
        "CREATE (n:Auto {v: $v}) RETURN n.v AS v", v=2
    )
    assert keys == ["v"] and records[0]["v"] == 2
    assert summary.counters.nodes_created == 1
    assert count(driver, "MATCH (n:Auto) RETURN count(*)") == 2


def test_explicit_transaction_commit(driver):
    with driver.session() as session:
        tx = session.begin_transaction()
        tx.run("CREATE (:Tx {v: 1})").consume()
        tx.run("CREATE (:Tx {v: 2})").consume()
        assert value(tx, "MATCH (n:Tx) RETURN count(*)") == 2, "a tx sees its own writes"
        tx.commit()
    assert count(driver, "MATCH (n:Tx) RETURN count(*)") == 2


def test_explicit_transaction_rollback_leaves_nothing(driver):
    with driver.session() as session:
        tx = session.begin_transaction()
        tx.run("CREATE (:Tx {v: 1})-[:R]->(:Tx {v: 2})").consume()
        assert value(tx, "MATCH (n:Tx) RETURN count(*)") == 2
        tx.rollback()
        assert value(session, "MATCH (n) RETURN count(*)") == 0
        assert value(session, "MATCH ()-[r]->() RETURN count(*)") == 0

    # Rolling back updates and deletes restores the old values.
    with driver.session() as session:
        session.run("CREATE (:Keep {v: 1})-[:R]->(:Keep {v: 2})").consume()
        with session.begin_transaction() as tx:
            tx.run("MATCH (n:Keep {v: 1}) SET n.v = 100, n:Extra").consume()
            tx.run("MATCH (n:Keep {v: 2}) DETACH DELETE n").consume()
            tx.rollback()
        assert sorted(r["v"] for r in session.run("MATCH (n:Keep) RETURN n.v AS v")) == [1, 2]
        assert value(session, "MATCH (n:Extra) RETURN count(*)") == 0
        assert value(session, "MATCH (:Keep)-[r:R]->(:Keep) RETURN count(*)") == 1


def test_unfinished_transaction_is_rolled_back_when_session_closes(driver):
    session = driver.session()
    tx = session.begin_transaction()
    tx.run("CREATE (:Dangling)").consume()
    session.close()
    assert count(driver, "MATCH (n:Dangling) RETURN count(*)") == 0


def test_uncommitted_writes_are_invisible_to_other_connections(driver):
    with driver.session() as writer_session, driver.session() as reader_session:
        tx = writer_session.begin_transaction()
        tx.run("CREATE (:Iso {v: 1})").consume()
        assert value(reader_session, "MATCH (n:Iso) RETURN count(*)") == 0
        tx.commit()
        assert value(reader_session, "MATCH (n:Iso) RETURN count(*)") == 1


def test_snapshot_isolation_between_two_transactions(driver):
    with driver.session() as s1, driver.session() as s2:
        s1.run("CREATE (:Iso {v: 0})").consume()
        writer = s1.begin_transaction()
        reader = s2.begin_transaction()
        writer.run("CREATE (:Iso {v: 1})").consume()
        writer.run("MATCH (n:Iso {v: 0}) SET n.v = 10").consume()
        # The reader never sees the writer's uncommitted work ...
        assert value(reader, "MATCH (n:Iso) RETURN count(*)") == 1
        assert value(reader, "MATCH (n:Iso) RETURN n.v") == 0
        writer.commit()
        # ... and keeps its snapshot after the writer commits.
        assert value(reader, "MATCH (n:Iso) RETURN count(*)") == 1
        assert value(reader, "MATCH (n:Iso) RETURN n.v") == 0
        reader.commit()
        assert sorted(r["v"] for r in s2.run("MATCH (n:Iso) RETURN n.v AS v")) == [1, 10]


def test_execute_write_and_execute_read(driver):
    def create(tx, name):
        return tx.run("CREATE (n:Managed {name: $name}) RETURN n.name AS name", name=name).single(
            strict=True
        )["name"]

    def count_managed(tx):
        return tx.run("MATCH (n:Managed) RETURN count(*) AS c").single(strict=True)["c"]

    with driver.session() as session:
        assert session.execute_write(create, "m1") == "m1"
        assert session.execute_write(create, "m2") == "m2"
        assert session.execute_read(count_managed) == 2


def test_execute_write_rolls_back_when_the_function_raises(driver):
    class Boom(Exception):
        pass

    def create_then_fail(tx):
        tx.run("CREATE (:Managed)").consume()
        raise Boom()

    with driver.session() as session:
        with pytest.raises(Boom):
            session.execute_write(create_then_fail)
    assert count(driver, "MATCH (n:Managed) RETURN count(*)") == 0


# ------------------------------------------------------------------------------------------
# Errors


def assert_syntax_error(exc, line: int):
    assert exc.code == SYNTAX_ERROR
    message = exc.message or ""
    assert re.search(r"line", message, re.I) and re.search(r"column", message, re.I), message
    assert re.search(rf"line\W*{line}\b", message, re.I), f"error should be on line {line}: {message}"


def test_syntax_error_then_working_query_on_the_same_session(server):
    # One pooled connection, so the query after the error runs on the same Bolt connection.
    with make_driver(server, max_connection_pool_size=1) as drv:
        with drv.session() as session:
            with pytest.raises(CypherSyntaxError) as excinfo:
                session.run("UNWIND [1, 2] AS x\nRETURN x +* 2").consume()
            assert_syntax_error(excinfo.value, line=2)
            assert value(session, "RETURN 2 AS x") == 2

            with pytest.raises(CypherSyntaxError):
                session.run("MATCH (n RETURN n").consume()
            assert value(session, "RETURN 3 AS x") == 3


def test_error_inside_transaction_discards_it(server):
    with make_driver(server, max_connection_pool_size=1) as drv:
        with drv.session() as session:
            tx = session.begin_transaction()
            tx.run("CREATE (:Doomed)").consume()
            with pytest.raises(CypherSyntaxError):
                tx.run("RETURN (").consume()
            tx.close()
            assert value(session, "MATCH (n:Doomed) RETURN count(*)") == 0
            with session.begin_transaction() as tx2:
                tx2.run("CREATE (:Fine)").consume()
                tx2.commit()
            assert value(session, "MATCH (n:Fine) RETURN count(*)") == 1


def test_execute_query_error_then_success(driver):
    # execute_query pipelines BEGIN + RUN + PULL; the failure must not poison the connection.
    with pytest.raises(CypherSyntaxError):
        driver.execute_query("RETURN 1 +")
    records, _, _ = driver.execute_query("RETURN 7 AS x")
    assert records[0]["x"] == 7


# ------------------------------------------------------------------------------------------
# Streaming and result handling

BIG = 250_000


def test_stream_250k_rows_in_order(driver):
    with driver.session() as session:
        result = session.run("UNWIND range(1, 250000) AS i RETURN i")
        got = [record[0] for record in result]
        summary = result.consume()
    assert got == list(range(1, BIG + 1))
    assert summary.query_type == "r"


def test_stream_250k_rows_in_a_transaction_with_odd_fetch_size(server):
    with make_driver(server, fetch_size=7919) as drv:
        with drv.session() as session:
            with session.begin_transaction() as tx:
                got = [record["i"] for record in tx.run("UNWIND range(1, $n) AS i RETURN i", n=BIG)]
                tx.commit()
    assert got == list(range(1, BIG + 1))


def test_two_open_results_in_one_transaction(driver):
    with driver.session() as session:
        with session.begin_transaction() as tx:
            first = tx.run("UNWIND range(1, 5000) AS i RETURN i")
            second = tx.run("RETURN 42 AS x")
            assert second.single(strict=True)["x"] == 42
            assert [r["i"] for r in first] == list(range(1, 5001))
            third = tx.run("UNWIND range(1, 3000) AS j RETURN j")
            fourth = tx.run("UNWIND range(1, 3000) AS k RETURN k")
            assert [r["k"] for r in fourth] == list(range(1, 3001))
            assert [r["j"] for r in third] == list(range(1, 3001))
            tx.commit()


def test_consume_early_then_reuse(driver):
    with driver.session() as session:
        result = session.run("UNWIND range(1, 100000) AS i RETURN i")
        assert [r["i"] for r in result.fetch(10)] == list(range(1, 11))
        summary = result.consume()
        assert summary.query_type == "r"
        assert value(session, "RETURN 1 AS x") == 1

        with session.begin_transaction() as tx:
            partial = tx.run("UNWIND range(1, 100000) AS i RETURN i")
            assert [r["i"] for r in partial.fetch(5)] == [1, 2, 3, 4, 5]
            partial.consume()
            tx.run("CREATE (:AfterConsume)").consume()
            tx.commit()
        assert value(session, "MATCH (n:AfterConsume) RETURN count(*)") == 1


def test_session_closed_with_unconsumed_result(driver):
    session = driver.session()
    result = session.run("UNWIND range(1, 100000) AS i RETURN i")
    assert result.peek()["i"] == 1
    session.close()
    assert count(driver, "RETURN 5 AS x") == 5
