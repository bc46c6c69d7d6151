#!/usr/bin/env bash
# Set up .venv on first use, then run the demo, the tests or the CI checks.
#   bash scripts/run.sh demo        synthesize an embedded table, print real vs synthetic
#   bash scripts/run.sh test [...]  run the test suite (extra arguments go to pytest)
#   bash scripts/run.sh check       ruff and the strict docs build
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi

stamp=.venv/.sdv-gwm-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # The CPU build first: otherwise sdv -> ctgan -> torch pulls a multi-GB CUDA build.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[dev,data,docs,spark,dask]"
  touch "$stamp"
fi

command=${1:-}
shift || true
case "$command" in
  demo) exec .venv/bin/sdv-gwm demo "$@" ;;
  test) exec .venv/bin/python -m pytest "$@" ;;
  check)
    .venv/bin/ruff check .
    .venv/bin/ruff format --check sdv_gwm tests benchmarks examples docs
    .venv/bin/mkdocs build --strict --quiet
    ;;
  *) echo "usage: bash scripts/run.sh {demo|test|check}" >&2; exit 2 ;;
esac
