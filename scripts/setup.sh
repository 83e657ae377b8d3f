#!/usr/bin/env bash
# Shared set-up for scripts/start and scripts/test, safe to run again:
# finds a Python 3.12, installs uv, creates .venv from uv.lock, and installs
# PostgreSQL + PostGIS from the distribution when no external database is set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '\033[1m[gridwatch setup]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else say "need root to run: $*"; return 1
  fi
}

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    say "apt-get not found: install these packages with your system's package manager: $*"
    return 1
  fi
  say "installing Debian packages: $*"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; then
    as_root apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
  fi
}

# --- Python 3.12 -------------------------------------------------------------
is_py312() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; }

find_python() {
  local cand
  for cand in "${GRIDWATCH_PYTHON:-}" "$(command -v python3.12 2>/dev/null || true)" \
              /usr/bin/python3.12 /usr/local/bin/python3.12; do
    if is_py312 "$cand"; then echo "$cand"; return 0; fi
  done
  local pyenv_root="${PYENV_ROOT:-}"
  if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null 2>&1; then pyenv_root="$(pyenv root)"; fi
  for cand in "${pyenv_root:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 \
              "$HOME"/.local/share/uv/python/cpython-3.12*/bin/python3.12; do
    if is_py312 "$cand"; then echo "$cand"; return 0; fi
  done
  if command -v uv >/dev/null 2>&1 && cand="$(uv python find 3.12 2>/dev/null)" && is_py312 "$cand"; then
    echo "$cand"; return 0
  fi
  return 1
}

if ! PY="$(find_python)"; then
  cat >&2 <<'MSG'
[gridwatch setup] Python 3.12 was not found (pygeoapi 0.24 needs it).
Get one in any of these ways, then run this command again:
  - uv python install 3.12            (downloads a standalone build; needs internet)
  - pyenv install 3.12                (builds it; see https://github.com/pyenv/pyenv)
  - apt-get install python3.12 python3.12-venv   (Ubuntu 24.04; not in Debian 12)
or point GRIDWATCH_PYTHON at an existing python3.12.
MSG
  exit 3
fi
say "Python 3.12: $PY"

# --- uv and the environment -----------------------------------------------------
UV="$(command -v uv 2>/dev/null || true)"
if [ -z "$UV" ]; then
  UV="$ROOT/.gridwatch/tools/bin/uv"
  if [ ! -x "$UV" ]; then
    say "installing uv into .gridwatch/tools"
    "$PY" -m venv "$ROOT/.gridwatch/tools"
    "$ROOT/.gridwatch/tools/bin/python" -m pip install -q "uv>=0.5"
  fi
fi
# Use the system trust store: behind a TLS-inspecting proxy the bundled roots fail.
export UV_PYTHON="$PY" UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS="${UV_SYSTEM_CERTS:-1}"
if [ -n "${SSL_CERT_FILE:-}" ] && [ ! -f "$SSL_CERT_FILE" ]; then unset SSL_CERT_FILE; fi
say "syncing .venv from uv.lock"
"$UV" sync --locked --quiet

# --- PostgreSQL + PostGIS for the private cluster ------------------------------
if [ -z "${GRIDWATCH_DATABASE_URL:-}" ]; then
  pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
  if [ -z "$(pg_bindir)" ] && ! command -v pg_ctl >/dev/null 2>&1; then
    apt_install postgresql
  fi
  bindir="$(pg_bindir)"
  if [ -n "$bindir" ]; then
    major="$(basename "$(dirname "$bindir")")"
    if [ ! -f "/usr/share/postgresql/$major/extension/postgis.control" ]; then
      apt_install "postgresql-$major-postgis-3"
    fi
  fi
fi
