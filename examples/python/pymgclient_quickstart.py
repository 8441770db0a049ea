"""The same example with pymgclient, Memgraph's DB-API client.

    python examples/python/pymgclient_quickstart.py [HOST [PORT]]

HOST and PORT default to $FERROGRAPH_HOST and $FERROGRAPH_PORT, then localhost and 7687.
Needs `pip install pymgclient`.
"""
import os
import sys

import mgclient

host = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("FERROGRAPH_HOST", "localhost")
port = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("FERROGRAPH_PORT", "7687"))

conn = mgclient.connect(host=host, port=port)
cursor = conn.cursor()  # pymgclient opens a transaction (Cypher BEGIN) on the first execute
cursor.execute(
    "CREATE (:Person {name: $a})-[:KNOWS {since: 2020}]->(:Person {name: $b})",
    {"a": "Ann", "b": "Bob"},
)
conn.commit()
cursor.execute("MATCH (a:Person)-[k:KNOWS]->(b:Person) RETURN a, k, b")
for a, k, b in cursor.fetchall():
    print(a.properties["name"], "knows", b.properties["name"], "since", k.properties["since"])
conn.commit()
conn.close()
