"""The Docker image (docker/build-image.sh, docker/Dockerfile) and the compose cluster
(docker/compose.yml), driven as a user would: `docker run`, `docker-compose up`, the seed's
replication steps (examples/python/docker_cluster.py) with the containers' addresses and port
10000, then a network partition of the SYNC replica, a killed MAIN with a manual failover, and
a restarted replica.

Skipped only when no Docker engine answers (`docker info` fails). Every run uses its own image
tag, compose project, subnet and free host ports, so it can run beside another run, other
suites and a cluster started from docker/compose.yml; containers, networks, volumes and the
image tag are removed afterwards, also when a test fails. Conditions are polled with deadlines.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid

import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import Neo4jError

from conftest import REPO, server_binary
from neo4j_helpers import eventually as _eventually, notifications

DEADLINE_S = 30.0
BUILD_TIMEOUT_S = 600  # cargo builds the binary only when it is missing
DOCKER_TIMEOUT_S = 120
SERVICES = ("main", "replica1", "replica2")
HOSTS = {"main": 10, "replica1": 11, "replica2": 12}  # docker/compose.yml's addresses
REPLICA_WRITE = "Write queries are forbidden on the replica instance."


def _docker_answers() -> str | None:
    """Why Docker cannot be used here, or None when its engine answers."""
    if shutil.which("docker") is None:
        return "no `docker` command"
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"`docker info` failed: {e}"
    if done.returncode != 0:
        return "no Docker engine answers (`docker info`: " + done.stderr.strip()[-300:] + ")"
    return None


_WHY_NOT = _docker_answers()
pytestmark = pytest.mark.skipif(_WHY_NOT is not None, reason=f"Docker tests skipped: {_WHY_NOT}")


def docker(*args: str, check: bool = True, timeout: float = DOCKER_TIMEOUT_S, env=None) -> str:
    """Runs `docker ARGS`; returns its stdout, or raises with its stderr."""
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, env=env
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def compose_command() -> list[str]:
    """docker-compose v1, or the compose plugin of Docker's CLI."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    pytest.fail("a Docker engine answers but neither docker-compose nor `docker compose` exists")


def run(uri: str, text: str, **params):
    """Runs `text` autocommit on `uri`; returns (rows, summary)."""
    with GraphDatabase.driver(uri, auth=None, connection_timeout=5) as driver:
        with driver.session() as session:
            result = session.run(text, params)
            rows = [r.values() for r in result]
            return rows, result.consume()


def rows(uri: str, text: str, **params):
    return run(uri, text, **params)[0]


def eventually(check, what: str, deadline_s: float = DEADLINE_S):
    return _eventually(check, what, deadline_s, interval_s=0.1)


def sync_failures(summary) -> list[dict]:
    return [n for n in notifications(summary) if n["code"] == "SyncReplicationFailure"]


def replicas(uri: str) -> dict:
    """SHOW REPLICAS by name: (socket_address, sync_mode, system_info, data_info)."""
    return {r[0]: tuple(r[1:]) for r in rows(uri, "SHOW REPLICAS")}


def status(uri: str, name: str):
    info = replicas(uri)[name][3]["memgraph"]
    return info["status"], info["ts"], info["behind"]


def count(uri: str) -> int:
    return rows(uri, "MATCH (n) RETURN count(n)")[0][0]


def published(container: str) -> str:
    """host:port that Bolt (7687) of `container` is published on; it changes on a restart."""
    return docker("port", container, "7687/tcp").splitlines()[0].strip()


@pytest.fixture(scope="module")
def image():
    """docker/build-image.sh with the binary under test, under a tag of this run's own."""
    tag = f"ferrograph:test-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ, FERROGRAPH_BIN=str(server_binary()), FERROGRAPH_IMAGE=tag)
    done = subprocess.run(
        ["bash", str(REPO / "docker" / "build-image.sh")],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, env=env,
    )
    assert done.returncode == 0, f"docker/build-image.sh failed:\n{done.stdout}\n{done.stderr}"
    try:
        yield tag
    finally:
        docker("rmi", tag, check=False)


