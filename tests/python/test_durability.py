"""Durability with real processes: what a client was told is committed survives a clean restart
and a SIGKILL; a second server cannot open a data directory in use; the flags that turn the WAL
and recovery off do what they say.

Each test uses its own data directory, shared by the successive server processes it starts.
"""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time

import pytest
from neo4j.exceptions import Neo4jError, ServiceUnavailable, SessionExpired

from conftest import Node, Server
from neo4j_helpers import make_driver

DEADLINE_S = 60.0


def query(server: Server, text: str, **params):
    """Runs `text` in an autocommit transaction (schema statements refuse explicit ones)."""
    with make_driver(server) as driver, driver.session() as session:
        return [r.values() for r in session.run(text, params)]


def test_commits_indexes_and_constraints_survive_a_restart(tmp_path):
    node = Node(tmp_path)
    server = node.start()
    query(server, "CREATE INDEX ON :Person(id)")
    query(server, "CREATE CONSTRAINT ON (p:Person) ASSERT p.id IS UNIQUE")
    query(server, "UNWIND range(1, 500) AS i CREATE (:Person {id: i, name: 'p' + toString(i)})")
    query(server, "MATCH (a:Person {id: 1}), (b:Person {id: 2}) CREATE (a)-[:KNOWS {since: 2020}]->(b)")
    query(server, "MATCH (p:Person) WHERE p.id > 400 DETACH DELETE p")
    query(server, "MATCH (p:Person {id: 3}) SET p.name = 'changed', p:Friend")
    node.stop()

    server = node.start()
    assert query(server, "MATCH (p:Person) RETURN count(p)") == [[400]]
    assert query(server, "MATCH (p:Person:Friend) RETURN p.name") == [["changed"]]
    assert query(
        server, "MATCH (:Person {id: 1})-[k:KNOWS]->(b) RETURN k.since, b.name"
    ) == [[2020, "p2"]]
    assert query(server, "SHOW INDEX INFO") == [["label+property", "Person", "id", 400]]
    assert query(server, "SHOW CONSTRAINT INFO") == [["unique", "Person", ["id"], ""]]
    with pytest.raises(Neo4jError) as failure:
        query(server, "CREATE (:Person {id: 5})")
    assert failure.value.code == "Neo.ClientError.Schema.ConstraintValidationFailed"
    # New commits after recovery continue the log.
    query(server, "CREATE (:Person {id: 1000})")
    node.stop()
    server = node.start()
    assert query(server, "MATCH (p:Person) RETURN count(p)") == [[401]]
    node.stop()


def test_every_acknowledged_commit_survives_sigkill(tmp_path):
    """A writer commits transactions of 100 tagged nodes; the server is killed at seeded random
    moments and restarted on the same directory: every acknowledged tag has 100 nodes, and no
    tag has anything but 0 or 100."""
    seed = int(os.environ.get("FERROGRAPH_CRASH_SEED", random.randrange(1 << 30)))
    print(f"crash test seed {seed} (FERROGRAPH_CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    node = Node(tmp_path)
    acknowledged: set[int] = set()
    next_tag = 0
    for round_ in range(3):
        server = node.start()
        stop = threading.Event()
        errors: list[BaseException] = []

        def writer(server_: Server, first_tag: int):
            tag = first_tag
            try:
                with make_driver(server_) as driver:
                    while not stop.is_set():
                        try:
                            with driver.session() as session:
                                session.run(
                                    "UNWIND range(1, 100) AS i CREATE (:Tagged {tag: $tag, i: i})",
                                    tag=tag,
                                ).consume()
                        except (ServiceUnavailable, SessionExpired, OSError):
                            return  # the server was killed mid-commit: not acknowledged
                        acknowledged.add(tag)
                        tag += 1
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        thread = threading.Thread(target=writer, args=(server, next_tag), daemon=True)
        thread.start()
        # Kill after a seeded number of acknowledged commits (at least a few).
        want = len(acknowledged) + rng.randrange(5, 60)
        deadline = time.monotonic() + DEADLINE_S
        while len(acknowledged) < want and thread.is_alive():
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.001 * rng.randrange(1, 5))
        node.kill()
        stop.set()
        thread.join(timeout=DEADLINE_S)
        assert not thread.is_alive(), "the writer did not notice the server died"
        assert not errors, errors
        next_tag += 10_000

        server = node.start()
        counts = dict(query(server, "MATCH (t:Tagged) RETURN t.tag, count(*)"))
        missing = sorted(t for t in acknowledged if counts.get(t) != 100)
        assert not missing, f"round {round_}, seed {seed}: acknowledged tags lost: {missing[:10]}"
        partial = {t: c for t, c in counts.items() if c != 100}
        assert not partial, f"round {round_}, seed {seed}: partial transactions: {partial}"
        node.stop()


