#!/usr/bin/env bash
# Fine-tunes a (MobileBERT) checkpoint on CMRC 2018 with the published
# hyper-parameters (lr 3e-5, 2 epochs, batch 32, max length 512, stride 128),
# then predicts and scores the development set.
#
# Environment (paths may be gs://):
#   DATA_DIR     folder with cmrc2018_train.json and cmrc2018_dev.json
#   TRAIN_FILE, PREDICT_FILE   override those two files
#   MODEL_DIR    model folder as downloaded: one checkpoint
#                (mobilebert.ckpt.*, bert_model.ckpt.* or model.ckpt-*), one
#                config *.json (student_base_f2.json, bert_config.json) and
#                vocab.txt; or set each of (each wins over MODEL_DIR's)
#   BERT_CONFIG, VOCAB, INIT_CKPT   (INIT_CKPT may be a prefix, an .index
#                file or a folder)
#   OUTPUT_DIR   checkpoints and predictions [./output/cmrc2018]
#   TPU_NAME     optional: train on this Cloud TPU
#   PYTHON       interpreter [the repository's .venv, else python3]
# Extra arguments go to run_squad.py and override the defaults, e.g.
#   bash finetune/run.cmrc2018.sh --do_train=false
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_data_dir "cmrc2018_train.json and cmrc2018_dev.json"
run_squad_task cmrc2018 "${TRAIN_FILE:-${DATA_DIR}/cmrc2018_train.json}" \
  "${PREDICT_FILE:-${DATA_DIR}/cmrc2018_dev.json}" "$@"
