#!/usr/bin/env bash
# Prints mohur's benchmarks: APDUs and milliseconds per signature for
# mohur's driver and for OpenSC's pkcs11-tool on the same simulated cards behind
# the same pcscd; and the signing agent's latency, memory and start-up (no pcscd
# needed for that one). Needs our pcscd running (scripts/pcscd.sh start; scripts/test.sh
# runs this with it). Reports numbers; never fails on speed.
set -euo pipefail
cd "$(dirname "$0")/.."
# The dev profile keeps CI to one build; the cost measured is dominated by pcscd,
# the card and process start-up, not by our code's optimisation level.
cargo bench --locked --profile dev -p mohur-tests --bench signature
# mohur's PKCS#11 module against OpenSC's, in-process: load + first token info, login + sign.
cargo bench --locked --profile dev -p mohur-tests --bench pkcs11
# APDUs of a fresh pkcs11-tool --sign process, mohur vs OpenSC, against the targets.
cargo bench --locked --profile dev -p mohur-tests --bench apdu_budget
# The signing agent (`mohur demo`, in-process simulated card): WebSocket round trips
# under 100 clients, authenticate / sign-document overhead, idle RSS, start-up.
cargo bench --locked --profile dev -p mohur --bench agent
# The Web eID host as the browser starts it: spawn → version message, → authenticate answer
# (card behind pcscd; the card's and the dialog's own time taken away).
cargo bench --locked --profile dev -p mohur --bench web_eid
# Signed documents: mohur sign (PAdES B-T, card behind pcscd) and verify on 1 MB and
# 50 MB PDFs, time and peak RSS, beside pyHanko on the same files.
cargo bench --locked --profile dev -p mohur --bench documents
