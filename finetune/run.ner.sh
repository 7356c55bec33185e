#!/usr/bin/env bash
# Fine-tunes a (MobileBERT) checkpoint for Chinese NER with the usual
# Chinese BERT recipe (lr 3e-5, batch 32, 3 epochs, max length 128, long
# sentences in windows 64 characters apart), then scores the evaluation
# file and tags the prediction file.
#
#   DATASET=peoples_daily DATA_DIR=data/peoples_daily MODEL_DIR=... \
#     bash finetune/run.ner.sh
#
# Environment (paths may be gs://):
#   DATASET      peoples_daily (example.train, example.dev, example.test;
#                space-separated) or msra (msra_train_bio, msra_test_bio;
#                TAB-separated; scored on the test file, as published)
#                [peoples_daily]
#   DATA_DIR     folder with the dataset's files
#   TRAIN_FILE, EVAL_FILE, PREDICT_FILE   override the dataset's files
#   MODEL_DIR    model folder as downloaded: one checkpoint
#                (mobilebert.ckpt.*, bert_model.ckpt.* or model.ckpt-*), one
#                config *.json (student_base_f2.json, bert_config.json) and
#                vocab.txt; or set each of (each wins over MODEL_DIR's)
#   BERT_CONFIG, VOCAB, INIT_CKPT   (INIT_CKPT may be a prefix, an .index
#                file or a folder)
#   OUTPUT_DIR   checkpoints and results [./output/ner_DATASET]
#   TPU_NAME     optional: train on this Cloud TPU
#   PYTHON       interpreter [the repository's .venv, else python3]
# Extra arguments go to run_ner.py and override the defaults, e.g.
#   bash finetune/run.ner.sh --export_dir=/tmp/ner_export
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
DATASET="${DATASET:-peoples_daily}"
case "${DATASET}" in
  peoples_daily)
    require_data_dir "example.train, example.dev, example.test"
    TRAIN_FILE="${TRAIN_FILE:-${DATA_DIR}/example.train}"
    EVAL_FILE="${EVAL_FILE:-${DATA_DIR}/example.dev}"
    PREDICT_FILE="${PREDICT_FILE:-${DATA_DIR}/example.test}" ;;
  msra)
    require_data_dir "msra_train_bio and msra_test_bio"
    TRAIN_FILE="${TRAIN_FILE:-${DATA_DIR}/msra_train_bio}"
    EVAL_FILE="${EVAL_FILE:-${DATA_DIR}/msra_test_bio}"
    PREDICT_FILE="${PREDICT_FILE:-${DATA_DIR}/msra_test_bio}" ;;
  *)
    echo "${SCRIPT_NAME}: DATASET must be peoples_daily or msra, got ${DATASET}" >&2
    exit 2 ;;
esac
run_ner_task "ner_${DATASET}" "${TRAIN_FILE}" "${EVAL_FILE}" \
  "${PREDICT_FILE}" "$@"
