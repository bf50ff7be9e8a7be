#!/usr/bin/env bash
# The GPU checks, in one call for a session that is lent a GPU (about 6 minutes on an H200):
# the update benchmark as it stands, chunked and compiled, the log-prob step alone, and the
# worker's Python tests on CUDA. Each writes its JSON line (or log) under OUT; a check that
# fails or runs out of time is reported and the others still run.
#
#   OUT=/tmp/gpu bash scripts/gpu-checks.sh          # PYTHON=... for another interpreter
#
# Without CUDA it runs the same steps on tiny shapes: a dry run that proves the script.
set -u
cd "$(dirname "$0")/.."
mkdir -p "${OUT:-gpu-checks}"
out=$(cd "${OUT:-gpu-checks}" && pwd)
py=${PYTHON:-python3}
cuda=$("$py" -c 'import torch; print(int(torch.cuda.is_available()))')
# bench_gpu shrinks itself without CUDA; the log-prob probe's default (12,288 x 151,936) is a GPU's
small=()
[ "$cuda" = 1 ] || small=(--rows 512 --hidden 64 --vocab 4096)

check() {
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  timeout "$limit" "$py" "$@" > "$out/$name.json" 2> "$out/$name.log"
  echo "$name: exit $? in $((SECONDS - t0)) s" | tee -a "$out/summary.txt" >&2
}

"$py" -c 'import torch, transformers, peft; print(torch.__version__, transformers.__version__, peft.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")' > "$out/stack.txt" 2>&1
check bench-gpu 180 -m agents.trainer.worker.bench_gpu
check bench-gpu-chunk2048 180 -m agents.trainer.worker.bench_gpu --logprob-chunk 2048
check bench-gpu-compile 240 -m agents.trainer.worker.bench_gpu --compile
check bench-logprobs 120 -m agents.trainer.worker.bench_logprobs --chunks 0,4096,2048,1024 "${small[@]}"
(cd agents/trainer && timeout 240 "$py" -m unittest discover -s worker/tests -t . > "$out/unittest.log" 2>&1)
echo "unittest: exit $?" | tee -a "$out/summary.txt" >&2
