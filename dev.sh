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
PY=${PYTHON:-python3}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
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
