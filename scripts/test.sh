#!/usr/bin/env bash
# One command: set up .venv, then run the whole test suite.
# Extra arguments go to pytest (e.g. -k gap, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
set +e
.venv/bin/python -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
fi
exit "$rc"
