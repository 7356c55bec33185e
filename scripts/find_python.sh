#!/usr/bin/env bash
# Sourced helper: defines find_python VERSION (e.g. 3.7 or 3.11) and
# stack_python ROOT (the interpreter of the environment STACK selects).
#
# find_python prints the first candidate interpreter that really runs as the
# requested major.minor version and returns 0, or returns 1 when none does.
# The environment variable PYTHON<major><minor> (PYTHON37, PYTHON311), when
# set, is tried first; then pythonX.Y on PATH, pyenv versions, the usual
# system locations and finally plain python3.
# Usage: source scripts/find_python.sh; PY="$(find_python 3.7)"

find_python() {
  local version="$1"
  local override_var="PYTHON${version//./}"
  local major="${version%%.*}"
  local minor="${version#*.}"
  local candidates=()
  [ -n "${!override_var:-}" ] && candidates+=("${!override_var}")
  candidates+=("python${version}")
  if command -v pyenv >/dev/null 2>&1; then
    local root
    root="$(pyenv root)"
    candidates+=("${root}"/versions/"${version}"*/bin/python)
  fi
  candidates+=("${HOME}"/.pyenv/versions/"${version}"*/bin/python
               "/usr/bin/python${version}" "/usr/local/bin/python${version}"
               python3)
  local c
  for c in "${candidates[@]}"; do
    # A pyenv shim exists on PATH even when the version is not selected: run
    # each candidate to be sure.
    if "${c}" -c "import sys; sys.exit(0 if sys.version_info[:2] == (${major}, ${minor}) else 1)" >/dev/null 2>&1; then
      command -v "${c}" 2>/dev/null || echo "${c}"
      return 0
    fi
  done
  return 1
}

# stack_python ROOT: the environment interpreter of STACK (tf1, the default:
# ROOT/.venv; tf2: ROOT/.venv-tf2), as built by scripts/setup_env.sh.
stack_python() {
  case "${STACK:-tf1}" in
    tf1) echo "$1/.venv/bin/python" ;;
    tf2) echo "$1/.venv-tf2/bin/python" ;;
    *) echo "STACK must be tf1 or tf2, got '${STACK}'" >&2; return 2 ;;
  esac
}
