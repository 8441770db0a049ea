"""PROFILE and CALL of built-in procedures through the drivers, as Memgraph answers them."""

from __future__ import annotations

import re

import mgclient
import pytest
from neo4j.exceptions import Neo4jError

PROFILE_COLUMNS = ["OPERATOR", "ACTUAL HITS", "RELATIVE TIME", "ABSOLUTE TIME"]


def test_profile_runs_the_query_and_returns_the_operator_table(driver):
    with driver.session() as session:
        result = session.run("PROFILE UNWIND range(1, 3) AS i CREATE (n:P {i: i}) RETURN n.i")
        records = list(result)
        summary = result.consume()
        assert result.keys() == PROFILE_COLUMNS
        assert summary.counters.nodes_created == 3
        table = [r.values() for r in records]
        assert [row[0] for row in table] == ["* Produce", "* Create", "* Unwind", "* Once"]
        assert [row[1] for row in table] == [4, 4, 4, 2]
        for _, _, relative, absolute in table:
            assert re.fullmatch(r" +\d+\.\d{6} %", relative) and len(relative) >= 12
            assert re.fullmatch(r" +\d+\.\d{6} ms", absolute)
        total = sum(float(row[2].split()[0]) for row in table)
        assert abs(total - 100.0) < 0.01
        assert session.run("MATCH (n:P) RETURN count(n)").single().value() == 3


def test_profile_is_refused_in_an_explicit_transaction(server):
    conn = mgclient.connect(host=server.host, port=server.port)
    try:
        cursor = conn.cursor()  # autocommit off: pymgclient sends BEGIN first
        with pytest.raises(mgclient.DatabaseError, match="PROFILE not allowed in multicommand"):
            cursor.execute("PROFILE RETURN 1")
    finally:
        conn.close()


def test_procedures(driver):
    with driver.session() as session:
        session.run("CREATE (:Person {name: 'a'})-[:KNOWS]->(:City {zip: 1})").consume()
        labels = session.run("CALL db.labels()")
        assert [r["label"] for r in labels] == ["City", "Person"]
        assert labels.keys() == ["label"]
        assert [r[0] for r in session.run("CALL db.relationshipTypes()")] == ["KNOWS"]
        keys = session.run("CALL db.propertyKeys() YIELD propertyKey AS k RETURN k ORDER BY k")
        assert [r["k"] for r in keys] == ["name", "zip"]
        component = session.run("CALL dbms.components()").single()
        assert component.keys() == ["name", "versions", "edition"]
        procs = session.run(
            "CALL mg.procedures() YIELD name, signature WHERE name STARTS WITH 'db.' "
            "RETURN name, signature ORDER BY name"
        )
        assert [r["name"] for r in procs] == ["db.labels", "db.propertyKeys", "db.relationshipTypes"]


def test_unknown_procedure_is_a_procedure_not_found_error(driver):
    with driver.session() as session:
        with pytest.raises(Neo4jError) as failure:
            session.run("CALL db.nothing()").consume()
        assert failure.value.code == "Neo.ClientError.Procedure.ProcedureNotFound"
        assert "db.nothing" in failure.value.message
        with pytest.raises(Neo4jError) as failure:
            session.run("CALL db.labels('x')").consume()
        assert failure.value.code == "Neo.ClientError.Statement.SyntaxError"
        assert session.run("RETURN 1").single().value() == 1
