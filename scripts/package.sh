#!/usr/bin/env bash
# Builds mohur's packages and checks them with the real tools:
#  - Linux: a .deb (dpkg-deb) with mohur-install, the PKCS#11 module, the agent (when it
#    builds) and the CA bundle; lintian must report no error. As root (CI), it is also
#    installed with dpkg -i, checked (binaries, module in p11-kit, chain in the system
#    bundle, mohur-install verify), removed with dpkg -r, and the machine is checked to be
#    as before (system CA bundle byte for byte, no new files or empty directories).
#  - Windows: cross-builds mohur-install.exe and mohur_pkcs11.dll (and mohur.exe when the
#    agent builds without OpenSSL) for x86_64-pc-windows-gnu into target/windows, builds an
#    .msi with wixl from installer/windows/mohur.wxs, inspects it with msiinfo/msiextract,
#    and runs mohur-install.exe --dry-run under wine where wine is installed.
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

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# The CA bundle: the test PKI's root, Policy CA and E-Government CA (mohur-certs). The
# real national CAs replace these files; the package layout stays the same.
cargo run -q -p mohur-certs --bin mohur-test-pki -- --out "$OUT/pki" >/dev/null
CA=$OUT/ca
mkdir -p "$CA"
cp "$OUT"/pki/{root-ca,pca,ica}.pem "$CA/"

# ---------------------------------------------------------------- Linux .deb
profile_args=()
bin=target/debug
if [[ $PROFILE == release ]]; then
    profile_args=(--release)
    bin=target/release
