#!/usr/bin/env bash
# Builds mohur's packages and checks them with the real tools:
#  - Linux: a .deb (dpkg-deb) with mohur-install, the PKCS#11 module, the agent (when it
#    builds) and the CA bundle; lintian must report no error. As root (CI), it is also
#    installed with dpkg -i, checked (binaries, module in p11-kit, chain in the system
#    bundle, mohur-install verify), removed with dpkg -r, and the machine is checked to be
#    as before (system CA bundle byte for byte, no new files or empty directories).
#  - Windows: cross-builds mohur-install.exe, mohur_pkcs11.dll and mohur.exe (the agent
#    without its OpenSSL demo: --no-default-features) for x86_64-pc-windows-gnu into
#    target/windows, builds an .msi with wixl from installer/windows/mohur.wxs, inspects it
#    with msiinfo/msiextract, and, where wine is installed (scripts/deps.sh installs it),
#    runs mohur.exe --help and mohur-install.exe install --system --dry-run under wine.
# Output in target/package (MOHUR_PACKAGE_OUT). MOHUR_PACKAGE_PROFILE=release builds the
# Linux binaries optimised (default: debug, stripped, reusing the test build).
# MOHUR_PACKAGE_DPKG=0 skips the dpkg install/remove round trip.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${MOHUR_PACKAGE_OUT:-target/package}
PROFILE=${MOHUR_PACKAGE_PROFILE:-debug}
WIN_TARGET=x86_64-pc-windows-gnu
MULTIARCH=x86_64-linux-gnu
start=$SECONDS
say() { printf 'package.sh: %s\n' "$*"; }
fail() {
    say "FAIL: $*" >&2
    exit 1
}
elapsed() { say "$1 ($((SECONDS - start)) s so far)"; }
# has PATTERN CMD...: whether CMD's output has a line matching PATTERN; CMD failing is
# fatal. Not `CMD | grep -q`: under pipefail, grep -q leaves at the first match and CMD
# may then die of SIGPIPE, which made the pipeline fail at random.
has() {
    local pattern=$1 out
    shift
    out=$("$@") || fail "$* failed"
    grep -q -- "$pattern" <<<"$out"
}

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# The CA bundle: installer/ca, the pinned national CAs, and nothing else. mohur-install
# check-bundle (below, once it is built) refuses it when a certificate file is not in its
# manifest or a fingerprint differs. The test PKI is made only for the checks under wine
# (test-pki/, never copied into a package).
CA=installer/ca
ca_files() { # the manifest and the certificate files it lists
    echo manifest.toml
    sed -n 's/^file = "\(.*\)"$/\1/p' "$CA/manifest.toml"
}

# ---------------------------------------------------------------- Linux .deb
profile_args=()
bin=target/debug
if [[ $PROFILE == release ]]; then
    profile_args=(--release)
    bin=target/release
fi
cargo build -q "${profile_args[@]}" -p mohur-pkcs11 -p mohur-installer
"$bin/mohur-install" check-bundle --ca-bundle "$CA" | tee "$OUT/ca-bundle.txt" ||
    fail "the CA bundle $CA does not match its manifest"
have_agent=0
# The packaged agent has no demo: no simulated card, no test PKI, no OpenSSL
# (checked below, on the binary).
if cargo build -q "${profile_args[@]}" -p mohur --bin mohur --no-default-features --features tray; then
    have_agent=1
else
    say "WARNING: the agent (crate mohur) does not build: the .deb is made without /usr/bin/mohur"
fi
elapsed "Linux binaries built ($PROFILE)"

