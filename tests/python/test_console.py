"""ferrograph-console against a real server: golden outputs of the three formats, piped-mode
exit codes, and an interactive session driven through a pseudo-terminal.

The console binary is built next to the server (`cargo build --release` builds the whole
workspace): `$FERROGRAPH_BIN`'s directory holds `ferrograph-console`. The golden files in
console_fixtures/ are the byte-exact output mgconsole's layout gives for their queries.
"""

from __future__ import annotations

import base64
import fcntl
import os
import pty
import re
import select
import socket
import ssl
import signal
import struct
import subprocess
import termios
import textwrap
import time
from pathlib import Path

import pytest

from conftest import Node, server_binary

FIXTURES = Path(__file__).resolve().parent / "console_fixtures"
RUN_DEADLINE_S = 60.0
PTY_DEADLINE_S = 30.0
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def console_binary() -> Path:
    path = server_binary().with_name("ferrograph-console")
    if not path.is_file():
        pytest.fail(f"{path} not found: build it with `cargo build --release`", pytrace=False)
    return path


def run_console(server, *flags: str, stdin: str = "", env: dict | None = None):
    """Runs the console in piped mode (stdin is a pipe) and returns the CompletedProcess."""
    return subprocess.run(
        [str(console_binary()), "--host", server.host, f"--port={server.port}", *flags],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
        env=env,
    )


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


# ------------------------------------------------------------------------------------------
# Golden outputs


