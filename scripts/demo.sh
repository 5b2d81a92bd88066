#!/usr/bin/env bash
# mohur's main job, on a fresh Debian/Ubuntu machine: installs (or names) the build
# packages, builds mohur and runs `mohur demo`: the signing agent with a simulated ID
# card, and a demo portal on http://localhost:29171/ to log in and sign with it.
# PINs are asked on this terminal (or in pinentry on a desktop).
#
#   scripts/demo.sh [--card piv] [--fresh] [...]     (see `mohur demo --help`)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v cargo >/dev/null && [[ -x $HOME/.cargo/bin/cargo ]]; then
    export PATH=$HOME/.cargo/bin:$PATH
fi
bash scripts/deps.sh demo
exec cargo run --quiet -p mohur -- demo "$@"
