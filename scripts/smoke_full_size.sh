#!/usr/bin/env bash
# The full-size recipe on a CPU, a few steps per stage: proves shapes,
# memory and checkpoints before anyone spends accelerator time.
#
# Runs every stage of the base-f2 recipe (pretrain/run.pretrain.sh: a random
# RoBERTa-wwm-ext-sized teacher in the released layout, student_base_f2,
# length 128, batch 8: layer-wise transfer, a first round, distillation and
# its evaluation), then fine-tunes the student on the demo reviews and
# exports it (finetune/run.chnsenticorp.sh), and prints seconds per step and
# peak memory per stage as a markdown table (also in WORK/smoke_table.md).
#
# Usage: [STACK=tf1|tf2] bash scripts/smoke_full_size.sh [--workers 2] [--work_dir DIR]
#   --workers 2   run every training stage on two local worker processes
#                 (--distribution_strategy=multi_worker, same global batch)
#   --work_dir    an empty folder for the data, checkpoints and logs
#                 [a new temporary folder]
# Needs about 4 GiB of memory per process and a few GB of disk.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "${ROOT}/scripts/find_python.sh"
PYTHON="${PYTHON:-$(stack_python "${ROOT}")}"
WORKERS=1
WORK_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) WORKERS="$2"; shift 2 ;;
    --workers=*) WORKERS="${1#--workers=}"; shift ;;
    --work_dir) WORK_DIR="$2"; shift 2 ;;
    --work_dir=*) WORK_DIR="${1#--work_dir=}"; shift ;;
    *) echo "usage: $0 [--workers N] [--work_dir DIR]" >&2; exit 2 ;;
  esac
done
WORK_DIR="${WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/smoke_full_size.XXXXXX")}"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
exec "${PYTHON}" "${ROOT}/scripts/smoke_full_size.py" \
  --work_dir "${WORK_DIR}" --workers "${WORKERS}" --python "${PYTHON}"
