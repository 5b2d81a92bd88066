# Sourced by the scripts that run mohur's Windows build under wine (Debian's wine 8,
# wine64 only): `wine_prefix DIR` makes a fresh prefix there and exports WINEPREFIX,
# so that nothing an earlier run left counts. No Mono/Gecko installers, and no
# winemenubuilder (it would copy the MSI's Start-menu shortcut into this machine's menus)
# (WINEDLLOVERRIDES), nothing waits for a click.
#
# Rust's std takes its random numbers from ProcessPrng (bcryptprimitives.dll), which
# wine 8 lacks: a stub that forwards to bcrypt goes into the prefix's system32 (test
# machines only, never into the MSI).

wine_prefix() {
    local dir=$1
    export WINEPREFIX=$dir WINEDEBUG=${WINEDEBUG:--all} WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
    wineserver -k 2>/dev/null || true
    rm -rf "$WINEPREFIX"
    mkdir -p "$WINEPREFIX"
    local root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    x86_64-w64-mingw32-gcc -O2 -shared -s -o "$WINEPREFIX/bcryptprimitives.dll" \
        "$root/installer/windows/bcryptprimitives.c" -lbcrypt
    wine wineboot --init </dev/null >/dev/null 2>&1
    cp "$WINEPREFIX/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
}