class Container:
    """One `docker run -d` of the image, removed (with its anonymous volumes) by `remove`."""

    def __init__(self):
        self.name = f"ferrograph-test-{uuid.uuid4().hex[:12]}"

    def run(self, image: str, *args: str, volume: str | None = None) -> "Container":
        mount = ["-v", f"{volume}:/var/lib/ferrograph"] if volume else []
        docker("run", "-d", "--name", self.name, "-p", "127.0.0.1::7687", *mount, image, *args)
        return self

    @property
    def uri(self) -> str:
        return f"bolt://{published(self.name)}"

    def logs(self) -> str:
        done = subprocess.run(["docker", "logs", self.name], capture_output=True, text=True,
                              timeout=DOCKER_TIMEOUT_S)
        return done.stdout + done.stderr

    def state(self) -> dict:
        return json.loads(docker("inspect", "-f", "{{json .State}}", self.name))

    def wait_ready(self):
        eventually(lambda: rows(self.uri, "RETURN 1") == [[1]], f"{self.name} answers")

    def remove(self):
        docker("rm", "-f", "-v", self.name, check=False)


def test_one_server_takes_flags_keeps_its_data_and_stops_on_sigterm(image):
    volume = f"ferrograph-test-{uuid.uuid4().hex[:12]}"
    made: list[Container] = []

    def start(*args: str, **kw) -> Container:
        made.append(Container())  # removed in `finally` even if `docker run` fails half-way
        made[-1].run(image, *args, **kw).wait_ready()
        return made[-1]

    try:
        # No flags: the data directory is the image's (FERROGRAPH_DATA_DIRECTORY), and stderr
        # carries only the startup and shutdown lines (as Memgraph, the log goes to stderr
        # only with --also-log-to-stderr).
        first = start(volume=volume)
        run(first.uri, "CREATE (:Kept {v: 1})")
        started = time.monotonic()
        docker("stop", first.name)
        took = time.monotonic() - started
        state = first.state()
        assert state["ExitCode"] == 0 and not state["OOMKilled"], state
        assert took < 5, f"docker stop took {took:.1f}s: SIGTERM was not handled by PID 1"
        lines = [line for line in first.logs().splitlines() if line.strip()]
        assert len(lines) == 2, lines
        assert "listening for Bolt on 0.0.0.0:7687, data directory /var/lib/ferrograph" in lines[0]
        assert lines[1].endswith("ferrograph shut down")

        # The same volume in a new container: the data is back (the volume holds the WAL and
        # the snapshot taken at exit); flags pass straight through to the server.
        second = start("--also-log-to-stderr=true", "--log-level=INFO", volume=volume)
        assert rows(second.uri, "MATCH (n:Kept) RETURN n.v") == [[1]]
        docker("stop", second.name)
        assert second.state()["ExitCode"] == 0
        logs = second.logs()
        assert "snapshot created" in logs and "ferrograph shut down" in logs, logs

        # An explicit --data-directory wins over the image's default.
        third = start("--data-directory=/tmp/elsewhere")
        assert count(third.uri) == 0
        eventually(lambda: "data directory /tmp/elsewhere" in third.logs(), "the startup line")
    finally:
        for container in made:
            container.remove()
        docker("volume", "rm", "-f", volume, check=False)


def test_memgraph_user_in_the_environment_makes_the_first_user(image):
    """`docker run -e MEMGRAPH_USER=... -e MEMGRAPH_PASSWORD=...`: that user exists at start, so
    only its credentials open a session (docs/security.md)."""
    from neo4j.exceptions import AuthError

    c = Container()
    try:
        docker("run", "-d", "--name", c.name, "-p", "127.0.0.1::7687",
               "-e", "MEMGRAPH_USER=admin", "-e", "MEMGRAPH_PASSWORD=pw-in-env", image)

        def answer(auth):
            with GraphDatabase.driver(c.uri, auth=auth, connection_timeout=5) as driver:
                with driver.session() as session:
                    return [r.values() for r in session.run("SHOW USERS")]

        def logged_in():
            try:
                return answer(("admin", "pw-in-env")) == [["admin"]]
            except AuthError:
                raise
            except Exception:
                return False  # not listening yet

        eventually(logged_in, "admin logs in")
        for auth in (None, ("admin", "wrong")):
            with pytest.raises(AuthError):
                answer(auth)
    finally:
        c.remove()


