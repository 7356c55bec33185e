#!/usr/bin/env bash
# Creates (or refreshes) the Python environment of one stack.
#
#   STACK=tf1 (default)  the reference stack: Python 3.7 + TensorFlow 1.15,
#                        .venv, requirements.txt
#   STACK=tf2            the modern stack: Python 3.11 + TensorFlow 2.15.1
#                        (+ PyTorch/transformers for conversion parity),
#                        .venv-tf2, requirements-tf2.txt
#
# On the modern stack TensorFlow is tensorflow-cpu when no GPU is visible
# (nvidia-smi lists none) and tensorflow[and-cuda] when one is; set
# TF2_DEVICE=cpu or TF2_DEVICE=gpu to force either.
# It also compiles pretrain/word_segmentation.c (jieba's segmentation in C,
# for whole-word masking) into pretrain/_word_segmentation.so, one library
# for both stacks, when the library is missing or older than its source;
# without a C compiler ($CC, default cc) it says so and whole-word masking
# uses jieba's Python code (same words, slower).
# Idempotent: when the environment exists and its requirements have not
# changed since the last successful install, it returns at once.
# Usage: [STACK=tf2] [TF2_DEVICE=cpu|gpu] bash scripts/setup_env.sh
# Exit codes: 0 ready, 3 no interpreter of the stack's Python version,
# other: the install failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "${ROOT}/scripts/find_python.sh"
STACK="${STACK:-tf1}"

build_word_segmenter() {
  local src="${ROOT}/pretrain/word_segmentation.c"
  local lib="${ROOT}/pretrain/_word_segmentation.so"
  [ "${lib}" -nt "${src}" ] && return 0
  if ! command -v "${CC:-cc}" >/dev/null 2>&1; then
    echo "setup_env.sh: no C compiler (${CC:-cc}) to build ${lib}: whole-word masking will use jieba's Python code (same words, slower)" >&2
    return 0
  fi
  "${CC:-cc}" -O2 -std=c99 -fPIC -shared -o "${lib}.$$" "${src}" -lm
  mv -f "${lib}.$$" "${lib}"
  echo "setup_env.sh: built ${lib}"
}
build_word_segmenter

case "${STACK}" in
  tf1)
    VENV="${ROOT}/.venv"; REQ="${ROOT}/requirements.txt"
    PY_VERSION=3.7; EXTRA=(); PIP_CAP="pip<24" ;;
  tf2)
    VENV="${ROOT}/.venv-tf2"; REQ="${ROOT}/requirements-tf2.txt"
    PY_VERSION=3.11; PIP_CAP="pip<25"
    device="${TF2_DEVICE:-}"
    if [ -z "${device}" ]; then
      if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q GPU; then
        device=gpu
      else
        device=cpu
      fi
    fi
    case "${device}" in
      cpu) EXTRA=("tensorflow-cpu==2.15.1") ;;
      gpu) EXTRA=("tensorflow[and-cuda]==2.15.1") ;;
      *) echo "setup_env.sh: TF2_DEVICE must be cpu or gpu, got '${device}'" >&2; exit 2 ;;
    esac ;;
  *)
    echo "setup_env.sh: STACK must be tf1 or tf2, got '${STACK}'" >&2; exit 2 ;;
esac
STAMP="${VENV}/.requirements.sha256"

want="$( (cat "${REQ}"; printf '%s\n' "${EXTRA[@]+"${EXTRA[@]}"}") | sha256sum | cut -d' ' -f1)"
if [ -x "${VENV}/bin/python" ] && [ -f "${STAMP}" ] && [ "$(cat "${STAMP}")" = "${want}" ]; then
  exit 0
fi

if ! PY="$(find_python "${PY_VERSION}")"; then
  var="PYTHON${PY_VERSION//./}"
  cat >&2 <<MSG
setup_env.sh: no working Python ${PY_VERSION} interpreter was found.
The ${STACK} stack needs Python ${PY_VERSION}. Install one, e.g.
    pyenv install ${PY_VERSION}
or your distribution's python${PY_VERSION} (with venv), or point ${var} at it:
    ${var}=/path/to/python${PY_VERSION} STACK=${STACK} bash scripts/setup_env.sh
MSG
  exit 3
fi

echo "setup_env.sh: stack ${STACK}: using ${PY} to build ${VENV}${EXTRA[0]:+ with ${EXTRA[0]}}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
[ -x "${VENV}/bin/python" ] || "${PY}" -m venv "${VENV}"
# seqeval ships as a source package whose setup asks for setuptools_scm;
# the current setuptools_scm cannot build it, so an older one comes first.
"${VENV}/bin/python" -m pip install -q --upgrade "${PIP_CAP}" "setuptools_scm<8" >/dev/null
"${VENV}/bin/python" -m pip install -q -r "${REQ}" "${EXTRA[@]+"${EXTRA[@]}"}"
echo "${want}" > "${STAMP}"
echo "setup_env.sh: environment ready"
