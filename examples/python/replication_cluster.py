"""The seed's replication cluster, on one machine: a MAIN and two REPLICAs (ports 7687-7689 in
the seed; free ports here), REP1 SYNC and REP2 ASYNC, then one write on the MAIN read back on
both replicas.

    python examples/python/replication_cluster.py target/release/ferrograph

Starts three `ferrograph` processes in a temporary directory, runs the seed's queries with the
neo4j driver, prints `REP1 and REP2 replicated (:Node) at ts 2`, and stops the servers.
"""

import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from neo4j import GraphDatabase

READY = re.compile(r"listening for Bolt on [0-9.]+:(\d+)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, workdir):
    workdir.mkdir(parents=True)
    log = workdir / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [binary, "--bolt-address=127.0.0.1", "--bolt-port=0",
             f"--data-directory={workdir / 'data'}", "--also-log-to-stderr=true"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = READY.search(log.read_text(errors="replace"))
        if match:
            return proc, f"bolt://127.0.0.1:{match.group(1)}"
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit("a server did not start:\n" + log.read_text(errors="replace"))


def run(uri, query):
    with GraphDatabase.driver(uri, auth=None) as driver, driver.session() as session:
        return [record.values() for record in session.run(query)]


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/ferrograph"
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        try:
            main_uri = rep1_uri = rep2_uri = None
            for name in ("main", "rep1", "rep2"):
                proc, uri = start(binary, Path(tmp) / name)
                procs.append(proc)
                if name == "main":
                    main_uri = uri
                elif name == "rep1":
                    rep1_uri = uri
                else:
                    rep2_uri = uri
            port1, port2 = free_port(), free_port()
            # The seed's steps (in containers both replicas use port 10000 and their own IP).
            run(rep1_uri, f"SET REPLICATION ROLE TO REPLICA WITH PORT {port1}")
            run(rep2_uri, f"SET REPLICATION ROLE TO REPLICA WITH PORT {port2}")
            run(main_uri, f'REGISTER REPLICA REP1 SYNC TO "127.0.0.1:{port1}"')
            run(main_uri, f'REGISTER REPLICA REP2 ASYNC TO "127.0.0.1:{port2}"')
            run(main_uri, "CREATE (:Node)")
            deadline = time.monotonic() + 30
            while True:
                rows = run(main_uri, "SHOW REPLICAS")
                infos = {r[0]: r[4]["memgraph"] for r in rows}
                if all(i["ts"] == 2 and i["behind"] == 0 for i in infos.values()):
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"replicas did not catch up: {rows}")
                time.sleep(0.05)
            for uri in (rep1_uri, rep2_uri):
                assert run(uri, "MATCH (n) RETURN labels(n)") == [[["Node"]]]
            print("REP1 and REP2 replicated (:Node) at ts 2")
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)


if __name__ == "__main__":
    main()
