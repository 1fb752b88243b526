#!/usr/bin/env bash
# The README's test command: set up, then unit tests + every chapter under nbval.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
python -m pytest tests "$@"
python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=1200 -p no:cacheprovider notebooks "$@"