fi
cargo build -q "${profile_args[@]}" -p mohur-pkcs11 -p mohur-installer
have_agent=0
if cargo build -q "${profile_args[@]}" -p mohur --bin mohur; then
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
install -d -m755 "$D/usr/share/mohur/ca"
install -m644 "$CA"/*.pem "$D/usr/share/mohur/ca/"
install -D -m644 installer/debian/copyright "$D/usr/share/doc/mohur/copyright"
gzip -9n <installer/debian/changelog >"$D/usr/share/doc/mohur/changelog.gz"
chmod 644 "$D/usr/share/doc/mohur/changelog.gz"
install -d -m755 "$D/DEBIAN"
install -m755 installer/debian/postinst installer/debian/prerm "$D/DEBIAN/"
agent_deps=""
((have_agent)) && agent_deps="libssl3, "
size=$(du -sk --exclude=DEBIAN "$D" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@SIZE@/$size/" -e "s/@AGENT_DEPS@/$agent_deps/" \
    installer/debian/control.in >"$D/DEBIAN/control"
DEB=$OUT/mohur_${VERSION}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$D" "$DEB" >/dev/null
dpkg-deb --contents "$DEB" | awk '{print "  " $6 " " $3}'
elapsed "built $DEB"

if command -v lintian >/dev/null; then
    # Known, accepted tags: no manual pages yet (warning level only).
    lintian --fail-on error --allow-root --suppress-tags binary-without-manpage "$DEB" | tee "$OUT/lintian.txt"
    grep -q '^E:' "$OUT/lintian.txt" && fail "lintian reports errors"
    say "lintian: no errors ($(grep -c '^W:' "$OUT/lintian.txt" || true) warning(s))"
else
    fail "lintian not installed (scripts/deps.sh installs it)"
fi

if [[ $(id -u) -eq 0 && ${MOHUR_PACKAGE_DPKG:-1} != 0 ]]; then
    if dpkg-query -W -f='${Status}' mohur 2>/dev/null | grep -q 'ok installed'; then
        fail "a mohur package is already installed on this machine: not touching it"
    fi
    watched=(/etc /usr/local/share/ca-certificates /usr/bin /usr/lib/$MULTIARCH/pkcs11 /usr/share/mohur /var/lib/mohur)
    listing() { { find "${watched[@]}" -xdev 2>/dev/null || true; } | grep -v -e '^/etc/ld.so.cache$' | LC_ALL=C sort; }
    listing >"$OUT/before.txt"
    bundle_before=$(sha256sum /etc/ssl/certs/ca-certificates.crt | cut -d' ' -f1)
    trap 'dpkg -r mohur >/dev/null 2>&1 || true' EXIT
    dpkg -i "$DEB"
    [[ -x /usr/bin/mohur-install && -f /usr/lib/$MULTIARCH/pkcs11/libmohur_pkcs11.so ]] || fail "binaries not installed"
    ((have_agent)) && { [[ -x /usr/bin/mohur ]] || fail "agent not installed"; }
    openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt "$OUT/pki/piv/auth.pem" ||
        fail "the holder's chain does not verify from the system bundle after dpkg -i"
    p11-kit list-modules | grep -q '^mohur: ' || fail "p11-kit does not list mohur after dpkg -i"
    mohur-install verify --system || fail "mohur-install verify --system after dpkg -i"
    dpkg -r mohur
    trap - EXIT
    [[ ! -e /usr/bin/mohur-install && ! -e /usr/lib/$MULTIARCH/pkcs11/libmohur_pkcs11.so ]] || fail "binaries left after dpkg -r"
    ! openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt "$OUT/pki/piv/auth.pem" >/dev/null 2>&1 ||
        fail "the mohur CAs are still trusted after dpkg -r"
    ! p11-kit list-modules | grep -q '^mohur: ' || fail "p11-kit still lists mohur after dpkg -r"
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
rustup target list --installed | grep -qx $WIN_TARGET || rustup target add $WIN_TARGET
WIN_DIR=target/windows/$WIN_TARGET/release
cargo build -q --release --target $WIN_TARGET --target-dir target/windows -p mohur-installer
wixl_defs=(-D HaveModule=0 -D HaveAgent=0)
W=$OUT/windows
mkdir -p "$W"
cp "$WIN_DIR/mohur-install.exe" "$W/"
win_expected=(mohur-install.exe)
if cargo build -q --release --target $WIN_TARGET --target-dir target/windows -p mohur-pkcs11 2>"$OUT/windows-module-build.log"; then
    cp "$WIN_DIR/mohur_pkcs11.dll" "$W/"
    wixl_defs[1]=HaveModule=1
    win_expected+=(mohur_pkcs11.dll)
else
    say "WARNING: the PKCS#11 module (crate mohur-pkcs11) does not cross-build for Windows: mohur_pkcs11.dll is not packaged:"
    grep -E '^(error|warning: unused)|^ +--> ' "$OUT/windows-module-build.log" | head -n 12 >&2
fi
if cargo tree -q -p mohur --target $WIN_TARGET -e normal 2>/dev/null | grep -q 'openssl-sys'; then
    say "WARNING: the agent (crate mohur) depends on OpenSSL (openssl-sys) for Windows: mohur.exe is not cross-built or packaged"
elif cargo build -q --release --target $WIN_TARGET --target-dir target/windows -p mohur --bin mohur 2>"$OUT/windows-agent-build.log"; then
    cp "$WIN_DIR/mohur.exe" "$W/"
    wixl_defs[3]=HaveAgent=1
    win_expected+=(mohur.exe)
else
    say "WARNING: the agent (crate mohur) does not cross-build for Windows: mohur.exe is not packaged"
fi
elapsed "Windows binaries built: $(cd "$W" && echo *)"

MSI=$OUT/mohur-$VERSION-x64.msi
# wixl resolves Source= relative to the .wxs and refuses absolute paths: build in $OUT.
cp installer/windows/mohur.wxs "$OUT/"
(cd "$OUT" && wixl -a x64 -D BinDir=windows -D CaDir=ca "${wixl_defs[@]}" -o "$MSI" mohur.wxs)
msiinfo suminfo "$MSI"
msiinfo export "$MSI" File | tee "$OUT/msi-files.txt"
for f in "${win_expected[@]}" root-ca.pem pca.pem ica.pem; do
    grep -q "$f" "$OUT/msi-files.txt" || fail "$f missing from the MSI File table"
done
msiinfo export "$MSI" CustomAction | grep -q 'install --system' || fail "the MSI does not run mohur-install"
msiextract -C "$OUT/msi-extract" "$MSI"
for f in "${win_expected[@]}" ca/root-ca.pem ca/pca.pem ca/ica.pem; do
    find "$OUT/msi-extract" -path "*/mohur/$f" | grep -q . || fail "msiextract: mohur/$f missing"
    cmp -s "$(find "$OUT/msi-extract" -path "*/mohur/$f")" "$( [[ $f == ca/* ]] && echo "$CA/${f#ca/}" || echo "$W/$f")" ||
        fail "msiextract: mohur/$f differs from the built file"
done
elapsed "MSI $MSI: files and custom actions checked"

if command -v wine >/dev/null; then
    WINEDEBUG=-all wine "$W/mohur-install.exe" install --dry-run --ca-bundle "Z:$CA" | tee "$OUT/wine-dry-run.txt"
    grep -q 'would add' "$OUT/wine-dry-run.txt" || fail "mohur-install.exe --dry-run under wine printed no action"
else
    say "wine not installed: skipping mohur-install.exe --dry-run under wine"
fi
say "done in $((SECONDS - start)) s: $DEB, $MSI"
