#!/usr/bin/env bash
# Creates (or refreshes) .venv-torch: Python 3.11 with PyTorch (CPU) and
# Hugging Face transformers, used to check the PyTorch conversion.
#
# The project itself runs on Python 3.7 + TensorFlow 1.15 (.venv); this second
# environment only loads converted checkpoints (scripts/verify_pytorch.py).
# Idempotent: when .venv-torch exists and the pins below have not changed
# since the last successful install, it returns at once.
#
# Usage: bash scripts/setup_torch_env.sh
# Exit codes: 0 ready, 3 no Python 3.11 interpreter found, other: install
# failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROOT}/.venv-torch"
STAMP="${VENV}/.requirements.sha256"
NO_PYTHON311_EXIT=3

# torch 2.13.0 is asked for exactly: it is the CPU wheel available locally,
# and any looser spec would pull a multi-GB CUDA build from PyPI.
# transformers stays on 4.x, the last series that still ships the TF1
# checkpoint loaders (load_tf_weights_in_bert / _mobilebert) and the
# pure-Python BertTokenizer.
PINS=(
  "torch==2.13.0"
  "transformers==4.57.6"
  "tokenizers==0.22.1"
  "safetensors==0.6.2"
  "huggingface-hub==0.36.0"
  "numpy==2.2.6"
)

source "${ROOT}/scripts/find_python.sh"

want="$(printf '%s\n' "${PINS[@]}" | sha256sum | cut -d' ' -f1)"
if [ -x "${VENV}/bin/python" ] && [ -f "${STAMP}" ] && [ "$(cat "${STAMP}")" = "${want}" ]; then
  exit 0
fi

if ! PY="$(find_python 3.11)"; then
  cat >&2 <<'MSG'
************************************************************************
setup_torch_env.sh: NO PYTHON 3.11 INTERPRETER WAS FOUND.
The PyTorch conversion check needs Python 3.11 (the local torch 2.13.0
CPU wheel is built for it). Install one, e.g.
    pyenv install 3.11.7
or your distribution's python3.11 (with venv), or point PYTHON311 at it:
    PYTHON311=/path/to/python3.11 bash scripts/setup_torch_env.sh
************************************************************************
MSG
  exit "${NO_PYTHON311_EXIT}"
fi

echo "setup_torch_env.sh: using ${PY} to build ${VENV}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
[ -x "${VENV}/bin/python" ] || "${PY}" -m venv "${VENV}"
"${VENV}/bin/python" -m pip install -q --upgrade "pip<25" >/dev/null
"${VENV}/bin/python" -m pip install -q "${PINS[@]}"
echo "${want}" > "${STAMP}"
echo "setup_torch_env.sh: environment ready"
