"""Throughput of the procedural world: clips/s in-process (streamed) and exported to disk.

    OMP_NUM_THREADS=1 python benchmarks/world_throughput.py [--runs 5] [--clips 40]

Single process, one thread. Writes benchmarks/results/world_throughput.md. The median over
``--runs`` timed runs is reported; assets (photos, sprites) are loaded before timing.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

from kinema.data.world import clip_seed, export_world, generate_clip, world_preset
from kinema.data.world.assets import PHOTOS, SPRITE_NAMES, photo, sprite

SIZES = {"64x64x16": world_preset("default"), "128x128x16": world_preset("large")}


def _rate(fn, n: int, runs: int) -> float:
    rates = []
    for r in range(runs):
        t0 = time.perf_counter()
        fn(r, n)
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "world_throughput.md"))
    args = ap.parse_args()
    for name in PHOTOS:
        photo(name)
    for name in SPRITE_NAMES:
        sprite(name)
    lines = ["# kinema world throughput", "",
             f"Single process, OMP_NUM_THREADS=1, {platform.processor() or platform.machine()}, "
             f"median of {args.runs} runs of {args.clips} clips (export: {max(4, args.clips // 4)} clips).", "",
             "| size | in-process clips/s | export mp4 clips/s | export png clips/s |", "|---|---|---|---|"]
    for label, cfg in SIZES.items():
        mem = _rate(lambda r, n: [generate_clip(cfg, clip_seed("train", r * n + i)) for i in range(n)],
                    args.clips, args.runs)
        exported = {}
        for fmt in ("mp4", "png"):
            with tempfile.TemporaryDirectory() as tmp:
                exported[fmt] = _rate(lambda r, n: export_world(cfg, n, Path(tmp) / f"{fmt}{r}", split="train",
                                                                start=r * n, fmt=fmt),
                                      max(4, args.clips // 4), args.runs)
        lines.append(f"| {label} | {mem:.1f} | {exported['mp4']:.1f} | {exported['png']:.1f} |")
        print(lines[-1], flush=True)
    lines += ["", "In-process includes rendering, exact flow, masks, trajectories and caption. Export adds "
              "video encoding (libx264 or PNG) and the compressed ground-truth sidecar (.npz)."]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
