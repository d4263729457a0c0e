#!/usr/bin/env bash
# Set up (if needed) and run the test suite. CI runs exactly this (.ci/run).
#   1. the main suite in .venv (torch 2.13 CPU);
#   2. the reference-agreement tests (tests/reference/) in .venv-ref, beside the reference packages
#      (cd-fvd, pytorch-fid, torch-fidelity, lpips, torchmetrics). KINEMA_SKIP_REFERENCE=1, or any
#      pytest arguments (e.g. one test file), skip step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
.venv/bin/python -m pytest -q --ignore=tests/reference "$@"
if [ "${KINEMA_SKIP_REFERENCE:-0}" != "1" ] && [ $# -eq 0 ]; then
  bash scripts/setup_reference.sh
  .venv-ref/bin/python -m pytest -q tests/reference
fi
