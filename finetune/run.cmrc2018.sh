#!/usr/bin/env bash
# Fine-tunes a (MobileBERT) checkpoint on CMRC 2018 with the published
# hyper-parameters (lr 3e-5, 2 epochs, batch 32, max length 512, stride 128),
# then predicts and scores the development set.
#
# Environment (paths may be gs://):
#   DATA_DIR     folder with cmrc2018_train.json and cmrc2018_dev.json
#   TRAIN_FILE, PREDICT_FILE   override those two files
#   MODEL_DIR    released checkpoint folder (bert_config.json, vocab.txt,
#                checkpoint); or set each of
#   BERT_CONFIG, VOCAB, INIT_CKPT   (INIT_CKPT may be a prefix, an .index
#                file or a folder; defaults to MODEL_DIR)
#   OUTPUT_DIR   checkpoints and predictions [./output/cmrc2018]
#   TPU_NAME     optional: train on this Cloud TPU
#   PYTHON       interpreter [the repository's .venv, else python3]
# Extra arguments go to run_squad.py and override the defaults above, e.g.
#   bash finetune/run.cmrc2018.sh --do_train=false
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEFAULT_PYTHON="${HERE}/../.venv/bin/python"
[ -x "${DEFAULT_PYTHON}" ] || DEFAULT_PYTHON=python3
PYTHON="${PYTHON:-${DEFAULT_PYTHON}}"

: "${DATA_DIR:?set DATA_DIR to the folder with the CMRC 2018 JSON files}"
MODEL_DIR="${MODEL_DIR:-}"
if [ -z "${MODEL_DIR}" ] && { [ -z "${BERT_CONFIG:-}" ] || [ -z "${VOCAB:-}" ]; }; then
  echo "run.cmrc2018.sh: set MODEL_DIR, or BERT_CONFIG and VOCAB (and INIT_CKPT)" >&2
  exit 2
fi
BERT_CONFIG="${BERT_CONFIG:-${MODEL_DIR}/bert_config.json}"
VOCAB="${VOCAB:-${MODEL_DIR}/vocab.txt}"
INIT_CKPT="${INIT_CKPT:-${MODEL_DIR}}"
[ -n "${INIT_CKPT}" ] || echo "${0##*/}: no INIT_CKPT: training from random weights" >&2
TRAIN_FILE="${TRAIN_FILE:-${DATA_DIR}/cmrc2018_train.json}"
PREDICT_FILE="${PREDICT_FILE:-${DATA_DIR}/cmrc2018_dev.json}"
OUTPUT_DIR="${OUTPUT_DIR:-output/cmrc2018}"

TPU_ARGS=()
if [ -n "${TPU_NAME:-}" ]; then
  TPU_ARGS=(--use_tpu=true "--tpu_name=${TPU_NAME}")
fi

exec "${PYTHON}" "${HERE}/run_squad.py" \
  --vocab_file="${VOCAB}" \
  --bert_config_file="${BERT_CONFIG}" \
  --init_checkpoint="${INIT_CKPT}" \
  --do_lower_case=true \
  --do_train=true \
  --train_file="${TRAIN_FILE}" \
  --do_predict=true \
  --predict_file="${PREDICT_FILE}" \
  --train_batch_size=32 \
  --predict_batch_size=8 \
  --learning_rate=3e-5 \
  --num_train_epochs=2 \
  --warmup_proportion=0.1 \
  --max_seq_length=512 \
  --doc_stride=128 \
  --max_query_length=64 \
  --n_best_size=20 \
  --max_answer_length=30 \
  --save_checkpoints_steps=1000 \
  --rand_seed=12345 \
  --output_dir="${OUTPUT_DIR}" \
  ${TPU_ARGS[@]+"${TPU_ARGS[@]}"} \
  "$@"