D=$OUT/deb/mohur
install -D -m755 "$bin/mohur-install" "$D/usr/bin/mohur-install"
install -D -m644 "$bin/libmohur_pkcs11.so" "$D/usr/lib/$MULTIARCH/pkcs11/libmohur_pkcs11.so"
((have_agent)) && install -D -m755 "$bin/mohur" "$D/usr/bin/mohur"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$D"/usr/bin/* "$D/usr/lib/$MULTIARCH/pkcs11/libmohur_pkcs11.so"
if ((have_agent)); then
    ! ldd "$D/usr/bin/mohur" | grep -E 'libssl|libcrypto' || fail "the packaged mohur links OpenSSL"
    ! grep -aq 'apdu/sim/src' "$D/usr/bin/mohur" || fail "the packaged mohur carries the card simulator"
    ! "$D/usr/bin/mohur" demo --help >/dev/null 2>&1 || fail "the packaged mohur has a demo command"
    say "the packaged mohur: no OpenSSL, no simulator, no demo"
fi
# The agent asks mohur-install what is installed (`verify --json`) and never links it; the
# PKCS#11 module loads into browsers without a keyring or D-Bus.
! cargo tree -q -p mohur -e normal,build,dev | grep -q 'mohur-installer' || fail "the agent depends on mohur-installer"
! ldd "$D/usr/lib/$MULTIARCH/pkcs11/libmohur_pkcs11.so" | grep -q libdbus || fail "the PKCS#11 module links libdbus"
install -d -m755 "$D/usr/share/mohur/ca"
for f in $(ca_files); do
    install -m644 "$CA/$f" "$D/usr/share/mohur/ca/"
