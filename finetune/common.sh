# Shared by the finetune/run.<task>.sh scripts (sourced, not run).
#
# Reads the environment the scripts document and sets:
#   PYTHON       the repository's environment interpreter of STACK (.venv, or
#                .venv-tf2 with STACK=tf2), else python3
#   BERT_CONFIG, VOCAB, INIT_CKPT   from MODEL_DIR unless set one by one
#   TPU_ARGS     --use_tpu/--tpu_name when TPU_NAME is set
# and defines run_classifier_task, run_squad_task and run_ner_task, which
# launch the entry points with the published hyper-parameters.  Extra
# arguments are passed on, e.g. --distribution_strategy=mirrored (local
# GPUs) or --distribution_strategy=multi_worker (several hosts, each with
# its own TF_CONFIG; see docs/scale_out.md).

FINETUNE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SCRIPT_NAME="$(basename "$0")"

source "${FINETUNE_DIR}/../scripts/find_python.sh"
source "${FINETUNE_DIR}/../scripts/model_folder.sh"
DEFAULT_PYTHON="$(stack_python "${FINETUNE_DIR}/..")"
[ -x "${DEFAULT_PYTHON}" ] || DEFAULT_PYTHON=python3
PYTHON="${PYTHON:-${DEFAULT_PYTHON}}"

# require_data_dir DESCRIPTION: stops unless DATA_DIR is set.
require_data_dir() {
  if [ -z "${DATA_DIR:-}" ]; then
    echo "${SCRIPT_NAME}: set DATA_DIR to the folder with $1" >&2
    exit 2
  fi
}

# resolve_model_paths: BERT_CONFIG, VOCAB, INIT_CKPT and TPU_ARGS.
# MODEL_DIR is a model folder as downloaded (mobilebert.ckpt.*, vocab.txt,
# one config such as student_base_f2.json; or bert_model.ckpt.*,
# bert_config.json, vocab.txt; or our exports); any of the three set one by
# one wins over the folder.
resolve_model_paths() {
  MODEL_DIR="${MODEL_DIR:-}"
  if [ -n "${MODEL_DIR}" ]; then
    read_model_folder "${PYTHON}" "${MODEL_DIR}" ""
  elif [ -z "${BERT_CONFIG:-}" ] || [ -z "${VOCAB:-}" ]; then
    echo "${SCRIPT_NAME}: set MODEL_DIR, or BERT_CONFIG and VOCAB (and INIT_CKPT)" >&2
    exit 2
  fi
  INIT_CKPT="${INIT_CKPT:-}"
  [ -n "${INIT_CKPT}" ] || echo "${SCRIPT_NAME}: no INIT_CKPT: training from random weights" >&2
  TPU_ARGS=()
  if [ -n "${TPU_NAME:-}" ]; then
    TPU_ARGS=(--use_tpu=true "--tpu_name=${TPU_NAME}")
  fi
}

# run_classifier_task TASK MAX_SEQ_LENGTH EPOCHS [extra flags...]
# Published classification recipe: lr 6e-5, batch 64, warmup 10%.
run_classifier_task() {
  local task="$1" max_seq_length="$2" epochs="$3"
  shift 3
  resolve_model_paths
  OUTPUT_DIR="${OUTPUT_DIR:-output/${task}}"
  TFRECORD_DIR="${TFRECORD_DIR:-${OUTPUT_DIR}/features}"
  DO_TEST="${DO_TEST:-true}"
  exec "${PYTHON}" "${FINETUNE_DIR}/run_classifier.py" \
    --task_name="${task}" \
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
    --max_seq_length="${max_seq_length}" \
    --train_batch_size=64 \
    --eval_batch_size=64 \
    --predict_batch_size=64 \
    --learning_rate=6e-5 \
    --num_train_epochs="${epochs}" \
    --warmup_proportion=0.1 \
    --save_checkpoints_steps=1000 \
    --iterations_per_loop=1000 \
    ${TPU_ARGS[@]+"${TPU_ARGS[@]}"} \
    "$@"
}

# run_squad_task NAME TRAIN_FILE PREDICT_FILE [extra flags...]
# Published span-extraction recipe: lr 3e-5, 2 epochs, batch 32, length
# 512, stride 128.
run_squad_task() {
  local name="$1" train_file="$2" predict_file="$3"
  shift 3
  resolve_model_paths
  OUTPUT_DIR="${OUTPUT_DIR:-output/${name}}"
  exec "${PYTHON}" "${FINETUNE_DIR}/run_squad.py" \
    --vocab_file="${VOCAB}" \
    --bert_config_file="${BERT_CONFIG}" \
    --init_checkpoint="${INIT_CKPT}" \
    --do_lower_case=true \
    --do_train=true \
    --train_file="${train_file}" \
    --do_predict=true \
    --predict_file="${predict_file}" \
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
}

# run_ner_task NAME TRAIN_FILE EVAL_FILE PREDICT_FILE [extra flags...]
# Chinese BERT NER recipe: lr 3e-5, 3 epochs, batch 32, length 128,
# windows 64 characters apart.
run_ner_task() {
  local name="$1" train_file="$2" eval_file="$3" predict_file="$4"
  shift 4
  resolve_model_paths
  OUTPUT_DIR="${OUTPUT_DIR:-output/${name}}"
  exec "${PYTHON}" "${FINETUNE_DIR}/run_ner.py" \
    --vocab_file="${VOCAB}" \
    --bert_config_file="${BERT_CONFIG}" \
    --init_checkpoint="${INIT_CKPT}" \
    --do_lower_case=true \
    --do_train=true \
    --train_file="${train_file}" \
    --do_eval=true \
    --eval_file="${eval_file}" \
    --do_predict=true \
    --predict_file="${predict_file}" \
    --train_batch_size=32 \
    --eval_batch_size=32 \
    --predict_batch_size=32 \
    --learning_rate=3e-5 \
    --num_train_epochs=3 \
    --warmup_proportion=0.1 \
    --max_seq_length=128 \
    --doc_stride=64 \
    --save_checkpoints_steps=1000 \
    --iterations_per_loop=1000 \
    --rand_seed=12345 \
    --output_dir="${OUTPUT_DIR}" \
    ${TPU_ARGS[@]+"${TPU_ARGS[@]}"} \
    "$@"
}
