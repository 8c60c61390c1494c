#!/usr/bin/env bash
# Installs what cardiotwin needs on a fresh Debian 12 machine: the C++ libraries from apt and a
# Python virtual environment (.venv, or $CARDIOTWIN_VENV) with the build and test tools from PyPI.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="build-essential libeigen3-dev nlohmann-json3-dev catch2 zlib1g-dev libcgal-dev libgmp-dev
libmpfr-dev libtet1.5-dev libtbb-dev ccache"
missing=""
for p in $APT_PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "[deps] apt-get install:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

VENV="${CARDIOTWIN_VENV:-.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "[deps] creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
fi
# Build tools and test/interop packages. torch is never resolved here (see DEVELOPERS notes):
# when a stage needs it, it is pinned to torch==2.13.0.
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q "scikit-build-core>=0.10" "pybind11>=2.11" "cmake>=3.20" ninja \
  numpy pytest nibabel meshio pydicom matplotlib tqdm
# Cohorts (Dask, Parquet tables), notebooks executed in CI, the Sphinx documentation.
"$VENV/bin/python" -m pip install -q "dask[distributed]" pyarrow nbclient nbformat ipykernel sphinx myst-parser
# libtorch for the segmentation component comes from the CPU torch wheel, always pinned (an
# unpinned torch resolves multi-GB CUDA builds). CARDIOTWIN_WITH_TORCH=0 skips it; the build then
# leaves the component out and segmentation raises MissingComponent.
if [ "${CARDIOTWIN_WITH_TORCH:-1}" != 0 ] && ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  echo "[deps] pip install torch==2.13.0"
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
fi
echo "[deps] ready: $VENV"
