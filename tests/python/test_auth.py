"""Users and passwords through real drivers: the neo4j driver (HELLO on 4.x/5.0, LOGON on 5.1+)
and pymgclient (HELLO on 4.x). With no users anyone connects; once a user exists, logins need
that user's name and password; users survive a restart; MEMGRAPH_USER/PASSWORD create one."""

from __future__ import annotations

import time

import mgclient
import neo4j
import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ClientError

from conftest import Node
from test_replication import cluster  # noqa: F401  (a fixture)


def run(server, auth, query, **params):
    with GraphDatabase.driver(server.uri, auth=auth, connection_timeout=10) as d:
        with d.session() as s:
            return [r.values() for r in s.run(query, params)]


def mg_connect(server, username="", password=""):
    return mgclient.connect(
        host=server.host, port=server.port, username=username, password=password
    )


def mg_run(server, query, username="", password=""):
    conn = mg_connect(server, username, password)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(query)
    rows = cur.fetchall()
    conn.close()
    return rows


def test_without_users_anyone_connects_with_any_scheme(server):
    assert run(server, None, "RETURN 1") == [[1]]
    assert run(server, ("nobody", "whatever"), "RETURN 2") == [[2]]
    assert mg_run(server, "RETURN 3") == [(3,)]
    assert mg_run(server, "RETURN 4", "who", "ever") == [(4,)]
    assert run(server, None, "SHOW USERS") == []


def test_once_a_user_exists_logins_need_the_password(server):
    run(server, None, "CREATE USER alice IDENTIFIED BY 'wonder'")
    assert run(server, ("alice", "wonder"), "SHOW USERS") == [["alice"]]
    # Wrong password, unknown user, no credentials: Unauthorized, with both drivers.
    for auth in [("alice", "wrong"), ("bob", "wonder"), None, ("", "")]:
        with pytest.raises(AuthError) as err:
            run(server, auth, "RETURN 1")
        assert err.value.code == "Neo.ClientError.Security.Unauthorized"
    for user, password in [("alice", "wrong"), ("", "")]:
        with pytest.raises(mgclient.DatabaseError, match="Authentication failure"):
            mg_connect(server, user, password)
    assert mg_run(server, "RETURN 5", "alice", "wonder") == [(5,)]
    # User names are case-insensitive (as Memgraph: stored lower-case).
    assert run(server, ("ALICE", "wonder"), "RETURN 6") == [[6]]
    server.assert_alive()


def test_set_password_and_drop_user(server):
    run(server, None, "CREATE USER alice IDENTIFIED BY 'one'")
    run(server, ("alice", "one"), "SET PASSWORD FOR alice TO 'two'")
    with pytest.raises(AuthError):
        run(server, ("alice", "one"), "RETURN 1")
    assert run(server, ("alice", "two"), "RETURN 1") == [[1]]
    # A parameter works as the password too.
    run(server, ("alice", "two"), "CREATE USER bob IDENTIFIED BY $pw", pw="builder")
    assert run(server, ("bob", "builder"), "SHOW USERS") == [["alice"], ["bob"]]
    with pytest.raises(ClientError, match="User 'carol' doesn't exist."):
        run(server, ("bob", "builder"), "SET PASSWORD FOR carol TO 'x'")
    with pytest.raises(ClientError, match="User 'alice' already exists."):
        run(server, ("bob", "builder"), "CREATE USER alice IDENTIFIED BY 'x'")
    run(server, ("bob", "builder"), "CREATE USER IF NOT EXISTS alice IDENTIFIED BY 'x'")
    assert run(server, ("alice", "two"), "RETURN 1") == [[1]], "IF NOT EXISTS changed nothing"
    run(server, ("bob", "builder"), "DROP USER alice")
    with pytest.raises(AuthError):
        run(server, ("alice", "two"), "RETURN 1")
    with pytest.raises(ClientError, match="User 'alice' doesn't exist."):
        run(server, ("bob", "builder"), "DROP USER alice")
    # The last user gone: anyone may connect again.
    run(server, ("bob", "builder"), "DROP USER bob")
    assert run(server, None, "RETURN 7") == [[7]]


