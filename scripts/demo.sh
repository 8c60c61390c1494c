#!/usr/bin/env bash
# The main job on a bundled example: installs cardiotwin into .venv and turns the bundled
# Sunnybrook short-axis MRI and its expert labels into an overlay PNG and a tetrahedral LV
# myocardium mesh (.vtu) in out/demo, printing a JSON summary; then runs the twin pipeline on the
# same labels (CGAL mesh, coordinates and fibres, reaction-Eikonal activation, 12-lead ECG) into
# out/demo/twin (examples/configs/twin_sunnybrook.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
VENV="${CARDIOTWIN_VENV:-.venv}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
"$VENV/bin/python" -m pip install -q --no-build-isolation . 
OUT="${1:-out/demo}"
"$VENV/bin/python" examples/python/mri_to_mesh.py --out "$OUT"
"$VENV/bin/python" -m cardiotwin run examples/configs/twin_sunnybrook.json -o "$OUT/twin"
echo "[demo] twin: $OUT/twin/summary.json, ECG plot $OUT/twin/ecg.png"
echo "[demo] outputs in $OUT"
