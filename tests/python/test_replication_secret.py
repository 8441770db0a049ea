"""The replication shared secret (--replication-secret / FERROGRAPH_REPLICATION_SECRET): a MAIN
and a replica with the same secret replicate; with a missing or different secret on either
side REGISTER REPLICA fails saying authentication failed, the replica logs it, and a
registered replica whose secret changed shows as invalid until it is fixed.

Real processes on 127.0.0.1; conditions are polled with deadlines."""

from __future__ import annotations

import pytest

from neo4j_helpers import eventually
from test_replication import cluster, register, status  # noqa: F401  (cluster is a fixture)


def test_matching_secrets_replicate(cluster, monkeypatch):
    main = cluster("main", "--replication-secret=correct horse battery")
    # The environment variable works as well as the flag.
    monkeypatch.setenv("FERROGRAPH_REPLICATION_SECRET", "correct horse battery")
    rep = cluster("rep")
    monkeypatch.delenv("FERROGRAPH_REPLICATION_SECRET")
    register(main, "R", "SYNC", rep)
    main.run("CREATE (:Secret {v: 1})")
    assert rep.rows("MATCH (n:Secret) RETURN n.v") == [[1]]
    assert status(main, "R")[0] == "ready"
    # The secret is in no log line.
    assert "correct horse" not in main.server.log_text() + rep.server.log_text()


@pytest.mark.parametrize(
    "main_flags, replica_flags, why",
    [
        (("--replication-secret=s1",), (), "the replica has no replication secret"),
        (("--replication-secret=s1",), ("--replication-secret=s2",), "differs"),
        ((), ("--replication-secret=s2",), "the replica has a replication secret"),
    ],
    ids=["replica-without", "different", "main-without"],
)
def test_a_mismatch_refuses_registration_clearly(cluster, main_flags, replica_flags, why):
    main = cluster("main", *main_flags)
    rep = cluster("rep", *replica_flags)
    rep.demote()
    err = main.fails(f"REGISTER REPLICA R SYNC TO '{rep.address}'")
    assert "authentication failed" in err.message and why in err.message, err.message
    assert main.rows("SHOW REPLICAS") == []
    main.run("CREATE (:NotShipped)")
    assert rep.rows("MATCH (n) RETURN count(n)") == [[0]]
    # The MAIN checks the replica's proof first and hangs up; the replica logs that too.
    eventually(
        lambda: "replication authentication failed" in rep.server.log_text(),
        "the replica logs the failed authentication",
    )


def test_a_replica_whose_secret_changed_turns_invalid_and_recovers(cluster, monkeypatch):
    main = cluster("main", "--replication-secret=one")
    monkeypatch.setenv("FERROGRAPH_REPLICATION_SECRET", "one")
    rep = cluster("rep")
    register(main, "R", "ASYNC", rep)
    main.run("CREATE (:Before)")
    eventually(lambda: rep.rows("MATCH (n:Before) RETURN count(n)") == [[1]], "replicated")
    rep.stop()
    monkeypatch.setenv("FERROGRAPH_REPLICATION_SECRET", "two")
    rep.start()
    eventually(lambda: status(main, "R")[0] == "invalid", "the replica shows as invalid")
    eventually(
        lambda: "authentication failed" in main.server.log_text(),
        "the MAIN logs why it cannot replicate",
    )
    main.run("CREATE (:During)")
    assert rep.rows("MATCH (n:During) RETURN count(n)") == [[0]]
    rep.stop()
    monkeypatch.setenv("FERROGRAPH_REPLICATION_SECRET", "one")
    rep.start()
    eventually(lambda: status(main, "R")[0] == "ready", "ready again with the right secret")
    eventually(lambda: rep.rows("MATCH (n:During) RETURN count(n)") == [[1]], "caught up")
