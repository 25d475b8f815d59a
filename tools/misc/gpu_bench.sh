#!/usr/bin/env bash
# One-command GPU benchmark of the backbones' training steps against timm's references.
# On a GPU machine without OpenMMLab packages, from the repository root, with the
# wheels of tools/misc/fetch_gpu_wheels.sh in .whl/:
#   bash tools/misc/gpu_bench.sh                       # all presets, eager + compile
#   bash tools/misc/gpu_bench.sh visionllama-b --modes eager   # and its timm references
# Installs the carried wheels into a private folder ($SITE, no dependencies resolved,
# nothing from the network), puts it and this checkout on PYTHONPATH and runs
# tools/analysis_tools/benchmark.py --bench train --ref timm --device cuda --modes
# eager,compile (arguments given here come after, so e.g. --modes eager wins). Results go to $OUT_DIR (default: $OUT/benchmark when $OUT is set, else
# work_dirs/benchmark_train):
# results.json and results.md (the table for docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
WHEELS=${WHEELS:-.whl}
SITE=${SITE:-/tmp/vllama_site}
PYTHON=${PYTHON:-python3}
if [ -d "$WHEELS" ] && ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target "$SITE" "$WHEELS"/*.whl
    export PYTHONPATH="$SITE:${PYTHONPATH:-}"
fi
export PYTHONPATH="$(pwd):${PYTHONPATH:-}"
if [ -n "${OUT:-}" ]; then DEFAULT_OUT="$OUT/benchmark"; else DEFAULT_OUT=work_dirs/benchmark_train; fi
OUT_DIR=${OUT_DIR:-$DEFAULT_OUT}
mkdir -p "$OUT_DIR"
"$PYTHON" -c "import torch, timm; print('torch', torch.__version__, 'timm', timm.__version__, torch.cuda.get_device_name())"
PYTHONUNBUFFERED=1 "$PYTHON" tools/analysis_tools/benchmark.py --bench train --ref timm \
    --device cuda --modes eager,compile --out-dir "$OUT_DIR" "$@" 2>&1 | tee "$OUT_DIR.log"