def test_a_second_server_on_the_same_directory_refuses_to_start(tmp_path):
    node = Node(tmp_path)
    node.start()
    second = Server(tmp_path / "second")
    second.data_dir = node.data_dir
    with pytest.raises(RuntimeError) as refused:
        second.start()
    message = str(refused.value)
    assert "is in use by another ferrograph process" in message, message
    assert f"pid {node.current.proc.pid}" in message, message
    node.stop()


def test_without_the_wal_or_an_exit_snapshot_a_restart_starts_empty(tmp_path):
    node = Node(tmp_path, "--storage-wal-enabled=false", "--storage-snapshot-on-exit=false")
    server = node.start()
    query(server, "CREATE (:Gone)")
    node.stop()
    server = node.start()
    assert query(server, "MATCH (n) RETURN count(n)") == [[0]]
    node.stop()


def test_recovery_off_starts_empty_and_keeps_the_old_files_aside(tmp_path):
    node = Node(tmp_path)
    server = node.start()
    query(server, "CREATE (:Old)")
    node.stop()
    server = node.start("--data-recovery-on-startup=false")
    assert query(server, "MATCH (n) RETURN count(n)") == [[0]]
    query(server, "CREATE (:New)")
    node.stop()
    backups = list((node.data_dir / ".backup").iterdir())
    assert len(backups) == 1 and (backups[0] / "wal").is_dir()
    server = node.start()
    assert query(server, "MATCH (n) RETURN labels(n)") == [[["New"]]]
    node.stop()


def test_flush_every_n_tx_keeps_clean_shutdown_commits(tmp_path):
    """Memgraph's default cadence (fsync every 100,000 commits): a clean shutdown flushes the
    rest, so nothing is lost without a crash."""
    node = Node(tmp_path, "--storage-wal-file-flush-every-n-tx=100000")
    server = node.start()
    with make_driver(server) as driver:
        for i in range(50):
            driver.execute_query("CREATE (:Row {i: $i})", {"i": i})  # a managed transaction
    node.stop()
    server = node.start()
    assert query(server, "MATCH (r:Row) RETURN count(r)") == [[50]]
    node.stop()


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs (needs root and mount rights, as on CI); skipped where it cannot be made."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_fails_writes_clearly_and_they_resume_after_space_is_freed(
    tmp_path, small_disk
):
    node = Node(tmp_path)
    node.data_dir = small_disk / "data"
    server = node.start()
    # Fill most of the disk with a file we can delete later, then write until the WAL hits ENOSPC.
    filler = small_disk / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * (3 * 1024 * 1024))
    payload = "x" * 20_000
    acknowledged = 0
    with make_driver(server) as driver, driver.session() as session:
        failure = None
        for i in range(1000):
            try:
                session.run("CREATE (:Blob {i: $i, payload: $p})", i=i, p=payload).consume()
                acknowledged += 1
            except Neo4jError as e:
                failure = e
                break
        assert failure is not None, "4 MiB never filled up"
        assert "No space left on device" in failure.message, failure.message
        assert "write-ahead log" in failure.message, failure.message
        assert acknowledged > 0
        # Reads keep working, and see exactly the acknowledged commits.
        count = session.run("MATCH (b:Blob) RETURN count(b) AS c").single()["c"]
        assert count == acknowledged
        # Writes keep failing while the disk is full, without taking the server down.
        with pytest.raises(Neo4jError):
            session.run("CREATE (:Blob {i: -1, payload: $p})", p=payload).consume()
        filler.unlink()
        session.run("CREATE (:Blob {i: -2, payload: 'small'})").consume()
        acknowledged += 1
    server.assert_alive()
    node.stop()
    server = node.start()
    assert query(server, "MATCH (b:Blob) RETURN count(b)") == [[acknowledged]]
    node.stop()


def dump(server: Server):
    """The whole graph as comparable rows: nodes (id, labels, properties), then relationships."""
    nodes = query(
        server,
        "MATCH (n) RETURN id(n), labels(n), properties(n) ORDER BY id(n)",
    )
    rels = query(
        server,
        "MATCH (a)-[r]->(b) RETURN id(r), id(a), id(b), type(r), properties(r) ORDER BY id(r)",
    )
    return nodes, rels


def build_graph(server: Server, start: int, count: int):
    query(
        server,
        "UNWIND range($s, $s + $n - 1) AS i CREATE (:P {i: i, name: 'n' + toString(i), f: i / 3.0})",
        s=start,
        n=count,
    )
    query(
        server,
        "MATCH (a:P), (b:P) WHERE a.i >= $s AND b.i = a.i + 1 CREATE (a)-[:NEXT {w: a.i}]->(b)",
        s=start,
    )


