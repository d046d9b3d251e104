#!/usr/bin/env bash
# One command: set up .venv, then run the whole test suite.
# Extra arguments go to pytest (e.g. -k gap, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$#" -eq 0 ]; then  # the whole suite: lint and format first (a second or two), with the project's rules
  .venv/bin/ruff check planner models tests scripts
  .venv/bin/ruff format --check planner models tests scripts
fi
set +e
.venv/bin/python -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
fi
exit "$rc"
