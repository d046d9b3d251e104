#!/usr/bin/env bash
# Create (or refresh) the local virtual environment .venv with the planner
# and its test tools. Safe to run again: it reinstalls only when pyproject.toml
# changed. Needs Python >= 3.11 (found on PATH first, then under pyenv).
set -euo pipefail
cd "$(dirname "$0")/.."

MIN_MINOR=11

python_ok() {  # $1 = interpreter; true when it runs and is 3.MIN_MINOR or newer
  "$1" -c "import sys; sys.exit(0 if sys.version_info >= (3, $MIN_MINOR) else 1)" >/dev/null 2>&1
}

find_python() {
  local c
  if [ -n "${PLANNER_PYTHON:-}" ] && python_ok "$PLANNER_PYTHON"; then echo "$PLANNER_PYTHON"; return; fi
  for c in python3 python3.13 python3.12 python3.11 python; do
    if command -v "$c" >/dev/null 2>&1 && python_ok "$c"; then command -v "$c"; return; fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    local root v
    root="$(pyenv root)"
    for v in $(ls "$root/versions" 2>/dev/null | sort -rV); do
      if [ -x "$root/versions/$v/bin/python3" ] && python_ok "$root/versions/$v/bin/python3"; then
        echo "$root/versions/$v/bin/python3"; return
      fi
    done
  fi
  return 1
}

if [ ! -x .venv/bin/python ] || ! python_ok .venv/bin/python; then
  if ! PY="$(find_python)"; then
    echo "error: the planner needs Python 3.$MIN_MINOR or newer (with venv and pip)." >&2
    echo "Expected one of python3, python3.13, python3.12, python3.11 on PATH, a pyenv version, or PLANNER_PYTHON=/path/to/python." >&2
    exit 1
  fi
  echo "Creating .venv with $PY ($("$PY" --version 2>&1))" >&2
  rm -rf .venv
  "$PY" -m venv .venv
fi

stamp=.venv/.planner-installed
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing the planner and its dependencies into .venv (log: .venv/install.log) ..." >&2
  if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip \
         && .venv/bin/python -m pip install --disable-pip-version-check -e ".[test]"; } > .venv/install.log 2>&1; then
    tail -n 40 .venv/install.log >&2
    echo "error: installing the planner failed; the full log is .venv/install.log" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
