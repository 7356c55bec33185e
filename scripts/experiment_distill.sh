#!/usr/bin/env bash
# Real-data distillation experiment: a BERT teacher pretrained with masked
# LM, the MobileBERT student distilled from it (layer-wise transfer, then
# soft targets), the same student pretrained with plain masked LM for as many
# steps, each fine-tuned on ChnSentiCorp and CMRC 2018 with 3 seeds.
# Writes results.json, results.md and two PNG plots (see
# scripts/experiment_distill.py).
#
# Usage:
#   bash scripts/experiment_distill.sh                 # <= 60 min on 2 CPU cores
#   bash scripts/experiment_distill.sh --quick         # every stage, tiny sizes
#   bash scripts/experiment_distill.sh --ablations=no_layer_wise,ratio_1.0
#   STACK=tf2 bash scripts/experiment_distill.sh       # on the modern stack
#
# Environment:
#   EXPERIMENT_OUT   output folder [experiment_output/]; emptied first
#   EXPERIMENT_DATA  folder with vocab/, cmrc2018/, chnsenticorp/ [$DATA_DIR]
# Other arguments go to experiment_distill.py (--jobs, --full_vocab, ...).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
bash scripts/setup_env.sh
source scripts/find_python.sh
PY="$(stack_python "${ROOT}")"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
exec "${PY}" scripts/experiment_distill.py \
  --data_dir="${EXPERIMENT_DATA:-${DATA_DIR:-${ROOT}/../shared/data}}" \
  --output_dir="${EXPERIMENT_OUT:-${ROOT}/experiment_output}" "$@"
