#!/usr/bin/env bash
# The main job on a fresh machine: set up (runtime dependencies only), then animate the bundled
# example images with the default model shipped inside the package (no --model, no download, no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python scripts/demo.py  # four videos (object motion, camera pan, loop, transition) in out/
# the same from the command line: .venv/bin/kinema animate examples/astronaut.png --prompt "..." -o out/a.mp4
.venv/bin/kinema info --json | .venv/bin/python -c "import json, sys; i = json.load(sys.stdin)['info']; print(json.dumps({k: i.get(k) for k in ('run_name', 'provenance', 'benchmark')}, indent=1))"
echo "videos written to out/"
