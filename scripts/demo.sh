#!/usr/bin/env bash
# The main job on a fresh machine: set up, train a tiny image-to-video model on kinema world for
# about two minutes on the CPU, then animate the example images with it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
K=.venv/bin/kinema
$K train toy --out runs/toy --no-progress
mkdir -p out
$K animate examples/astronaut.png --model runs/toy/model.safetensors --prompt "a small red circle moves to the right" -o out/astronaut.mp4
$K animate examples/astronaut.png --model runs/toy/model.safetensors --prompt "the camera pans left" -o out/astronaut.gif
$K info runs/toy/model.safetensors | head -20
echo "videos written to out/"
