#!/usr/bin/env bash
# The README's build command: set up, execute every chapter with papermill, build the HTML book.
# Extra arguments go to scripts/build_book.py (e.g. --full for the paper's protocol).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
python scripts/build_book.py "$@"
