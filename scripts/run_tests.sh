#!/usr/bin/env bash
# The README's test command: set up; lint; build the book (a failing cell fails here); unit
# tests, the published book in headless Chromium, and every chapter under nbval.
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
QKAN_WORKERS="${QKAN_WORKERS:-1}" python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=1200 -p no:cacheprovider notebooks "$@"
