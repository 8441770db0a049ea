"""Hostile queries must not hurt the session that sent them, nor the server.

For each query below the client gets a clear error (or the right answer, where computing it is
cheap), then the *same* session (neo4j driver, after the driver's RESET) or the same
connection (pymgclient) answers `RETURN 1`, and the server process is still alive (the fixture
also fails the test if the server panicked or no longer stops cleanly on SIGTERM).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import mgclient
import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import Neo4jError

TIMEOUT_FLAGS = ("--query-execution-timeout-sec=1",)
# Far above what the server needs at rest (a few MiB), far below what the collect needs (GiBs).
MEMORY_FLAGS = ("--memory-limit=256",)


@dataclass
class Hostile:
    name: str
    query: Callable[[], str]
    flags: tuple[str, ...]
    # Either the expected single value, or the expected error (code, message fragment).
    value: object = None
    code: str | None = None
    message: str | None = None


CASES = [
    Hostile(
        "nested_parentheses",
        lambda: "RETURN " + "(" * 100_000 + "1" + ")" * 100_000,
        (),
        code="Neo.ClientError.Statement.SyntaxError",
        message="nested too deeply",
    ),
    Hostile(
        "ten_megabyte_string",
        lambda: "RETURN '" + "x" * 10_000_000 + "' AS s",
        MEMORY_FLAGS,
        value=("x", 10_000_000),
    ),
    Hostile(
        "hundred_thousand_terms",
        lambda: "RETURN " + "+".join(["1"] * 100_000),
        (),
        value=100_000,
    ),
    Hostile(
        "endless_unwind",
        lambda: "UNWIND range(1, 1000000000000) AS x RETURN count(x)",
        TIMEOUT_FLAGS,
        code="Neo.ClientError.Transaction.TransactionTimedOut",
        message="timed out after 1 seconds",
    ),
    Hostile(
        "collect_past_memory_limit",
        lambda: "UNWIND range(1, 50000000) AS x RETURN collect(x)",
        MEMORY_FLAGS,
        code="Neo.TransientError.General.MemoryPoolOutOfMemoryError",
        message="Memory limit exceeded!",
    ),
]


def check_value(case: Hostile, got):
    if isinstance(case.value, tuple):
        char, length = case.value
        assert isinstance(got, str) and len(got) == length and set(got) == {char}
    else:
        assert got == case.value


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_neo4j_session_survives(server_with, case):
    server = server_with(*case.flags)
    with GraphDatabase.driver(
        server.uri, auth=None, connection_timeout=10, max_connection_pool_size=1
    ) as driver:
        with driver.session() as session:
            if case.code is None:
                record = session.run(case.query()).single(strict=True)
                check_value(case, record.value())
            else:
                with pytest.raises(Neo4jError) as failure:
                    session.run(case.query()).consume()
                assert failure.value.code == case.code, failure.value
                assert case.message in failure.value.message
            assert session.run("RETURN 1 AS one").single(strict=True).value() == 1
            # Still the same session: a write and a read of it.
            session.run("CREATE (:After {ok: true})").consume()
            assert session.run("MATCH (a:After) RETURN count(a)").single().value() == 1
    server.assert_alive()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_pymgclient_connection_survives(server_with, case):
    server = server_with(*case.flags)
    conn = mgclient.connect(host=server.host, port=server.port)
    conn.autocommit = True
    try:
        cursor = conn.cursor()
        if case.code is None:
            cursor.execute(case.query())
            ((got,),) = cursor.fetchall()
            check_value(case, got)
        else:
            # pymgclient reports the message only, not the code.
            with pytest.raises(mgclient.DatabaseError, match=case.message):
                cursor.execute(case.query())
                cursor.fetchall()
        cursor = conn.cursor()
        cursor.execute("RETURN 1")
        assert cursor.fetchall() == [(1,)]
        assert conn.status != mgclient.CONN_STATUS_BAD
    finally:
        conn.close()
    server.assert_alive()


def test_memory_limit_leaves_room_for_queries_below_it(server_with):
    """After a query was stopped at the limit, its memory is free again for the next one."""
    server = server_with(*MEMORY_FLAGS)
    with GraphDatabase.driver(server.uri, auth=None, max_connection_pool_size=1) as driver:
        with driver.session() as session:
            for _ in range(3):
                with pytest.raises(Neo4jError) as failure:
                    session.run("UNWIND range(1, 50000000) AS x RETURN collect(x)").consume()
                assert failure.value.code == "Neo.TransientError.General.MemoryPoolOutOfMemoryError"
                # About 32 MiB of values: well below the limit.
                got = session.run("UNWIND range(1, 1000000) AS x RETURN size(collect(x))")
                assert got.single().value() == 1_000_000
    server.assert_alive()
