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
import faulthandler
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import pytest

from neo4j_helpers import make_driver

REPO = Path(__file__).resolve().parents[2]
READY_RE = re.compile(r"listening for Bolt on ([0-9.]+):(\d+)")
START_DEADLINE_S = 30.0
STOP_DEADLINE_S = 15.0
POLL_INTERVAL_S = 0.01
LOG_TAIL_CHARS = 20_000
# Below pytest.ini's `timeout` (300 s): a test still running then gets every running server's
# thread stacks (and the test process's own) written to $FERROGRAPH_HANG_REPORT (tests/run.sh
# prints it after its summary) or else beside the server's log, before pytest-timeout ends the run.
HANG_WATCHDOG_S = float(os.environ.get("FERROGRAPH_HANG_WATCHDOG_S", "240"))
HANG_REPORT = os.environ.get("FERROGRAPH_HANG_REPORT")
_RUNNING: set["Server"] = set()


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

    def __init__(self, workdir: Path, extra_args: tuple[str, ...] = ()):
        self.workdir = workdir
        self.extra_args = tuple(extra_args)
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
            f"--log-level={os.environ.get('FERROGRAPH_LOG_LEVEL', 'INFO')}",
            "--also-log-to-stderr=true",
            *self.extra_args,
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
                _RUNNING.add(self)
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
        _RUNNING.discard(self)
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


class Node:
    """Successive server processes on one data directory."""

    def __init__(self, tmp_path, *flags: str):
        self.tmp_path = tmp_path
        self.data_dir = tmp_path / "data"
        self.flags = flags
        self.runs = 0
        self.current: Server | None = None

    def start(self, *extra: str) -> Server:
        server = Server(self.tmp_path / f"run-{self.runs}", (*self.flags, *extra))
        server.data_dir = self.data_dir
        self.runs += 1
        self.current = server.start()
        return server

    def stop(self):
        problems = self.current.stop()
        assert not problems, "; ".join(problems) + "\n" + self.current.log_tail()

    def kill(self):
        _RUNNING.discard(self.current)
        self.current.proc.kill()
        self.current.proc.wait()


def _run_server(workdir: Path, extra_args: tuple[str, ...] = ()):
    server = Server(workdir, extra_args).start()
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


@pytest.fixture
def server_with(tmp_path):
    """Starts servers with extra flags for this test: `server_with("--memory-limit=256")`.
    Each is stopped and checked like `server` at teardown."""
    runs = []

    def start(*extra_args: str) -> Server:
        run = _run_server(tmp_path / f"ferrograph-{len(runs)}", extra_args)
        server = next(run)
        runs.append(run)
        return server

    yield start
    failures = []
    for run in runs:
        try:
            next(run, None)
        except BaseException as e:  # pytest.fail raises an OutcomeException
            failures.append(e)
    if failures:
        raise failures[0]


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One server for a whole module: only for tests that write nothing."""
    yield from _run_server(tmp_path_factory.mktemp("ferrograph-shared"))


OUR_FRAME = re.compile(r"\b(storage|query|bolt|server|cypher)::")


def _native_stacks(pid: int) -> list[str]:
    """Every thread's stack of process `pid` (gdb), frame lines without addresses, or why not."""
    if shutil.which("gdb") is None:
        return ["(gdb is not installed: no native stacks)"]
    try:
        done = subprocess.run(
            ["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "thread apply all bt 30"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return [f"(gdb failed: {e})"]
    keep = [
        re.sub(r"^(#\d+)\s+0x[0-9a-f]+ in ", r"\1 ", line)[:240]
        for line in done.stdout.splitlines()
        if line.startswith(("Thread ", "#"))
    ]
    return keep or [done.stderr[-2000:]]


def _native_summary(stack: list[str]) -> list[str]:
    """A line per thread: its name, innermost frame, and innermost frames of our own crates."""
    lines, header, frames = [], None, []

    def flush():
        if header is not None:
            ours = [f.split(" (")[0] for f in frames if OUR_FRAME.search(f)][:3]
            inner = frames[0].split(" (")[0] if frames else "?"
            lines.append(f"  {header}: {inner} | {' < '.join(ours) or '-'}")

    for line in stack:
        if line.startswith("Thread "):
            flush()
            match = re.search(r'"([^"]*)"', line)
            header, frames = (match.group(1) if match else line[:30]), []
        elif header is not None:
            frames.append(re.sub(r"^#\d+\s+", "", line))
    flush()
    return lines


def _python_summary() -> list[str]:
    """A line per thread of this process: the innermost test frame and the innermost frame."""
    lines = []
    for ident, frame in sys._current_frames().items():
        stack = traceback.extract_stack(frame)
        ours = [f for f in stack if "/tests/python/" in f.filename]
        where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in ours[-2:][::-1])
        inner = stack[-1]
        lines.append(f"  thread {ident}: {Path(inner.filename).name}:{inner.lineno} {inner.name} | {where}")
    return lines


def _report_hang(nodeid: str):
    target = Path(HANG_REPORT) if HANG_REPORT else None
    summary = [f"{nodeid} still running after {HANG_WATCHDOG_S:.0f} s; test process threads:"]
    summary += _python_summary()
    details = []
    for server in list(_RUNNING):
        if server.proc is None or server.proc.poll() is not None:
            continue
        stack = _native_stacks(server.proc.pid)
        summary.append(f"ferrograph pid {server.proc.pid} (port {server.port}) threads:")
        summary += _native_summary(stack)
        details += [f"---- ferrograph pid {server.proc.pid} threads ----", *stack]
        details.append(f"---- its log tail ----\n{server.log_tail()[-3000:]}")
        if target is None:
            target = server.workdir / "hang-report.txt"
    with open(target or "hang-report.txt", "a") as out:
        out.write("==== summary ====\n" + "\n".join(summary) + "\n==== end summary ====\n")
        out.write("\n".join(details) + "\n---- test process threads ----\n")
        out.flush()
        faulthandler.dump_traceback(file=out, all_threads=True)


@pytest.fixture(autouse=True)
def _hang_watchdog(request):
    """Records where a test and its servers are stuck, if it runs into the timeout."""
    timer = threading.Timer(HANG_WATCHDOG_S, _report_hang, args=(request.node.nodeid,))
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()


@pytest.fixture
def driver(server):
    """A neo4j driver for this test's own `server`."""
    with make_driver(server) as drv:
        yield drv


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
        elif callable(getattr(value, "report_sections", None)):
            # Anything else that can say what happened (test_docker's containers' logs).
            report.sections.extend(value.report_sections())