def test_tabular_output_is_byte_exact(server):
    done = run_console(server, stdin=fixture("transit.cypher"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == fixture("transit.tabular.out")


def test_csv_output_is_byte_exact(server):
    done = run_console(server, "--output-format=csv", stdin=fixture("transit.cypher"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == fixture("transit.csv.out")


def test_csv_delimiter_and_escape_character(server):
    done = run_console(
        server,
        "--output_format=csv",
        "--csv-delimiter=;",
        "--csv-doublequote=false",
        "--csv-escapechar=\\",
        stdin="RETURN 'say \"hi\"' AS quote, 2 AS n;\n",
    )
    assert done.returncode == 0, done.stderr
    # The value prints as "say \"hi\"" (mgconsole's string escapes); then each `"` gets `\`.
    assert done.stdout == '"quote";"n"\n' + r'"\"say \\"hi\\"\"";"2"' + "\n"


def test_csv_refuses_doublequote_off_without_an_escape_character(server):
    done = run_console(server, "--output-format=csv", "--csv-doublequote=false", stdin="RETURN 1;\n")
    assert done.returncode == 1
    assert "--csv-escapechar" in done.stderr


def test_cypherl_output_round_trips(server):
    exported = run_console(server, "--output-format=cypherl", stdin=fixture("export.cypher"))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == fixture("export.cypherl.out")
    # The export is a script the console runs as it is.
    replay = run_console(server, stdin=exported.stdout)
    assert replay.returncode == 0, replay.stderr
    check = run_console(
        server,
        "--output-format=csv",
        stdin="MATCH (c:Copy) RETURN c.n AS n, c.s AS s, c.seen AS seen ORDER BY n;\n",
    )
    assert check.stdout == '"n","s","seen"\n"1","""a;b""","true"\n"2","Null","true"\n'


@pytest.mark.parametrize(
    "query",
    ["RETURN 1 AS a, 'x' AS b;", "RETURN 42 AS not_a_string;"],
    ids=["two-columns", "integer"],
)
def test_cypherl_refuses_anything_but_one_string_column(server, query):
    done = run_console(server, "--output-format=cypherl", stdin=query + "\nCREATE (:After);\n")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("ERROR: cypherl output format requires")
    count = run_console(server, "--output-format=csv", stdin="MATCH (n:After) RETURN count(n) AS c;\n")
    assert count.stdout == '"c"\n"0"\n', "nothing after the error runs"


def test_fit_to_screen_without_a_terminal_uses_80_columns(server):
    # Piped: no terminal, so the 80-column fallback applies.
    done = run_console(
        server,
        "--fit-to-screen",
        stdin="RETURN '" + "x" * 200 + "' AS wide, 1 AS n;\n",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert '"xxxxxxx' in lines[3] and "..." in lines[3]


# ------------------------------------------------------------------------------------------
# Piped mode: exit codes


def test_piped_mode_exits_0_and_prints_only_tables(server):
    done = run_console(server, stdin="CREATE (:P {v: 1});\nMATCH (p:P) RETURN p.v AS v;\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "+----+\n| v  |\n+----+\n| 1  |\n+----+\n"
    assert "rows in set" not in done.stdout and "Connected" not in done.stdout


def test_piped_mode_stops_at_the_first_failing_query(server):
    script = "CREATE (:Before);\nRETURN nope;\nCREATE (:After);\n"
    done = run_console(server, stdin=script)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == "Failed query: RETURN nope"
    assert done.stderr.splitlines()[1].startswith("Client received query exception: ")
    counts = run_console(
        server, "--output-format=csv", stdin="MATCH (n) RETURN labels(n) AS labels;\n"
    )
    assert counts.stdout == '"labels"\n"[""Before""]"\n', counts.stderr


def test_piped_mode_reports_an_unfinished_query_without_running_it(server):
    done = run_console(server, stdin="RETURN 1 AS one;\nCREATE (:Unfinished)")
    assert done.returncode == 0
    assert done.stdout.count("| one ") == 1
    assert "not run" in done.stderr
    count = run_console(server, "--output-format=csv", stdin="MATCH (n:Unfinished) RETURN count(n) AS c;\n")
    assert count.stdout == '"c"\n"0"\n'


def test_connection_failure_exits_1(tmp_path):
    # A port nothing listens on: bind one, note it, close it.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = subprocess.run(
        [str(console_binary()), "--host=127.0.0.1", f"--port={port}"],
        input="RETURN 1;\n",
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Connection failure: ")


def test_use_ssl_against_a_plain_server_fails_cleanly(server):
    done = run_console(server, "--use-ssl", stdin="RETURN 1;\n")
    assert done.returncode == 1
    assert done.stderr.startswith("Connection failure: ")
    assert "panicked" not in done.stderr


CERTS = Path(__file__).resolve().parents[2] / "crates" / "console" / "tests" / "fixtures"


def self_signed_pem(tmp_path: Path) -> tuple[Path, Path]:
    """The console crate's self-signed test certificate and key, as the PEM files the server's
    --bolt-cert-file / --bolt-key-file read (no CA vouches for it)."""
    key_der = (CERTS / "self-signed-key.der").read_bytes()
    key = "-----BEGIN PRIVATE KEY-----\n"
    key += "\n".join(textwrap.wrap(base64.b64encode(key_der).decode(), 64))
    key += "\n-----END PRIVATE KEY-----\n"
    cert = ssl.DER_cert_to_PEM_cert((CERTS / "self-signed-cert.der").read_bytes())
    (tmp_path / "cert.pem").write_text(cert)
    (tmp_path / "key.pem").write_text(key)
    return tmp_path / "cert.pem", tmp_path / "key.pem"


def test_use_ssl_speaks_tls_to_the_server_and_accepts_any_certificate(server_with, tmp_path):
    cert, key = self_signed_pem(tmp_path)
    tls = server_with(f"--bolt-cert-file={cert}", f"--bolt-key-file={key}")
    done = run_console(tls, "--use-ssl", "--output-format=csv", stdin="RETURN 'over TLS' AS how;\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == '"how"\n"""over TLS"""\n'
    # Without --use-ssl the TLS port does not answer Bolt: a clean failure.
    plain = run_console(tls, stdin="RETURN 1;\n")
    assert plain.returncode == 1 and plain.stderr.startswith("Connection failure: ")
    assert "panicked" not in plain.stderr


def create_user(server, name: str, password: str) -> None:
    from neo4j import GraphDatabase

    with GraphDatabase.driver(f"bolt://{server.host}:{server.port}", auth=None) as d:
        with d.session() as s:
            s.run(f"CREATE USER {name} IDENTIFIED BY '{password}'").consume()


def test_username_and_password_log_in_once_users_exist(server):
    create_user(server, "ann", "s3cret-pw")
    ok = run_console(server, "--username=ann", "--password=s3cret-pw", "--output-format=csv",
                     stdin="SHOW USERS;\n")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == '"user"\n"""ann"""\n'
    for flags in (["--username=ann", "--password=wrong"], []):
        refused = run_console(server, *flags, stdin="RETURN 1;\n")
        assert refused.returncode == 1, (flags, refused)
        assert refused.stderr.startswith("Connection failure: "), refused.stderr
        assert "panicked" not in refused.stderr


def test_bad_flags_exit_2_with_usage(server):
    done = run_console(server, "--output-format=json", stdin="")
    assert done.returncode == 2
    assert "json" in done.stderr
    version = subprocess.run(
        [str(console_binary()), "--version"], capture_output=True, text=True, timeout=RUN_DEADLINE_S
    )
    assert version.returncode == 0 and version.stdout.startswith("ferrograph-console ")


# ------------------------------------------------------------------------------------------
# Interactive mode through a pseudo-terminal


class Terminal:
    """The console on a pseudo-terminal that is its controlling terminal (so `Password: `
    can read /dev/tty). Answers the terminal's cursor-position queries as a real one would."""

    def __init__(self, args: list[str], env: dict, columns: int = 200):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))

        def controlling_tty():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            preexec_fn=controlling_tty,
            close_fds=True,
        )
        os.close(slave)
        self.raw = b""
        self.seen = 0  # how far `expect` has consumed `text`

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw.decode(errors="replace")).replace("\r", "")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.raw += chunk
        if b"\x1b[6n" in chunk:  # "where is the cursor?"
            os.write(self.master, b"\x1b[1;1R")
        return True

    def expect(self, needle: str, deadline_s: float = PTY_DEADLINE_S) -> str:
        """Reads until `needle` appears after what was already matched; returns the text
        from there up to and including it."""
        end = time.monotonic() + deadline_s
        while True:
            at = self.text.find(needle, self.seen)
            if at >= 0:
                found = self.text[self.seen : at + len(needle)]
                self.seen = at + len(needle)
                return found
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"did not see {needle!r}; the terminal shows:\n{self.text}")
            if not self._read(min(remaining, 0.5)) and self.proc.poll() is not None:
                # Drain what is left, then give up.
                while self._read(0.1):
                    pass
                if self.text.find(needle, self.seen) < 0:
                    raise AssertionError(
                        f"console exited ({self.proc.returncode}) before {needle!r}:\n{self.text}"
                    )

    def send(self, line: str):
        os.write(self.master, line.encode() + b"\r")

    def wait(self) -> int:
        end = time.monotonic() + PTY_DEADLINE_S
        while self.proc.poll() is None and time.monotonic() < end:
            self._read(0.2)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the console did not exit:\n" + self.text)
        return self.proc.returncode

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal(server, tmp_path):
    terminals = []

    def start(*flags: str, columns: int = 200) -> Terminal:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path / "home"),
            "TERM": "xterm",
        }
        args = [str(console_binary()), f"--host={server.host}", f"--port={server.port}", *flags]
        t = Terminal(args, env, columns)
        terminals.append(t)
        return t

    yield start
    for t in terminals:
        t.close()


