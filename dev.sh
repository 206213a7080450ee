#!/usr/bin/env bash
# Garde-fou developer entry point. The README's two commands:
#   bash dev.sh serve   - install into .venv (first run) and start the gateway (./config.yaml if it exists,
#                         else the embedded defaults)
#   bash dev.sh test    - install into .venv (first run), system packages for the tests, run the whole suite
# It works from any directory: the virtual environment is the repository's, while `serve` runs in the
# caller's directory (so that ./config.yaml, --config FILE and the SQLite audit file are the caller's).
set -euo pipefail
HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)

VENV="$HERE/.venv"

# mitmproxy 12 (the browser proxy) needs Python >= 3.12: $PYTHON if set, else python3.13 / python3.12 /
# python3 on PATH if recent enough, else a pyenv 3.12+ install.
is_recent() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

find_python() {
  if [ -n "${PYTHON:-}" ]; then
    if is_recent "$PYTHON"; then echo "$PYTHON"; return 0; fi
    echo "dev.sh: PYTHON=$PYTHON is not Python >= 3.12" >&2; return 1
  fi
  local candidate
  for candidate in python3.13 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && is_recent "$(command -v "$candidate")"; then
      command -v "$candidate"; return 0
    fi
  done
  for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python 2>/dev/null | sort -V); do
    if is_recent "$candidate"; then echo "$candidate"; return 0; fi
  done
  echo "dev.sh: Garde-fou needs Python >= 3.12 (mitmproxy 12) and none was found." >&2
  echo "dev.sh: install one (pyenv install 3.12, or your distribution's python3.12) or set PYTHON=/path/to/python3.12" >&2
  return 1
}

ensure_venv() {
  if [ -x "$VENV/bin/python" ] && ! is_recent "$VENV/bin/python"; then
    echo "dev.sh: $VENV runs Python < 3.12: recreating it" >&2
    rm -rf "$VENV"
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    local py
    py=$(find_python)
    "$py" -m venv "$VENV"
  fi
  local stamp="$VENV/.gardefou-installed"
  local want
  want=$(sha256sum < "$HERE/pyproject.toml" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    (cd "$HERE" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]')
    echo "$want" > "$stamp"
  fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "dev.sh: need root to run: $*" >&2; return 1; fi
}

ensure_test_system_packages() {
  # Debian's Chromium drives the dashboard browser tests (never a downloaded browser).
  if ! command -v chromium >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  # The live PostgreSQL the audit tests run against (start it if this machine has it stopped).
  if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
}

case "${1:-}" in
  serve)
    shift
    ensure_venv
    exec "$VENV/bin/gardefou" serve "$@"
    ;;
  test)
    shift
    ensure_venv
    cd "$HERE"  # the suite, ruff and mypy run on the repository (pytest paths are relative to it)
    ensure_test_system_packages
    # Lint and type check first (configured in pyproject.toml): a failure fails the test command.
    "$VENV/bin/ruff" check --quiet .
    "$VENV/bin/mypy" --no-error-summary
    set +e
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
    status=$?
    set -e
    if [ "$status" = 5 ]; then
      echo "dev.sh: pytest collected no tests - failing on purpose" >&2
      exit 1
    fi
    exit "$status"
    ;;
  *)
    echo "usage: bash dev.sh serve [--config FILE] [--host H] [--port P] | bash dev.sh test [pytest args]" >&2
    exit 2
    ;;
esac