def test_bad_names_null_passwords_and_transactions(server_with):
    server = server_with()
    with pytest.raises(ClientError, match="Invalid user name."):
        run(server, None, "CREATE USER `bad name` IDENTIFIED BY 'x'")
    # Null passwords are permitted by default: such a user logs in with any password.
    run(server, None, "CREATE USER nopass")
    assert run(server, ("nopass", "anything"), "SHOW USERS") == [["nopass"]]
    with pytest.raises(ClientError, match="not allowed in multicommand transactions"):
        with GraphDatabase.driver(server.uri, auth=("nopass", "x")) as d:
            with d.session() as s, s.begin_transaction() as tx:
                tx.run("CREATE USER other IDENTIFIED BY 'x'").consume()

    strict = server_with("--auth-password-permit-null=false", "--auth-user-or-role-regex=[a-z]+")
    with pytest.raises(ClientError, match="Null passwords aren't permitted!"):
        run(strict, None, "CREATE USER abc")
    with pytest.raises(ClientError, match="Null passwords aren't permitted!"):
        run(strict, None, "CREATE USER abc IDENTIFIED BY null")
    with pytest.raises(ClientError, match="Invalid user name."):
        run(strict, None, "CREATE USER abc1 IDENTIFIED BY 'x'")
    run(strict, None, "CREATE USER abc IDENTIFIED BY 'x'")
    with pytest.raises(ClientError, match="Null passwords aren't permitted!"):
        run(strict, ("abc", "x"), "SET PASSWORD FOR abc TO null")


def test_users_survive_a_restart_and_the_file_holds_only_hashes(tmp_path):
    node = Node(tmp_path)
    server = node.start()
    run(server, None, "CREATE USER alice IDENTIFIED BY 'persist-me'")
    node.stop()
    server = node.start()
    with pytest.raises(AuthError):
        run(server, None, "RETURN 1")
    assert run(server, ("alice", "persist-me"), "SHOW USERS") == [["alice"]]
    text = (node.data_dir / "auth" / "users.json").read_text()
    assert "$argon2id$" in text and "persist-me" not in text
    node.stop()


@pytest.mark.parametrize("prefix", ["MEMGRAPH", "FERROGRAPH"])
def test_the_first_user_comes_from_the_environment(tmp_path, monkeypatch, prefix):
    monkeypatch.setenv(f"{prefix}_USER", "admin")
    monkeypatch.setenv(f"{prefix}_PASSWORD", "s3cret")
    node = Node(tmp_path)
    server = node.start()
    with pytest.raises(AuthError):
        run(server, None, "RETURN 1")
    assert run(server, ("admin", "s3cret"), "SHOW USERS") == [["admin"]]
    run(server, ("admin", "s3cret"), "SET PASSWORD FOR admin TO 'changed'")
    node.stop()
    # Present already: the environment does not reset the password.
    server = node.start()
    assert run(server, ("admin", "changed"), "RETURN 1") == [[1]]
    node.stop()


def test_logon_logoff_on_bolt_5_1_and_later(server):
    run(server, None, "CREATE USER alice IDENTIFIED BY 'wonder'")
    run(server, ("alice", "wonder"), "CREATE USER bob IDENTIFIED BY 'builder'")
    with GraphDatabase.driver(server.uri, auth=("alice", "wonder")) as d:
        with d.session() as s:
            s.run("RETURN 1").consume()
            # The driver picks 5.x; from 5.1 credentials go in LOGON, not HELLO.
            version = s._connection.PROTOCOL_VERSION if s._connection else None
        d.verify_connectivity()
        # Session-level auth (neo4j >= 5.8) switches users on a pooled connection with
        # LOGOFF + LOGON.
        if tuple(int(x) for x in neo4j.__version__.split(".")[:2]) >= (5, 8):
            with d.session(auth=("bob", "builder")) as s:
                assert s.run("RETURN 2").single().value() == 2
            with pytest.raises(AuthError):
                with d.session(auth=("bob", "wrong")) as s:
                    s.run("RETURN 3").consume()
            with d.session() as s:
                assert s.run("RETURN 4").single().value() == 4
    assert version is None or version >= (5, 1)
    server.assert_alive()


def test_a_login_is_quick(server):
    run(server, None, "CREATE USER alice IDENTIFIED BY 'wonder'")
    started = time.monotonic()
    for _ in range(5):
        mg_connect(server, "alice", "wonder").close()
    per_login = (time.monotonic() - started) / 5
    # Argon2 is deliberately slow; well under 50 ms alone, generous here (shared machine).
    assert per_login < 0.5, per_login


