#!/usr/bin/env bash
# Fuzzes mohur-apdu's parsers with cargo-fuzz (libFuzzer) for a bounded time.
#
#   scripts/fuzz.sh [seconds-per-target]     (default: $MOHUR_FUZZ_SECONDS or 30)
#
# Works on the stable toolchain: the default `--sanitizer none` needs no nightly
# features (the fuzzed crate forbids unsafe code, and the build keeps overflow checks
# and debug assertions on, so out-of-bounds access and overflow still panic = crash).
# MOHUR_FUZZ_SANITIZER=address builds with ASan, which needs RUSTC_BOOTSTRAP=1 on
# stable; the script sets it for that build only.
#
# Targets (apdu/fuzz/fuzz_targets) run in parallel, one per core, each on a corpus in
# target/fuzz/corpus/<target> seeded from apdu/fuzz/seeds/<target>. Crash inputs land
# in target/fuzz/artifacts/<target>/, builds in target/fuzz/build-<sanitizer>/.
# Exit 1 if any target crashed.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
SECONDS_PER_TARGET=${1:-${MOHUR_FUZZ_SECONDS:-30}}
SANITIZER=${MOHUR_FUZZ_SANITIZER:-none}
CARGO_FUZZ_VERSION=0.13.2
FUZZ_DIR=$REPO/apdu/fuzz
OUT=$REPO/target/fuzz
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
TARGETS=(tlv apdu)

say() { printf 'fuzz.sh: %s\n' "$*"; }
[[ $SECONDS_PER_TARGET =~ ^[0-9]+$ && $SECONDS_PER_TARGET -ge 1 ]] || {
    say "seconds must be a positive integer (got '$SECONDS_PER_TARGET')" >&2
    exit 2
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION (once; about a minute)"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

# The fuzz crate is outside the workspace and its Cargo.lock is not committed: start
# it from the workspace's lock so mohur-apdu builds against the same versions.
[[ -e $FUZZ_DIR/Cargo.lock ]] || cp Cargo.lock "$FUZZ_DIR/Cargo.lock"

build_env=()
[[ $SANITIZER == none ]] || build_env=(RUSTC_BOOTSTRAP=1)
say "building targets (sanitizer: $SANITIZER)"
(cd "$FUZZ_DIR" && env "${build_env[@]}" cargo fuzz build --sanitizer "$SANITIZER" \
    --target "$TRIPLE" --target-dir "$OUT/build-$SANITIZER")
BIN_DIR=$OUT/build-$SANITIZER/$TRIPLE/release

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; exit 130' INT TERM
for t in "${TARGETS[@]}"; do
    mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t"
    cp -n "$FUZZ_DIR/seeds/$t"/* "$OUT/corpus/$t/" 2>/dev/null || true
    rm -f "$OUT/artifacts/$t"/*
    "$BIN_DIR/$t" "$OUT/corpus/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" \
        >"$OUT/$t.log" 2>&1 &
    pids+=($!)
done
say "running ${TARGETS[*]} for ${SECONDS_PER_TARGET}s each, in parallel (logs: target/fuzz/<target>.log)"

failed=0
for i in "${!TARGETS[@]}"; do
    t=${TARGETS[$i]}
    rc=0
    wait "${pids[$i]}" || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$t.log" | tail -n 1)
    corpus=$(find "$OUT/corpus/$t" -type f | wc -l)
    # crash-*, timeout-*, oom-*, leak-*; slow-unit-* are only reports.
    crashes=$(find "$OUT/artifacts/$t" -type f ! -name 'slow-unit-*' | wc -l)
    if [[ $rc -ne 0 || $crashes -ne 0 ]]; then
        failed=1
        say "FAIL $t: exit $rc, ${crashes} crash input(s) in target/fuzz/artifacts/$t/"
        {
            grep -m1 -A4 'panicked at' "$OUT/$t.log" || true
            sed -n '/ERROR: libFuzzer/,$p' "$OUT/$t.log" | grep -v '^stat::' | head -n 30 || true
        } >&2
        for a in "$OUT/artifacts/$t"/*; do
            [[ -e $a && $(basename "$a") != slow-unit-* ]] || continue
            say "  input $(basename "$a"): $(od -An -tx1 -v "$a" | head -c 600 | tr -s ' \n' ' ')"
            say "  reproduce: $BIN_DIR/$t $a   (or: cd apdu/fuzz && cargo fuzz run --sanitizer $SANITIZER $t $a)"
        done
    else
        say "ok $t: ${runs:-?} runs in ${SECONDS_PER_TARGET}s, corpus $corpus inputs"
    fi
done
exit "$failed"
