#!/usr/bin/env bash
# The GPU checks for one session on a device machine, about 10 minutes on an H100 or H200: the CUDA
# tests, then the gpu bench sections sized to fit (bench/bench.py --help has the full-size defaults).
# Run from the project root: bash bench/device_check.sh. Each step's output also goes to $OUT/<step>.txt.
#
# The device machines have torch, torchvision, numpy, pandas, scikit-learn, matplotlib, pyyaml and tqdm, but
# neither pytest nor dvc (nothing here needs dvc). Bring pytest as wheels: here,
#   pip download pytest -d .device/wheels && echo .device >> .git/info/exclude
# then name .device in the run's carry. PROTOCOL_EPOCHS / PROTOCOL_FT_EPOCHS / PROTOCOL_IMAGES size the
# protocol run (the study's own protocol: 50 / 30 / 1000 per class); SIZE (224) and IMAGES (images per
# throughput run) shrink everything for a try-out on a CPU.
set -uo pipefail
OUT=${OUT:-/tmp/foodcnn-device}
mkdir -p "$OUT"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1

step() {  # step NAME SECONDS COMMAND...: run with a time limit, show and keep its output without progress bars
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit $limit s)"
  timeout "$limit" "$@" 2>&1 | grep --line-buffered -v '%|' | tee "$OUT/$name.txt"
  echo "== $name exit ${PIPESTATUS[0]}"
}

python -c "import pytest" 2>/dev/null ||
  pip install --quiet --no-index --find-links "${WHEELS:-.device/wheels}" pytest
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
step pytest_cuda 90 python -m pytest -m cuda -q -p no:cacheprovider
step gpu_profile 60 python bench/bench.py --only gpu-profile --gpu-size "${SIZE:-224}" --gpu-images "${IMAGES:-1024}"
step gpu_throughput 180 python bench/bench.py --only gpu-throughput --gpu-size "${SIZE:-224}" \
  --gpu-images "$((2 * ${IMAGES:-1024}))" --gpu-epochs 2
step gpu_parallel 120 python bench/bench.py --only gpu-parallel --gpu-size "${SIZE:-224}" \
  --gpu-images "${IMAGES:-1024}" --gpu-epochs 2
step gpu_protocol 210 python bench/bench.py --only gpu-protocol --protocol-size "${SIZE:-224}" --protocol-images-per-class "${PROTOCOL_IMAGES:-1000}" \
  --protocol-epochs "${PROTOCOL_EPOCHS:-2}" --protocol-finetune-epochs "${PROTOCOL_FT_EPOCHS:-1}"
