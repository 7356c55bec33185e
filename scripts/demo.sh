#!/usr/bin/env bash
# The whole Chinese MobileBERT pipeline, end to end, on small data:
#
#   pretraining data (whole-word masking) → tiny teacher (MLM) →
#   layer-wise knowledge transfer + pretraining distillation (student) →
#   sentiment classification fine-tune + eval → reading comprehension
#   fine-tune + eval (CMRC 2018 metric) → named-entity recognition
#   fine-tune + eval (entity F1) → TFLite export + TFLite eval
#
# Usage:
#   bash scripts/demo.sh                          # bundled data (scripts/demo_data)
#   DEMO_DATA=/path/to/data bash scripts/demo.sh # the real data sets instead
#   STACK=tf2 bash scripts/demo.sh                # on the modern stack (TF 2.15)
#
# Environment:
#   DEMO_DATA  folder with vocab/, cmrc2018/ and chnsenticorp/ (real-data mode;
#              ner/weibo/ too for the NER stage, which is skipped without it)
#   DEMO_OUT   output folder (default: demo_output/, or demo_output_real/);
#              it is emptied first, so a second run reuses nothing stale.
#   DEMO_COMPARE=1  also pretrain the student architecture with plain MLM
#              for the same number of steps (the baseline) and fine-tune
#              teacher, distilled student and baseline alike.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
bash scripts/setup_env.sh
source scripts/find_python.sh
PY="$(stack_python "${ROOT}")"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1

if [ -n "${DEMO_DATA:-}" ]; then
  MODE=real
  OUT="${DEMO_OUT:-${ROOT}/demo_output_real}"
else
  MODE=bundled
  OUT="${DEMO_OUT:-${ROOT}/demo_output}"
fi
rm -rf "${OUT}"
mkdir -p "${OUT}/logs"
STAGES="${OUT}/stages.tsv"
: > "${STAGES}"

if [ "${MODE}" = real ]; then
  DEMO_DATA="$(cd "${DEMO_DATA}" && pwd)"
  "${PY}" scripts/demo_prepare_real.py --data_dir "${DEMO_DATA}" \
    --output_dir "${OUT}/data"
  DATA="${OUT}/data"
  VOCAB="${DEMO_DATA}/vocab/chinese_vocab.txt"
  TEACHER_CONFIG=config/tiny_teacher.json
  STUDENT_CONFIG=config/tiny_student_f2.json
  # The real sets are larger: fewer passes, same pipeline.
  TEACHER_STEPS=2500; WARMUP_STEPS=500; STUDENT_STEPS=1000
  SEQ=128; PREDS=20; CLS_SEQ=128; CLS_EPOCHS=1; MRC_EPOCHS=1; DUPE=2
  NER_TRAIN="${DEMO_DATA}/ner/weibo/weiboNER_2nd_conll.train"
  NER_DEV="${DEMO_DATA}/ner/weibo/weiboNER_2nd_conll.dev"; NER_EPOCHS=1
else
  DATA="${ROOT}/scripts/demo_data"
  VOCAB="${DATA}/vocab.txt"
  TEACHER_CONFIG=config/demo_teacher.json
  STUDENT_CONFIG=config/demo_student.json
  TEACHER_STEPS=1500; WARMUP_STEPS=200; STUDENT_STEPS=400
  SEQ=64; PREDS=10; CLS_SEQ=64; CLS_EPOCHS=5; MRC_EPOCHS=20; DUPE=5
  NER_TRAIN="${DATA}/ner/train.txt"; NER_DEV="${DATA}/ner/dev.txt"
  NER_EPOCHS=8
fi
COMPARE="${DEMO_COMPARE:-0}"
NER_STAGE=1
if [ ! -f "${NER_TRAIN}" ] || [ ! -f "${NER_DEV}" ]; then
  echo "demo.sh: no ${NER_TRAIN#${ROOT}/} / ${NER_DEV#${ROOT}/}: skipping the NER stage"
  NER_STAGE=0
fi
STAGE_COUNT=$(( (COMPARE == 1 ? 12 : 7) + NER_STAGE ))
STAGE_INDEX=0

