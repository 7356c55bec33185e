#!/usr/bin/env bash
# A tiny MobileBERT student trained from scratch on part of the People's
# Daily NER development set and scored on its held-out sentences, with
# several seeds, against the all-O baseline (F1 0). The table in
# docs/ner.md comes from this script.
#
#   DATA_DIR=/path/to/data bash scripts/ner_experiment.sh
#
# Environment:
#   DATA_DIR    folder holding ner/peoples_daily/example.dev
#   OUT         work folder [/tmp/ner_experiment]
#   TRAIN_SENTENCES  sentences trained on (the first ones) [1800]; the
#               rest are held out
#   SEEDS       [1 2 3]
#   CONFIG      [config/tiny_student_f2.json]
#   EPOCHS, LEARNING_RATE, BATCH, MAX_SEQ_LENGTH  [4, 2e-3, 32, 128]
#   PYTHON      interpreter [the repository's .venv of STACK]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "${ROOT}/scripts/find_python.sh"
PYTHON="${PYTHON:-$(stack_python "${ROOT}")}"
DATA_DIR="${DATA_DIR:?set DATA_DIR to the folder holding ner/peoples_daily/example.dev}"
SOURCE="${DATA_DIR}/ner/peoples_daily/example.dev"
OUT="${OUT:-/tmp/ner_experiment}"
TRAIN_SENTENCES="${TRAIN_SENTENCES:-1800}"
SEEDS="${SEEDS:-1 2 3}"
CONFIG="${CONFIG:-${ROOT}/config/tiny_student_f2.json}"
EPOCHS="${EPOCHS:-4}"
LEARNING_RATE="${LEARNING_RATE:-2e-3}"
BATCH="${BATCH:-32}"
MAX_SEQ_LENGTH="${MAX_SEQ_LENGTH:-128}"
[ -f "${SOURCE}" ] || { echo "ner_experiment.sh: ${SOURCE} not found" >&2; exit 2; }
mkdir -p "${OUT}"
# Sentences are blank-line separated: paragraph mode splits them.
awk -v n="${TRAIN_SENTENCES}" -v train="${OUT}/train.txt" \
    -v held="${OUT}/heldout.txt" 'BEGIN { RS = ""; ORS = "\n\n" }
    { sub(/\r/, ""); print > (NR <= n ? train : held) }' "${SOURCE}"
for seed in ${SEEDS}; do
  start=$(date +%s)
  "${PYTHON}" "${ROOT}/finetune/run_ner.py" \
    --train_file="${OUT}/train.txt" --predict_file="${OUT}/heldout.txt" \
    --vocab_file="${ROOT}/tests/testdata/vocab/chinese_vocab.txt" \
    --bert_config_file="${CONFIG}" \
    --output_dir="${OUT}/seed${seed}" --overwrite_output_dir \
    --do_train --do_predict --rand_seed="${seed}" \
    --max_seq_length="${MAX_SEQ_LENGTH}" --doc_stride=64 \
    --train_batch_size="${BATCH}" --predict_batch_size=64 \
    --learning_rate="${LEARNING_RATE}" --num_train_epochs="${EPOCHS}" \
    --save_checkpoints_steps=100000 --log_every_steps=50 \
    > "${OUT}/seed${seed}.log" 2>&1 || { tail -20 "${OUT}/seed${seed}.log"; exit 1; }
  echo "seed ${seed}: $(( $(date +%s) - start )) s"
done
"${PYTHON}" - "${OUT}" ${SEEDS} <<'EOF'
import os
import sys

import numpy as np

out, seeds = sys.argv[1], sys.argv[2:]
rows = []
for seed in seeds:
    path = os.path.join(out, "seed%s" % seed, "predict_results.txt")
    values = dict(line.split(" = ") for line in open(path, encoding="utf-8")
                  if " = " in line)
    rows.append([float(values[k]) * 100 for k in ("precision", "recall",
                                                  "f1")])
    print("| %s | %.1f | %.1f | %.1f |" % ((seed,) + tuple(rows[-1])))
rows = np.array(rows)
print("| mean ± sd | %s |" % " | ".join(
    "%.1f ± %.1f" % (m, s) for m, s in zip(rows.mean(0), rows.std(0))))
print("| all O | 0.0 | 0.0 | 0.0 |")
EOF
