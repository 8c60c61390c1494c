#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each parser's fuzzer for
# SECONDS (default 120) from its seed corpus. New inputs go to build/fuzz/corpus/<name>; crashes
# to build/fuzz/artifacts. Prints one JSON line per target with executions and findings.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-120}"
# clang, its sanitizer runtimes and its OpenMP runtime (the ep module uses OpenMP).
for p in clang libclang-rt-14-dev libomp-14-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo";
    $SUDO apt-get install -y -qq "$p" >/dev/null || { echo "cannot install $p" >&2; exit 2; }; }
done
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCARDIOTWIN_BUILD_FUZZERS=ON \
  -DCARDIOTWIN_BUILD_TESTS=OFF -DCARDIOTWIN_WITH_CGAL=OFF -DCARDIOTWIN_WITH_TETGEN=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/fuzz
mkdir -p build/fuzz/artifacts
for name in nifti vtk opencarp stl; do
  corpus="build/fuzz/corpus/$name"
  mkdir -p "$corpus"
  log="build/fuzz/$name.log"
  set +e
  "build/fuzz/tests/fuzz/fuzz_$name" "$corpus" "tests/fuzz/corpus/$name" -max_total_time="$SECONDS_EACH" \
    -rss_limit_mb=2048 -max_len=65536 -timeout=10 -artifact_prefix="build/fuzz/artifacts/$name-" \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  crashes=$(ls build/fuzz/artifacts/ 2>/dev/null | grep -c "^$name-" || true)
  echo "{\"target\": \"$name\", \"seconds\": $SECONDS_EACH, \"executions\": ${execs:-0}, \"exit_code\": $rc, \"artifacts\": $crashes}"
done