# run_stage NAME OUTPUT_DIR COMMAND...: runs one stage, logs to
# ${OUT}/logs/NAME.log, prints its wall time and records it for the table.
run_stage() {
  local name="$1" output="$2"
  shift 2
  STAGE_INDEX=$((STAGE_INDEX + 1))
  local log="${OUT}/logs/${name}.log"
  echo "[${STAGE_INDEX}/${STAGE_COUNT}] ${name} (log: ${log#${ROOT}/})"
  local start end
  start=$(date +%s)
  if ! "$@" > "${log}" 2>&1; then
    echo "demo.sh: stage '${name}' failed; last lines of ${log}:" >&2
    tail -n 30 "${log}" >&2
    exit 1
  fi
  end=$(date +%s)
  grep -E "step [0-9]+ .*examples/sec" "${log}" | tail -n 1 | sed 's/^/      /' || true
  echo "      done in $((end - start)) s"
  printf '%s\t%s\t%s\n' "${name}" "$((end - start))" "${output}" >> "${STAGES}"
}

echo "Chinese MobileBERT demo (${MODE} data) → ${OUT#${ROOT}/}"
TOTAL_START=$(date +%s)

run_stage pretraining_data "${OUT}/pretrain_data" \
  "${PY}" pretrain/create_pretraining_data.py \
    --input_file="${DATA}/corpus.txt" \
    --output_file="${OUT}/pretrain_data/train.tfrecord" \
    --vocab_file="${VOCAB}" --do_lower_case=True \
    --max_seq_length=${SEQ} --max_predictions_per_seq=${PREDS} \
    --dupe_factor=${DUPE} --masked_lm_prob=0.15 --random_seed=12345 \
    --do_whole_word_mask

PRETRAIN_COMMON=(
  --input_file="${OUT}/pretrain_data/train.tfrecord"
  --max_seq_length=${SEQ} --max_predictions_per_seq=${PREDS}
  --train_batch_size=32 --eval_batch_size=32 --max_eval_steps=20
  --save_checkpoints_steps=500 --iterations_per_loop=100
  --do_train --do_eval --rand_seed=12345
)

run_stage teacher_mlm "${OUT}/teacher" \
  "${PY}" pretrain/run_pretraining.py "${PRETRAIN_COMMON[@]}" \
    --bert_config_file="${TEACHER_CONFIG}" \
    --output_dir="${OUT}/teacher" \
    --learning_rate=1e-3 --num_train_steps=${TEACHER_STEPS} \
    --num_warmup_steps=$((TEACHER_STEPS / 10)) --distill_ground_truth_ratio=1.0

# The published recipe's structure (run.pretrain.sh), scaled down.
run_stage student_distillation "${OUT}/student" \
  "${PY}" pretrain/run_pretraining.py "${PRETRAIN_COMMON[@]}" \
    --bert_config_file="${STUDENT_CONFIG}" \
    --bert_teacher_config_file="${TEACHER_CONFIG}" \
    --init_checkpoint="${OUT}/teacher" \
    --output_dir="${OUT}/student" \
    --optimizer=adamw --learning_rate=1e-3 --num_warmup_steps=50 \
    --layer_wise_warmup --num_distill_steps=${WARMUP_STEPS} \
    --num_train_steps=${STUDENT_STEPS} \
    --attention_distill_factor=1 --hidden_distill_factor=100 \
    --beta_distill_factor=5000 --gamma_distill_factor=5 \
    --distill_ground_truth_ratio=0.5 --distill_temperature=1.0

if [ "${COMPARE}" = 1 ]; then
  # Baseline: the student architecture with plain MLM for as many steps as
  # the student trained in both distillation stages.
  run_stage baseline_mlm "${OUT}/baseline" \
    "${PY}" pretrain/run_pretraining.py "${PRETRAIN_COMMON[@]}" \
      --bert_config_file="${STUDENT_CONFIG}" \
      --output_dir="${OUT}/baseline" \
      --learning_rate=1e-3 --num_warmup_steps=50 \
      --num_train_steps=$((WARMUP_STEPS + STUDENT_STEPS)) \
      --distill_ground_truth_ratio=1.0
  FINETUNED=(student:"${STUDENT_CONFIG}" baseline:"${STUDENT_CONFIG}"
             teacher:"${TEACHER_CONFIG}")
