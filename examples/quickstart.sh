#!/usr/bin/env bash
# A real evaluation end to end, with no model and no tokens:
#  1. installs the dependencies and builds nel;
#  2. builds the engine image when Docker works (otherwise the tasks run on the host, and it says so);
#  3. starts reference endpoints: OpenAI-compatible servers that answer from the data sets' gold answers:
#     GSM8K (80% right), HumanEval (all right), and one for MATH-500 and MGSM together (90% right);
#  4. runs examples/local_builtin.yaml with `nel run --wait` (GSM8K: 1,319 problems, HumanEval: 164, whose
#     code is executed against the tests, MATH-500: 500 answers judged by mathematical equivalence, MGSM:
#     11 languages x 250), then shows `nel status` and the scores.
# Data: read from NEL_GSM8K_DIR / NEL_HUMANEVAL_DIR / NEL_MATH500_DIR / NEL_MGSM_DIR (default
# ../shared/data/... when present), else downloaded from the Hugging Face hub (HF_ENDPOINT).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
nel() { node -- dist/src/bin/nel.js "$@"; }

for pair in NEL_GSM8K_DIR:../shared/data/gsm8k NEL_HUMANEVAL_DIR:../shared/data/humaneval \
  NEL_MATH500_DIR:../shared/data/math500 NEL_MGSM_DIR:../shared/data/mgsm; do
  var=${pair%%:*}
  dir=${pair#*:}
  if [ -z "${!var:-}" ] && [ -d "$dir" ]; then export "$var=$(cd "$dir" && pwd)"; fi
done

run_flags=()
if bash scripts/ensure-docker.sh; then
  echo "== Docker works: building the engine image (first time: about a minute)"
  nel build-image
else
  echo "== Docker is not available: running the tasks on the host (nel run --no-docker)"
  run_flags+=(--no-docker)
  # HumanEval executes the model's code; outside a container that needs an explicit opt-in. The reference
  # endpoint answers with HumanEval's own canonical solutions, so it is safe here.
  run_flags+=(-o '+evaluation.tasks.1.env_vars={NEMO_EVALUATOR_ALLOW_CODE_EXECUTION: "lit:1"}')
fi

logs=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
start_endpoint() { # benchmark[,benchmark] accuracy [NAME=]data-dir...: starts it in the background, logs to $logs/<benchmark>.log
  local args=(serve-reference --benchmark "$1" --accuracy "$2" --port 0 --max-seconds 3600)
  local d
  for d in "${@:3}"; do [ -n "$d" ] && [ "${d#*=}" != "" ] && args+=(--dataset-path "$d"); done
  node -- dist/src/bin/nel.js "${args[@]}" >"$logs/$1.log" 2>&1 &
  pids+=($!)
}
endpoint_url() { # benchmark: waits until it listens, prints its base URL
  for _ in $(seq 1 600); do
    if grep -q '^listening on ' "$logs/$1.log"; then sed -n 's/^listening on //p' "$logs/$1.log"; return 0; fi
    sleep 0.1
  done
  echo "the $1 reference endpoint did not start:" >&2; cat "$logs/$1.log" >&2; return 1
}
echo "== Starting the reference endpoints"
start_endpoint gsm8k 0.8 "${NEL_GSM8K_DIR:-}"
start_endpoint humaneval 1.0 "${NEL_HUMANEVAL_DIR:-}"
start_endpoint math500,mgsm 0.9 "math500=${NEL_MATH500_DIR:-}" "mgsm=${NEL_MGSM_DIR:-}"
gsm8k_url=$(endpoint_url gsm8k)
humaneval_url=$(endpoint_url humaneval)
math_url=$(endpoint_url math500,mgsm)
export NEL_GSM8K_URL="$gsm8k_url/v1/chat/completions" NEL_HUMANEVAL_URL="$humaneval_url/v1/completions"
export NEL_MATH_URL="$math_url/v1/chat/completions"
echo "   gsm8k: $NEL_GSM8K_URL (80% right)   humaneval: $NEL_HUMANEVAL_URL (all right)"
echo "   math500 and mgsm: $NEL_MATH_URL (90% right)"

echo "== nel run --config examples/local_builtin.yaml --wait ${run_flags[*]}"
status=0
nel run --config examples/local_builtin.yaml --wait "${run_flags[@]}" || status=$?
echo "== nel status"
nel status
exit "$status"
