#!/usr/bin/env bash
# Installs the browser tests' npm dependencies (tests/browser: playwright-core only)
# when node_modules is missing or older than package-lock.json, and checks that Node.js,
# npm and Debian's Chromium are there. Never downloads a browser: the drivers run
# /usr/bin/chromium (MOHUR_CHROMIUM overrides).
#
#   scripts/browser-deps.sh          # idempotent; quick when nothing changed
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="$root/tests/browser"
chromium=${MOHUR_CHROMIUM:-/usr/bin/chromium}

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -x "$chromium" ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "browser-deps: missing ${missing[*]}; on Debian: apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "browser-deps: Node.js $(node --version) is too old: playwright-core and the tests need Node.js >= 20" >&2
  exit 1
fi

stamp="$dir/node_modules/.mohur-lock.sha256"
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ -f "$dir/node_modules/playwright-core/package.json" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

echo "browser-deps: npm ci in tests/browser" >&2
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$dir" --no-audit --no-fund >&2
echo "$want" >"$stamp"
