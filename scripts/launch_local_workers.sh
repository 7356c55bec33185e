#!/usr/bin/env bash
# Runs N copies of a training command on this machine as the workers of one
# multi-worker cluster, each with its own TF_CONFIG on free 127.0.0.1 ports.
#
# Usage: bash scripts/launch_local_workers.sh N [--log_dir DIR] -- COMMAND...
#   e.g. bash scripts/launch_local_workers.sh 2 -- \
#          python finetune/run_classifier.py --distribution_strategy=multi_worker ...
#
# Worker 0 is the chief (it writes the checkpoints, evaluates and exports).
# Each worker's output goes to DIR/worker_<i>.log and its process id to
# DIR/worker_<i>.pid (DIR defaults to a new temporary folder, printed
# first); the launcher waits for all of them and exits with status 0 only
# when every worker did, otherwise with the first failing worker's status,
# after printing the tail of each failed log.
# Ctrl-C (or SIGTERM) stops every worker.
#
# This is how to try the several-host path on one machine: the workers talk
# over gRPC exactly as they would across hosts.
set -euo pipefail

usage() {
  echo "usage: $0 N [--log_dir DIR] -- COMMAND [ARGS...]" >&2
  exit 2
}

[ $# -ge 1 ] || usage
NUM_WORKERS="$1"
shift
[[ "${NUM_WORKERS}" =~ ^[1-9][0-9]*$ ]] || {
  echo "$0: N must be a positive number of workers, got '${NUM_WORKERS}'" >&2
  exit 2
}
LOG_DIR=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in
    --log_dir) LOG_DIR="$2"; shift 2 ;;
    --log_dir=*) LOG_DIR="${1#--log_dir=}"; shift ;;
    *) usage ;;
  esac
done
[ $# -ge 2 ] || usage
shift  # the "--"
LOG_DIR="${LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/workers.XXXXXX")}"
mkdir -p "${LOG_DIR}"
PYTHON_FOR_PORTS="$(command -v python3 || command -v python)"

# N distinct free ports, held open together while they are chosen so that
# none repeats.
PORTS=($("${PYTHON_FOR_PORTS}" - "${NUM_WORKERS}" <<'EOF'
import socket
import sys

sockets = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
print(" ".join(str(s.getsockname()[1]) for s in sockets))
EOF
))
WORKERS_JSON=""
for port in "${PORTS[@]}"; do
  WORKERS_JSON="${WORKERS_JSON:+${WORKERS_JSON}, }\"127.0.0.1:${port}\""
done
echo "launch_local_workers: ${NUM_WORKERS} workers on ports ${PORTS[*]}; logs in ${LOG_DIR}"

PIDS=()
stop_workers() {
  for pid in "${PIDS[@]}"; do
    kill "${pid}" 2>/dev/null || true
  done
}
trap 'stop_workers; exit 130' INT TERM

for ((i = 0; i < NUM_WORKERS; i++)); do
  tf_config="{\"cluster\": {\"worker\": [${WORKERS_JSON}]}, \"task\": {\"type\": \"worker\", \"index\": ${i}}}"
  TF_CONFIG="${tf_config}" "$@" >"${LOG_DIR}/worker_${i}.log" 2>&1 &
  PIDS+=($!)
  echo "${PIDS[$i]}" >"${LOG_DIR}/worker_${i}.pid"
  echo "launch_local_workers: worker ${i} pid ${PIDS[$i]}"
done

status=0
for ((i = 0; i < NUM_WORKERS; i++)); do
  rc=0
  wait "${PIDS[$i]}" || rc=$?
  if [ "${rc}" -ne 0 ]; then
    echo "launch_local_workers: worker ${i} failed with status ${rc}; last lines of ${LOG_DIR}/worker_${i}.log:" >&2
    tail -n 20 "${LOG_DIR}/worker_${i}.log" >&2
    [ "${status}" -ne 0 ] || status="${rc}"
  else
    echo "launch_local_workers: worker ${i} finished"
  fi
done
exit "${status}"
