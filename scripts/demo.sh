#!/usr/bin/env bash
# One command: set up .venv, then generate, solve and summarize the demo book.
# Extra arguments go to `planner demo` (e.g. --force, --backend cpsat, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/planner demo "$@"
