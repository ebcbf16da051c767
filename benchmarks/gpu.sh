#!/usr/bin/env bash
# Every GPU check, on a GPU machine with no network:
# 1. what Studio's run machinery costs (benchmarks/overhead.py, goal <= 1 % on a GPU), and
#    $OUT/overhead.json when OUT is set;
# 2. training throughput (benchmarks/gpu_bench.py): the blog's recipe, HF Trainer best practice,
#    Studio's default, a plain-loop ceiling, RoBERTa vs Reformer at 4,096 tokens; one table, and
#    $OUT/gpu.json (written after each measurement).
#
#   benchmarks/gpu.sh                 full size (about 3-5 minutes on an H100/H200)
#   benchmarks/gpu.sh --smoke         tiny sizes, any device, to check the script (or STUDIO_GPU_SMOKE=1)
#   benchmarks/gpu.sh --only studio,plain-loop     a subset of the throughput contenders, no overhead
#   benchmarks/gpu.sh --corpus FILE   a real corpus (one document per line) instead of the demo one
#   STUDIO_GPU_OVERHEAD=only benchmarks/gpu.sh     the overhead check alone (=0: without it)
#   STUDIO_GPU_COMPILE=1 benchmarks/gpu.sh         also Studio's path under torch.compile
#
# Wheels for what the machine lacks (datasets, dill, multiprocess, ...) may be carried in .whl/.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON_BIN=${STUDIO_PYTHON:-python3}
if [ -z "${STUDIO_PYTHON:-}" ] && [ -x .venv/bin/python ] && ! command -v nvidia-smi >/dev/null; then
  PYTHON_BIN=.venv/bin/python  # the dev machine (no GPU): the project's environment has everything
fi
if [ "$PYTHON_BIN" = python3 ] && compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
export TOKENIZERS_PARALLELISM=true
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
overhead=${STUDIO_GPU_OVERHEAD:-1}
overhead_args=(--skip-replay)
command -v nvidia-smi >/dev/null && overhead_args+=(--device cuda)
for arg in "$@"; do
  case "$arg" in
    --only|--only=*) [ "$overhead" = only ] || overhead=0 ;;
    --smoke) overhead_args+=(--warmup 2 --window-steps 3 --pairs 2) ;;
  esac
done
[ -n "${STUDIO_GPU_SMOKE:-}" ] && overhead_args+=(--warmup 2 --window-steps 3 --pairs 2)

status=0  # the overhead check first: it is short, and a run cut off later keeps its figures
if [ "$overhead" != 0 ]; then
  "$PYTHON_BIN" benchmarks/overhead.py "${overhead_args[@]}" ${OUT:+--out "$OUT/overhead.json"} || status=$?
  echo
fi
[ "$overhead" = only ] || "$PYTHON_BIN" benchmarks/gpu_bench.py "$@" || status=$?
exit "$status"
