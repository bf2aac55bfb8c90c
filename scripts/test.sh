#!/usr/bin/env bash
# The README's test command: set up (installs and builds if needed), then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Parallel test processes share the cores: OpenMP threads that spin while waiting would steal
# each other's time slices (see util/threads.h).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
ctest --test-dir build --output-on-failure -j "$(nproc)"
