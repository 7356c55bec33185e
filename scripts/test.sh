#!/usr/bin/env bash
# Sets up the environment of one stack (if needed) and runs the test suite
# there.
# Usage: [STACK=tf1|tf2] bash scripts/test.sh [test files] [pytest arguments]
#   e.g. bash scripts/test.sh tests/test_modeling.py -k golden
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${STACK:-tf1}"
bash "${ROOT}/scripts/setup_env.sh"
case "${STACK}" in
  tf1) PYTHON="${ROOT}/.venv/bin/python" ;;
  tf2) PYTHON="${ROOT}/.venv-tf2/bin/python" ;;
esac
cd "${ROOT}"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONDONTWRITEBYTECODE=1
echo "test.sh: stack ${STACK} ($("${PYTHON}" -c 'import sys, tensorflow as tf; print("Python %d.%d, TensorFlow %s" % (sys.version_info[:2] + (tf.__version__,)))' 2>/dev/null))"
# Test paths among the arguments replace the whole suite (`tests`).
targets=(tests)
for arg in "$@"; do
  case "${arg}" in
    tests/*|*.py|*::*) targets=() ;;
  esac
done
exec "${PYTHON}" -m pytest -q -p no:cacheprovider \
  -W ignore::DeprecationWarning -W ignore::FutureWarning \
  --durations=15 ${targets[@]+"${targets[@]}"} "$@"
