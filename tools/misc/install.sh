#!/usr/bin/env bash
# Install the pinned OpenMMLab stack into the active Python environment.
#
# Idempotent: every step first checks whether it is already satisfied.
#   1. torch + torchvision (requirements/torch.txt), unless a torch is already present
#      (a CUDA build installed by the user is kept).
#   2. mmcv 2.1.0 with compiled ops. PyPI has no wheel for this torch, so the sdist is
#      built once (C++20 patch, ~20 min on 2 cores) and the wheel is kept in
#      $VLLAMA_CACHE/torch-<version>/ so later installs take seconds. The cache is keyed
#      by torch version because pip's own cache is not.
#   3. mmengine / mmpretrain / mmsegmentation / mmdet and friends (requirements/runtime.txt),
#      with the pinned opencv-python and seaborn (the OpenMMLab tools' pictures).
#   4. this package in editable mode, plus the test requirements (timm with --no-deps),
#      the linters make test runs (requirements/lint.txt) and the deploy extra (onnx,
#      onnxruntime, onnxscript: requirements/deploy.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
PIP="$PY -m pip --disable-pip-version-check"
CACHE=${VLLAMA_CACHE:-$HOME/.cache/visionllama_mm}

REPO=$(pwd)
# Checks run from / so that the clone itself is not on sys.path.
have() { (cd / && $PY - "$@") <<'PYEOF' >/dev/null 2>&1
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
PYEOF
}

if ! have torch torchvision; then
  echo "[install] torch + torchvision"
  $PIP install -r requirements/torch.txt
fi
TORCH_VER=$($PY -c 'import torch; print(torch.__version__.split("+")[0])')

if ! $PY -c 'import setuptools, wheel, ninja, pkg_resources' >/dev/null 2>&1; then
  echo "[install] build tools for mmcv"
  $PIP install -r requirements/build.txt
fi

if ! have mmengine; then
  echo "[install] mmengine (mmcv's runtime dependency)"
  $PIP install "$(grep '^mmengine==' requirements/runtime.txt)"
fi

if ! $PY -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' >/dev/null 2>&1; then
  WHEELDIR="$CACHE/torch-$TORCH_VER"
  mkdir -p "$WHEELDIR"
  WHL=$(ls "$WHEELDIR"/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$WHL" ]; then
    echo "[install] building mmcv 2.1.0 with ops against torch $TORCH_VER (~20 min on 2 cores)"
    SRC=$(mktemp -d)
    $PIP download --no-deps --no-binary :all: -d "$SRC" mmcv==2.1.0
    tar -xzf "$SRC"/mmcv-2.1.0.tar.gz -C "$SRC"
    # torch >= 2.14 headers require C++20; mmcv 2.1.0 hard-codes C++17.
    sed -i "s/'-std=c++17'/'-std=c++20'/g" "$SRC"/mmcv-2.1.0/setup.py
    MMCV_WITH_OPS=1 FORCE_CUDA=${FORCE_CUDA:-0} MAX_JOBS=${MAX_JOBS:-2} \
      $PIP wheel --no-deps --no-build-isolation --no-cache-dir -w "$SRC/dist" "$SRC"/mmcv-2.1.0
    cp "$SRC"/dist/mmcv-2.1.0-*.whl "$WHEELDIR"/
    rm -rf "$SRC"
    WHL=$(ls "$WHEELDIR"/mmcv-2.1.0-*.whl | head -n1)
  fi
  echo "[install] mmcv from $WHL"
  $PIP install --no-deps --force-reinstall "$WHL"
fi

if ! have mmengine mmpretrain mmseg mmdet pycocotools ftfy regex psutil; then
  echo "[install] OpenMMLab packages"
  $PIP install -r requirements/runtime.txt
fi

# The pinned OpenCV and seaborn (pictures of the OpenMMLab tools: test.py --show-dir,
# analyze_logs.py): an OpenCV installed as another package's dependency is replaced.
if ! $PY - <<'PYEOF' >/dev/null 2>&1
import importlib.metadata as metadata, sys
pins = dict(line.strip().split('==') for line in open('requirements/runtime.txt')
            if line.startswith(('opencv-python==', 'seaborn==')))
sys.exit(any(metadata.version(name) != version for name, version in pins.items()))
PYEOF
then
  echo "[install] OpenCV and seaborn for the OpenMMLab tools' pictures"
  $PIP install $(grep -E '^(opencv-python|seaborn)==' requirements/runtime.txt)
fi

if ! have pytest || ! (cd / && $PY -c "import visionllama_mm, os, sys; sys.exit(os.path.realpath(visionllama_mm.__file__) != os.path.realpath('$REPO/visionllama_mm/__init__.py'))") >/dev/null 2>&1; then
  echo "[install] visionllama_mm (editable) + test requirements"
  $PIP install -r <(grep -v '^timm==' requirements/tests.txt)
  $PIP install --no-deps --no-build-isolation -e .
fi

if ! have flake8 isort yapf; then
  echo "[install] linters run by make test (requirements/lint.txt)"
  $PIP install -r requirements/lint.txt
fi

if ! have onnx onnxruntime onnxscript; then
  echo "[install] ONNX export and ONNX Runtime (requirements/deploy.txt, the deploy extra)"
  $PIP install -r requirements/deploy.txt
fi

if ! $PY -c "import timm, sys; sys.exit(timm.__version__ != '$(grep '^timm==' requirements/tests.txt | cut -d= -f3)')" >/dev/null 2>&1; then
  # --no-deps: timm's torch requirement is unpinned, but its hub extras are not needed
  echo "[install] timm (test reference, --no-deps)"
  $PIP install --no-deps "$(grep '^timm==' requirements/tests.txt)"
fi
echo "[install] done: torch $TORCH_VER, $($PY -c 'import mmcv, mmengine, mmpretrain, mmseg, mmdet; print("mmcv", mmcv.__version__, "mmengine", mmengine.__version__, "mmpretrain", mmpretrain.__version__, "mmseg", mmseg.__version__, "mmdet", mmdet.__version__)')"
