#!/usr/bin/env bash
# mohur's whole test run, for a fresh Debian/Ubuntu machine and for CI (no stdin).
#
#   scripts/test.sh
#
# Stages: Debian packages (scripts/deps.sh) → npm packages for the browser tests
# (scripts/browser-deps.sh) → pyHanko (scripts/python-deps.sh) → build → rustfmt → clippy → our own pcscd with vpcd readers
# (scripts/pcscd.sh) → cargo test (including headless Chromium against the agent) →
# mohur.js unit tests → fuzzing (scripts/fuzz.sh) → benchmark (scripts/bench.sh). Stops at the first failing stage, and on
# every exit (failure, Ctrl-C, TERM) stops what it started, by PID: the running stage's
# process group and the pcscd it started. Prints a summary line per stage.
#
# Environment:
#   MOHUR_FUZZ_SECONDS     seconds per fuzz target (default 30; 0 skips fuzzing)
#   MOHUR_SKIP_BENCH       set to skip the benchmark
#   MOHUR_VPCD_ENTRIES, MOHUR_VPCD_BASE_PORT, MOHUR_RUN_DIR: see scripts/pcscd.sh
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

# rustup's default location, for shells (and CI) that have not sourced ~/.cargo/env.
if ! command -v cargo >/dev/null && [[ -x $HOME/.cargo/bin/cargo ]]; then
    export PATH=$HOME/.cargo/bin:$PATH
fi

export MOHUR_RUN_DIR=${MOHUR_RUN_DIR:-$REPO/target/mohur-run}
# The card certificate cache of the tests' processes (mohur_apdu::cert_cache): under
# target/, not in the home of whoever runs the tests.
export MOHUR_CARD_CACHE=${MOHUR_CARD_CACHE:-$MOHUR_RUN_DIR/card-cache}
export MOHUR_VPCD_ENTRIES=${MOHUR_VPCD_ENTRIES:-6}
export MOHUR_VPCD_BASE_PORT=${MOHUR_VPCD_BASE_PORT:-35963}
FUZZ_SECONDS=${MOHUR_FUZZ_SECONDS:-30}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# One build from scratch gains nothing from incremental caches, which would add about
# as much again as the build's own objects to target/.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
# MOHUR_CI_PRUNE=1 (.ci/run sets it): each stage's own build directory is removed once
# no later stage needs it, so that the run's peak disk use stays low. A developer's run
# keeps them, for the next one.
PRUNE=${MOHUR_CI_PRUNE:-0}

SUMMARY=()
CURRENT=""
PCSCD_STARTED=0
STAGE_PID=""
T0=$SECONDS

note() { printf '\n[test.sh] %s\n' "$*"; }

cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    if [[ -n $STAGE_PID ]]; then
        echo "[test.sh] interrupted: stopping stage $CURRENT (process group $STAGE_PID)"
        kill -TERM -- -"$STAGE_PID" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 -- -"$STAGE_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- -"$STAGE_PID" 2>/dev/null || true
    fi
    # pcscd runs in its own session; pcscd.sh stops it by its recorded PID.
    if ((PCSCD_STARTED)); then
        bash scripts/pcscd.sh stop || true
    fi
    if [[ -n $CURRENT ]]; then
        if ((rc == 130 || rc == 143)); then
            SUMMARY+=("STOP  $CURRENT (interrupted)")
        else
            SUMMARY+=("FAIL  $CURRENT")
        fi
        if [[ $CURRENT == test && -r $MOHUR_RUN_DIR/pcscd.log ]]; then
            echo "[test.sh] last lines of the pcscd log ($MOHUR_RUN_DIR/pcscd.log):"
            tail -n 15 "$MOHUR_RUN_DIR/pcscd.log" || true
        fi
    fi
    printf '\n[test.sh] summary (%ds in all):\n' $((SECONDS - T0))
    printf '  %s\n' "${SUMMARY[@]}"
    if ((rc == 0)); then
        echo "[test.sh] all stages passed"
    else
        echo "[test.sh] FAILED (exit $rc)"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stage NAME COMMAND...: runs COMMAND, records "PASS NAME (Ns)"; a failure exits and
