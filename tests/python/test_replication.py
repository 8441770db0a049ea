"""Replication with real processes on 127.0.0.1: a MAIN and its replicas, each with its own
Bolt port, replication port and data directory, driven only through Cypher over Bolt as a
Memgraph user would (SET REPLICATION ROLE, REGISTER REPLICA, SHOW REPLICAS ...).

Conditions are polled with a deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import socket
import time

import pytest
from neo4j.exceptions import ClientError, Neo4jError

from conftest import Node, Server, _RUNNING
from neo4j_helpers import eventually, make_driver, notifications

REPLICA_WRITE = (
    "Write queries are forbidden on the replica instance. Replica instances accept only read "
    "queries, while the main instance accepts read and write queries. Please retry your query "
    "on the main instance."
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Instance(Node):
    """A `Node` (successive servers on one data directory) with a replication port, driven
    through Cypher."""

    def __init__(self, tmp_path, name: str, *flags: str):
        super().__init__(tmp_path / name, "--replication-replica-check-frequency-sec=1", *flags)
        self.repl_port = free_port()

    @property
    def server(self) -> Server | None:
        return self.current

    def start(self, *extra: str) -> "Instance":
        super().start(*extra)
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.repl_port}"

    def run(self, text: str, **params):
        """Runs `text` autocommit; returns (rows, summary)."""
        with make_driver(self.server) as driver, driver.session() as session:
            result = session.run(text, params)
            rows = [r.values() for r in result]
            return rows, result.consume()

    def rows(self, text: str, **params):
        return self.run(text, **params)[0]

    def fails(self, text: str) -> Neo4jError:
        with pytest.raises(Neo4jError) as info:
            self.run(text)
        return info.value

    def demote(self):
        self.run(f"SET REPLICATION ROLE TO REPLICA WITH PORT {self.repl_port}")

    def replicas(self) -> dict:
        """SHOW REPLICAS by name: (socket_address, sync_mode, system_info, data_info)."""
        rows = self.rows("SHOW REPLICAS")
        return {r[0]: tuple(r[1:]) for r in rows}

    def count(self) -> int:
        return self.rows("MATCH (n) RETURN count(n)")[0][0]


def register(main: "Instance", name: str, mode: str, replica: "Instance"):
    """Demotes `replica` and registers it on `main` as `name` in `mode`."""
    replica.demote()
    main.run(f"REGISTER REPLICA {name} {mode} TO '{replica.address}'")


def codes(summary) -> list[str]:
    return [n["code"] for n in notifications(summary)]


def status(main: Instance, name: str):
    info = main.replicas()[name][3]["memgraph"]
    return info["status"], info["ts"], info["behind"]


@pytest.fixture
def cluster(tmp_path):
    """Starts instances by name; each is stopped (and checked) at the end."""
    made: list[Instance] = []

    def make(name: str, *flags: str) -> Instance:
        inst = Instance(tmp_path, name, *flags).start()
        made.append(inst)
        return inst

    yield make
    for inst in made:
        if inst.server and inst.server in _RUNNING:
            inst.stop()


def test_roles_and_their_errors(cluster):
    a = cluster("a")
    assert a.rows("SHOW REPLICATION ROLE") == [["main"]]
    with make_driver(a.server) as driver, driver.session() as session:
        assert session.run("SHOW REPLICATION ROLE").keys() == ["replication role"]
    assert "Replica must set a port!" in a.fails("SET REPLICATION ROLE TO REPLICA").message
    assert "Main can't set a port!" in a.fails("SET REPLICATION ROLE TO MAIN WITH PORT 10000").message
    assert "Port must be an integer literal!" in a.fails(
        "SET REPLICATION ROLE TO REPLICA WITH PORT '10000'"
    ).message
    assert "Couldn't set replication role to main!" in a.fails("SET REPLICATION ROLE TO MAIN").message
    a.demote()
    assert a.rows("SHOW REPLICATION ROLE") == [["replica"]]
    assert "Couldn't set role to replica!" in a.fails(
        f"SET REPLICATION ROLE TO REPLICA WITH PORT {a.repl_port}"
    ).message
    assert a.fails("SHOW REPLICAS").message == "Show replicas query should only be run on the main instance."
    assert a.fails("REGISTER REPLICA x SYNC TO '127.0.0.1:1'").message == "Replica can't register another replica!"
    assert a.fails("DROP REPLICA x").message.startswith("Replica can't unregister a replica!")
    with make_driver(a.server) as driver, driver.session() as session:
        tx = session.begin_transaction()
        with pytest.raises(Neo4jError) as info:
            tx.run("SHOW REPLICATION ROLE").consume()
        assert info.value.message.startswith("Managing replication is not allowed in multicommand transactions.")
    _, summary = a.run("SET REPLICATION ROLE TO MAIN")
    assert "SetReplica" in codes(summary)
    assert a.rows("SHOW REPLICATION ROLE") == [["main"]]
    a.run("CREATE (:AfterPromotion)")


def test_the_seed_cluster_sync_and_async(cluster):
    main = cluster("main")
    rep1 = cluster("rep1")
    rep2 = cluster("rep2")
    rep1.demote()
    rep2.demote()
    _, summary = main.run(f"REGISTER REPLICA REP1 SYNC TO '{rep1.address}'")
    assert "RegisterReplica" in codes(summary)
    main.run(f"REGISTER REPLICA REP2 ASYNC TO '{rep2.address}'")
    rows = main.rows("SHOW REPLICAS")
    assert [r[:4] for r in rows] == [
        ["REP1", rep1.address, "sync", None],
        ["REP2", rep2.address, "async", None],
    ]
    eventually(lambda: all(s[0] == "ready" for s in (status(main, "REP1"), status(main, "REP2"))), "both ready")
    assert status(main, "REP1") == ("ready", 0, 0)

    # Reads on a replica take no timestamps.
    for _ in range(20):
        rep1.rows("SHOW INDEX INFO")
        rep2.rows("MATCH (n) RETURN count(n)")
    main.run("CREATE (:Node)")
    # SYNC: applied when the write returns.
    assert rep1.rows("MATCH (n) RETURN labels(n)") == [[["Node"]]]
    eventually(lambda: status(main, "REP2") == ("ready", 2, 0), "REP2 at ts 2")
    assert status(main, "REP1") == ("ready", 2, 0)
    eventually(lambda: rep2.rows("MATCH (n) RETURN labels(n)") == [[["Node"]]], "REP2 has the node")

    # Writes on a replica are refused with Memgraph's words; reads work.
    for text in ("CREATE (:X)", "CREATE INDEX ON :Node(id)", "MATCH (n) SET n.x = 1"):
        err = rep1.fails(text)
        assert err.message == REPLICA_WRITE, text
        assert isinstance(err, ClientError)
    assert rep1.count() == 1

    # Indexes and constraints replicate too.
    main.run("CREATE INDEX ON :Node(id)")
    main.run("CREATE CONSTRAINT ON (n:Node) ASSERT n.id IS UNIQUE")
    for rep in (rep1, rep2):
        eventually(lambda rep=rep: rep.rows("SHOW INDEX INFO") == main.rows("SHOW INDEX INFO"), "index replicated")
        eventually(lambda rep=rep: rep.rows("SHOW CONSTRAINT INFO") == main.rows("SHOW CONSTRAINT INFO"), "constraint replicated")

    # DROP REPLICA: gone from SHOW REPLICAS, the replica keeps its data and stops receiving.
    _, summary = main.run("DROP REPLICA REP2")
    assert "DropReplica" in codes(summary)
    assert list(main.replicas()) == ["REP1"]
    main.run("CREATE (:Node {id: 2})")
    assert rep2.count() == 1 and rep2.rows("SHOW REPLICATION ROLE") == [["replica"]]
    # Registered again, it gets what it missed.
    main.run(f"REGISTER REPLICA REP2 ASYNC TO '{rep2.address}'")
    eventually(lambda: rep2.count() == 2, "REP2 caught up after re-registration")
    eventually(lambda: status(main, "REP2")[2] == 0, "REP2 behind 0")


def test_registration_errors_leave_nothing_behind(cluster):
    main = cluster("main")
    rep = cluster("rep")
    register(main, "R1", "ASYNC", rep)
    err = main.fails(f"REGISTER REPLICA R1 ASYNC TO '{rep.address}'")
    assert err.message.startswith("Couldn't register replica R1. Error: 1")
    err = main.fails(f"REGISTER REPLICA R2 ASYNC TO '{rep.address}'")
    assert err.message.startswith("Couldn't register replica R2. Error: 2")
    err = main.fails(f"REGISTER REPLICA R3 ASYNC TO '127.0.0.1:{free_port()}'")
    assert err.message.startswith("Couldn't register replica R3. Error: 5")
    err = main.fails("REGISTER REPLICA R4 ASYNC TO '1:2:3'")
    assert err.message.startswith("Invalid socket address.")
    err = main.fails(f"REGISTER REPLICA R5 STRICT_SYNC TO '127.0.0.1:{free_port()}'")
    assert "Error: 5" in err.message
    main.run("DROP REPLICA R1")
    main.run(f"REGISTER REPLICA R6 SYNC TO '{rep.address}'")
    err = main.fails(f"REGISTER REPLICA R7 STRICT_SYNC TO '127.0.0.1:{free_port()}'")
    assert err.message.startswith("Cluster cannot consists of both STRICT_SYNC and SYNC replicas.")
    assert list(main.replicas()) == ["R6"]


def test_register_refused_without_a_wal(cluster):
    main = cluster("main", "--storage-wal-enabled=false")
    rep = cluster("rep")
    rep.demote()
    err = main.fails(f"REGISTER REPLICA R ASYNC TO '{rep.address}'")
    assert "write-ahead log is disabled" in err.message
    assert main.replicas() == {}


def test_a_dead_sync_replica_warns_and_recovers_by_itself(cluster):
    main = cluster("main")
    rep = cluster("rep")
    register(main, "R1", "SYNC", rep)
    main.run("CREATE (:N {v: 1})")
    main.rows("MATCH (n) RETURN n")
    assert status(main, "R1") == ("ready", 2, 0)
    rep.kill()
    started = time.monotonic()
    eventually(lambda: status(main, "R1")[0] == "invalid", "R1 invalid")
    assert time.monotonic() - started < 5
    # The write commits on the MAIN, with a warning, not an error.
    _, summary = main.run("CREATE (:N {v: 2})")
    warnings = [n for n in notifications(summary) if n["code"] == "SyncReplicationFailure"]
    assert warnings and warnings[0]["title"].startswith("Failed to replicate to SYNC replica 'R1'")
    assert main.count() == 2
    # One clock for starts and commits: write (2), read (3), write (start 4, commit 5).
    assert status(main, "R1") == ("invalid", 2, -3)
    # Back (role kept across the restart): caught up without anyone doing anything.
    rep.start()
    assert rep.rows("SHOW REPLICATION ROLE") == [["replica"]]
    eventually(lambda: status(main, "R1")[0] == "ready" and status(main, "R1")[2] == 0, "R1 ready again")
    assert sorted(r[0] for r in rep.rows("MATCH (n) RETURN n.v")) == [1, 2]
    _, summary = main.run("CREATE (:N {v: 3})")
    assert "SyncReplicationFailure" not in codes(summary)
    assert rep.count() == 3


def test_a_replica_flushing_every_n_commits_serves_sync_and_catches_up(cluster):
    """With --storage-wal-file-flush-every-n-tx > 1 a replica does not fsync each batch (as a
    MAIN with that flag does not fsync each commit): SYNC commits are still applied on it when
    they return, and after a kill it comes back and is caught up."""
    main = cluster("main")
    rep = cluster("rep", "--storage-wal-file-flush-every-n-tx=1000")
    register(main, "R1", "SYNC", rep)
    for v in range(5):
        _, summary = main.run("CREATE (:N {v: $v})", v=v)
        assert "SyncReplicationFailure" not in codes(summary)
        assert rep.count() == v + 1
    rep.kill()
    eventually(lambda: status(main, "R1")[0] == "invalid", "R1 invalid")
    main.run("CREATE (:N {v: 5})")
    rep.start()
    eventually(lambda: status(main, "R1")[0] == "ready" and status(main, "R1")[2] == 0, "R1 caught up")
    assert sorted(r[0] for r in rep.rows("MATCH (n) RETURN n.v")) == list(range(6))


def test_strict_sync_aborts_everywhere_and_resumes(cluster):
    main = cluster("main")
    strict = cluster("strict")
    lazy = cluster("lazy")
    register(main, "S", "STRICT_SYNC", strict)
    register(main, "A", "ASYNC", lazy)
    eventually(lambda: status(main, "S")[0] == "ready", "S ready")
    main.run("CREATE (:N {v: 1})")
    assert strict.count() == 1
    strict.kill()
    err = main.fails("CREATE (:N {v: 2})")
    assert "Failed to replicate to STRICT_SYNC replica 'S'" in err.message
    assert "Transaction was aborted on all instances." in err.message
    assert main.count() == 1
    eventually(lambda: lazy.count() == 1, "the async replica has the first write")
    strict.start()

    def write():
        try:
            main.run("CREATE (:N {v: 3})")
            return True
        except Neo4jError:
            return False

    eventually(write, "writes resume once the strict replica is back")
    assert strict.count() == 2
    eventually(lambda: lazy.count() == 2, "the async replica too")


def test_restarts_keep_roles_and_registrations(cluster):
    main = cluster("main")
    rep = cluster("rep")
    register(main, "R1", "ASYNC", rep)
    main.run("CREATE (:N {v: 1})")
    eventually(lambda: rep.count() == 1, "replicated")
    main.kill()
    main.start()
    assert main.rows("SHOW REPLICATION ROLE") == [["main"]]
    assert list(main.replicas()) == ["R1"]
    main.run("CREATE (:N {v: 2})")
    eventually(lambda: rep.count() == 2, "replicated after the MAIN's restart")
    rep.stop()
    # An ASYNC replica that is down never fails or warns a write.
    _, summary = main.run("CREATE (:N {v: 3})")
    assert codes(summary) == []
    rep.start()
    assert rep.rows("SHOW REPLICATION ROLE") == [["replica"]]
    eventually(lambda: rep.count() == 3, "replicated after the replica's restart")
    eventually(lambda: status(main, "R1")[2] == 0, "behind 0")


def test_manual_failover_and_fencing_of_the_old_main(cluster):
    """Seed 002: kill the MAIN, promote a replica, register the other on it; the old MAIN
    that comes back refuses writes instead of running a split brain."""
    main = cluster("main")
    rep1 = cluster("rep1")
    rep2 = cluster("rep2")
    register(main, "R1", "SYNC", rep1)
    register(main, "R2", "SYNC", rep2)
    for i in range(10):
        main.run("CREATE (:N {v: $v})", v=i)
    main.kill()
    rep1.run("SET REPLICATION ROLE TO MAIN")
    rep1.run(f"REGISTER REPLICA R2 SYNC TO '{rep2.address}'")
    for i in range(10, 15):
        rep1.run("CREATE (:N {v: $v})", v=i)
    assert rep2.count() == 15
    assert status(rep1, "R2") == ("ready", rep1.replicas()["R2"][3]["memgraph"]["ts"], 0)
    # The old MAIN comes back with its old role and replicas: it learns of the newer MAIN
    # from them and refuses writes.
    main.start()
    assert main.rows("SHOW REPLICATION ROLE") == [["main"]]

    def fenced():
        try:
            main.run("CREATE (:N {v: 99})")
            return False
        except Neo4jError as e:
            return "no longer the MAIN" in e.message

    eventually(fenced, "the old MAIN is fenced")
    assert rep2.count() == 15 and rep1.count() == 15
    # Demoted and registered on the new MAIN, it catches up (it wrote nothing new).
    register(rep1, "OLD", "SYNC", main)
    eventually(lambda: main.count() == 15, "the old MAIN caught up as a replica")


def test_a_replica_that_wrote_on_its_own_is_diverged(cluster):
    a = cluster("a")
    b = cluster("b")
    a.run("CREATE (:A)")
    b.run("CREATE (:B)")
    b.demote()
    err = a.fails(f"REGISTER REPLICA B ASYNC TO '{b.address}'")
    assert err.message.startswith("Couldn't register replica B. Error: 3")
    assert a.replicas() == {}
    assert b.rows("MATCH (n) RETURN labels(n)") == [[["B"]]]


def test_full_resync_from_a_snapshot_when_the_wal_was_pruned(cluster):
    main = cluster(
        "main",
        "--storage-wal-file-size-kib=1",
        "--storage-snapshot-retention-count=1",
    )
    for i in range(300):
        main.run("CREATE (:N {v: $v, pad: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'})", v=i)
    main.rows("CREATE SNAPSHOT")
    main.run("CREATE (:N {v: 300})")
    main.rows("CREATE SNAPSHOT")
    wal_dir = main.data_dir / "wal"
    assert sorted(p.name for p in wal_dir.iterdir())[0] != "0000000001.wal", "the first segments were pruned"
    rep = cluster("rep")
    register(main, "R", "ASYNC", rep)
    eventually(lambda: rep.count() == 301, "the replica loaded the snapshot")
    main.run("CREATE (:N {v: 301})")
    eventually(lambda: rep.count() == 302, "and follows after it")
    assert "full resync" in main.server.log_text()


def test_min_replicas_to_write(cluster):
    main = cluster("main", "--replication-min-replicas-to-write=1", "--replication-min-replicas-max-lag-sec=5")
    err = main.fails("CREATE (:N)")
    assert "min-replicas-to-write" in err.message
    rep = cluster("rep")
    register(main, "R", "ASYNC", rep)

    def writes():
        try:
            main.run("CREATE (:N)")
            return True
        except Neo4jError:
            return False

    eventually(writes, "writes allowed with one replica")
    rep.kill()
    eventually(lambda: not writes(), "writes refused again without it")


def test_neo4j_scheme_routes_writes_to_the_main_and_reads_to_replicas(cluster):
    from neo4j import GraphDatabase, READ_ACCESS, WRITE_ACCESS

    main = cluster("main")
    rep = cluster("rep")
    register(main, "R", "SYNC", rep)
    eventually(lambda: status(main, "R")[0] == "ready", "R ready")
    for entry in (main, rep):
        uri = f"neo4j://127.0.0.1:{entry.server.port}"
        with GraphDatabase.driver(uri, auth=None) as driver:
            with driver.session(default_access_mode=WRITE_ACCESS) as session:
                session.run("CREATE (:Routed)").consume()
            with driver.session(default_access_mode=READ_ACCESS) as session:
                role = session.run("SHOW REPLICATION ROLE").single().value()
                assert role == "replica"
                assert session.run("MATCH (n:Routed) RETURN count(n)").single().value() >= 1
    assert main.rows("MATCH (n:Routed) RETURN count(n)") == [[2]]


def test_a_partitioned_sync_replica_is_invalid_and_heals(cluster):
    """Through our fault proxy: the replica is alive but unreachable (no reset, nothing
    delivered). The MAIN notices within about three heartbeats, commits go on with a warning
    after a bounded wait, and the replica catches up when the partition heals."""
    from faultproxy import FaultProxy

    main = cluster("main")
    rep = cluster("rep")
    rep.demote()
    proxy = FaultProxy(("127.0.0.1", rep.repl_port)).start()
    try:
        main.run(f"REGISTER REPLICA R SYNC TO '127.0.0.1:{proxy.port}'")
        main.run("CREATE (:N {v: 1})")
        assert rep.count() == 1
        proxy.partition()
        started = time.monotonic()
        _, summary = main.run("CREATE (:N {v: 2})")
        took = time.monotonic() - started
        assert took < 10, f"a SYNC commit waited {took:.1f}s"
        assert "SyncReplicationFailure" in codes(summary)
        eventually(lambda: status(main, "R")[0] == "invalid", "R invalid", deadline_s=15)
        assert main.count() == 2
        proxy.heal()
        proxy.cut()  # the stalled connection is dead by now on the MAIN's side; start clean
        eventually(lambda: status(main, "R") [0] == "ready" and status(main, "R")[2] == 0, "R healed")
        assert rep.count() == 2
    finally:
        proxy.stop()


def test_a_ready_replica_shows_replicating_while_a_commit_is_on_its_way(cluster):
    """Memgraph's transient "replicating": an ASYNC replica behind a slow link (our fault
    proxy delays every chunk) is still streaming, so it is neither "recovery" nor "invalid";
    until it acknowledges the MAIN's newest commit SHOW REPLICAS says "replicating" with a
    negative `behind`, then "ready" with 0."""
    from faultproxy import FaultProxy

    main = cluster("main")
    rep = cluster("rep")
    rep.demote()
    proxy = FaultProxy(("127.0.0.1", rep.repl_port)).start()
    try:
        main.run(f"REGISTER REPLICA R ASYNC TO '127.0.0.1:{proxy.port}'")
        eventually(lambda: status(main, "R") == ("ready", 0, 0), "R ready")
        proxy.delay(0.5)
        main.run("CREATE (:N)")  # ASYNC: acknowledged before the replica has it
        shown, ts, behind = status(main, "R")
        assert (shown, ts) == ("replicating", 0) and behind < 0, (shown, ts, behind)
        proxy.delay(0)
        eventually(lambda: status(main, "R") == ("ready", 2, 0), "R acknowledged ts 2")
        assert rep.count() == 1
    finally:
        proxy.stop()


@pytest.mark.parametrize("seed", [11, 23])
def test_sigkill_of_the_main_under_load_loses_no_acknowledged_sync_write(cluster, seed):
    """One writer inserts increasing ids; the MAIN is killed at a seeded random moment. Every
    write acknowledged without a SyncReplicationFailure warning is on the SYNC replica, which
    holds nothing else but possibly the write in flight; the ASYNC replica holds a gap-free
    prefix. After a manual failover to the SYNC replica every instance converges."""
    import random
    import threading

    rng = random.Random(seed)
    main = cluster("main")
    sync_rep = cluster("sync")
    async_rep = cluster("async")
    register(main, "S", "SYNC", sync_rep)
    register(main, "A", "ASYNC", async_rep)
    eventually(lambda: status(main, "A")[0] == "ready", "A ready")

    acked: list[int] = []
    acked_on_sync: list[int] = []
    attempted: list[int] = []
    stop = threading.Event()

    def writer():
        with make_driver(main.server) as driver, driver.session() as session:
            i = 0
            while not stop.is_set():
                attempted.append(i)
                try:
                    summary = session.run("CREATE (:N {id: $i})", i=i).consume()
                except Exception:
                    return
                acked.append(i)
                if "SyncReplicationFailure" not in codes(summary):
                    acked_on_sync.append(i)
                i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    eventually(lambda: len(acked) >= 50, "the writer got going")
    deadline = time.monotonic() + rng.uniform(0.2, 1.0)
    while time.monotonic() < deadline:
        time.sleep(0.01)
    main.kill()
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()

    def ids(inst):
        return sorted(r[0] for r in inst.rows("MATCH (n:N) RETURN n.id"))

    on_sync = ids(sync_rep)
    assert set(acked_on_sync) <= set(on_sync), "an acknowledged SYNC write is missing"
    assert set(on_sync) <= set(attempted), "the SYNC replica holds a write nobody sent"
    assert len(on_sync) <= len(acked) + 1
    on_async = ids(async_rep)
    assert on_async == list(range(len(on_async))), "the ASYNC replica is not a gap-free prefix"

    # Failover to the SYNC replica; the ASYNC one follows it and converges.
    sync_rep.run("SET REPLICATION ROLE TO MAIN")
    sync_rep.run(f"REGISTER REPLICA A ASYNC TO '{async_rep.address}'")
    sync_rep.run("CREATE (:N {id: -1})")
    eventually(lambda: ids(async_rep) == ids(sync_rep), "the ASYNC replica converged")
    eventually(lambda: status(sync_rep, "A")[2] == 0, "behind 0")
    # The old MAIN recovers every write it acknowledged (fsync per commit), and is fenced.
    main.start()
    assert set(acked) <= set(ids(main))


def test_an_async_replica_never_gets_ahead_of_a_ready_sync_replica(cluster):
    """A commit reaches ASYNC replicas only once every ready SYNC replica confirmed it: with the
    SYNC replica behind a stalled link, the MAIN dies with a commit visible on it but confirmed
    nowhere. The ASYNC replica does not have it, so after the failover to the SYNC replica
    (seed 002) it follows the new MAIN instead of being left diverged."""
    import threading
    from faultproxy import FaultProxy

    main = cluster("main")
    sync_rep = cluster("sync")
    async_rep = cluster("async")
    sync_rep.demote()
    proxy = FaultProxy(("127.0.0.1", sync_rep.repl_port)).start()
    try:
        main.run(f"REGISTER REPLICA S SYNC TO '127.0.0.1:{proxy.port}'")
        register(main, "A", "ASYNC", async_rep)
        main.run("CREATE (:N {v: 1})")
        eventually(lambda: async_rep.count() == 1, "the first commit on the ASYNC replica")
        proxy.partition()
        def write():
            try:
                main.run("CREATE (:N {v: 2})")
            except Exception:
                pass  # the MAIN is killed while this commit waits

        threading.Thread(target=write, daemon=True).start()
        # The commit is visible on the MAIN while it waits for the stalled SYNC replica.
        eventually(lambda: main.count() == 2, "the second commit visible on the MAIN")
        main.kill()
        assert async_rep.count() == 1, "the ASYNC replica got a commit no SYNC replica had"
        proxy.cut()  # what the stalled link still held is dropped, as if lost with the old MAIN
        proxy.stop()
        sync_rep.run("SET REPLICATION ROLE TO MAIN")
        sync_rep.run(f"REGISTER REPLICA A ASYNC TO '{async_rep.address}'")
        sync_rep.run("CREATE (:N {v: 3})")
        values = "MATCH (n:N) RETURN n.v ORDER BY n.v"
        assert sync_rep.rows(values) == [[1], [3]]
        eventually(lambda: async_rep.rows(values) == [[1], [3]],
                   "the ASYNC replica follows the new MAIN")
    finally:
        proxy.stop()


def test_strict_sync_writes_that_failed_are_nowhere(cluster):
    """A STRICT_SYNC replica is killed while a writer inserts ids: every write that failed is
    absent on the MAIN and the ASYNC replica, every acknowledged one is on all three once the
    replica is back."""
    import threading

    main = cluster("main")
    strict = cluster("strict")
    lazy = cluster("lazy")
    register(main, "S", "STRICT_SYNC", strict)
    register(main, "A", "ASYNC", lazy)
    eventually(lambda: status(main, "S")[0] == "ready", "S ready")
    acked, failed = [], []
    stop = threading.Event()

    def writer():
        with make_driver(main.server) as driver:
            i = 0
            while not stop.is_set():
                try:
                    with driver.session() as session:
                        session.run("CREATE (:N {id: $i})", i=i).consume()
                    acked.append(i)
                except Neo4jError:
                    failed.append(i)
                i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    eventually(lambda: len(acked) >= 30, "the writer got going")
    strict.kill()
    eventually(lambda: len(failed) >= 5, "writes fail while the strict replica is down")
    strict.start()
    eventually(lambda: len(acked) > 0 and acked[-1] > failed[-1], "writes resumed")
    stop.set()
    thread.join(timeout=30)

    def ids(inst):
        return {r[0] for r in inst.rows("MATCH (n:N) RETURN n.id")}

    assert ids(main) == set(acked)
    eventually(lambda: ids(lazy) == set(acked), "the ASYNC replica converged")
    eventually(lambda: ids(strict) == set(acked), "the STRICT_SYNC replica converged")
    assert not set(failed) & (ids(main) | ids(lazy) | ids(strict))


def test_garbage_on_the_replication_port_is_refused_and_harmless(cluster):
    """Bytes that are not our protocol (a huge length, a bad checksum, random noise, a
    half-sent frame) close that connection only; the replica keeps serving its MAIN."""
    import random
    import struct

    main = cluster("main")
    rep = cluster("rep")
    register(main, "R", "SYNC", rep)
    rng = random.Random(5)
    payloads = [
        struct.pack("<II", 0xFFFFFFFF, 0),
        struct.pack("<II", 16, 12345) + b"x" * 16,
        bytes(rng.getrandbits(8) for _ in range(4096)),
        struct.pack("<II", 1000, 0) + b"y" * 10,
        b"GET / HTTP/1.1\r\n\r\n",
    ]
    for payload in payloads:
        with socket.create_connection(("127.0.0.1", rep.repl_port), timeout=5) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(5)
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass
    rep.server.assert_alive()
    main.run("CREATE (:AfterGarbage)")
    assert rep.rows("MATCH (n:AfterGarbage) RETURN count(n)") == [[1]]
    # Another instance cannot take the port the replica listens on.
    other = cluster("other")
    err = other.fails(f"SET REPLICATION ROLE TO REPLICA WITH PORT {rep.repl_port}")
    assert err.message == "Couldn't set role to replica!"
    assert other.rows("SHOW REPLICATION ROLE") == [["main"]]


def test_without_restore_state_an_instance_starts_as_a_main(cluster):
    main = cluster("main")
    rep = cluster("rep")
    register(main, "R", "ASYNC", rep)
    main.run("CREATE (:N)")
    eventually(lambda: rep.count() == 1, "replicated")
    rep.stop()
    rep.start("--replication-restore-state-on-startup=false")
    assert rep.rows("SHOW REPLICATION ROLE") == [["main"]]
    assert rep.count() == 1, "the data is kept"
    assert "Replication configuration will NOT be stored" in rep.server.log_text()
    eventually(lambda: status(main, "R")[0] == "invalid", "the MAIN sees it gone")


def test_a_replica_restarted_as_a_main_that_wrote_is_diverged(cluster):
    """Started without its replication state, a replica is a MAIN of a new epoch: a write it
    takes then is its own, and registering it back on its old MAIN is refused (Error: 3)."""
    main = cluster("main")
    rep = cluster("rep")
    register(main, "R", "ASYNC", rep)
    for _ in range(5):
        main.run("CREATE (:N)")
    eventually(lambda: rep.count() == 5, "replicated")
    main.run("DROP REPLICA R")
    rep.stop()
    rep.start("--replication-restore-state-on-startup=false")
    rep.run("CREATE (:Mine)")
    rep.demote()
    err = main.fails(f"REGISTER REPLICA R ASYNC TO '{rep.address}'")
    assert err.message.startswith("Couldn't register replica R. Error: 3")
