#!/usr/bin/env bash
# Runs every test on a fresh machine: installs dependencies, builds and installs the Python
# package, builds and runs the C++ (Catch2, through ctest) and Python (pytest, notebooks included)
# suites, builds and runs the C++ examples against both the `cmake --install` tree and the
# pip-installed copy, and builds the documentation with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
bash scripts/install-deps.sh
VENV="${CARDIOTWIN_VENV:-.venv}"
PYBIN="$ROOT/$VENV/bin"
export PATH="$PYBIN:$PATH"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
step() { echo; echo "=== $* ==="; }

# The segmentation component (libtorch) is built when the venv has torch (install-deps.sh pins
# torch==2.13.0); without it everything else is built and tested, and segmentation tests skip.
TORCH_ARGS=(); PIP_TORCH_ARGS=(); EXAMPLE_ARGS=()
TORCH_PREFIX="$("$PYBIN/python" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)"
if [ -n "$TORCH_PREFIX" ]; then
  echo "[test] libtorch from $TORCH_PREFIX: building the segment component"
  # Torch_DIR, not CMAKE_PREFIX_PATH: the latter would replace the prefix path scikit-build-core
  # sets for the build's own site-packages (pybind11).
  TORCH_ARGS=(-DCARDIOTWIN_WITH_TORCH=ON "-DTorch_DIR=$TORCH_PREFIX/Torch")
  PIP_TORCH_ARGS=(-C cmake.define.CARDIOTWIN_WITH_TORCH=ON "-C" "cmake.define.Torch_DIR=$TORCH_PREFIX/Torch")
  EXAMPLE_ARGS=("-DTorch_DIR=$TORCH_PREFIX/Torch")
fi

step "C++ library and Catch2 tests"
cmake -S . -B build/cpp -G Ninja -DCARDIOTWIN_BUILD_TESTS=ON -DCARDIOTWIN_WARNINGS_AS_ERRORS=ON \
  -DCMAKE_INSTALL_PREFIX="$ROOT/build/install" ${TORCH_ARGS[@]+"${TORCH_ARGS[@]}"} >/dev/null
cmake --build build/cpp
ctest --test-dir build/cpp --output-on-failure
cmake --install build/cpp >/dev/null

step "Python package (pip install .)"
"$PYBIN/python" -m pip install -q --no-build-isolation ${PIP_TORCH_ARGS[@]+"${PIP_TORCH_ARGS[@]}"} .
"$PYBIN/python" -c "import cardiotwin, json; print(json.dumps({'version': cardiotwin.__version__, 'components': cardiotwin.components}))"

step "pytest"
(cd "$ROOT" && "$PYBIN/python" -m pytest tests/python -q)

step "C++ examples against the cmake --install tree and the pip-installed package"
for how in install pip; do
  if [ "$how" = install ]; then cmdir="$ROOT/build/install/lib/cmake/cardiotwin"; else
    cmdir="$("$PYBIN/python" -c 'import cardiotwin; print(cardiotwin.get_cmake_dir())')"; fi
  for ex in mesh_io twin; do
    rm -rf "build/example-$ex-$how"
    cmake -S "examples/cpp/$ex" -B "build/example-$ex-$how" -G Ninja -Dcardiotwin_DIR="$cmdir" \
      ${EXAMPLE_ARGS[@]+"${EXAMPLE_ARGS[@]}"} >/dev/null
    cmake --build "build/example-$ex-$how"
    "build/example-$ex-$how/$ex" "build/example-$ex-$how/out"
  done
done

step "documentation (Sphinx, warnings as errors)"
"$PYBIN/python" -m sphinx -W --keep-going -q -b html docs build/docs
echo "[test] documentation in build/docs/index.html"

step "Python example"
"$PYBIN/python" examples/python/mri_to_mesh.py --out build/example-python
echo; echo "All tests passed."
