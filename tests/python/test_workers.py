"""The Bolt worker pool (`--bolt-num-workers`): a few threads serve every connection.

A worker must never block on one connection: not on a client that stops reading a large
result, not on one that sends half a message, and a long query holds only the worker running
it. Every read here has a deadline; nothing sleeps.
"""

from __future__ import annotations

import os
import threading
import time

import boltraw
from boltraw import PULL, RESET, RUN, SUCCESS, message, version

V44 = version(4, 4)


def ready(server) -> boltraw.BoltConn:
    return boltraw.connect(server.port, V44)


def answers(conn: boltraw.BoltConn, value):
    _, rows, _ = conn.query("RETURN $v AS v", {"v": value})
    assert rows == [[value]]


def replies_to_run_pull_reset(conn: boltraw.BoltConn) -> list:
    """The tags of the three replies to RUN, PULL and a RESET sent after them."""
    return [conn.read_message().tag for _ in range(3)]


def test_a_client_that_stops_reading_holds_no_worker(server_with):
    server = server_with("--bolt-num-workers=1")
    stalled = ready(server)
    other = ready(server)
    try:
        # Tens of MiB of records that nobody reads: the one worker must not wait for them.
        stalled.run("UNWIND range(1, 3000000) AS x RETURN x, 'padding padding' AS p")
        stalled.pull(-1)
        for i in range(20):
            answers(other, i)
        with ready(server) as late:
            answers(late, "a connection opened later is served too")
    finally:
        stalled.close()
    answers(other, "after the stalled client left")


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_huge_pull_all_goes_out_as_the_client_reads_it(server_with):
    """`PULL {n: -1}` of ~250 MiB of records to a client that reads nothing yet: the server
    encodes about a buffer's worth, then waits for the client instead of holding the whole
    answer in memory; then the client reads every record, in order, and the summary."""
    server = server_with("--bolt-num-workers=1")
    rows, pad = 200_000, "p" * 1200
    with ready(server) as warm:  # the engine's own start-up allocations, before measuring
        answers(warm, "warm")
    before = rss_mib(server.proc.pid)
    big = ready(server)
    other = ready(server)
    try:
        big.run("UNWIND range(1, $n) AS x RETURN x, $pad AS p", {"n": rows, "pad": pad})
        big.pull(-1)
        assert big.read_message().tag == SUCCESS  # RUN
        first = big.read_message()  # the PULL has started; now the client reads nothing
        assert first.tag == boltraw.RECORD and first.fields[0] == [1, pad], first
        # One worker: `other` is served only once the big PULL's turn has ended.
        answers(other, "served while the big result waits for its reader")
        grown = rss_mib(server.proc.pid) - before
        assert grown < 64, f"the server grew by {grown:.0f} MiB for a result nobody read yet"
        seen = 1
        while True:
            msg = big.read_message()
            if msg.tag != boltraw.RECORD:
                break
            seen += 1
            assert msg.fields[0] == [seen, pad], msg
        assert msg.tag == SUCCESS and not msg.fields[0].get("has_more", False), msg
        assert seen == rows
        answers(big, "the connection goes on")
    finally:
        big.close()
        other.close()


def test_a_long_query_holds_only_its_worker(server_with):
    server = server_with("--bolt-num-workers=2")
    long = ready(server)
    try:
        long.run("UNWIND range(1, 1000000000000) AS x RETURN count(x)")
        long.pull(-1)
        # The other worker serves every other connection meanwhile.
        conns = [ready(server) for _ in range(8)]
        for round_ in range(5):
            for c in conns:
                answers(c, round_)
        for c in conns:
            c.close()
        # RESET still reaches the long query through its worker's probe.
        long.send(message(RESET))
        tags = replies_to_run_pull_reset(long)
        assert tags[2] == SUCCESS and tags[1] != SUCCESS, tags
        answers(long, "after the RESET")
    finally:
        long.close()


def test_many_pipelining_connections_on_one_worker(server_with):
    server = server_with("--bolt-num-workers=1")
    conns = [ready(server) for _ in range(40)]
    try:
        for round_ in range(3):
            for i, c in enumerate(conns):
                # Split across two sends, the second half later: partial input must not block.
                data = message(RUN, "RETURN $v AS v", {"v": i * 10 + round_}, {}) + message(
                    PULL, {"n": -1}
                )
                c.send(data[:5])
            for i, c in enumerate(conns):
                data = message(RUN, "RETURN $v AS v", {"v": i * 10 + round_}, {}) + message(
                    PULL, {"n": -1}
                )
                c.send(data[5:])
            for i, c in enumerate(conns):
                head = c.read_message()
                assert head.tag == SUCCESS, head
                rows, _ = c.read_result()
                assert rows == [[i * 10 + round_]]
    finally:
        for c in conns:
            c.close()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_used_over(pid: int, seconds: float) -> float:
    """The CPU time `pid` uses while `seconds` of wall time pass (sampled as they pass)."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    tick = threading.Event()
    while time.monotonic() - start < seconds:
        tick.wait(0.05)
    return cpu_seconds(pid) - start_cpu


def test_workers_poll_for_requests_only_right_after_serving_one(server_with):
    """`--bolt-busy-poll-us`: a worker that answered a request polls for the next one instead
    of sleeping, but only briefly: a server whose client went quiet is back to using no CPU."""
    server = server_with("--bolt-busy-poll-us=10000", "--bolt-num-workers=2")
    pid = server.proc.pid
    with ready(server) as conn:
        for i in range(300):
            answers(conn, i)
        # Quiet now, with the connection still open: at most one 10 ms poll per worker.
        idle_cpu = cpu_used_over(pid, 1.5)
        assert idle_cpu < 0.3, f"an idle server used {idle_cpu:.2f} s of CPU in 1.5 s"
        answers(conn, "still served after the quiet spell")
