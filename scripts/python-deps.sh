#!/usr/bin/env bash
# Installs the document tests' independent checkers (pyHanko, tests/python/requirements.txt,
# every version pinned) into a virtual environment, target/python, when it is missing or
# older than the requirements. Needs python3 with venv (Debian: python3-venv) and PyPI.
# The tests find it there, or where $MOHUR_PYTHON_ENV points.
#
#   scripts/python-deps.sh          # idempotent; quick when nothing changed
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
req="$root/tests/python/requirements.txt"
venv=${MOHUR_PYTHON_ENV:-$root/target/python}

stamp="$venv/.mohur-requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/pyhanko" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

if ! command -v python3 >/dev/null 2>&1; then
  echo "python-deps: python3 is missing; on Debian: apt-get install -y --no-install-recommends python3 python3-venv" >&2
  exit 1
fi
rm -rf "$venv"
if ! python3 -m venv "$venv" >&2; then
  rm -rf "$venv"
  echo "python-deps: python3 cannot make a virtual environment; on Debian: apt-get install -y --no-install-recommends python3-venv" >&2
  exit 1
fi
echo "python-deps: pip install -r tests/python/requirements.txt into $venv" >&2
"$venv/bin/pip" install -q --disable-pip-version-check --no-input -r "$req" >&2
"$venv/bin/pyhanko" --version >&2
echo "$want" >"$stamp"
