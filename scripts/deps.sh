#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages mohur's build and tests need, only the missing
# ones, and checks for cargo. Fast (one dpkg-query) when everything is there.
#
#   scripts/deps.sh         # everything the tests need
#   scripts/deps.sh demo    # only what building and running `mohur demo` needs
set -euo pipefail

# What building mohur needs (the demo needs nothing else: it asks PINs on the terminal).
# mohur builds its tray icon (feature `tray`, on by default) with GTK 3 and appindicator
# (libdbus for the Secret Service, where mohur keeps its keys across reboots).
DEMO_PACKAGES=(pkg-config libssl-dev libpcsclite-dev libdbus-1-dev libgtk-3-dev libayatana-appindicator3-dev)
PACKAGES=(
    "${DEMO_PACKAGES[@]}"
    pcscd vsmartcard-vpcd pcsc-tools
    opensc softhsm2 libnss3-tools p11-kit gnutls-bin libengine-pkcs11-openssl
    yubico-piv-tool openssl
    # the agent's tests: the scripted pinentry, Chromium driven by Playwright
    python3 chromium
    # scripts/python-deps.sh: pyHanko in a virtual environment (Debian splits venv out)
    python3-venv
    # scripts/package.sh: .deb checks and dependencies, Windows cross-build and .msi
    ca-certificates curl lintian dpkg-dev gcc-mingw-w64-x86-64 wixl msitools
    # package.sh runs the Windows binaries under wine (wine64 only, no 32-bit wine: 11
    # packages, about 100 MB, 16 s here); package.sh skips that step where it is missing
    wine wine64
    # the tray's screenshot test (Xvfb + trayer) and the keyring tests (keyctl; a
    # session bus with GNOME Keyring's Secret Service)
    xvfb xauth trayer imagemagick keyutils dbus-daemon gnome-keyring
    # scripts/windows.sh: typing into the Windows dialogs under wine
    xdotool
    # the visible PDF signature test: poppler draws the page (pdftoppm) and lists its
    # fonts (pdffonts)
    poppler-utils
)
# Node.js may come from elsewhere than Debian (its npm is then bundled): ask for the
# Debian packages only when the commands are missing.
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)
if [[ ${1:-} == demo ]]; then
    PACKAGES=("${DEMO_PACKAGES[@]}")
fi

say() { printf 'deps.sh: %s\n' "$*"; }

command -v dpkg-query >/dev/null || {
    say "this script needs a Debian or Ubuntu system (dpkg-query not found)" >&2
    exit 1
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} > 0)); then
    say "missing packages: ${missing[*]}"
    if [[ $(id -u) -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        say "not root and no password-less sudo; install them with:" >&2
        echo "sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    "${SUDO[@]}" apt-get update -q </dev/null
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
    say "installed: ${missing[*]}"
else
    say "all ${#PACKAGES[@]} Debian packages present"
fi

if ! command -v cargo >/dev/null; then
    [[ -x $HOME/.cargo/bin/cargo ]] && say "cargo is in $HOME/.cargo/bin but not on PATH: run  . \"\$HOME/.cargo/env\"" >&2
    say "cargo not found: install Rust with rustup (https://rustup.rs), then run this again" >&2
    exit 1
fi
say "cargo: $(cargo --version)"
