"""The seed's replication cluster in containers (docker/compose.yml): demote both replicas
WITH PORT 10000, register REP1 SYNC and REP2 ASYNC on the MAIN by their container addresses,
SHOW REPLICAS, one write on the MAIN, read back on both replicas.

    docker/build-image.sh
    docker-compose -f docker/compose.yml up -d
    python examples/python/docker_cluster.py

The defaults are docker/compose.yml's: Bolt on localhost:7687 (main), 7688 (replica1) and
7689 (replica2); replicas at 172.28.0.11 and 172.28.0.12. The cluster must be fresh (every
instance still a MAIN): `docker-compose -f docker/compose.yml down -v` and `up -d`
start over. Needs the neo4j driver (pip install neo4j). Prints SHOW REPLICAS and ends with
`REP1 and REP2 replicated (:Node) at ts 2`.
"""

import argparse
import time

from neo4j import GraphDatabase
from neo4j.exceptions import Neo4jError, ServiceUnavailable

DEADLINE_S = 30


def run(uri, query):
    with GraphDatabase.driver(uri, auth=None, connection_timeout=5) as driver:
        with driver.session() as session:
            return [record.values() for record in session.run(query)]


def wait_until_up(uri):
    """The containers may still be starting: retry until the server answers."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            return run(uri, "SHOW REPLICATION ROLE")[0][0]
        except (ServiceUnavailable, OSError) as e:
            if time.monotonic() > deadline:
                raise SystemExit(f"{uri} does not answer: {e}")
            time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--main", default="bolt://localhost:7687", help="the MAIN's Bolt URI")
    parser.add_argument("--replica1", default="bolt://localhost:7688", help="replica1's Bolt URI")
    parser.add_argument("--replica2", default="bolt://localhost:7689", help="replica2's Bolt URI")
    parser.add_argument("--replica1-address", default="172.28.0.11:10000",
                        help="where the MAIN reaches replica1's replication port")
    parser.add_argument("--replica2-address", default="172.28.0.12:10000",
                        help="where the MAIN reaches replica2's replication port")
    args = parser.parse_args()

    for uri in (args.main, args.replica1, args.replica2):
        role = wait_until_up(uri)
        if role != "main":
            raise SystemExit(
                f"{uri} is already a {role}: start over with "
                "`docker-compose -f docker/compose.yml down -v` and `up -d`"
            )

    # The seed's steps. The replication port is the same (10000) on every replica: each
    # container has its own address.
    port1 = args.replica1_address.rsplit(":", 1)[1]
    port2 = args.replica2_address.rsplit(":", 1)[1]
    run(args.replica1, f"SET REPLICATION ROLE TO REPLICA WITH PORT {port1}")
    run(args.replica2, f"SET REPLICATION ROLE TO REPLICA WITH PORT {port2}")
    run(args.main, f'REGISTER REPLICA REP1 SYNC TO "{args.replica1_address}"')
    run(args.main, f'REGISTER REPLICA REP2 ASYNC TO "{args.replica2_address}"')
    for row in run(args.main, "SHOW REPLICAS"):
        print(row)

    run(args.main, "CREATE (:Node)")
    # REP1 (SYNC) has it when the write returns; REP2 (ASYNC) a moment later.
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            found = [run(uri, "MATCH (n) RETURN labels(n)") for uri in (args.replica1, args.replica2)]
            rows = run(args.main, "SHOW REPLICAS")
        except Neo4jError as e:
            found, rows = e, []
        caught_up = rows and all(row[4]["memgraph"]["behind"] == 0 for row in rows)
        if found == [[[["Node"]]], [[["Node"]]]] and caught_up:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"the replicas did not get the node: {found}, {rows}")
        time.sleep(0.05)
    for row in rows:
        print(row)
    print(f"REP1 and REP2 replicated (:Node) at ts {rows[0][4]['memgraph']['ts']}")

if __name__ == "__main__":
    main()
