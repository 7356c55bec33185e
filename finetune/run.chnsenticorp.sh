#!/usr/bin/env bash
# Fine-tunes a (MobileBERT) checkpoint on ChnSentiCorp with the published
# hyper-parameters (lr 6e-5, batch 64, 3.0 epochs, max length 256), then
# evaluates the dev and test splits and writes test-set probabilities.
#
# Environment (paths may be gs://):
#   DATA_DIR     folder with train.tsv, dev.tsv, test.tsv
#   MODEL_DIR    released checkpoint folder (bert_config.json, vocab.txt,
#                checkpoint); or set each of
#   BERT_CONFIG, VOCAB, INIT_CKPT   (INIT_CKPT may be a prefix, an .index
#                file or a folder; defaults to MODEL_DIR)
#   OUTPUT_DIR   checkpoints and results [./output/chnsenticorp]
#   TFRECORD_DIR feature cache [OUTPUT_DIR/features]
#   DO_TEST      evaluate and predict the test split [true]
#   TPU_NAME     optional: train on this Cloud TPU
#   PYTHON       interpreter [the repository's .venv, else python3]
# Extra arguments go to run_classifier.py and override the defaults above,
# e.g. bash finetune/run.chnsenticorp.sh --export_dir=/tmp/chnsenticorp_export
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEFAULT_PYTHON="${HERE}/../.venv/bin/python"
[ -x "${DEFAULT_PYTHON}" ] || DEFAULT_PYTHON=python3
PYTHON="${PYTHON:-${DEFAULT_PYTHON}}"

: "${DATA_DIR:?set DATA_DIR to the folder with train.tsv, dev.tsv, test.tsv}"
MODEL_DIR="${MODEL_DIR:-}"
if [ -z "${MODEL_DIR}" ] && { [ -z "${BERT_CONFIG:-}" ] || [ -z "${VOCAB:-}" ]; }; then
  echo "run.chnsenticorp.sh: set MODEL_DIR, or BERT_CONFIG and VOCAB (and INIT_CKPT)" >&2
  exit 2
fi
BERT_CONFIG="${BERT_CONFIG:-${MODEL_DIR}/bert_config.json}"
VOCAB="${VOCAB:-${MODEL_DIR}/vocab.txt}"
INIT_CKPT="${INIT_CKPT:-${MODEL_DIR}}"
[ -n "${INIT_CKPT}" ] || echo "${0##*/}: no INIT_CKPT: training from random weights" >&2
OUTPUT_DIR="${OUTPUT_DIR:-output/chnsenticorp}"
TFRECORD_DIR="${TFRECORD_DIR:-${OUTPUT_DIR}/features}"
DO_TEST="${DO_TEST:-true}"

TPU_ARGS=()
if [ -n "${TPU_NAME:-}" ]; then
  TPU_ARGS=(--use_tpu=true "--tpu_name=${TPU_NAME}")
fi

exec "${PYTHON}" "${HERE}/run_classifier.py" \
  --task_name=chnsenticorp \
  --data_dir="${DATA_DIR}" \
  --vocab_file="${VOCAB}" \
  --bert_config_file="${BERT_CONFIG}" \
  --init_checkpoint="${INIT_CKPT}" \
  --output_dir="${OUTPUT_DIR}" \
  --tfrecord_dir="${TFRECORD_DIR}" \
  --do_lower_case=true \
  --do_train=true \
  --do_eval=true \
  --do_test="${DO_TEST}" \
  --do_predict="${DO_TEST}" \
  --max_seq_length=256 \
  --train_batch_size=64 \
  --eval_batch_size=64 \
  --predict_batch_size=64 \
  --learning_rate=6e-5 \
  --num_train_epochs=3.0 \
  --warmup_proportion=0.1 \
  --save_checkpoints_steps=1000 \
  --iterations_per_loop=1000 \
  ${TPU_ARGS[@]+"${TPU_ARGS[@]}"} \
  "$@"
