# Sourced by finetune/common.sh and pretrain/run.pretrain.sh.
#
# read_model_folder PYTHON FOLDER PREFIX: sets ${PREFIX}BERT_CONFIG,
# ${PREFIX}VOCAB and ${PREFIX}INIT_CKPT from a model folder as users
# download it (pretrain/model_folder.py: one checkpoint, one config *.json,
# vocab.txt), keeping whichever of them is already set.  An ambiguous or
# incomplete folder stops the script with the one-line reason.
read_model_folder() {
  local python="$1" folder="$2" prefix="$3" parts=() assignments
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local config_var="${prefix}BERT_CONFIG" vocab_var="${prefix}VOCAB" ckpt_var="${prefix}INIT_CKPT"
  [ -n "${!config_var:-}" ] || parts+=(config)
  [ -n "${!vocab_var:-}" ] || parts+=(vocab)
  [ -n "${!ckpt_var:-}" ] || parts+=(checkpoint)
  [ "${#parts[@]}" -gt 0 ] || return 0
  if ! assignments="$(TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore \
      "${python}" "${root}/pretrain/model_folder.py" "${folder}" "${parts[@]}")"; then
    exit 2
  fi
  while IFS= read -r line; do
    eval "${prefix}${line}"
  done <<< "${assignments}"
}
