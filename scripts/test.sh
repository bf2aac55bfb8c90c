#!/usr/bin/env bash
# The README's test command: set up (installs and builds if needed), then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
