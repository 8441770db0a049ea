"""Raw-socket tests: exact handshake replies, message sequencing, and hostile input.

Every hostile case ends the same way: the bad connection gets a FAILURE or is closed, the
server process is still alive (the fixture also fails the test if the log shows a Rust panic
or SIGTERM no longer stops it cleanly), a connection opened before the attack still works,
and new connections on both Bolt 4.4 and 5.8 still work.
"""

from __future__ import annotations

import random
import select
import struct
import time

import pytest

import boltraw
from boltraw import (
    BEGIN,
    COMMIT,
    FAILURE,
    GOODBYE,
    HELLO,
    IGNORED,
    MAGIC,
    PULL,
    RECORD,
    RESET,
    RUN,
    SUCCESS,
    BoltConn,
    Closed,
    Raw,
    Structure,
    chunk,
    failure_code,
    handshake_bytes,
    hello_message,
    message,
    pack,
    version,
)

SYNTAX_ERROR = "Neo.ClientError.Statement.SyntaxError"
NO_VERSION = b"\x00\x00\x00\x00"
V44 = version(4, 4)
V58 = version(5, 8)


# ------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def bystander(server):
    """A healthy connection opened before the bad input; it must keep working."""
    conn = boltraw.connect(server.port, V44)
    yield conn
    conn.close()


def assert_still_serving(server, bystander: BoltConn | None = None):
    server.assert_alive()
    if bystander is not None:
        _, rows, _ = bystander.query("RETURN 1 AS x")
        assert rows == [[1]], "a connection opened before the bad input stopped working"
    for slot in (V44, V58):
        with boltraw.connect(server.port, slot) as conn:
            fields, rows, _ = conn.query("RETURN $v AS v", {"v": "still here"})
            assert (fields, rows) == (["v"], [["still here"]])


def failure_or_close(conn: BoltConn, timeout_s: float = 10.0) -> str:
    """The bad connection's fate: 'failure' (a FAILURE arrived) or 'closed'; nothing else."""
    try:
        msg = conn.read_message(timeout_s)
    except Closed:
        return "closed"
    except (TimeoutError, boltraw.DecodeError, UnicodeDecodeError) as exc:
        pytest.fail(f"server neither sent FAILURE nor closed: {exc!r}")
    assert msg.tag == FAILURE, f"expected FAILURE or close, got {msg!r}"
    assert isinstance(msg.fields[0].get("message"), str), msg
    return "failure"


