#!/usr/bin/env bash
# The main job on a fresh machine: set up, then animate the bundled example images with the
# default model that ships inside the package (no --model, no download, no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
K=.venv/bin/kinema
mkdir -p out
$K animate examples/astronaut.png --prompt "a small red circle moves to the right" -o out/astronaut.mp4
$K animate examples/chelsea.png --prompt "the camera pans left" -o out/chelsea.gif
$K animate examples/coffee.png --prompt "the camera zooms in" --loop -o out/coffee_loop.mp4
$K animate examples/coffee.png --last-frame examples/chelsea.png --prompt "a slow transition" -o out/transition.gif
$K info | .venv/bin/python -c "import json, sys; i = json.load(sys.stdin)['info']; print(json.dumps({k: i.get(k) for k in ('run_name', 'provenance', 'benchmark')}, indent=1))"
echo "videos written to out/"
