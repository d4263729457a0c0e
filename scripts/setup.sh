#!/usr/bin/env bash
# Create .venv (once) and install kinema; `bash scripts/setup.sh test` adds the test extras.
# CPU torch 2.13.0 comes from the machine's local wheel; pip, not uv/poetry (they would pull a
# multi-GB CUDA build). --no-compile: byte-compiling torch's thousands of files would add ~50 s.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --no-compile --disable-pip-version-check torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/pip install -q --no-compile --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import kinema, torch; print(f'kinema {kinema.__version__}, torch {torch.__version__}')"