done
install -D -m644 installer/debian/copyright "$D/usr/share/doc/mohur/copyright"
gzip -9n <installer/debian/changelog >"$D/usr/share/doc/mohur/changelog.gz"
chmod 644 "$D/usr/share/doc/mohur/changelog.gz"
install -d -m755 "$D/DEBIAN"
install -m755 installer/debian/postinst installer/debian/prerm "$D/DEBIAN/"
# Depends: the shared libraries the binaries link (the agent's tray links GTK, both
# binaries libdbus for the Secret Service, the agent's demo OpenSSL), as dpkg-shlibdeps
# reads them from the installed packages' shlibs and symbols files. It wants a
# debian/control next to it, which is all it reads of a source package.
mkdir -p "$OUT/shlibdeps/debian"
printf 'Source: mohur\n\nPackage: mohur\nArchitecture: any\n' >"$OUT/shlibdeps/debian/control"
shlib_args=()
for f in "$D"/usr/bin/* "$D/usr/lib/$MULTIARCH/pkcs11/libmohur_pkcs11.so"; do
    shlib_args+=("-e$f")
done
shlibs=$(cd "$OUT/shlibdeps" && dpkg-shlibdeps -O "${shlib_args[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n $shlibs ]] || fail "dpkg-shlibdeps found no dependencies (dpkg-dev, scripts/deps.sh)"
size=$(du -sk --exclude=DEBIAN "$D" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@SIZE@/$size/" -e "s/@SHLIBS@/$shlibs/" \
    installer/debian/control.in >"$D/DEBIAN/control"
DEB=$OUT/mohur_${VERSION}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$D" "$DEB" >/dev/null
dpkg-deb --contents "$DEB" | awk '{print "  " $6 " " $3}'
elapsed "built $DEB"

# No test certificate and no private key may ever be in a package: every PEM certificate
# (and DER certificate file) in it is read, and any private key block is refused.
no_test_material() {
    local dir=$1 what=$2 f c subject n=0 tmp
    tmp=$(mktemp -d)
    while IFS= read -r -d '' f; do
        # A key block with key material after it (string constants in binaries have none).
        if grep -aA1 -E -- '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----' "$f" | grep -aqE '^[A-Za-z0-9+/]{40,}'; then
            fail "$what: a private key in ${f#"$dir"/}"
        fi
        if grep -aq -- '-----BEGIN CERTIFICATE-----' "$f"; then
            rm -f "$tmp"/c*.pem
            awk -v out="$tmp/c" '/-----BEGIN CERTIFICATE-----/{n++; on=1} on{print > (out n ".pem")} /-----END CERTIFICATE-----/{on=0}' "$f"
            for c in "$tmp"/c*.pem; do
                subject=$(openssl x509 -in "$c" -noout -subject 2>/dev/null) || continue
                n=$((n + 1))
                ! grep -qi test <<<"$subject" || fail "$what: a test certificate in ${f#"$dir"/}: $subject"
            done
        fi
        case $f in *.der | *.crt | *.cer)
            subject=$(openssl x509 -inform DER -in "$f" -noout -subject 2>/dev/null) || subject=""
            ! grep -qi test <<<"$subject" || fail "$what: a test certificate in ${f#"$dir"/}: $subject"
            ;;
        esac
    done < <(find "$dir" -type f -print0)
    rm -rf "$tmp"
    say "$what: no private key, no test certificate ($n certificate(s) read)"
}
rm -rf "$OUT/deb-contents"
dpkg-deb -x "$DEB" "$OUT/deb-contents"
no_test_material "$OUT/deb-contents" "the .deb"
"$bin/mohur-install" check-bundle --ca-bundle "$OUT/deb-contents/usr/share/mohur/ca" >/dev/null ||
    fail "the .deb's /usr/share/mohur/ca does not match its manifest"

if command -v lintian >/dev/null; then
    # Known, accepted tags: no manual pages yet (warning level only).
    lintian --fail-on error --allow-root --suppress-tags binary-without-manpage "$DEB" | tee "$OUT/lintian.txt"
    grep -q '^E:' "$OUT/lintian.txt" && fail "lintian reports errors"
    say "lintian: no errors ($(grep -c '^W:' "$OUT/lintian.txt" || true) warning(s))"
else
    fail "lintian not installed (scripts/deps.sh installs it)"
fi

if [[ $(id -u) -eq 0 && ${MOHUR_PACKAGE_DPKG:-1} != 0 ]]; then
    if [[ $(dpkg-query -W -f='${Status}' mohur 2>/dev/null) == *'ok installed'* ]]; then
        fail "a mohur package is already installed on this machine: not touching it"
    fi
    watched=(/etc /usr/local/share/ca-certificates /usr/bin /usr/lib/$MULTIARCH/pkcs11 /usr/share/mohur /var/lib/mohur)
    listing() { { find "${watched[@]}" -xdev 2>/dev/null || true; } | grep -v -e '^/etc/ld.so.cache$' | LC_ALL=C sort; }
    listing >"$OUT/before.txt"
    bundle_before=$(sha256sum /etc/ssl/certs/ca-certificates.crt | cut -d' ' -f1)
    trap 'dpkg -r mohur >/dev/null 2>&1 || true' EXIT
    dpkg -i "$DEB" | tee "$OUT/dpkg-i.txt"
    [[ -x /usr/bin/mohur-install && -f /usr/lib/$MULTIARCH/pkcs11/libmohur_pkcs11.so ]] || fail "binaries not installed"
    ((have_agent)) && { [[ -x /usr/bin/mohur ]] || fail "agent not installed"; }
    # The system bundle cannot limit a root to client authentication and signatures:
    # with the default trust nothing goes into it (installer/src/plan.rs, Trust).
    [[ $(sha256sum /etc/ssl/certs/ca-certificates.crt | cut -d' ' -f1) == "$bundle_before" ]] ||
        fail "dpkg -i changed the system CA bundle"
    ! trust list 2>/dev/null | grep -qi 'label: .*test' || fail "a test certificate is in the system trust (trust list)"
    if [[ $(ca_files | wc -l) == 1 ]]; then
        grep -q 'carries no national CA certificates' "$OUT/dpkg-i.txt" ||
            fail "dpkg -i with an empty manifest did not say that it installs no CA"
    fi
    has '^mohur: ' p11-kit list-modules || fail "p11-kit does not list mohur after dpkg -i"
    mohur-install verify --system | tee "$OUT/verify-system.txt" || fail "mohur-install verify --system after dpkg -i"
    ! grep -q '⚠' "$OUT/verify-system.txt" || fail "mohur-install verify --system flags the machine after dpkg -i"
    if ((have_agent)); then
        # The packaged doctor gets its findings from the packaged mohur-install beside it.
        mohur doctor --json --timeout 3 >"$OUT/doctor.json" || true # ✗ for no card or agent: expected here
        python3 - "$OUT/doctor.json" <<'PY' || fail "mohur doctor after dpkg -i (target/package/doctor.json)"
import json, sys
checks = {c["id"]: c for c in json.load(open(sys.argv[1]))}
bundle = checks["ca-bundle"]
assert "installer_error" not in (bundle["details"] or {}), bundle
assert bundle["status"] in ("pass", "warn"), bundle
registered = checks["pkcs11-registered"]
assert any(r["exists"] for r in registered["details"]["p11kit"]), registered
PY
        say "mohur doctor after dpkg -i: mohur-install's findings, the module registered"
    fi
    dpkg -r mohur
    trap - EXIT
    [[ ! -e /usr/bin/mohur-install && ! -e /usr/lib/$MULTIARCH/pkcs11/libmohur_pkcs11.so ]] || fail "binaries left after dpkg -r"
    ! has '^mohur: ' p11-kit list-modules || fail "p11-kit still lists mohur after dpkg -r"
    [[ $(sha256sum /etc/ssl/certs/ca-certificates.crt | cut -d' ' -f1) == "$bundle_before" ]] ||
        fail "system CA bundle differs from before dpkg -i"
    # Empty directories that mohur-install created for its files (/etc/firefox/policies…).
    listing >"$OUT/after.txt"
    comm -13 "$OUT/before.txt" "$OUT/after.txt" | sort -r | while read -r p; do
        [[ -d $p ]] && rmdir "$p" 2>/dev/null && say "removed empty directory $p"
    done
    listing >"$OUT/after.txt"
    if ! diff "$OUT/before.txt" "$OUT/after.txt"; then
        fail "files differ after dpkg -i + dpkg -r (diff above)"
    fi
    elapsed "dpkg -i / dpkg -r round trip: machine as before"
else
    say "not root (or MOHUR_PACKAGE_DPKG=0): skipping the dpkg -i / dpkg -r round trip"
fi

# ---------------------------------------------------------------- Windows .msi
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wixl >/dev/null; then
    fail "gcc-mingw-w64-x86-64 and wixl are needed for the Windows build (scripts/deps.sh)"
fi
has "^$WIN_TARGET\$" rustup target list --installed || rustup target add $WIN_TARGET
# The Windows binaries: `win-ci` (unoptimised, no debug info, stripped: a quick cold
# build on CI's 2 cores) unless MOHUR_PACKAGE_WIN_PROFILE=release for a real package.
WIN_PROFILE=${MOHUR_PACKAGE_WIN_PROFILE:-win-ci}
WIN_DIR=target/windows/$WIN_TARGET/$WIN_PROFILE
# The agent for Windows: the tray, no `demo` (a simulated card, a test PKI and a portal
# have no place in a package).
WIN_AGENT_FEATURES=(--no-default-features --features tray)
if has 'openssl-sys' cargo tree -q -p mohur "${WIN_AGENT_FEATURES[@]}" --target $WIN_TARGET -e normal; then
    fail "the Windows agent (crate mohur, ${WIN_AGENT_FEATURES[*]}) depends on OpenSSL (openssl-sys): gate it behind the demo feature"
fi
# Two invocations, not one: cargo unifies features across the packages of one build.
cargo build -q --profile "$WIN_PROFILE" --target $WIN_TARGET --target-dir target/windows -p mohur-installer -p mohur-pkcs11
cargo build -q --profile "$WIN_PROFILE" --target $WIN_TARGET --target-dir target/windows -p mohur --bin mohur --bin mohurw "${WIN_AGENT_FEATURES[@]}"
W=$OUT/windows
mkdir -p "$W"
win_expected=(mohur-install.exe mohur_pkcs11.dll mohur.exe mohurw.exe)
for f in "${win_expected[@]}"; do
    cp "$WIN_DIR/$f" "$W/"
done
elapsed "Windows binaries built: $(cd "$W" && echo *)"

MSI=$OUT/mohur-$VERSION-x64.msi
# wixl resolves Source= relative to the .wxs and refuses absolute paths: build in $OUT,
# with the CA bundle's files (the manifest and what it lists) written into the .wxs.
mkdir -p "$OUT/ca"
ca_xml=""
i=0
for f in $(ca_files); do
    cp "$CA/$f" "$OUT/ca/"
    i=$((i + 1))
    keypath=""
    [[ $f == manifest.toml ]] && keypath=' KeyPath="yes"'
    ca_xml+="              <File Id=\"CaFile$i\" Name=\"$f\" Source=\"\$(var.CaDir)/$f\"$keypath />\n"
done
sed "s|^ *<!-- @CA_FILES@ -->\$|${ca_xml%\\n}|" installer/windows/mohur.wxs >"$OUT/mohur.wxs"
(cd "$OUT" && wixl -a x64 -D BinDir=windows -D CaDir=ca -o "$MSI" mohur.wxs)
msiinfo suminfo "$MSI"
msiinfo export "$MSI" File | tee "$OUT/msi-files.txt"
for f in "${win_expected[@]}" $(ca_files); do
    grep -q "$f" "$OUT/msi-files.txt" || fail "$f missing from the MSI File table"
done
has 'install --system' msiinfo export "$MSI" CustomAction || fail "the MSI does not run mohur-install"
msiextract -C "$OUT/msi-extract" "$MSI"
for f in "${win_expected[@]}" $(ca_files | sed 's|^|ca/|'); do
    has . find "$OUT/msi-extract" -path "*/mohur/$f" || fail "msiextract: mohur/$f missing"
    cmp -s "$(find "$OUT/msi-extract" -path "*/mohur/$f")" "$( [[ $f == ca/* ]] && echo "$CA/${f#ca/}" || echo "$W/$f")" ||
        fail "msiextract: mohur/$f differs from the built file"
done
no_test_material "$OUT/msi-extract" "the .msi"
elapsed "MSI $MSI: files and custom actions checked"

# wine (Debian's wine + wine64, scripts/deps.sh; about 100 MB, so package.sh uses it only
# where it is installed): the binaries start, mohur-install.exe plans what the MSI's
# custom action does, and the MSI installs, verifies and uninstalls for real. A fresh
# prefix in target/wine each time (about 5 s), so that nothing left by an earlier run
# counts; no X display and no Mono/Gecko installers (WINEDLLOVERRIDES), nothing waits.
if command -v wine >/dev/null; then
    unset DISPLAY WAYLAND_DISPLAY
    # shellcheck source=scripts/wine.sh
    source scripts/wine.sh
    wine_prefix "$PWD/target/wine/prefix"
    wine "$W/mohur.exe" --help </dev/null >"$OUT/wine-mohur-help.txt" 2>&1 ||
        fail "mohur.exe --help under wine: $(cat "$OUT/wine-mohur-help.txt")"
    grep -q '^  agent ' "$OUT/wine-mohur-help.txt" || fail "mohur.exe --help under wine lists no agent command"
    # As the MSI's custom action runs it (install --system), finding mohur.exe and
    # mohur_pkcs11.dll next to itself; with the test PKI's bundle (outside any package),
    # so that the Windows trust of a root shows: client authentication, e-mail, document
    # signing and time stamping (CERT_ENHKEY_USAGE_PROP_ID), not server authentication.
    cargo run -q -p mohur-certs --bin mohur-test-pki -- --out "$OUT/test-pki" >/dev/null
    TEST_CA=$OUT/test-pki/ca
    wine "$W/mohur-install.exe" install --system --dry-run --ca-bundle "Z:$TEST_CA" </dev/null 2>&1 | tee "$OUT/wine-dry-run.txt"
    grep -q 'would add LocalMachine\\ROOT: CN=mohur Test Root CA.*, trusted for 1.3.6.1.5.5.7.3.2 1.3.6.1.5.5.7.3.4 ' "$OUT/wine-dry-run.txt" ||
        fail "mohur-install.exe --dry-run under wine: no root CA for the LocalMachine ROOT store, restricted to client authentication and signatures"
    ! grep -q 'LocalMachine\\ROOT: .*1\.3\.6\.1\.5\.5\.7\.3\.1\b' "$OUT/wine-dry-run.txt" ||
        fail "mohur-install.exe --dry-run under wine: the root would be trusted for TLS servers"
    [[ $(grep -c 'would add LocalMachine\\CA: ' "$OUT/wine-dry-run.txt") == 2 ]] ||
        fail "mohur-install.exe --dry-run under wine: not 2 CAs for the LocalMachine CA store"
    # And for real: the root goes in with its purposes, which verify reads back.
    TM='C:\users\test-ca-manifest.json'
    wine "$W/mohur-install.exe" install --system --no-autostart --ca-bundle "Z:$TEST_CA" --manifest "$TM" </dev/null >"$OUT/wine-test-ca.txt" 2>&1 ||
        fail "mohur-install.exe install of the test bundle under wine: $(cat "$OUT/wine-test-ca.txt")"
    wine "$W/mohur-install.exe" verify --system --no-autostart --ca-bundle "Z:$TEST_CA" --manifest "$TM" </dev/null >"$OUT/wine-test-ca-verify.txt" 2>&1 ||
        fail "under wine, verify after installing the test bundle: $(cat "$OUT/wine-test-ca-verify.txt")"
    grep -q '✓ LocalMachine\\ROOT: CN=mohur Test Root CA.*trusted for' "$OUT/wine-test-ca-verify.txt" ||
        fail "under wine the test root is not in LocalMachine ROOT with its purposes: $(cat "$OUT/wine-test-ca-verify.txt")"
    grep -q '⚠.*says test' "$OUT/wine-test-ca-verify.txt" || fail "under wine verify does not flag the test root"
    wine "$W/mohur-install.exe" uninstall --system --manifest "$TM" </dev/null >"$OUT/wine-test-ca-uninstall.txt" 2>&1 ||
        fail "under wine, uninstall of the test bundle: $(cat "$OUT/wine-test-ca-uninstall.txt")"
    grep -q 'would add HKLM\\Software\\Policies\\Mozilla\\Firefox\\SecurityDevices\\mohur = .*\\mohur_pkcs11.dll$' "$OUT/wine-dry-run.txt" ||
        fail "mohur-install.exe --dry-run under wine: no Firefox SecurityDevices entry for mohur_pkcs11.dll"
    grep -q 'would add HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\mohur = ".*\\mohurw.exe" agent$' "$OUT/wine-dry-run.txt" ||
        fail "mohur-install.exe --dry-run under wine: no Run key for mohurw.exe agent"
    elapsed "wine: mohur.exe --help, mohur-install.exe install --system --dry-run list the stores, policy and Run key"

    # The MSI as Windows runs it: msiexec copies the files and its deferred custom action
    # runs mohur-install.exe install --system; verify finds every piece; msiexec /x
    # takes all of it away again (files, certificates, registry values).
    PF="$WINEPREFIX/drive_c/Program Files/mohur"
    wine msiexec /i "Z:$MSI" /qn </dev/null >"$OUT/wine-msi-install.txt" 2>&1 ||
        fail "msiexec /i under wine: $(cat "$OUT/wine-msi-install.txt")"
    for f in "${win_expected[@]}" $(ca_files | sed 's|^|ca/|'); do
        cmp -s "$PF/$f" "$([[ $f == ca/* ]] && echo "$CA/${f#ca/}" || echo "$W/$f")" ||
            fail "after msiexec /i under wine: Program Files\\mohur\\$f missing or not the built file"
    done
    # The Start-menu shortcut: Windows puts a per-machine (ALLUSERS=1) one in ProgramData;
    # wine 8 puts it in the installing user's Start menu.
    SHORTCUT=$(find "$WINEPREFIX/drive_c/ProgramData" "$WINEPREFIX/drive_c/users" -path '*/Start Menu/Programs/mohur.lnk' | head -n1)
    [[ -f $SHORTCUT ]] || fail "after msiexec /i under wine: no Start-menu shortcut (Start Menu\Programs\mohur.lnk)"
    grep -aq 'mohurw.exe' "$SHORTCUT" || fail "the Start-menu shortcut does not start mohurw.exe"
    wine "$PF/mohur-install.exe" verify --system </dev/null >"$OUT/wine-verify.txt" 2>&1 ||
        fail "after msiexec /i under wine, mohur-install.exe verify --system: $(cat "$OUT/wine-verify.txt")"
    # Firefox policy and Run key, and the CAs the manifest pins (root: ROOT, others: CA).
    pieces=$((2 + $(ca_files | wc -l) - 1))
    [[ $(grep -c '^  ✓ \(LocalMachine\|HKLM\)\\' "$OUT/wine-verify.txt") == "$pieces" ]] ||
        fail "after msiexec /i under wine: not $pieces pieces verified: $(cat "$OUT/wine-verify.txt")"
    # The Web eID host: Chrome's, Edge's and Firefox's HKLM keys name manifests that start
    # Program Files\mohur\mohur.exe (installer/src/web_eid.rs).
    for browser in Chrome Edge Firefox; do
        grep -q "^  ✓ Web eID host for $browser: HKLM\\\\Software\\\\" "$OUT/wine-verify.txt" ||
            fail "after msiexec /i under wine: no Web eID host for $browser: $(cat "$OUT/wine-verify.txt")"
        grep -q "^  $browser HKLM.*: mohur (C:\\\\Program Files\\\\mohur\\\\mohur.exe)" "$OUT/wine-verify.txt" ||
            fail "after msiexec /i under wine: mohur does not answer Web eID in $browser: $(cat "$OUT/wine-verify.txt")"
    done
    wine msiexec /x "Z:$MSI" /qn </dev/null >"$OUT/wine-msi-uninstall.txt" 2>&1 ||
        fail "msiexec /x under wine: $(cat "$OUT/wine-msi-uninstall.txt")"
    [[ ! -e $PF ]] || fail "after msiexec /x under wine: Program Files\\mohur is still there"
    [[ ! -e $SHORTCUT ]] || fail "after msiexec /x under wine: the Start-menu shortcut is still there"
    wine "$W/mohur-install.exe" verify --system --ca-bundle "Z:$PWD/$CA" </dev/null >"$OUT/wine-verify-after.txt" 2>&1 || true
    ! grep -q '^  ✓ \(HKLM\\\|Web eID\)' "$OUT/wine-verify-after.txt" ||
        fail "after msiexec /x under wine, registry values are still in place: $(cat "$OUT/wine-verify-after.txt")"
    # (wine 8 writes a store's deletions to the registry only on an explicit commit:
    # installer/src/win.rs commits after each.)
    ! grep -q '^  ✓ LocalMachine\\' "$OUT/wine-verify-after.txt" ||
        fail "after msiexec /x under wine the CA certificates are still in the LocalMachine stores: $(cat "$OUT/wine-verify-after.txt")"
    wineserver -w
    ! grep -qi 'mohur' "$WINEPREFIX/system.reg" "$WINEPREFIX/user.reg" ||
        fail "after msiexec /x under wine the registry still names mohur: $(grep -i mohur "$WINEPREFIX"/*.reg | head -n 5)"
    elapsed "wine: msiexec /i, verify --system ($pieces pieces), msiexec /x: files, registry values and certificates gone"

    # The TLS on loopback, per user, the Windows way: the CA's key in the Credential
    # Manager, its certificate in the CurrentUser ROOT store; the Windows agent serves
    # wss:// with it (checked from Linux with curl, trusting that CA only).
    UM='C:\users\loopback-manifest.json'
    wine "$W/mohur-install.exe" install --loopback-tls --no-autostart --ca-bundle "Z:$PWD/$CA" --manifest "$UM" \
        </dev/null >"$OUT/wine-loopback.txt" 2>&1 || fail "mohur-install.exe install --loopback-tls under wine: $(cat "$OUT/wine-loopback.txt")"
    grep -q 'kept in the Windows Credential Manager' "$OUT/wine-loopback.txt" ||
        fail "under wine the loopback CA's key did not go to the Credential Manager: $(cat "$OUT/wine-loopback.txt")"
    grep -q '^  + CurrentUser\\ROOT: mohur loopback CA ' "$OUT/wine-loopback.txt" ||
        fail "under wine the loopback CA was not added to CurrentUser\\ROOT: $(cat "$OUT/wine-loopback.txt")"
    LOOPBACK_CA=$(find "$WINEPREFIX/drive_c/users" -path '*/AppData/Local/mohur/loopback-ca.pem' | head -n1)
    [[ -f $LOOPBACK_CA ]] || fail "under wine: no loopback-ca.pem in %LOCALAPPDATA%\\mohur"
    PORT=$((40000 + RANDOM % 20000))
    wine "$W/mohur.exe" agent --no-pcsc --no-well-known-modules --no-tray --port $PORT </dev/null >"$OUT/wine-agent.txt" 2>&1 &
    WINE_AGENT=$!
    for ((i = 0; i < 300; i++)); do
        grep -q 'listening on' "$OUT/wine-agent.txt" && break
        sleep 0.1
    done
    health=$(curl -sS --max-time 10 --cacert "$LOOPBACK_CA" "https://127.0.0.1:$PORT/health" 2>&1 || true)
    kill $WINE_AGENT 2>/dev/null || true
    wait $WINE_AGENT 2>/dev/null || true
    grep -q "and wss://127.0.0.1:$PORT/v1" "$OUT/wine-agent.txt" ||
        fail "mohur.exe agent under wine serves no wss://: $(cat "$OUT/wine-agent.txt")"
    [[ $health == "mohur $VERSION" ]] ||
        fail "https://127.0.0.1:$PORT/health from the Windows agent, trusting the loopback CA only: $health"
    wine "$W/mohur-install.exe" uninstall --manifest "$UM" </dev/null >"$OUT/wine-loopback-uninstall.txt" 2>&1 ||
        fail "mohur-install.exe uninstall under wine: $(cat "$OUT/wine-loopback-uninstall.txt")"
    wineserver -w
    ! grep -qi 'mohur' "$WINEPREFIX/user.reg" ||
        fail "after uninstall under wine the user's registry (Credential Manager, stores) still names mohur: $(grep -i mohur "$WINEPREFIX/user.reg" | head -n 5)"
    [[ ! -e $LOOPBACK_CA ]] || fail "after uninstall under wine $LOOPBACK_CA is still there"
    elapsed "wine: install --loopback-tls (Credential Manager, CurrentUser ROOT), mohur.exe serves wss:// (curl), uninstall: all gone"
else
    say "wine not installed (scripts/deps.sh installs it): skipping the Windows binaries under wine"
fi
say "done in $((SECONDS - start)) s: $DEB, $MSI"
