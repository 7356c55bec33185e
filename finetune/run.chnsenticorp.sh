#!/usr/bin/env bash
# Fine-tunes a (MobileBERT) checkpoint on ChnSentiCorp with the published
# hyper-parameters (lr 6e-5, batch 64, 3.0 epochs, max length 256), then
# evaluates the dev and test splits and writes test-set probabilities.
#
# Environment (paths may be gs://):
#   DATA_DIR     folder with train.tsv, dev.tsv, test.tsv
#   MODEL_DIR    model folder as downloaded: one checkpoint
#                (mobilebert.ckpt.*, bert_model.ckpt.* or model.ckpt-*), one
#                config *.json (student_base_f2.json, bert_config.json) and
#                vocab.txt; or set each of (each wins over MODEL_DIR's)
#   BERT_CONFIG, VOCAB, INIT_CKPT   (INIT_CKPT may be a prefix, an .index
#                file or a folder)
#   OUTPUT_DIR   checkpoints and results [./output/chnsenticorp]
#   TFRECORD_DIR feature cache [OUTPUT_DIR/features]
#   DO_TEST      evaluate and predict the test split [true]
#   TPU_NAME     optional: train on this Cloud TPU
#   PYTHON       interpreter [the repository's .venv, else python3]
# Extra arguments go to run_classifier.py and override the defaults, e.g.
#   bash finetune/run.chnsenticorp.sh --export_dir=/tmp/chnsenticorp_export
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_data_dir "train.tsv, dev.tsv, test.tsv"
run_classifier_task chnsenticorp 256 3.0 "$@"