def send_quietly(conn: BoltConn, data: bytes):
    """Sends; a server that already hung up is an acceptable reaction, not an error."""
    try:
        conn.send(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def assert_closed_without_reply(conn: BoltConn):
    try:
        leftover = conn.read_until_closed(10.0)
    except TimeoutError:
        pytest.fail("server kept the connection open")
    assert leftover == b"", f"server replied {leftover[:64]!r} before closing"


def ready_conn(server, slot: bytes = V44) -> BoltConn:
    return boltraw.connect(server.port, slot)


def hex_slots(text: str) -> list[bytes]:
    data = bytes.fromhex(text)
    return [data[i : i + 4] for i in range(0, 16, 4)]


# ------------------------------------------------------------------------------------------
# Handshake matrix (bolt.md 1.4): the exact proposals real clients send

CLIENT_PROPOSALS = [
    ("neo4j-python-5.28-and-6.x", "000001FF 00080805 00020404 00000003", "00000805"),
    ("pymgclient-1.5", "00000104 00000001 00000000 00000000", "00000104"),
    ("pymgclient-1.6", "00000404 00000304 00000104 00000001", "00000404"),
    ("neo4rs-0.8", "00000104 00000004 00000000 00000000", "00000104"),
    ("neo4rs-0.9", "00000404 00000304 00000104 00000004", "00000404"),
    ("range-4.4-to-4.2", "00020404 00000000 00000000 00000000", "00000404"),
]


@pytest.mark.parametrize(
    "proposal,expected", [(p, e) for _, p, e in CLIENT_PROPOSALS], ids=[n for n, _, _ in CLIENT_PROPOSALS]
)
def test_handshake_matrix(shared_server, proposal, expected):
    with BoltConn(shared_server.port) as conn:
        reply = conn.handshake(*hex_slots(proposal))
        assert reply.hex().upper() == expected
        meta = conn.hello()
        assert meta["server"].startswith("Neo4j/"), meta
        assert isinstance(meta.get("connection_id"), str), meta
        fields, rows, _ = conn.query("RETURN 1 AS one")
        assert (fields, rows) == (["one"], [[1]])


def test_handshake_neo4j_5_26_gets_a_5x_version(shared_server):
    with BoltConn(shared_server.port) as conn:
        reply = conn.handshake(*hex_slots("00070705 00020404 00000104 00000003"))
        major, minor = reply[3], reply[2]
        assert reply[:2] == b"\x00\x00"
        assert major == 5 and minor <= 7 and minor != 5, reply.hex()
        conn.hello()


@pytest.mark.parametrize(
    "proposal",
    [
        "00000003 00000000 00000000 00000000",
        "00000001 00000002 00000000 00000000",
        "00000505 00000000 00000000 00000000",
        "00000000 00000000 00000000 00000000",
        "000001FF 00000000 00000000 00000000",
    ],
    ids=["bolt-3.0-only", "bolt-1-and-2", "bolt-5.5-only", "all-zero", "manifest-only"],
)
def test_handshake_without_common_version_is_refused(shared_server, proposal):
    with BoltConn(shared_server.port) as conn:
        conn.send(handshake_bytes(*hex_slots(proposal)))
        try:
            reply = conn.recv_exact(4)
        except Closed:
            pytest.fail("server closed without the 00 00 00 00 reply")
        assert reply == NO_VERSION
        assert_closed_without_reply(conn)
    assert_still_serving(shared_server)


def test_handshake_in_one_byte_fragments(shared_server):
    with BoltConn(shared_server.port) as conn:
        for byte in handshake_bytes(*hex_slots("000001FF 00080805 00020404 00000003")):
            conn.send(bytes([byte]))
        assert conn.recv_exact(4) == bytes.fromhex("00000805")
        conn.version = (5, 8)
        conn.hello()
        assert conn.query("RETURN 2 AS two")[1] == [[2]]


def test_hello_pipelined_with_handshake_bolt_4_4(shared_server):
    with BoltConn(shared_server.port) as conn:
        conn.send(handshake_bytes(V44) + hello_message(4))
        assert conn.recv_exact(4) == bytes.fromhex("00000404")
        hello = conn.read_message()
        assert hello.tag == SUCCESS and hello.fields[0]["server"].startswith("Neo4j/")


def test_everything_pipelined_with_handshake_bolt_5_8(shared_server):
    with BoltConn(shared_server.port) as conn:
        conn.send(
            handshake_bytes(V58)
            + hello_message(5)
            + message(RUN, "RETURN 3 AS x", {}, {})
            + message(PULL, {"n": -1})
        )
        assert conn.recv_exact(4) == bytes.fromhex("00000805")
        tags = [conn.read_message() for _ in range(5)]
        assert [m.tag for m in tags] == [SUCCESS, SUCCESS, SUCCESS, RECORD, SUCCESS], tags
        assert tags[2].fields[0]["fields"] == ["x"]
        assert tags[3].fields[0] == [3]
        assert tags[4].fields[0].get("has_more", False) is False


# ------------------------------------------------------------------------------------------
# Well-formed protocol details that real clients depend on


def _expect_tags(conn: BoltConn, tags: list[int]) -> list[Structure]:
    got = []
    for expected in tags:
        msg = conn.read_message()
        got.append(msg)
        assert msg.tag == expected, f"after {got[:-1]!r} expected 0x{expected:02X}, got {msg!r}"
    return got


@pytest.mark.parametrize("slot", [V44, V58], ids=["4.4", "5.8"])
def test_failure_then_ignored_until_reset(server, slot):
    with ready_conn(server, slot) as conn:
        conn.send(
            message(BEGIN, {})
            + message(RUN, "CREATE (:Lost)", {}, {})
            + message(PULL, {"n": -1})
            + message(RUN, "RETURN 1 +", {}, {})
            + message(PULL, {"n": -1})
            + message(COMMIT)
        )
        got = _expect_tags(conn, [SUCCESS, SUCCESS, SUCCESS, FAILURE, IGNORED, IGNORED])
        failure = got[3].fields[0]
        assert failure_code(failure) == SYNTAX_ERROR, failure
        assert isinstance(failure.get("message"), str)
        if slot == V58:
            # Bolt 5.7+ layout; the Python driver shows "unknown error" if any key is missing.
            for key in ("neo4j_code", "gql_status", "description", "message"):
                assert isinstance(failure.get(key), str), (key, failure)

        # Sent only now: a RESET may jump ahead of requests queued before it (they would
        # then be IGNORED), so pipelining it with the above would make the replies ambiguous.
        conn.send(
            message(RESET)
            + message(RUN, "MATCH (n:Lost) RETURN count(*) AS c", {}, {})
            + message(PULL, {"n": -1})
        )
        got = _expect_tags(conn, [SUCCESS, SUCCESS, RECORD, SUCCESS])
        assert got[2].fields[0] == [0], "the failed transaction must not have committed"


@pytest.mark.parametrize("slot", [V44, V58], ids=["4.4", "5.8"])
def test_graph_structures_on_the_wire(server, slot):
    is_v5 = slot == V58
    with ready_conn(server, slot) as conn:
        _, rows, _ = conn.query(
            "CREATE p=(a:L {k: 1})-[r:T {w: 2}]->(b:M) RETURN a, r, b, p"
        )
        (a, r, b, p) = rows[0]
        assert a.tag == 0x4E and len(a.fields) == (4 if is_v5 else 3), a
        assert a.fields[1:3] == [["L"], {"k": 1}]
        assert b.tag == 0x4E and b.fields[1:3] == [["M"], {}]
        a_id, b_id = a.fields[0], b.fields[0]
        assert isinstance(a_id, int) and isinstance(b_id, int) and a_id != b_id

        assert r.tag == 0x52 and len(r.fields) == (8 if is_v5 else 5), r
        r_id = r.fields[0]
        assert r.fields[1:5] == [a_id, b_id, "T", {"w": 2}]

        assert p.tag == 0x50 and len(p.fields) == 3, p
        nodes, rels, indices = p.fields
        assert [n.fields[0] for n in nodes] == [a_id, b_id]
        (unbound,) = rels
        assert unbound.tag == 0x72 and len(unbound.fields) == (4 if is_v5 else 3), unbound
        assert unbound.fields[:3] == [r_id, "T", {"w": 2}]
        assert indices == [1, 1]

        if is_v5:
            assert a.fields[3] == str(a_id) and b.fields[3] == str(b_id)
            assert r.fields[5:8] == [str(r_id), str(a_id), str(b_id)]
            assert unbound.fields[3] == str(r_id)

        _, rows, _ = conn.query("MATCH p=(y)<-[:T]-(x) RETURN p")
        (back,) = rows[0]
        nodes, rels, indices = back.fields
        assert [n.fields[0] for n in nodes] == [b_id, a_id]
        assert [u.fields[0] for u in rels] == [r_id]
        assert indices == [-1, 1], "a relationship walked backwards has a negative index"


def test_non_minimal_encodings_are_accepted(shared_server):
    cases = [
        (Raw(b"\xC8\x01"), 1),
        (Raw(b"\xC9\x00\x05"), 5),
        (Raw(b"\xCA\x00\x00\x00\x07"), 7),
        (Raw(b"\xCB" + struct.pack(">q", 42)), 42),
        (Raw(b"\xCB" + struct.pack(">q", -1)), -1),
        (Raw(b"\xD0\x01a"), "a"),
        (Raw(b"\xD1\x00\x01b"), "b"),
        (Raw(b"\xD2\x00\x00\x00\x01c"), "c"),
        (Raw(b"\xD4\x01\x01"), [1]),
        (Raw(b"\xD6\x00\x00\x00\x01\x02"), [2]),
        (Raw(b"\xD8\x01\x81k\x03"), {"k": 3}),
        (Raw(b"\xCD\x00\x01\xFF"), b"\xFF"),
    ]
    with ready_conn(shared_server) as conn:
        for raw, expected in cases:
            _, rows, _ = conn.query("RETURN $p AS p", {"p": raw})
            assert boltraw.same_value(rows[0][0], expected), (raw.data.hex(), rows)


def test_client_noop_chunks_are_ignored(shared_server):
    with ready_conn(shared_server) as conn:
        conn.send(
            b"\x00\x00"
            + message(RUN, "RETURN 4 AS x", {}, {})
            + b"\x00\x00\x00\x00"
            + message(PULL, {"n": -1})
            + b"\x00\x00"
        )
        got = _expect_tags(conn, [SUCCESS, RECORD, SUCCESS])
        assert got[1].fields[0] == [4]


def test_message_split_into_many_small_chunks(shared_server):
    with ready_conn(shared_server) as conn:
        payload = pack(Structure(RUN, "RETURN $s AS s", {"s": "z" * 1000}, {}))
        conn.send(chunk(payload, max_chunk=7) + message(PULL, {"n": -1}))
        got = _expect_tags(conn, [SUCCESS, RECORD, SUCCESS])
        assert got[1].fields[0] == ["z" * 1000]


@pytest.mark.parametrize("slot", [V44, V58], ids=["4.4", "5.8"])
def test_server_never_sends_noop_chunks(server, slot):
    # read_message raises ProtocolError on an empty chunk where a message should start.
    with ready_conn(server, slot) as conn:
        conn.run("UNWIND range(1, 20000) AS i RETURN i")
        assert conn.read_message().tag == SUCCESS
        seen = []
        while True:
            conn.pull(100)
            rows, summary = conn.read_result()
            seen += [row[0] for row in rows]
            if not summary.get("has_more", False):
                break
            assert len(rows) == 100
        assert seen == list(range(1, 20001))
        conn.send(message(BEGIN, {}))
        assert conn.read_message().tag == SUCCESS
        _, rows, _ = conn.query("CREATE (n:N) RETURN n")
        conn.send(message(COMMIT))
        assert conn.read_message().tag == SUCCESS
        conn.send(message(RESET))
        assert conn.read_message().tag == SUCCESS


def test_goodbye_closes_without_reply(shared_server):
    with ready_conn(shared_server) as conn:
        conn.send(message(GOODBYE))
        assert_closed_without_reply(conn)
    assert_still_serving(shared_server)


def test_vanished_client_mid_transaction_releases_its_writes(server):
    with ready_conn(server) as setup:
        setup.query("CREATE (:Hot {v: 0})")
    victim = ready_conn(server)
    victim.send(message(BEGIN, {}))
    assert victim.read_message().tag == SUCCESS
    victim.query("MATCH (n:Hot) SET n.v = 1")
    victim.close()  # no COMMIT, no GOODBYE: the way mgclient and neo4rs disconnect

    # The server notices the close asynchronously: retry a write to the same node until it
    # goes through, with a deadline. The abandoned value must never become visible.
    deadline = time.monotonic() + 10.0
    while True:
        with ready_conn(server) as conn:
            conn.run("MATCH (n:Hot) SET n.w = 2 RETURN n.v AS v")
            conn.pull(-1)
            head = conn.read_message()
            if head.tag == SUCCESS:
                rows, _ = conn.read_result()
                assert rows == [[0]], "an abandoned transaction's write became visible"
                break
            assert head.tag == FAILURE, head
        assert time.monotonic() < deadline, f"write still blocked by a dead client: {head!r}"
        time.sleep(0.01)  # poll interval, bounded by the deadline above


# ------------------------------------------------------------------------------------------
# Hostile input before Bolt is established


def test_wrong_magic_is_closed_without_reply(server, bystander):
    with BoltConn(server.port) as conn:
        send_quietly(conn, b"\x60\x60\xB0\x18" + V44 + bytes(12))
        assert_closed_without_reply(conn)
    assert_still_serving(server, bystander)


def test_http_request_is_closed(server, bystander):
    with BoltConn(server.port) as conn:
        send_quietly(conn, b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n")
        assert_closed_without_reply(conn)
    assert_still_serving(server, bystander)


def tls_client_hello() -> bytes:
    """A plausible TLS 1.2 ClientHello record (what bolt+s sends first)."""
    body = (
        b"\x03\x03"
        + bytes(range(32))  # random
        + b"\x00"  # session id
        + b"\x00\x04\x13\x01\xc0\x2f"  # cipher suites
        + b"\x01\x00"  # compression
        + b"\x00\x00"  # no extensions
    )
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(handshake).to_bytes(2, "big") + handshake


def test_tls_hello_on_plain_port_is_closed(server, bystander):
    with BoltConn(server.port) as conn:
        send_quietly(conn, tls_client_hello())
        assert_closed_without_reply(conn)
    assert_still_serving(server, bystander)


@pytest.mark.parametrize("length", [0, 2, 4, 10, 19], ids=lambda n: f"{n}B")
def test_truncated_handshake_then_eof_is_closed(server, bystander, length):
    with BoltConn(server.port) as conn:
        send_quietly(conn, handshake_bytes(V44)[:length])
        conn.shutdown_write()
        assert_closed_without_reply(conn)
    assert_still_serving(server, bystander)


def test_stalled_handshakes_do_not_block_others(server, bystander):
    stalled = []
    try:
        for length in (0, 3, 4, 19):
            conn = BoltConn(server.port)
            if length:
                conn.send(handshake_bytes(V44)[:length])
            stalled.append(conn)
        assert_still_serving(server, bystander)
    finally:
        for conn in stalled:
            conn.close()
    assert_still_serving(server, bystander)


@pytest.mark.parametrize(
    "request_bytes",
    [
        message(RUN, "RETURN 1", {}, {}) + message(PULL, {"n": -1}),
        message(BEGIN, {}),
        message(PULL, {"n": -1}),
        message(0x55),
    ],
    ids=["RUN", "BEGIN", "PULL", "unknown-signature"],
)
def test_requests_before_hello_are_refused(server, bystander, request_bytes):
    with BoltConn(server.port) as conn:
        assert conn.handshake(V44) == bytes.fromhex("00000404")
        send_quietly(conn, request_bytes)
        failure_or_close(conn)
    assert_still_serving(server, bystander)


# ------------------------------------------------------------------------------------------
# Hostile input on an established connection


def garbage(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


GARBAGE_MESSAGES = {
    "not-a-structure": chunk(pack(1)),
    "reserved-marker-C4": chunk(b"\xC4"),
    "reserved-marker-in-params": chunk(b"\xB3\x10" + pack("RETURN 1") + b"\xDF" + pack({})),
    "unknown-signature": message(0x55),
    "unknown-signature-with-fields": message(0x7A, "x", 1),
    "run-with-one-field": chunk(b"\xB1\x10" + pack("RETURN 1")),
    "run-with-wrong-field-types": message(RUN, 1, [], "x"),
    "trailing-bytes-after-message": chunk(pack(Structure(RUN, "RETURN 1", {}, {})) + b"\x01\x02"),
    "invalid-utf8": chunk(b"\xB3\x10\xD0\x02\xFF\xFE" + pack({}) + pack({})),
    "map-key-not-a-string": chunk(b"\xB3\x10" + pack("RETURN 1") + b"\xA1\x01\x01" + pack({})),
    "random-framed-1": chunk(garbage(1, 2000)),
    "random-framed-2": chunk(b"\xB3" + garbage(2, 500)),
    "random-framed-3": chunk(garbage(3, 70000)),
}


@pytest.mark.parametrize(
    "payload", list(GARBAGE_MESSAGES.values()), ids=list(GARBAGE_MESSAGES.keys())
)
def test_garbage_messages(server, bystander, payload):
    with ready_conn(server) as conn:
        send_quietly(conn, payload)
        failure_or_close(conn)
    assert_still_serving(server, bystander)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_unframed_garbage_then_eof(server, bystander, seed):
    with ready_conn(server) as conn:
        send_quietly(conn, garbage(seed, 5000))
        try:
            conn.shutdown_write()
        except OSError:
            pass
        outcome = failure_or_close(conn)
        if outcome == "failure":
            try:
                conn.read_until_closed(10.0)
            except TimeoutError:
                pytest.fail("server kept a connection open after EOF")
    assert_still_serving(server, bystander)


LYING_SIZES = {
    "string-u32": b"\xD2\x7F\xFF\xFF\xFF" + b"abc",
    "string-u16": b"\xD1\xFF\xFF" + b"abc",
    "bytes-u32": b"\xCE\x7F\xFF\xFF\xFF" + b"abc",
    "list-u32": b"\xD6\xFF\xFF\xFF\xFF" + b"\x01",
    "list-u16": b"\xD5\xFF\xFF" + b"\x01\x02",
    "map-u32": b"\xDA\xFF\xFF\xFF\xFF" + b"\x81k\x01",
    "struct-fields": b"\xBF\x58\x01",
}


@pytest.mark.parametrize("value_bytes", list(LYING_SIZES.values()), ids=list(LYING_SIZES.keys()))
def test_declared_size_larger_than_what_follows(server, bystander, value_bytes):
    with ready_conn(server) as conn:
        send_quietly(conn, chunk(b"\xB3\x10" + pack("RETURN $p") + b"\xA1\x81p" + value_bytes))
        failure_or_close(conn)
    assert_still_serving(server, bystander)


def test_chunk_header_larger_than_data_then_eof(server, bystander):
    with ready_conn(server) as conn:
        send_quietly(conn, b"\xFF\xFF" + pack(Structure(RUN, "RETURN 1", {}, {})))
        conn.shutdown_write()
        failure_or_close(conn)
    assert_still_serving(server, bystander)


NESTING_DEPTH = 100_000

DEEP_VALUES = {
    "lists": Raw(b"\x91" * NESTING_DEPTH + b"\xC0"),
    "maps": Raw(b"\xA1\x81a" * NESTING_DEPTH + b"\xC0"),
    "structs": Raw(b"\xB1\x01" * NESTING_DEPTH + b"\xC0"),
}


@pytest.mark.parametrize("deep", list(DEEP_VALUES.values()), ids=list(DEEP_VALUES.keys()))
def test_nesting_deeper_than_the_cap(server, bystander, deep):
    with ready_conn(server) as conn:
        send_quietly(conn, message(RUN, "RETURN $p AS p", {"p": deep}, {}) + message(PULL, {"n": -1}))
        failure_or_close(conn)
    assert_still_serving(server, bystander)


def test_moderate_nesting_still_round_trips(shared_server):
    value = "leaf"
    for i in range(32):
        value = [value] if i % 2 else {"k": value}
    with ready_conn(shared_server) as conn:
        _, rows, _ = conn.query("RETURN $p AS p", {"p": value})
        assert rows == [[value]]


# The server's message-size cap must be below this; the test sends at most this much.
MAX_BYTES_SENT = 512 * 1024 * 1024


def test_message_over_the_size_cap(server, bystander):
    declared = 0x7FFFFFF0
    first = b"\xB3\x10\xD2" + declared.to_bytes(4, "big")
    filler = b"a" * 0xFFFF
    with ready_conn(server) as conn:
        sent = 0
        try:
            conn.send(struct.pack(">H", len(first)) + first)
            frame = struct.pack(">H", len(filler)) + filler
            while sent < MAX_BYTES_SENT:
                conn.send(frame)
                sent += len(frame)
                readable, _, _ = select.select([conn.sock], [], [], 0)
                if readable:
                    break  # the server answered (FAILURE) or hung up
        except (BrokenPipeError, ConnectionResetError):
            pass  # hung up while we were still sending: a fine reaction
        except TimeoutError:
            pass  # stopped reading (after a FAILURE, say): judged below
        failure_or_close(conn, timeout_s=30.0)
    assert_still_serving(server, bystander)


def test_unknown_signature_in_a_transaction(server, bystander):
    with ready_conn(server) as conn:
        conn.send(message(BEGIN, {}))
        assert conn.read_message().tag == SUCCESS
        send_quietly(conn, message(0x55))
        failure_or_close(conn)
    assert_still_serving(server, bystander)


def test_hello_twice_is_refused(server, bystander):
    with ready_conn(server) as conn:
        send_quietly(conn, message(HELLO, {"user_agent": "again/1.0", "scheme": "none"}))
        failure_or_close(conn)
    assert_still_serving(server, bystander)


def test_many_bad_connections_at_once(server, bystander):
    conns = []
    try:
        for i in range(50):
            conn = BoltConn(server.port)
            kind = i % 3
            if kind == 0:
                send_quietly(conn, b"GET / HTTP/1.1\r\n\r\n")
            elif kind == 1:
                send_quietly(conn, handshake_bytes(V44) + garbage(100 + i, 300))
            else:
                send_quietly(conn, MAGIC + b"\x00")
            conns.append(conn)
        assert_still_serving(server, bystander)
    finally:
        for conn in conns:
            conn.close()
    assert_still_serving(server, bystander)