def test_interactive_session(terminal, tmp_path):
    t = terminal()
    t.expect("ferrograph-console ")
    t.expect("Connected to 'memgraph://127.0.0.1:")
    t.expect("Type :help for shell usage")
    t.expect("Quit the shell by typing Ctrl-D(eof) or :quit")
    t.expect("memgraph> ")

    t.send("CREATE (:Stop {name: 'Pier'}),")
    t.expect("       -> ")
    t.send("       (:Stop {name: 'Dock'});")
    out = t.expect("have been updated.")
    assert re.search(r"Empty set \(round trip in \d+\.\d{3} sec\)", out), out
    assert "2 labels have been created." in out
    assert "2 nodes have been created." in out

    # Like a user, type only at a prompt: what is typed while a query runs is not kept.
    t.expect("memgraph> ")
    t.send("MATCH (s:Stop) RETURN s.name AS name ORDER BY name; RETURN 1 AS one;")
    out = t.expect("1 row in set")
    assert "| name   |\n" in out and '| "Dock" |\n' in out and '| "Pier" |\n' in out
    assert re.search(r"2 rows in set \(round trip in \d+\.\d{3} sec\)", out), out
    assert "| one |" in out

    t.expect("memgraph> ")
    t.send("RETURN no_such_variable;")
    t.expect("Client received query exception: ")
    t.expect("memgraph> ")
    t.send("MATCH (s:Stop) RETURN count(s) AS stops;")
    out = t.expect("1 row in set")
    assert re.search(r"\| 2 +\|", out), "the session survived the error"

    t.expect("memgraph> ")
    t.send(":nonsense")
    out = t.expect("memgraph> ")
    assert "Unsupported command: :nonsense" in out and ":quit" in out, out
    t.send(":help")
    out = t.expect("memgraph> ")
    assert ":docs" in out and "Unsupported" not in out, out
    t.send(":quit")
    t.expect("Bye")
    assert t.wait() == 0
    history = (tmp_path / "home" / ".memgraph" / "client_history").read_text()
    assert "RETURN no_such_variable;" in history
    assert "       (:Stop {name: 'Dock'});" in history


