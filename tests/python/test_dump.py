"""DUMP DATABASE against real servers: its rows through the neo4j driver, the mgconsole export
and import workflow with ferrograph-console (`echo "DUMP DATABASE;" | ferrograph-console
--output-format=cypherl > data.cypherl`, then `ferrograph-console < data.cypherl` into a
second, fresh server), and one consistent snapshot while a writer keeps committing.
"""

from __future__ import annotations

import math
import shlex
import subprocess
import threading

from conftest import server_binary
from neo4j_helpers import make_driver

RUN_DEADLINE_S = 120.0

GRAPH = """
CREATE INDEX ON :Person;
CREATE INDEX ON :Person(name);
CREATE CONSTRAINT ON (n:Person) ASSERT EXISTS (n.name);
CREATE CONSTRAINT ON (n:Person) ASSERT n.id, n.name IS UNIQUE;
CREATE (a:Person:`Odd ``name` {id: 1, name: 'Ada "the first"\\n', score: 1.5, big: 1e300,
                               nan: 0.0 / 0.0, inf: -1.0 / 0.0, zero: -0.0, t: true,
                               min: -9223372036854775808, tags: ['x', 2, [3.0, null]],
                               m: {k: {deep: 'v'}, `sp ace`: 1}})
CREATE (b:Person {id: 2, name: 'Charles', born: date('1791-12-26'),
                  at: localtime('12:00:00.000000001'), tz: time('09:30+01:00'),
                  ldt: localdatetime('2024-02-29T23:59:59.5'),
                  dt: datetime('1999-12-31T23:59:59-05:00'), d: duration('P1Y2M3DT4H5M6.7S')})
CREATE (c {note: 'no labels'})
CREATE (a)-[:KNOWS {since: 1833, w: 0.1}]->(b), (b)-[:KNOWS]->(a), (c)-[:`SELF loop`]->(c),
       (a)-[:KNOWS {since: 1833, w: 0.1}]->(b);
"""


def console_binary():
    return server_binary().with_name("ferrograph-console")


def canon(value):
    """A comparable form of a driver value: NaN equal to itself, -0.0 apart from 0.0."""
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else repr(value))
    if isinstance(value, list):
        return ("list", tuple(canon(v) for v in value))
    if isinstance(value, dict):
        return ("map", tuple(sorted((k, canon(v)) for k, v in value.items())))
    return (type(value).__name__, repr(value))


def describe(server) -> dict:
    """The graph without its ids: vertices, edges (endpoints described), indexes, constraints."""
    with make_driver(server) as driver, driver.session() as s:
        nodes = {
            r["id"]: (tuple(sorted(r["labels"])), canon(r["props"]))
            for r in s.run("MATCH (n) RETURN id(n) AS id, labels(n) AS labels, properties(n) AS props")
        }
        edges = sorted(
            (nodes[r["a"]], r["type"], canon(r["props"]), nodes[r["b"]])
            for r in s.run(
                "MATCH (a)-[r]->(b) RETURN id(a) AS a, type(r) AS type, properties(r) AS props, id(b) AS b"
            )
        )
        indexes = sorted(tuple(r.values())[:3] for r in s.run("SHOW INDEX INFO"))
        constraints = sorted(canon(r.values()[:3]) for r in s.run("SHOW CONSTRAINT INFO"))
    return {
        "vertices": sorted(nodes.values()),
        "edges": edges,
        "indexes": indexes,
        "constraints": constraints,
    }


def load(server, script: str):
    done = subprocess.run(
        [str(console_binary()), f"--port={server.port}"],
        input=script,
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
    )
    assert done.returncode == 0, done.stderr