def test_the_console_runs_inside_the_container(image, tmp_path):
    """ferrograph-console sits beside the server in the image: piped through `docker exec -i`
    and interactive through `docker exec -it` (on a pseudo-terminal, as a user's shell)."""
    from test_console import Terminal

    container = Container()
    try:
        container.run(image).wait_ready()
        done = subprocess.run(
            ["docker", "exec", "-i", container.name, "ferrograph-console", "--output-format=csv"],
            input="CREATE (:Shell {via: 'docker exec'});\nMATCH (s:Shell) RETURN s.via AS via;\n",
            capture_output=True, text=True, timeout=DOCKER_TIMEOUT_S,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == '"via"\n"""docker exec"""\n'

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm"}
        t = Terminal(["docker", "exec", "-it", container.name, "ferrograph-console"], env)
        try:
            t.expect("Connected to 'memgraph://127.0.0.1:7687'")
            t.expect("memgraph> ")
            t.send("MATCH (s:Shell) RETURN count(s) AS shells;")
            t.expect("1 row in set")
            t.expect("memgraph> ")
            t.send(":quit")
            t.expect("Bye")
            assert t.wait() == 0
        finally:
            t.close()
        # The history went to the user's home (/var/lib/ferrograph, from the image's passwd).
        docker("cp", f"{container.name}:/var/lib/ferrograph/.memgraph/client_history",
               str(tmp_path / "client_history"))
        assert "RETURN count(s) AS shells;" in (tmp_path / "client_history").read_text()
    finally:
        container.remove()


class ComposeCluster:
    """docker/compose.yml under a project name, subnet and host ports of this run's own."""

    def __init__(self, image: str):
        self.project = f"fgtest{uuid.uuid4().hex[:10]}"
        self.cmd = [*compose_command(), "-p", self.project, "-f", str(REPO / "docker" / "compose.yml")]
        self.subnet = None
        self.env = None
        self.ids: dict[str, str] = {}
        self.uris: dict[str, str] = {}
        self.image = image

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([*self.cmd, *args], capture_output=True, text=True,
                              timeout=DOCKER_TIMEOUT_S, env=self.env)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
        return done

    def up(self):
        # A /24 of 172.29-31.x.0 that no other network uses yet: another run may hold one.
        for _ in range(8):
            self.subnet = f"172.{random.randint(29, 31)}.{random.randint(0, 255)}"
            self.env = dict(
                os.environ,
                FERROGRAPH_IMAGE=self.image,
                FERROGRAPH_SUBNET=self.subnet,
                FERROGRAPH_MAIN_PORT="127.0.0.1:0",
                FERROGRAPH_REPLICA1_PORT="127.0.0.1:0",
                FERROGRAPH_REPLICA2_PORT="127.0.0.1:0",
            )
            done = self.compose("up", "-d", check=False)
            if done.returncode == 0:
                break
            self.down()
            if "overlaps" not in done.stderr:
                raise AssertionError(f"docker-compose up failed:\n{done.stderr}")
        else:
            raise AssertionError("no free subnet for the cluster's network")
        for service in SERVICES:
            self.ids[service] = self.compose("ps", "-q", service).stdout.strip()
            self.refresh(service)
        self.network = f"{self.project}_cluster"
        return self

    def down(self):
        self.compose("down", "-v", "--timeout", "30", check=False)

    def refresh(self, service: str):
        """Reads the service's published Bolt port again: a container that was restarted or
        reconnected to its network gets a new one."""
        self.uris[service] = f"bolt://{published(self.ids[service])}"

    def ip(self, service: str) -> str:
        return docker(
            "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            self.ids[service],
        ).strip()

    def report_sections(self):
        """The containers' logs, for the report of a failed test (see conftest)."""
        done = self.compose("logs", "--no-color", "--timestamps", check=False)
        return [(f"docker-compose logs ({self.project})", (done.stdout + done.stderr)[-20_000:])]


@pytest.fixture
def compose_cluster(image):
    cluster = ComposeCluster(image)
    try:
        yield cluster.up()
    finally:
        cluster.down()


def test_the_seed_cluster_in_containers(compose_cluster):
    c = compose_cluster
    main, rep1, rep2 = (c.uris[s] for s in SERVICES)
    ip1, ip2 = c.ip("replica1"), c.ip("replica2")
    assert [ip1, ip2] == [f"{c.subnet}.{HOSTS['replica1']}", f"{c.subnet}.{HOSTS['replica2']}"]
    for service in SERVICES:
        eventually(lambda: rows(c.uris[service], "SHOW REPLICATION ROLE") == [["main"]],
                   f"{service} answers as a MAIN")

    # The seed: demote both WITH PORT 10000, REGISTER REP1 SYNC and REP2 ASYNC by address,
    # SHOW REPLICAS, CREATE (:Node), read it back on both replicas.
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "python" / "docker_cluster.py"),
         "--main", main, "--replica1", rep1, "--replica2", rep2,
         "--replica1-address", f"{ip1}:10000", "--replica2-address", f"{ip2}:10000"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "REP1 and REP2 replicated (:Node) at ts 2", done.stdout
    assert rows(main, "SHOW REPLICAS") == [
        ["REP1", f"{ip1}:10000", "sync", None, {"memgraph": {"behind": 0, "status": "ready", "ts": 2}}],
        ["REP2", f"{ip2}:10000", "async", None, {"memgraph": {"behind": 0, "status": "ready", "ts": 2}}],
    ]
    for uri in (rep1, rep2):
        assert rows(uri, "SHOW REPLICATION ROLE") == [["replica"]]
        assert rows(uri, "MATCH (n) RETURN labels(n)") == [[["Node"]]]
    with pytest.raises(Neo4jError) as info:
        run(rep1, "CREATE (:Node)")
    assert info.value.message.startswith(REPLICA_WRITE)

    # The SYNC replica off the network: the write commits on the MAIN after a bounded wait,
    # with Memgraph's warning, and the MAIN marks the replica invalid.
    docker("network", "disconnect", c.network, c.ids["replica1"])
    started = time.monotonic()
    _, summary = run(main, "CREATE (:Node {during: 'partition'})")
    took = time.monotonic() - started
    assert took < 10, f"a SYNC commit waited {took:.1f}s for a partitioned replica"
    failures = sync_failures(summary)
    assert failures and failures[0]["severity"] == "WARNING", notifications(summary)
    assert failures[0]["title"].startswith("Failed to replicate to SYNC replica 'REP1'")
    eventually(lambda: status(main, "REP1")[0] == "invalid", "REP1 invalid", deadline_s=15)
    assert count(main) == 2
    eventually(lambda: count(rep2) == 2, "the ASYNC replica has the write")

    # Back on the network (same address and name): ready and caught up by itself.
    docker("network", "connect", "--ip", ip1, "--alias", "replica1", c.network, c.ids["replica1"])
    c.refresh("replica1")  # Docker publishes the port anew (a new one when it was "0")
    rep1 = c.uris["replica1"]
    eventually(lambda: status(main, "REP1")[0] == "ready" and status(main, "REP1")[2] == 0,
               "REP1 ready and caught up")
    assert count(rep1) == 2
    _, summary = run(main, "CREATE (:Node {after: 'partition'})")
    assert sync_failures(summary) == []
    assert count(rep1) == 3  # SYNC: there when the write returns
    eventually(lambda: status(main, "REP2")[2] == 0 and count(rep2) == 3, "REP2 caught up")

    # The MAIN dies (SIGKILL); by hand, as in the seed: replica1 becomes the MAIN and
    # replica2 its replica, and writes reach replica2.
    docker("kill", c.ids["main"])
    assert rows(rep1, "SET REPLICATION ROLE TO MAIN") == []
    assert rows(rep1, "SHOW REPLICATION ROLE") == [["main"]]
    run(rep1, f'REGISTER REPLICA REP2 SYNC TO "{ip2}:10000"')
    assert [r[:4] for r in rows(rep1, "SHOW REPLICAS")] == [["REP2", f"{ip2}:10000", "sync", None]]
    eventually(lambda: status(rep1, "REP2")[0] == "ready", "REP2 ready on the new MAIN")
    _, summary = run(rep1, "CREATE (:Node {after: 'failover'})")
    assert sync_failures(summary) == []
    assert count(rep2) == 4

    # A restarted replica keeps its role (the volume holds it) and rejoins its MAIN.
    started = time.monotonic()
    docker("restart", c.ids["replica2"])
    took = time.monotonic() - started
    assert took < 10, f"docker restart took {took:.1f}s"
    c.refresh("replica2")
    rep2 = c.uris["replica2"]
    eventually(lambda: rows(rep2, "SHOW REPLICATION ROLE") == [["replica"]], "replica2 back as a replica")
    assert count(rep2) == 4

    # The MAIN may learn only from its next write that the old connection is gone; it then
    # reconnects at once, but if REP2 is not listening yet that write warns and REP2 catches
    # up in the background: SYNC again once one write does not warn.
    def synchronous_write():
        _, summary = run(rep1, "CREATE (:Node {after: 'restart'})")
        return not sync_failures(summary)

    eventually(synchronous_write, "a write replicated synchronously to the restarted REP2")
    assert count(rep2) == count(rep1) >= 5
