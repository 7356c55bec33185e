#!/usr/bin/env bash
# Creates (or refreshes) .venv with Python 3.7 and the pinned requirements.
#
# Idempotent: when .venv exists and requirements.txt has not changed since the
# last successful install, it returns at once.
# Usage: bash scripts/setup_env.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROOT}/.venv"
REQ="${ROOT}/requirements.txt"
STAMP="${VENV}/.requirements.sha256"

source "${ROOT}/scripts/find_python.sh"

want="$(sha256sum "${REQ}" | cut -d' ' -f1)"
if [ -x "${VENV}/bin/python" ] && [ -f "${STAMP}" ] && [ "$(cat "${STAMP}")" = "${want}" ]; then
  exit 0
fi

if ! PY="$(find_python 3.7)"; then
  cat >&2 <<'MSG'
setup_env.sh: no working Python 3.7 interpreter was found.
TensorFlow 1.15 needs Python 3.7. Install one, e.g.
    pyenv install 3.7.16
or your distribution's python3.7 (with venv), or point PYTHON37 at it:
    PYTHON37=/path/to/python3.7 bash scripts/setup_env.sh
MSG
  exit 1
fi

echo "setup_env.sh: using ${PY} to build ${VENV}"
[ -x "${VENV}/bin/python" ] || "${PY}" -m venv "${VENV}"
"${VENV}/bin/python" -m pip install -q --upgrade "pip<24" >/dev/null
"${VENV}/bin/python" -m pip install -q -r "${REQ}"
echo "${want}" > "${STAMP}"
echo "setup_env.sh: environment ready"
