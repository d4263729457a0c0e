#!/usr/bin/env bash
# Create .venv (once) and install kinema; `bash scripts/setup.sh test` adds the test extras.
# CPU torch 2.13.0 comes from the machine's local wheel; pip, not uv/poetry (they would pull a
# multi-GB CUDA build). --no-compile: byte-compiling all of site-packages would add 25-90 s.
# Without bytecode, though, every start re-compiles what it imports (`import torch` 2x slower), so
# the last steps compile kinema and import the CLI's modules once with bytecode writing on: exactly
# the ~1,000 files of torch/numpy/PIL a run loads get compiled, in the time of one import
# (benchmarks/results/startup_and_threads.md).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --no-compile --disable-pip-version-check torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/pip install -q --no-compile --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}" 2>&1 | grep -v "^WARNING: Location" || true
env -u PYTHONDONTWRITEBYTECODE .venv/bin/python -m compileall -q src/kinema  # all of kinema (~1 s)
env -u PYTHONDONTWRITEBYTECODE .venv/bin/python -c "import kinema.cli, kinema.sampling.pipeline, kinema.build, torch
print(f'kinema {kinema.__version__}, torch {torch.__version__}')"
