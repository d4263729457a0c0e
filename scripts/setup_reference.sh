#!/usr/bin/env bash
# Create .venv-ref (once): torch 2.14.1 + torchvision and the reference metric packages, with kinema
# installed editable, for the agreement tests in tests/reference/. About 6 GB; pip, not uv/poetry.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-ref/bin/python ]; then
  python3 -m venv .venv-ref
fi
PIP=(.venv-ref/bin/pip install -q --no-compile --disable-pip-version-check)
"${PIP[@]}" torch==2.14.1 torchvision==0.29.1 2>&1 | grep -v "^WARNING: Location" || true
"${PIP[@]}" -r requirements-reference.txt -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
"${PIP[@]}" --no-deps pyiqa==0.1.16 2>&1 | grep -v "^WARNING: Location" || true
.venv-ref/bin/python -c "import torch, torchvision; print(f'reference venv: torch {torch.__version__}, torchvision {torchvision.__version__}')"