# the EXIT trap records it as failed. COMMAND runs as a job in its own process group
# (set -m) so that INT/TERM reach the trap at once and the trap can end the whole
# group (cargo and the test binaries it started, the fuzzers) by its id.
set -m
stage() {
    local name=$1 start=$SECONDS rc=0
    shift
    CURRENT=$name
    note "stage $name: $*"
    "$@" &
    STAGE_PID=$!
    wait "$STAGE_PID" || rc=$?
    STAGE_PID=""
    ((rc == 0)) || exit "$rc"
    CURRENT=""
    SUMMARY+=("PASS  $name ($((SECONDS - start))s, $(disk_use))")
    note "stage $name passed in $((SECONDS - start))s ($(disk_use))"
}

# disk_use: target/'s size and what is left on its disk (a CI machine once ran out).
disk_use() {
    local size free
    size=$(du -sh target 2>/dev/null | cut -f1)
    free=$(df -h --output=avail . 2>/dev/null | tail -n1 | tr -d ' ')
    echo "target ${size:-0}, ${free:-?} free"
}

# prune DIR...: with MOHUR_CI_PRUNE=1, removes build directories no later stage uses.
prune() {
    ((PRUNE)) || return 0
    note "pruning $* ($(disk_use) before)"
    rm -rf "$@"
}

skip() {
    SUMMARY+=("SKIP  $1 ($2)")
    note "stage $1 skipped: $2"
}

stage deps bash scripts/deps.sh
# playwright-core for the browser tests (npm ci, only when tests/browser/node_modules is stale)
stage browser-deps bash scripts/browser-deps.sh
# pyHanko, the independent PAdES validator of the document tests (a venv in target/python)
stage python-deps bash scripts/python-deps.sh
stage build cargo build --workspace --all-targets --locked
fmt_check() {
    cargo fmt --all -- --check
    # The fuzz crate is outside the workspace, so `cargo fmt --all` skips it.
    rustfmt --edition 2021 --check apdu/fuzz/fuzz_targets/*.rs
}
stage fmt fmt_check
stage clippy cargo clippy --workspace --all-targets --locked -- -D warnings

# A pcscd of ours that was already running (a developer's, or another test run's)
# is kept running afterwards; one that this run starts is stopped on exit.
if bash scripts/pcscd.sh status >/dev/null 2>&1; then
    note "our pcscd is already running: it will be left running"
else
    PCSCD_STARTED=1
fi
export MOHUR_PCSCD=ours
stage pcscd bash scripts/pcscd.sh start

stage test cargo test --workspace --locked
# mohur.js, the portal client, against a stand-in agent (node's test runner)
stage js npm --prefix tests/browser test

# .deb (lintian, dpkg -i/-r round trip as root), Windows cross-build and .msi
stage package bash scripts/package.sh
# the Windows build under wine + Xvfb: its dialogs typed into with xdotool, the demo
# portal logged into from Chromium (after package.sh: the same Windows build)
stage windows bash scripts/windows.sh
# The Windows build and its wine prefixes: nothing after this stage uses them.
prune target/windows target/wine

if [[ $FUZZ_SECONDS == 0 ]]; then
    skip fuzz "MOHUR_FUZZ_SECONDS=0"
else
    stage fuzz bash scripts/fuzz.sh "$FUZZ_SECONDS"
    # The sanitizer builds; the corpora and any crash inputs (target/fuzz/) stay.
    prune target/fuzz/build-*
fi

if [[ ! -f scripts/bench.sh ]]; then
    skip bench "no scripts/bench.sh yet"
elif [[ -n ${MOHUR_SKIP_BENCH+set} ]]; then
    skip bench "MOHUR_SKIP_BENCH is set"
else
    # bench.sh reports numbers and exits 0 however slow they are; a non-zero exit
    # means it broke, and fails the run.
    stage bench bash scripts/bench.sh
fi