else
  FINETUNED=(student:"${STUDENT_CONFIG}")
fi

for entry in "${FINETUNED[@]}"; do
  model="${entry%%:*}"
  config="${entry#*:}"
  run_stage "classification_${model}" "${OUT}/classifier_${model}" \
    "${PY}" finetune/run_classifier.py \
      --task_name=chnsenticorp --data_dir="${DATA}/sentiment" \
      --vocab_file="${VOCAB}" --do_lower_case=True \
      --bert_config_file="${config}" \
      --init_checkpoint="${OUT}/${model}" \
      --output_dir="${OUT}/classifier_${model}" \
      --tfrecord_dir="${OUT}/features" --rand_seed=12345 \
      --max_seq_length=${CLS_SEQ} --do_train --do_eval \
      --train_batch_size=32 --eval_batch_size=32 --learning_rate=1e-3 \
      --num_train_epochs=${CLS_EPOCHS} --warmup_proportion=0.1 \
      --save_checkpoints_steps=100000

  run_stage "reading_comprehension_${model}" "${OUT}/mrc_${model}" \
    "${PY}" finetune/run_squad.py \
      --train_file="${DATA}/mrc/train.json" \
      --predict_file="${DATA}/mrc/dev.json" \
      --vocab_file="${VOCAB}" --do_lower_case=True \
      --bert_config_file="${config}" \
      --init_checkpoint="${OUT}/${model}" \
      --output_dir="${OUT}/mrc_${model}" --do_train --do_predict \
      --max_seq_length=128 --doc_stride=64 --max_query_length=32 \
      --train_batch_size=16 --predict_batch_size=32 --learning_rate=1e-3 \
      --num_train_epochs=${MRC_EPOCHS} --warmup_proportion=0.1 \
      --save_checkpoints_steps=100000 --rand_seed=12345
done

# Named-entity recognition on the distilled student (windows of 64 tokens).
if [ "${NER_STAGE}" = 1 ]; then
  run_stage ner_student "${OUT}/ner_student" \
    "${PY}" finetune/run_ner.py \
      --train_file="${NER_TRAIN}" --eval_file="${NER_DEV}" \
      --vocab_file="${VOCAB}" --do_lower_case=True \
      --bert_config_file="${STUDENT_CONFIG}" \
      --init_checkpoint="${OUT}/student" \
      --output_dir="${OUT}/ner_student" --do_train --do_eval \
      --max_seq_length=64 --doc_stride=32 \
      --train_batch_size=32 --eval_batch_size=64 --learning_rate=1e-3 \
      --num_train_epochs=${NER_EPOCHS} --warmup_proportion=0.1 \
      --save_checkpoints_steps=100000 --rand_seed=12345
fi

# Export the fine-tuned student classifier and evaluate the TFLite model.
EXPORT_ARGS=(
  --task_name=chnsenticorp --data_dir="${DATA}/sentiment"
  --vocab_file="${VOCAB}" --do_lower_case=True
  --bert_config_file="${STUDENT_CONFIG}" --max_seq_length=${CLS_SEQ}
  --output_dir="${OUT}/classifier_student"
  --tfrecord_dir="${OUT}/features"
)
run_stage tflite_export "${OUT}/classifier_student/export" \
  "${PY}" finetune/run_classifier.py "${EXPORT_ARGS[@]}" \
    --export_dir="${OUT}/classifier_student/export" --use_post_quantization

run_stage tflite_eval "${OUT}/classifier_student/export/model_float.tflite" \
  "${PY}" finetune/run_classifier.py "${EXPORT_ARGS[@]}" \
    --lite_model_path="${OUT}/classifier_student/export/model_float.tflite"

TOTAL_END=$(date +%s)
"${PY}" scripts/demo_summary.py --output_dir "${OUT}" \
  --total_seconds $((TOTAL_END - TOTAL_START))
