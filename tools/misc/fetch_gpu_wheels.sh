#!/usr/bin/env bash
# Download the pure-Python wheels that tools/analysis_tools/benchmark_backbone.py needs
# on a machine that has torch, timm, numpy, opencv, matplotlib, rich, pyyaml, einops
# and torchvision but no OpenMMLab packages and no internet (the lent GPU machines:
# Python 3.12, torch 2.11 + CUDA, see /work/.library/device/KINDS.md), into .whl/
# (ignored by git; add `/.whl/` to .git/info/exclude). Run here, then carry `.whl`:
#   bash tools/misc/fetch_gpu_wheels.sh            # -> .whl/*.whl (~3 MB)
#   bash tools/misc/gpu_bench.sh [benchmark args]  # on the GPU machine
# What `import visionllama_mm` + building the backbones import, beyond that image:
# mmengine, mmcv (as mmcv-lite: the same Python package without compiled ops, which
# the backbones do not use), mmpretrain and their pure-Python imports. mmseg / mmdet
# are not needed (their registries are skipped when missing).
set -euo pipefail
DEST=${1:-.whl}
PY_VERSION=${PY_VERSION:-3.12}
mkdir -p "$DEST"
python -m pip download --no-deps --only-binary=:all: --python-version "$PY_VERSION" \
    --implementation cp --platform manylinux2014_x86_64 --platform any -d "$DEST" \
    mmengine==0.10.7 mmcv-lite==2.1.0 mmpretrain==1.2.0 \
    addict==2.4.0 yapf==0.43.0 platformdirs==4.3.6 termcolor==2.5.0 \
    model-index==0.1.11 ordered-set==4.1.0 importlib-metadata==8.5.0 zipp==3.21.0
ls -1 "$DEST"
