#!/usr/bin/env bash
# The main job on a bundled example: installs cardiotwin into .venv, then builds the default twin
# from the bundled Sunnybrook short-axis MRI (examples/configs/twin_sunnybrook_mri.json):
# segmentation with the bundled U-Net, CGAL mesh, coordinates and fibres, reaction-Eikonal
# activation, 12-lead ECG, report.html. Without libtorch (CARDIOTWIN_WITH_TORCH=0) it starts from
# the expert labels of the same scan instead (examples/configs/twin_sunnybrook.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
VENV="${CARDIOTWIN_VENV:-.venv}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
OUT="${1:-out/demo}"
TORCH_PREFIX="$("$VENV/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)"
if [ -n "$TORCH_PREFIX" ]; then
  "$VENV/bin/python" -m pip install -q --no-build-isolation -C cmake.define.CARDIOTWIN_WITH_TORCH=ON \
    -C "cmake.define.Torch_DIR=$TORCH_PREFIX/Torch" .
  CONFIG=examples/configs/twin_sunnybrook_mri.json
else
  "$VENV/bin/python" -m pip install -q --no-build-isolation .
  CONFIG=examples/configs/twin_sunnybrook.json
  echo "[demo] no libtorch: starting from the expert labels instead of segmenting the MRI"
fi
"$VENV/bin/python" -m cardiotwin run "$CONFIG" -o "$OUT"
echo "[demo] report: $OUT/report.html (summary.json, ecg.png, activation.png, heart.stl, vm/vm.pvd beside it)"
