#!/usr/bin/env bash
# mohur's Windows build tested under wine + Xvfb (scripts/deps.sh installs both):
#  - the Windows-only unit tests (mohur's own dialog window, the same-user check's
#    Windows API wrappers), cross-built for x86_64-pc-windows-gnu and run with wine as
#    cargo's runner, the dialogs on an Xvfb display;
#  - `mohur.exe demo` end to end (tests/src/bin/windows_demo.rs): headless Chromium logs
#    in and signs through the demo portal, the Windows PIN, signing and consent dialogs
#    are typed into with xdotool, read with tests/windows/dialog-text.c and photographed
#    in English, Azerbaijani and Armenian; the tray icon in wine's notification area; one
#    agent per session; mohur.exe a console program, mohurw.exe (autostart) a GUI one.
# Runs after scripts/package.sh, in the same `win-ci` profile and target directory, so
# the dependencies are built once. Screenshots and logs in target/windows-tests
# (MOHUR_WINDOWS_OUT): test artefacts, not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'windows.sh: %s\n' "$*"; }
fail() {
    say "FAIL: $*" >&2
    exit 1
}

for tool in wine Xvfb x86_64-w64-mingw32-gcc; do
    command -v $tool >/dev/null || fail "$tool is missing: run scripts/deps.sh"
done

OUT=${MOHUR_WINDOWS_OUT:-target/windows-tests}
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WIN_TARGET=x86_64-pc-windows-gnu
WIN_PROFILE=${MOHUR_PACKAGE_WIN_PROFILE:-win-ci}
start=$SECONDS

# A display of our own for the dialogs (a free number from 90 up).
display=90
while [[ -e /tmp/.X11-unix/X$display || -e /tmp/.X$display-lock ]]; do display=$((display + 1)); done
export DISPLAY=:$display
Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
xvfb=$!
cleanup() {
    wineserver -k 2>/dev/null || true
    kill "$xvfb" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 50); do [[ -e /tmp/.X11-unix/X$display ]] && break; sleep 0.1; done

# shellcheck source=scripts/wine.sh
source scripts/wine.sh
wine_prefix "$PWD/target/wine/tests-prefix"
say "wine prefix ready ($((SECONDS - start)) s)"

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
cargo test -q --locked --profile "$WIN_PROFILE" --target $WIN_TARGET --target-dir target/windows \
    -p mohur-platform --features dialogs,registry --lib -- --test-threads=1 2>&1 | tee "$OUT/unit-tests.txt"
# The agent's Windows API wrappers (same-user check, one agent per session, locale,
# notifications) and the parsers of what they return.
cargo test -q --locked --profile "$WIN_PROFILE" --target $WIN_TARGET --target-dir target/windows \
    -p mohur --no-default-features --features demo,tray --lib -- windows:: server::same_user 2>&1 |
    tee -a "$OUT/unit-tests.txt"
say "unit tests under wine passed ($((SECONDS - start)) s)"

# The agent with its demo (simulated card, test PKI, portal: all RustCrypto) and the tray,
# and dialog-text.exe, which reads mohur's dialogs from inside wine (test machines only).
cargo build -q --locked --profile "$WIN_PROFILE" --target $WIN_TARGET --target-dir target/windows \
    -p mohur --bins --no-default-features --features demo,tray
# mohur.exe prints in cmd and PowerShell (console subsystem); mohurw.exe, which autostart
# and the Start menu run, opens no console window (GUI subsystem).
subsystem() { x86_64-w64-mingw32-objdump -p "target/windows/$WIN_TARGET/$WIN_PROFILE/$1" | sed -n 's/^Subsystem[[:space:]]*//p'; }
[[ $(subsystem mohur.exe) == *"Windows CUI"* ]] || fail "mohur.exe is not a console program: $(subsystem mohur.exe)"
[[ $(subsystem mohurw.exe) == *"Windows GUI"* ]] || fail "mohurw.exe is not a GUI program: $(subsystem mohurw.exe)"
x86_64-w64-mingw32-gcc -municode -O2 -s -o "$OUT/dialog-text.exe" tests/windows/dialog-text.c
cargo build -q --locked -p mohur-tests --bin mohur-tests-windows-demo
say "mohur.exe (demo, tray) and the test tools built ($((SECONDS - start)) s)"

# Chromium logs in and signs through `mohur.exe demo`; the Windows dialogs are typed into
# with xdotool, read, photographed in en, az and hy; OpenSSL checks the signature.
target/debug/mohur-tests-windows-demo --exe "target/windows/$WIN_TARGET/$WIN_PROFILE/mohur.exe" \
    --dialog-text "$OUT/dialog-text.exe" --out "$OUT/demo"
say "the Windows demo end to end passed ($((SECONDS - start)) s)"
