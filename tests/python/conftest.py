"""Fixtures for the black-box suites: a real `ferrograph` process per test (or per module).

Each server gets its own port (`--bolt-port=0`, the port is read back from the ready line) and
its own data directory under pytest's tmp_path, so tests never share state unless they ask for
the module-scoped `shared_server` (read-only tests only). The binary is `$FERROGRAPH_BIN` or
`<repo>/target/release/ferrograph` (built by `cargo test --release`, see tests/run.sh).

On teardown the server gets SIGTERM and must exit 0 within a deadline; a server that died
early, needed SIGKILL, or printed a Rust panic fails the test. When a test fails, the server's
log is attached to the report.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
READY_RE = re.compile(r"listening for Bolt on ([0-9.]+):(\d+)")
START_DEADLINE_S = 30.0
STOP_DEADLINE_S = 15.0
POLL_INTERVAL_S = 0.01
LOG_TAIL_CHARS = 20_000


def server_binary() -> Path:
    path = Path(os.environ.get("FERROGRAPH_BIN") or REPO / "target" / "release" / "ferrograph")
    if not path.is_file():
        pytest.fail(
            f"server binary {path} not found: build it with `cargo build --release` "
            "(tests/run.sh does) or set FERROGRAPH_BIN",
            pytrace=False,
        )
    return path


class Server:
    """One running ferrograph process. `host`, `port`, `uri` are valid after `start`."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.log_path = workdir / "server.log"
        self.proc: subprocess.Popen | None = None
        self.host = "127.0.0.1"
        self.port: int | None = None

    @property
    def uri(self) -> str:
        return f"bolt://{self.host}:{self.port}"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self) -> str:
        return self.log_text()[-LOG_TAIL_CHARS:]

    def start(self) -> "Server":
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(server_binary()),
            "--bolt-address=127.0.0.1",
            "--bolt-port=0",
            f"--data-directory={self.data_dir}",
            "--log-level=INFO",
            "--also-log-to-stderr=true",
        ]
        # The log goes to a file, not a pipe: a pipe nobody drains would stall a chatty server.
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            # Only complete lines: a line still being written could end in half a port number.
            text = self.log_text()
            match = READY_RE.search(text[: text.rfind("\n") + 1])
            if match:
                self.host, self.port = match.group(1), int(match.group(2))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"ferrograph exited with {self.proc.returncode} before it was ready:\n"
                    + self.log_tail()
                )
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(
                    f"ferrograph printed no ready line within {START_DEADLINE_S}s:\n"
                    + self.log_tail()
                )
            time.sleep(POLL_INTERVAL_S)

    def assert_alive(self):
        assert self.proc is not None and self.proc.poll() is None, (
            f"ferrograph died (exit {self.proc.returncode if self.proc else None}):\n"
            + self.log_tail()
        )

    def stop(self) -> list[str]:
        """SIGTERM, wait, and return the problems seen (empty = clean shutdown)."""
        problems = []
        if self.proc is None:
            return problems
        if self.proc.poll() is not None:
            problems.append(f"ferrograph died during the test with exit code {self.proc.returncode}")
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append(f"ferrograph ignored SIGTERM for {STOP_DEADLINE_S}s (killed)")
            else:
                if self.proc.returncode != 0:
                    problems.append(f"ferrograph exited with {self.proc.returncode} on SIGTERM")
        if "panicked at" in self.log_text():
            problems.append("ferrograph panicked")
        return problems


def _run_server(workdir: Path):
    server = Server(workdir).start()
    try:
        yield server
    finally:
        problems = server.stop()
    if problems:
        pytest.fail("; ".join(problems) + "\n--- server log ---\n" + server.log_tail(), pytrace=False)


@pytest.fixture
def server(tmp_path):
    """A fresh server for this test alone."""
    yield from _run_server(tmp_path / "ferrograph")


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One server for a whole module: only for tests that write nothing."""
    yield from _run_server(tmp_path_factory.mktemp("ferrograph-shared"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, Server):
            report.sections.append(
                (f"ferrograph log (port {value.port})", value.log_tail())
            )
