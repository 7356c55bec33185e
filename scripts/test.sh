#!/usr/bin/env bash
# Sets up the environment (if needed) and runs the test suite.
# Usage: bash scripts/test.sh [extra pytest arguments]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "${ROOT}/scripts/setup_env.sh"
cd "${ROOT}"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONDONTWRITEBYTECODE=1
exec .venv/bin/python -m pytest -q -p no:cacheprovider \
  -W ignore::DeprecationWarning -W ignore::FutureWarning \
  --durations=15 tests "$@"
