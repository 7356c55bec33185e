#!/usr/bin/env bash
# The GPU check: a few minutes on one GPU, on the modern stack.
#
#   1. golden parity of the model (all golden configs, einsum on and off),
#      run where TensorFlow places it: on the GPU;
#   2. full-size distillation (student_base_f2 from roberta_wwm_ext) and
#      fine-tuning steps at fp32, fp16 (dynamic loss scaling), fp16 + XLA
#      and bf16, each checked for a finite loss, with examples/sec,
#      printed as a markdown table.
#
# Usage: bash scripts/gpu_check.sh [--iterations N]
# It builds .venv-tf2 with tensorflow[and-cuda] when a GPU is visible.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
STACK=tf2 bash scripts/setup_env.sh
PY="${ROOT}/.venv-tf2/bin/python"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
nvidia-smi -L || echo "gpu_check.sh: nvidia-smi lists no GPU: this runs on the CPU"
"${PY}" -c "import tensorflow as tf; print('GPUs visible to TensorFlow:', tf.config.list_physical_devices('GPU'))"
"${PY}" -m pytest -q -p no:cacheprovider tests/test_modeling.py -k golden
"${PY}" scripts/benchmark.py --sections gpu --iterations "${ITERATIONS:-5}" "$@"
