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
# Every chapter as the book shows it: the build's executed copies (their parameters folded in,
# so the full protocol) run again, reading the run archive with training forbidden; a chapter
# the build fell back to quick finds its runs where the build stored them.
QKAN_NO_TRAINING=1 QKAN_RESULTS="$ROOT/notebooks/results" QKAN_PROGRESS=0 \
  QKAN_WORKERS="${QKAN_WORKERS:-1}" "${NBVAL[@]}" _build/src/notebooks "$@"