def test_create_snapshot_returns_its_path_and_recovery_uses_snapshot_plus_wal(tmp_path):
    node = Node(tmp_path)
    server = node.start()
    query(server, "CREATE INDEX ON :P(i)")
    build_graph(server, 0, 300)
    with make_driver(server) as driver, driver.session() as session:
        result = session.run("CREATE SNAPSHOT")
        rows = [r.values() for r in result]
        assert result.keys() == ["path"]
    path = rows[0][0]
    assert path.endswith(".snapshot") and os.path.isfile(path), rows
    assert os.path.dirname(path) == str(node.data_dir / "snapshots")
    # Changes after the snapshot come from the WAL.
    build_graph(server, 1000, 50)
    query(server, "MATCH (p:P) WHERE p.i < 10 DETACH DELETE p")
    before = dump(server)
    node.kill()

    server = node.start()
    assert dump(server) == before
    log = server.log_text()
    assert "recovered the snapshot" in log and "recovered the write-ahead log" in log, log
    assert query(server, "SHOW INDEX INFO") == [["label+property", "P", "i", 340]]
    node.stop()


def test_snapshot_on_exit_and_without_the_wal(tmp_path):
    node = Node(tmp_path, "--storage-wal-enabled=false")
    server = node.start()
    build_graph(server, 0, 100)
    before = dump(server)
    node.stop()  # --storage-snapshot-on-exit defaults to true
    assert len(list((node.data_dir / "snapshots").glob("*.snapshot"))) == 1
    server = node.start()
    assert dump(server) == before
    node.stop()


def test_a_damaged_newest_snapshot_falls_back_to_an_older_one_and_the_wal(tmp_path):
    node = Node(tmp_path, "--storage-snapshot-on-exit=false")
    server = node.start()
    build_graph(server, 0, 100)
    query(server, "CREATE SNAPSHOT")
    build_graph(server, 200, 100)
    newest = query(server, "CREATE SNAPSHOT")[0][0]
    build_graph(server, 400, 100)
    before = dump(server)
    node.stop()
    data = bytearray(open(newest, "rb").read())
    data[len(data) // 2] ^= 0x40
    open(newest, "wb").write(bytes(data))

    server = node.start()
    assert dump(server) == before
    assert "recovered from an older snapshot" in server.log_text()
    node.stop()


def test_retention_keeps_n_snapshots_and_prunes_wal_segments_they_cover(tmp_path):
    node = Node(
        tmp_path,
        "--storage-snapshot-retention-count=2",
        "--storage-wal-file-size-kib=4",
        "--storage-snapshot-on-exit=false",
    )
    server = node.start()
    for round_ in range(5):
        build_graph(server, round_ * 100, 100)
        query(server, "CREATE SNAPSHOT")
    snapshots = sorted((node.data_dir / "snapshots").glob("*.snapshot"))
    assert len(snapshots) == 2, snapshots
    segments = sorted((node.data_dir / "wal").glob("*.wal"))
    assert segments and not segments[0].name.startswith("0000000001"), segments
    before = dump(server)
    node.kill()
    server = node.start()
    assert dump(server) == before
    node.stop()


def test_periodic_snapshots(tmp_path):
    node = Node(tmp_path, "--storage-snapshot-interval-sec=1", "--storage-snapshot-on-exit=false")
    server = node.start()
    query(server, "CREATE (:Tick)")
    snapshots = node.data_dir / "snapshots"
    deadline = time.monotonic() + DEADLINE_S
    while not list(snapshots.glob("*.snapshot")):
        assert time.monotonic() < deadline, "no periodic snapshot appeared"
        time.sleep(0.05)
    node.stop()


@pytest.mark.parametrize("damage", ["truncate", "bitflip"])
def test_a_damaged_last_wal_record_is_cut_and_the_server_starts_with_the_earlier_ones(
    tmp_path, damage
):
    node = Node(tmp_path, "--storage-snapshot-on-exit=false")
    server = node.start()
    for i in range(20):
        query(server, "CREATE (:Row {i: $i})", i=i)
    node.stop()
    segment = sorted((node.data_dir / "wal").glob("*.wal"))[-1]
    data = bytearray(segment.read_bytes())
    if damage == "truncate":
        data = data[:-3]  # inside the last record
    else:
        data[-2] ^= 0x01  # one bit of the last record's payload
    segment.write_bytes(bytes(data))

    server = node.start()
    assert query(server, "MATCH (r:Row) RETURN max(r.i), count(r)") == [[18, 19]]
    assert "WAL ends in a torn record" in server.log_text()
    query(server, "CREATE (:Row {i: 100})")
    node.stop()
    server = node.start()
    assert query(server, "MATCH (r:Row) RETURN count(r)") == [[20]]
    node.stop()