def test_interactive_eof_says_bye_and_history_can_be_off(terminal, tmp_path):
    t = terminal("--no-history")
    t.expect("memgraph> ")
    t.send("RETURN 1 AS x;")
    t.expect("1 row in set")
    t.expect("memgraph> ")
    os.write(t.master, b"\x04")  # Ctrl-D
    t.expect("Bye")
    assert t.wait() == 0
    assert not (tmp_path / "home" / ".memgraph" / "client_history").exists()


def test_password_is_asked_without_echo(server, terminal):
    create_user(server, "ann", "s3cret-pw")
    t = terminal("--username=ann")
    t.expect("Password: ")
    t.send("s3cret-pw")
    t.expect("memgraph> ")
    assert "s3cret-pw" not in t.text
    # The server checked the password: only a logged-in session runs queries.
    t.send("RETURN 'in' AS logged;")
    t.expect("1 row in set")
    t.send(":quit")
    t.expect("Bye")
    assert t.wait() == 0


def test_fit_to_screen_uses_the_terminal_width(terminal):
    t = terminal("--fit-to-screen", columns=40)
    t.expect("memgraph> ")
    t.send("RETURN '" + "y" * 100 + "' AS a, 2 AS b, 3 AS c;")
    out = t.expect("1 row in set")
    table = [line for line in out.splitlines() if line.startswith(("+", "|"))]
    assert table and all(len(line) <= 40 for line in table), table
    t.expect("memgraph> ")
    t.send(":quit")
    assert t.wait() == 0


def test_a_lost_server_ends_the_session_after_three_attempts(tmp_path):
    node = Node(tmp_path)
    server = node.start()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TERM": "xterm"}
    t = Terminal([str(console_binary()), f"--port={server.port}", "--no-history"], env)
    try:
        t.expect("memgraph> ")
        node.stop()
        t.send("RETURN 1;")
        t.expect("Client received connection exception: ")
        t.expect("Trying to reconnect...")
        for _ in range(3):
            t.expect("Connection failure: ")
        t.expect(f"Couldn't connect to: 'memgraph://127.0.0.1:{server.port}'")
        assert t.wait() == 1
    finally:
        t.close()
