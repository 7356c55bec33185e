#!/usr/bin/env bash
# Chinese MobileBERT-base-f2 pretraining recipe: 500k steps of layer-wise
# knowledge transfer from RoBERTa-wwm-ext, then 2M steps of pretraining
# distillation (AdamW, lr 1e-4, batch 384, length 512, 75 predictions).
#
# Environment:
#   DATA_GLOB     TFRecords from create_pretraining_data.py
#                 (max_seq_length 512, max_predictions_per_seq 75)  [required]
#   TEACHER_DIR   the teacher's folder as downloaded (bert_model.ckpt.*,
#                 bert_config.json, vocab.txt), or one written by
#                 scripts/convert_from_pytorch.py; or set
#   TEACHER_CKPT  the teacher checkpoint (prefix, .index or dir) and
#   TEACHER_CONFIG  its config [config/roberta_wwm_ext.json]
#                 (each set one wins over TEACHER_DIR's)       [one required]
#   OUTPUT_DIR    checkpoints, summaries (my_summary/), eval results [required]
#   TPU_NAME      Cloud TPU name; when unset, runs on the local GPU/CPU
#   TPU_ZONE      zone of the TPU (optional)
#
# Re-running the same command resumes where it stopped.  Every checkpoint is
# kept (--keep_checkpoint_max defaults to 0), as in the published runs.
#
# Further flags are passed on.  The batch (384) is global: on GPUs, e.g.
#   bash pretrain/run.pretrain.sh --distribution_strategy=mirrored \
#     --gradient_accumulation_steps=4 --precision=fp16
# splits it over the local GPUs and 4 accumulated micro-batches per update.
# On several hosts, run the same command on each with its own TF_CONFIG and
#   --distribution_strategy=multi_worker
# (OUTPUT_DIR on storage every host reaches, e.g. gs://; see
# docs/scale_out.md; scripts/launch_local_workers.sh tries it on one host).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "${ROOT}/scripts/find_python.sh"
source "${ROOT}/scripts/model_folder.sh"
PYTHON="${PYTHON:-$(stack_python "${ROOT}")}"
: "${DATA_GLOB:?set DATA_GLOB to the pretraining TFRecords (glob)}"
: "${OUTPUT_DIR:?set OUTPUT_DIR to the output directory}"
TEACHER_BERT_CONFIG="${TEACHER_CONFIG:-}"
TEACHER_INIT_CKPT="${TEACHER_CKPT:-}"
TEACHER_VOCAB=unused  # The student's vocabulary is the data's.
if [[ -n "${TEACHER_DIR:-}" ]]; then
  read_model_folder "${PYTHON}" "${TEACHER_DIR}" TEACHER_
fi
: "${TEACHER_INIT_CKPT:?set TEACHER_DIR to the teacher folder (or TEACHER_CKPT to its checkpoint)}"
TEACHER_BERT_CONFIG="${TEACHER_BERT_CONFIG:-${ROOT}/config/roberta_wwm_ext.json}"

TPU_ARGS=()
if [[ -n "${TPU_NAME:-}" ]]; then
  TPU_ARGS+=(--use_tpu=true --tpu_name="${TPU_NAME}")
  if [[ -n "${TPU_ZONE:-}" ]]; then
    TPU_ARGS+=(--tpu_zone="${TPU_ZONE}")
  fi
fi

exec "${PYTHON}" "${ROOT}/pretrain/run_pretraining.py" \
  --bert_config_file="${ROOT}/config/student_base_f2.json" \
  --bert_teacher_config_file="${TEACHER_BERT_CONFIG}" \
  --init_checkpoint="${TEACHER_INIT_CKPT}" \
  --input_file="${DATA_GLOB}" \
  --output_dir="${OUTPUT_DIR}" \
  --do_train=true \
  --do_eval=true \
  --max_seq_length=512 \
  --max_predictions_per_seq=75 \
  --train_batch_size=384 \
  --eval_batch_size=384 \
  --optimizer=adamw \
  --learning_rate=1e-4 \
  --layer_wise_warmup=true \
  --num_distill_steps=500000 \
  --num_train_steps=2000000 \
  --num_warmup_steps=10000 \
  --save_checkpoints_steps=10000 \
  --iterations_per_loop=1000 \
  --attention_distill_factor=1 \
  --hidden_distill_factor=100 \
  --beta_distill_factor=5000 \
  --gamma_distill_factor=5 \
  --distill_ground_truth_ratio=0.5 \
  --distill_temperature=1.0 \
  --use_summary=true \
  ${TPU_ARGS[@]+"${TPU_ARGS[@]}"} \
  "$@"