def test_users_are_per_instance_and_a_replica_allows_logins(cluster, monkeypatch):
    """As Memgraph Community: users are not replicated. A replica (read-only for data) still
    has its own users, manages them, and checks logins."""
    main = cluster("main")
    monkeypatch.setenv("MEMGRAPH_USER", "reader")
    monkeypatch.setenv("MEMGRAPH_PASSWORD", "on-the-replica")
    rep = cluster("rep")
    monkeypatch.delenv("MEMGRAPH_USER")
    monkeypatch.delenv("MEMGRAPH_PASSWORD")
    rep_server = rep.server
    run(rep_server, ("reader", "on-the-replica"), f"SET REPLICATION ROLE TO REPLICA WITH PORT {rep.repl_port}")
    run(main.server, None, f"REGISTER REPLICA R SYNC TO '{rep.address}'")
    run(main.server, None, "CREATE USER writer IDENTIFIED BY 'on-the-main'")
    run(main.server, ("writer", "on-the-main"), "CREATE (:FromMain)")
    with pytest.raises(AuthError):
        run(rep_server, ("writer", "on-the-main"), "RETURN 1")
    assert run(rep_server, ("reader", "on-the-replica"), "MATCH (n:FromMain) RETURN count(n)") == [[1]]
    assert run(rep_server, ("reader", "on-the-replica"), "SHOW USERS") == [["reader"]]
    run(rep_server, ("reader", "on-the-replica"), "CREATE USER second IDENTIFIED BY 'x'")
    assert run(rep_server, ("second", "x"), "SHOW REPLICATION ROLE") == [["replica"]]
    assert run(main.server, ("writer", "on-the-main"), "SHOW USERS") == [["writer"]]


def test_raw_bolt_logon_logoff_and_hello_auth(server):
    """Byte-level: Bolt 5.4 HELLO without auth, then LOGON/LOGOFF; Bolt 4.4 HELLO with auth."""
    import boltraw
    from boltraw import FAILURE, HELLO, LOGON, RUN, SUCCESS, message, version

    LOGOFF = 0x6B
    run(server, None, "CREATE USER alice IDENTIFIED BY 'wonder'")

    def hello5():
        conn = boltraw.BoltConn(server.port)
        assert conn.handshake(version(5, 4)) == bytes([0, 0, 4, 5])
        conn.send(message(HELLO, {"user_agent": "raw/1"}))
        assert conn.read_message().tag == SUCCESS
        return conn

    def logon(conn, password):
        conn.send(message(LOGON, {"scheme": "basic", "principal": "alice", "credentials": password}))
        return conn.read_message()

    # A wrong password: FAILURE Unauthorized, then the server closes the connection.
    with hello5() as conn:
        reply = logon(conn, "wrong")
        assert reply.tag == FAILURE
        assert boltraw.failure_code(reply.fields[0]) == "Neo.ClientError.Security.Unauthorized"
        with pytest.raises(boltraw.Closed):
            conn.read_message()
    # RUN before LOGON is refused (the connection never reaches READY without a login).
    with hello5() as conn:
        conn.send(message(RUN, "RETURN 1", {}, {}))
        with pytest.raises(boltraw.Closed):
            while conn.read_message().tag != FAILURE:
                pass
            conn.read_message()
    # LOGON, a query, LOGOFF (back to needing LOGON), LOGON again.
    with hello5() as conn:
        assert logon(conn, "wonder").tag == SUCCESS
        assert conn.query("RETURN 1 AS x")[1] == [[1]]
        conn.send(message(LOGOFF))
        assert conn.read_message().tag == SUCCESS
        assert logon(conn, "wonder").tag == SUCCESS
        assert conn.query("RETURN 2 AS x")[1] == [[2]]
    # Bolt 4.4: the credentials travel in HELLO.
    for password, tag in [("wonder", SUCCESS), ("nope", FAILURE)]:
        with boltraw.BoltConn(server.port) as conn:
            conn.handshake(version(4, 4))
            conn.send(message(HELLO, {"user_agent": "raw/1", "scheme": "basic",
                                      "principal": "alice", "credentials": password}))
            assert conn.read_message().tag == tag
    server.assert_alive()
