"""The README's example: the official neo4j driver against ferrograph.

    python examples/python/neo4j_quickstart.py [bolt://HOST:PORT]

The URI defaults to $FERROGRAPH_URI, then bolt://localhost:7687. Needs `pip install neo4j`.
"""
import os
import sys

from neo4j import GraphDatabase

uri = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FERROGRAPH_URI", "bolt://localhost:7687")

with GraphDatabase.driver(uri, auth=None) as driver:
    driver.execute_query(
        "CREATE (:Person {name: $a})-[:KNOWS {since: 2020}]->(:Person {name: $b})",
        a="Ann", b="Bob",
    )
    records, _, _ = driver.execute_query(
        "MATCH (a:Person)-[k:KNOWS]->(b:Person) RETURN a.name AS a, k.since AS since, b.name AS b"
    )
    for r in records:
        print(r["a"], "knows", r["b"], "since", r["since"])