def test_dump_rows_through_the_driver(server):
    load(server, GRAPH)
    with make_driver(server) as driver, driver.session() as s:
        result = s.run("DUMP DATABASE")
        assert result.keys() == ["QUERY"]
        rows = [r["QUERY"] for r in result]
        ids = {r["name"]: r["id"] for r in s.run("MATCH (n:Person) RETURN n.name AS name, id(n) AS id")}
    assert rows[:5] == [
        "CREATE INDEX ON :`Person`;",
        "CREATE INDEX ON :`Person`(`name`);",
        "CREATE CONSTRAINT ON (u:`Person`) ASSERT EXISTS (u.`name`);",
        "CREATE CONSTRAINT ON (u:`Person`) ASSERT u.`id`, u.`name` IS UNIQUE;",
        "CREATE INDEX ON :__mg_vertex__(__mg_id__);",
    ]
    assert rows[-2:] == [
        "DROP INDEX ON :__mg_vertex__(__mg_id__);",
        "MATCH (u) REMOVE u:__mg_vertex__, u.__mg_id__;",
    ]
    creates = [r for r in rows if r.startswith("CREATE (:__mg_vertex__")]
    matches = [r for r in rows if r.startswith("MATCH (u:__mg_vertex__), (v:__mg_vertex__)")]
    assert len(creates) == 3 and len(matches) == 4 and len(rows) == 5 + 3 + 4 + 2
    charles = ids["Charles"]
    assert f"CREATE (:__mg_vertex__:`Person` {{__mg_id__: {charles}, " in "\n".join(creates)
    assert any("`born`: DATE(\"1791-12-26\")" in r for r in creates)
    assert any("`nan`: 0.0 / 0.0" in r and "`big`: 1e300" in r for r in creates)
    assert any(r.endswith("CREATE (u)-[:`SELF loop`]->(v);") for r in matches)


def test_console_export_and_import_reproduce_the_graph(server_with, tmp_path):
    source, target = server_with(), server_with()
    load(source, GRAPH)
    data = tmp_path / "data.cypherl"
    console = shlex.quote(str(console_binary()))
    # The commands of docs/console.md, as written there.
    export = subprocess.run(
        f'echo "DUMP DATABASE;" | {console} --port {source.port} --output-format=cypherl > {shlex.quote(str(data))}',
        shell=True,
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
    )
    assert export.returncode == 0, export.stderr
    lines = data.read_text().splitlines()
    assert len(lines) == 14 and all(line.endswith(";") for line in lines), lines
    imported = subprocess.run(
        f"{console} --port {target.port} < {shlex.quote(str(data))}",
        shell=True,
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
    )
    assert imported.returncode == 0, imported.stderr
    assert describe(target) == describe(source)
    with make_driver(target) as driver, driver.session() as s:
        left = s.run("MATCH (n) WHERE n:__mg_vertex__ OR n.__mg_id__ IS NOT NULL RETURN count(n) AS c")
        assert left.single()["c"] == 0


def test_dump_is_one_snapshot_under_a_concurrent_writer(server):
    """The writer commits pairs `(:P {i})-[:R]->(:P {i})` and deletes the oldest pair in the
    same transaction; a dump pulled in small batches meanwhile must see whole pairs only: an
    even number of vertices, one edge per pair, each between two dumped vertices."""
    with make_driver(server) as driver:
        with driver.session() as s:
            s.run("UNWIND range(1, 300) AS i CREATE (:P {i: i})-[:R]->(:P {i: i})").consume()
        stop = threading.Event()
        commits = []

        def write():
            with driver.session() as w:
                i = 1000
                while not stop.is_set():
                    i += 1
                    w.run(
                        "MATCH (a:P)-[:R]->(b:P) WITH a, b ORDER BY a.i LIMIT 1 DETACH DELETE a, b "
                        "CREATE (:P {i: $i})-[:R]->(:P {i: $i})",
                        i=i,
                    ).consume()
                    commits.append(i)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            # Wait until the writer has committed at least once, so the dump overlaps it.
            while not commits and writer.is_alive():
                stop.wait(0.01)
            with driver.session(fetch_size=5) as s:
                result = iter(s.run("DUMP DATABASE"))
                rows = [next(result)["QUERY"]]
                # The dump is open on the server (5 rows fetched): let the writer commit more.
                before = len(commits)
                while len(commits) < before + 5 and writer.is_alive():
                    stop.wait(0.01)
                seen_during = len(commits) - before
                rows += [r["QUERY"] for r in result]
        finally:
            stop.set()
            writer.join(timeout=RUN_DEADLINE_S)
        assert not writer.is_alive()
    assert seen_during >= 5
    creates = [r for r in rows if r.startswith("CREATE (:__mg_vertex__")]
    edges = [r for r in rows if r.startswith("MATCH (u:__mg_vertex__)")]
    assert len(creates) == 600, len(creates)
    assert len(edges) == 300, len(edges)
    dumped = {int(r.split("__mg_id__: ")[1].split(",")[0]) for r in creates}
    for e in edges:
        a = int(e.split("u.__mg_id__ = ")[1].split(" ")[0])
        b = int(e.split("v.__mg_id__ = ")[1].split(" ")[0])
        assert a in dumped and b in dumped, e
