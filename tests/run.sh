#!/usr/bin/env bash
# The whole test suite, as the README shows it: `bash tests/run.sh` (from anywhere).
#
#  1. cargo: builds the workspace in release (the `ferrograph` and `ferrograph-console` binaries
#     included: each crate's integration tests make cargo build its binary) and runs every
#     Rust test: unit, property, and the neo4rs 0.8 / 0.9 driver tests in crates/server/tests.
#  2. Python: two pinned virtual environments under target/venv/ (rebuilt only when their
#     tests/python/requirements-*.txt changes), each running the black-box pytest suites in
#     tests/python against the binary from step 1:
#       py-neo4j5: neo4j 5.28.8 + pymgclient 1.5.2 (+ the raw-socket tests and the Docker
#                  image/cluster tests, run once; those skip when no Docker engine answers)
#       (both also run test_console.py: ferrograph-console's outputs, exit codes and an
#       interactive session on a pseudo-terminal)
#       py-neo4j6: neo4j 6.4.1  + pymgclient 1.6.0
#  3. examples/: each example runs against a freshly started server and must print its line.
#
# Prints a summary and ends with the line `N passed, N failed`; exits non-zero on any failure.
# Needs: cargo, python3 (3.11) with venv and pip, and access to crates.io and PyPI; Docker
# (engine and docker-compose or `docker compose`) for tests/python/test_docker.py.
# Environment: CARGO_TARGET_DIR (default <repo>/target), PYTHON (default python3).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release/ferrograph"
VENV_DIR="$ROOT/target/venv"
LOG_DIR="$ROOT/target/test-logs"
PYTHON="${PYTHON:-python3}"
START_SECONDS=$SECONDS
SERVER_DEADLINE_S=30

mkdir -p "$LOG_DIR"

STEP_LINES=()
DIGESTS=()
TOTAL_PASSED=0
TOTAL_FAILED=0
ANY_FAILED=0

