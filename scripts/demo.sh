#!/usr/bin/env bash
# The main job on a bundled example: installs cardiotwin into .venv and turns the bundled
# Sunnybrook short-axis MRI and its expert labels into an overlay PNG and a tetrahedral LV
# myocardium mesh (.vtu) in out/demo, printing a JSON summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
VENV="${CARDIOTWIN_VENV:-.venv}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
"$VENV/bin/python" -m pip install -q --no-build-isolation . 
OUT="${1:-out/demo}"
"$VENV/bin/python" examples/python/mri_to_mesh.py --out "$OUT"
echo "[demo] outputs in $OUT"
