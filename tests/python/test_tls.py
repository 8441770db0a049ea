"""TLS on Bolt: a self-signed certificate made here with the openssl CLI, the server started
with --bolt-cert-file/--bolt-key-file, and real drivers over TLS (neo4j bolt+ssc:// and
bolt+s:// with the certificate trusted, pymgclient with sslmode REQUIRE). A plain-text client
on the TLS port is closed cleanly and the server goes on serving."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import mgclient
import pytest
from neo4j import GraphDatabase
from neo4j._exceptions import BoltError
from neo4j.exceptions import AuthError, DriverError, ServiceUnavailable

from conftest import Server

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl CLI is needed to make a test certificate")


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(server_with, cert):
    c, k = cert
    return server_with(f"--bolt-cert-file={c}", f"--bolt-key-file={k}")


def one(uri, auth=None, query="RETURN 1", **config):
    with GraphDatabase.driver(uri, auth=auth, connection_timeout=10, **config) as d:
        with d.session() as s:
            record = s.run(query).single()
            return record.value() if record else None


def test_neo4j_driver_over_tls(tls_server, cert):
    port = tls_server.port
    assert one(f"bolt+ssc://127.0.0.1:{port}") == 1
    # Many rows and a large value: several TLS records each way, backpressure included.
    with GraphDatabase.driver(f"bolt+ssc://127.0.0.1:{port}", auth=None) as d:
        with d.session() as s:
            rows = s.run("UNWIND range(1, 50000) AS i RETURN i, $big AS big", big="x" * 100_000)
            total = 0
            for r in rows:
                total += r["i"]
                assert len(r["big"]) == 100_000 if r["i"] == 1 else True
            assert total == 50000 * 50001 // 2
            with s.begin_transaction() as tx:
                tx.run("CREATE (:T {v: 1})").consume()
                tx.commit()
            assert s.run("MATCH (n:T) RETURN count(n)").single().value() == 1
    try:
        from neo4j import TrustCustomCAs
    except ImportError:
        return
    trusted = one(
        f"bolt://localhost:{port}",
        encrypted=True,
        trusted_certificates=TrustCustomCAs(str(cert[0])),
    )
    assert trusted == 1


def test_pymgclient_over_tls(tls_server):
    conn = mgclient.connect(
        host="127.0.0.1", port=tls_server.port, sslmode=mgclient.MG_SSLMODE_REQUIRE
    )
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("UNWIND range(1, 1000) AS i RETURN sum(i)")
    assert cur.fetchall() == [(500500,)]
    conn.close()


def test_plain_clients_on_the_tls_port_are_closed_and_the_server_keeps_serving(tls_server):
    port = tls_server.port
    # The driver reads the server's TLS alert as a handshake it cannot use.
    with pytest.raises((ServiceUnavailable, BoltError, DriverError)):
        one(f"bolt://127.0.0.1:{port}")
    with pytest.raises(mgclient.OperationalError):
        mgclient.connect(host="127.0.0.1", port=port, sslmode=mgclient.MG_SSLMODE_DISABLE)
    # Raw Bolt preamble and garbage: the server closes the socket.
    for payload in [bytes.fromhex("6060b017") + bytes(16), b"\x16\x03\x01\xff\xff" + b"x" * 64]:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(payload)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    if not sock.recv(4096):
                        break
                except ConnectionResetError:
                    break
            else:
                pytest.fail("the server kept a non-TLS connection open")
    tls_server.assert_alive()
    assert one(f"bolt+ssc://127.0.0.1:{port}") == 1


def test_auth_over_tls(tls_server):
    uri = f"bolt+ssc://127.0.0.1:{tls_server.port}"
    one(uri, query="CREATE USER alice IDENTIFIED BY 'wonder'")
    with pytest.raises(AuthError):
        one(uri, auth=("alice", "wrong"))
    assert one(uri, auth=("alice", "wonder"), query="RETURN 2") == 2
    conn = mgclient.connect(
        host="127.0.0.1", port=tls_server.port, username="alice", password="wonder",
        sslmode=mgclient.MG_SSLMODE_REQUIRE,
    )
    conn.close()


@pytest.mark.parametrize("case", ["missing", "garbage", "only-cert", "key-as-cert"])
def test_bad_certificate_flags_stop_the_server_with_a_reason(tmp_path, cert, case):
    c, k = cert
    junk = tmp_path / "junk.pem"
    junk.write_text("not a pem file\n")
    flags = {
        "missing": [f"--bolt-cert-file={tmp_path}/nope.pem", f"--bolt-key-file={k}"],
        "garbage": [f"--bolt-cert-file={junk}", f"--bolt-key-file={junk}"],
        "only-cert": [f"--bolt-cert-file={c}"],
        "key-as-cert": [f"--bolt-cert-file={k}", f"--bolt-key-file={k}"],
    }[case]
    server = Server(tmp_path / "s", tuple(flags))
    with pytest.raises(RuntimeError, match="exited with 1") as err:
        server.start()
    assert "panicked" not in str(err.value)
    reason = [l for l in str(err.value).splitlines() if l.startswith("ferrograph: ")]
    assert len(reason) == 1, str(err.value)


def raw_tls(server) -> "boltraw.BoltConn":
    """A raw Bolt 4.4 connection over TLS (certificate not checked), READY."""
    import ssl

    import boltraw

    conn = boltraw.BoltConn(server.port)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn.sock = ctx.wrap_socket(conn.sock)
    assert conn.handshake(boltraw.version(4, 4)) != b"\x00\x00\x00\x00"
    conn.hello()
    return conn


def test_reset_reaches_a_long_query_and_a_stalled_reader_holds_no_worker_over_tls(server_with, cert):
    """The interrupt probe reads through TLS, and a TLS client that stops reading a large
    result only stops its own connection (backpressure), as on a plain connection."""
    import boltraw
    from boltraw import RESET, SUCCESS, message

    c, k = cert
    server = server_with(f"--bolt-cert-file={c}", f"--bolt-key-file={k}", "--bolt-num-workers=1")
    stalled = raw_tls(server)
    long = raw_tls(server)
    try:
        stalled.run("UNWIND range(1, 3000000) AS x RETURN x, 'padding padding' AS p")
        stalled.pull(-1)
        long.run("UNWIND range(1, 1000000000000) AS x RETURN count(x)")
        long.pull(-1)
        long.send(message(RESET))
        tags = [long.read_message().tag for _ in range(3)]
        assert tags[2] == SUCCESS and tags[1] != SUCCESS, tags
        _, rows, _ = long.query("RETURN $v AS v", {"v": "after the RESET"})
        assert rows == [["after the RESET"]]
        with raw_tls(server) as late:
            _, rows, _ = late.query("RETURN 1 AS v")
            assert rows == [[1]]
    finally:
        stalled.close()
        long.close()
    server.assert_alive()