# record NAME OK(0|1) PASSED FAILED
record() {
    local name=$1 ok=$2 passed=$3 failed=$4
    TOTAL_PASSED=$((TOTAL_PASSED + passed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
    if [[ $ok -eq 0 ]]; then
        STEP_LINES+=("PASS  $name ($passed passed, $failed failed)")
    else
        ANY_FAILED=1
        STEP_LINES+=("FAIL  $name ($passed passed, $failed failed)")
    fi
}

banner() {
    printf '\n==== %s ====\n' "$*"
}

# ------------------------------------------------------------------------------------------
# 1. Rust

rust_tests() {
    banner "cargo test --release --workspace"
    local build_log="$LOG_DIR/cargo-build.log" test_log="$LOG_DIR/cargo-test.log" rc
    # Build first, separately: if it fails, the Python steps must not run against a stale binary.
    set +e
    cargo test --release --workspace --no-run 2>&1 | tee "$build_log"
    rc=${PIPESTATUS[0]}
    set -e
    if [[ $rc -ne 0 ]]; then
        record "cargo build (release, all test targets)" 1 0 1
        return 1
    fi
    set +e
    cargo test --release --workspace --no-fail-fast 2>&1 | tee "$test_log"
    rc=${PIPESTATUS[0]}
    set -e
    local passed failed
    passed=$(grep -oE '^test result: .*' "$test_log" | grep -oE '[0-9]+ passed' | awk '{s += $1} END {print s + 0}')
    failed=$(grep -oE '^test result: .*' "$test_log" | grep -oE '[0-9]+ failed' | awk '{s += $1} END {print s + 0}')
    if [[ $rc -ne 0 && $failed -eq 0 ]]; then
        failed=1 # a crashed or unbuildable test binary reports no count
    fi
    if [[ $passed -eq 0 && $rc -eq 0 ]]; then
        echo "cargo test ran no test" >&2
        rc=1
        failed=1
    fi
    record "cargo test --release --workspace" "$rc" "$passed" "$failed"
    return 0
}

# ------------------------------------------------------------------------------------------
# 2. Python

ensure_venv_support() {
    if "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        return 0
    fi
    echo "$PYTHON cannot create virtual environments (no ensurepip); installing python3-venv"
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        echo "error: install the venv module for $PYTHON (Debian: apt-get install python3-venv)" >&2
        return 1
    fi
    local version
    version=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv "python${version}-venv" \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv || return 1
    "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1
}

# ensure_venv NAME REQUIREMENTS_FILE: (re)creates target/venv/NAME unless its stamp matches.
# (Called from `if`, where errexit is off: every step checks its own status.)
ensure_venv() {
    local dir="$VENV_DIR/$1" req="$ROOT/tests/python/$2" want
    want="$(sha256sum "$req" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')" || return 1
    if [[ -x "$dir/bin/python" && -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$want" ]]; then
        echo "reusing $dir"
        return 0
    fi
    echo "creating $dir from $2"
    rm -rf "$dir" || return 1
    ensure_venv_support || return 1
    "$PYTHON" -m venv "$dir" || return 1
    "$dir/bin/python" -m pip install --disable-pip-version-check --no-input --quiet -r "$req" || return 1
    echo "$want" >"$dir/.stamp"
}

# thread_tails LOG: from a pytest-timeout stack dump, each thread's name and its innermost frames.
thread_tails() {
    awk '
        function flush() { if (name != "") { print name; for (i = n - 5; i < n; i++) if (i >= 0) print lines[i] } n = 0 }
        /~+ Stack of / { flush(); name = $0; next }
        /^\+{5,} Timeout/ { flush(); name = ""; next }
        name != "" && NF > 0 { lines[n++] = $0 }
        END { flush() }
    ' "$1"
}

# run_pytest LABEL VENV [pytest args...]
run_pytest() {
    local label=$1 venv=$2
    shift 2
    local log="$LOG_DIR/pytest-$venv.log" rc
    banner "pytest: $label"
    if ! ensure_venv "$venv" "requirements-${venv#py-}.txt" 2>&1 | tee "$LOG_DIR/venv-$venv.log"; then
        record "pytest $label (virtualenv setup)" 1 0 1
        return 0
    fi
    set +e
    local basetemp="$ROOT/target/pytest-tmp/$venv" hang="$LOG_DIR/hang-$venv.txt"
    rm -rf "$basetemp" "$hang"
    mkdir -p "$(dirname "$basetemp")" # pytest creates --basetemp itself, but not its parents
    FERROGRAPH_HANG_REPORT="$hang" FERROGRAPH_BIN="$BIN" "$VENV_DIR/$venv/bin/python" -m pytest -q --basetemp="$basetemp" "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    local summary passed failed errors
    summary=$(grep -E '[0-9]+ (passed|failed|errors?)' "$log" | tail -n 1 || true)
    passed=$(grep -oE '[0-9]+ passed' <<<"$summary" | awk '{print $1}' || true)
    failed=$(grep -oE '[0-9]+ failed' <<<"$summary" | awk '{print $1}' || true)
    errors=$(grep -oE '[0-9]+ errors?' <<<"$summary" | awk '{print $1}' || true)
    passed=${passed:-0}
    failed=$((${failed:-0} + ${errors:-0}))
    if [[ $rc -eq 5 ]]; then
        echo "pytest collected no tests" >&2
    fi
    if [[ $rc -ne 0 && $failed -eq 0 ]]; then
        failed=1 # no tests, an internal error, or a timeout that killed the run
    fi
    record "pytest $label" "$rc" "$passed" "$failed"
    if [[ $rc -ne 0 ]]; then
        # CI shows only the end of the output: keep what says why, for after the summary.
        DIGESTS+=("---- why pytest $label failed (rc $rc; full log $log) ----"
            "$(grep -E '^(FAILED|ERROR)|Timeout|Fatal Python error|Segmentation|^E  |Traceback|Error:' "$log" | head -n 40 || true)"
            "$(tail -n 15 "$log")")
        if [[ -f "$hang" ]]; then
            # conftest's watchdog saw a test run too long: where its threads and its servers'
            # threads were (whole stacks and server logs in the file).
            DIGESTS+=("-- hang report ($hang) --" "$(sed -n '/^==== summary/,/^==== end summary/p' "$hang" | head -n 60)")
        elif grep -q 'Timeout' "$log"; then
            DIGESTS+=("-- where each thread waited --" "$(thread_tails "$log")")
        fi
    fi
}

# ------------------------------------------------------------------------------------------
# 3. Examples, each against a fresh server

SERVER_PID=""
SERVER_DIR=""
SERVER_PORT=""

# The port from the first complete "listening for Bolt on IP:PORT" line of the log.
ready_port() {
    local log=$1 text
    if [[ -n "$(tail -c 1 "$log")" ]]; then
        text=$(sed '$d' "$log") # the last line is still being written
    else
        text=$(cat "$log")
    fi
    grep -oE 'listening for Bolt on [0-9.]+:[0-9]+' <<<"$text" | head -n 1 | sed -E 's/.*:([0-9]+)$/\1/' || true
}

start_server() {
    SERVER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ferrograph-example.XXXXXX")
    "$BIN" --bolt-address=127.0.0.1 --bolt-port=0 --data-directory="$SERVER_DIR/data" \
        --log-level=INFO --also-log-to-stderr=true >"$SERVER_DIR/server.log" 2>&1 &
    SERVER_PID=$!
    local deadline=$((SECONDS + SERVER_DEADLINE_S))
    while true; do
        SERVER_PORT=$(ready_port "$SERVER_DIR/server.log")
        [[ -n "$SERVER_PORT" ]] && return 0
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "ferrograph exited before it was ready:" >&2
            cat "$SERVER_DIR/server.log" >&2
            return 1
        fi
        if ((SECONDS > deadline)); then
            echo "ferrograph printed no ready line within ${SERVER_DEADLINE_S}s:" >&2
            cat "$SERVER_DIR/server.log" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null || true
            return 1
        fi
        sleep 0.05
    done
}

# Stops the server with SIGTERM; fails unless it exits 0 in time and never panicked.
stop_server() {
    local deadline=$((SECONDS + 15)) rc=0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        if ((SECONDS > deadline)); then
            echo "ferrograph ignored SIGTERM; killing it" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null || true
            rc=1
            break
        fi
        sleep 0.05
    done
    local status=0
    wait "$SERVER_PID" 2>/dev/null || status=$?
    if [[ $status -ne 0 ]]; then
        echo "ferrograph exited with status $status" >&2
        rc=1
    fi
    if grep -q "panicked at" "$SERVER_DIR/server.log"; then
        echo "ferrograph panicked:" >&2
        rc=1
    fi
    if [[ $rc -ne 0 ]]; then
        cat "$SERVER_DIR/server.log" >&2
    fi
    rm -rf "$SERVER_DIR"
    return $rc
}

# run_example NAME EXPECTED_LINE COMMAND... ; "{PORT}" in the command becomes the server's port.
run_example() {
    local name=$1 expected=$2
    shift 2
    banner "example: $name"
    if [[ ! -x "$BIN" ]]; then
        record "example $name (no server binary)" 1 0 1
        return 0
    fi
    if ! start_server; then
        record "example $name (server did not start)" 1 0 1
        return 0
    fi
    local args=() arg out rc=0
    for arg in "$@"; do
        args+=("${arg//\{PORT\}/$SERVER_PORT}")
    done
    set +e
    out=$(timeout 300 "${args[@]}" 2>&1)
    rc=$?
    set -e
    printf '%s\n' "$out"
    if [[ $rc -eq 0 ]] && ! grep -qxF "$expected" <<<"$out"; then
        echo "expected the line: $expected" >&2
        rc=1
    fi
    stop_server || rc=1
    if [[ $rc -eq 0 ]]; then
        record "example $name" 0 1 0
    else
        record "example $name" 1 0 1
    fi
}

examples() {
    local expected="Ann knows Bob since 2020" venv
    for venv in py-neo4j5 py-neo4j6; do
        if [[ ! -x "$VENV_DIR/$venv/bin/python" ]]; then
            record "examples with $venv (no virtualenv)" 1 0 1
            continue
        fi
        run_example "python/neo4j_quickstart.py ($venv)" "$expected" \
            "$VENV_DIR/$venv/bin/python" examples/python/neo4j_quickstart.py "bolt://127.0.0.1:{PORT}"
        run_example "python/pymgclient_quickstart.py ($venv)" "$expected" \
            "$VENV_DIR/$venv/bin/python" examples/python/pymgclient_quickstart.py 127.0.0.1 "{PORT}"
    done
    # The seed's cluster walk-through starts its own three servers (the one run_example starts
    # is not used).
    if [[ -x "$VENV_DIR/py-neo4j5/bin/python" ]]; then
        run_example "python/replication_cluster.py" "REP1 and REP2 replicated (:Node) at ts 2" \
            "$VENV_DIR/py-neo4j5/bin/python" examples/python/replication_cluster.py "$BIN"
    fi
    # examples/python/docker_cluster.py needs a compose cluster: tests/python/test_docker.py
    # runs it against one of its own.
    # The Rust example runs once its package is a workspace member.
    if grep -q '"examples/rust"' "$ROOT/Cargo.toml"; then
        run_example "rust/neo4rs_quickstart.rs" "$expected" \
            cargo run --release --quiet -p ferrograph-examples --example neo4rs_quickstart -- "127.0.0.1:{PORT}"
    else
        echo "examples/rust is not a workspace member yet: skipping the neo4rs example"
    fi
}

# ------------------------------------------------------------------------------------------

if rust_tests; then
    run_pytest "neo4j 5.28.8 + pymgclient 1.5.2 + raw Bolt" py-neo4j5 tests/python
    run_pytest "neo4j 6.4.1 + pymgclient 1.6.0" py-neo4j6 tests/python \
        --ignore=tests/python/test_bad_input.py --ignore=tests/python/test_docker.py
    examples
else
    echo "the build failed: skipping the Python suites and the examples" >&2
fi

banner "summary ($(((SECONDS - START_SECONDS) / 60))m $(((SECONDS - START_SECONDS) % 60))s; logs in $LOG_DIR)"
for line in "${STEP_LINES[@]}"; do
    echo "$line"
done
for line in "${DIGESTS[@]}"; do
    printf '%s\n' "$line"
done
if [[ $ANY_FAILED -ne 0 ]]; then
    echo "SOME TESTS FAILED"
else
    echo "ALL TESTS PASSED"
fi
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
exit $ANY_FAILED
