#!/usr/bin/env bash
# Full-size training throughput on a GPU machine with no network (see benchmarks/gpu_bench.py):
# the blog's recipe, HF Trainer best practice, Studio's default, a plain-loop ceiling, and
# RoBERTa vs Reformer at 4,096 tokens. Prints one table; writes $OUT/gpu.json when OUT is set.
#
#   benchmarks/gpu.sh                 full size (about 2-4 minutes on an H100/H200)
#   benchmarks/gpu.sh --smoke         tiny sizes, any device, to check the script (or STUDIO_GPU_SMOKE=1)
#   benchmarks/gpu.sh --only studio,plain-loop
#   benchmarks/gpu.sh --corpus FILE      a real corpus (one document per line) instead of the demo one
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
exec "$PYTHON_BIN" benchmarks/gpu_bench.py "$@"
