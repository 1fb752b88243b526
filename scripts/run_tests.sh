#!/usr/bin/env bash
# The README's test command: set up; lint; build the book (a failing cell fails here); unit
# tests, the published book in headless Chromium, and every chapter under nbval twice: as a
# reader runs it (quick protocol) and as the book shows it (full protocol from the run archive).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "installing chromium and chromium-driver for the browser test" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -q chromium chromium-driver \
    || { $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium chromium-driver; }
fi
ruff check qkan_lib tests benchmarks scripts
python scripts/build_book.py
python -m pytest tests "$@"
NBVAL=(python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=1200 -p no:cacheprovider)
# Every chapter as a reader runs it: the notebooks' defaults (quick protocol, training here).
QKAN_WORKERS="${QKAN_WORKERS:-1}" "${NBVAL[@]}" notebooks "$@"
# Every chapter as the book shows it: the build's executed copies of the chapters it built with
# the full protocol (their parameters folded in) run again, reading the run archive afresh
# (an empty results folder) with training forbidden. A chapter the build fell back to quick
# is the quick protocol, tested above.
FULL=$(python -c 'import json, pathlib
for p in sorted(pathlib.Path("_build/src/notebooks").glob("[0-9][0-9]_*.ipynb")):
    cells = json.loads(p.read_text())["cells"]
    params = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    if params and "full_protocol = True" in "".join(params[0]["source"]): print(p)')
if [ -n "$FULL" ]; then
  rm -rf _build/src/results
  # shellcheck disable=SC2086  # one path per word
  QKAN_NO_TRAINING=1 QKAN_PROGRESS=0 QKAN_WORKERS="${QKAN_WORKERS:-1}" "${NBVAL[@]}" $FULL "$@"
fi
