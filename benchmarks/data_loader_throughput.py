"""Real-data loader throughput: clips/s decoded, sampled and cropped with 0, 1 and 2 workers.

Builds a folder of synthetic H.264 clips (a textured pan, like a camera move; 320x240,
48 frames at 24 fps), then times ``VideoClipDataset`` (16 frames at 8 fps, resize-crop to
128x128) through a ``torch.utils.data.DataLoader`` for each worker count. Each setting runs
``--repeats`` full passes over one DataLoader with persistent workers; the table reports the
median clips/s (a first warm-up pass, which also pays the worker start-up, is not counted).

    python benchmarks/data_loader_throughput.py            # writes benchmarks/results/data_loader_throughput.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from kinema.data.real import VideoClipDataset, records_from_folder
from kinema.video import write_video


def make_clips(folder: Path, n: int, frames: int, size: tuple[int, int], fps: float) -> None:
    w, h = size
    rng = np.random.default_rng(0)
    for i in range(n):
        small = rng.integers(0, 255, (h // 8, (w + 4 * frames) // 8, 3)).astype(np.uint8)
        tex = np.asarray(Image.fromarray(small).resize((w + 4 * frames, h), Image.BILINEAR))
        clip = np.stack([tex[:, 4 * t:4 * t + w] for t in range(frames)])
        write_video(folder / f"clip_{i:03d}.mp4", clip, fps)


def one_pass(loader: DataLoader) -> float:
    start = time.perf_counter()
    count = sum(batch["video"].shape[0] for batch in loader)
    return count / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "data_loader_throughput.md"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        make_clips(Path(tmp), args.clips, frames=48, size=(320, 240), fps=24.0)
        records = records_from_folder(tmp)
        dataset = VideoClipDataset(records, frames=16, size=(128, 128), fps=8.0, crop="random", seed=0)
        for workers in args.workers:
            loader = DataLoader(dataset, batch_size=args.batch_size, num_workers=workers,
                                persistent_workers=workers > 0)
            one_pass(loader)  # warm-up: starts the workers, fills the page cache
            rates = [one_pass(loader) for _ in range(args.repeats)]
            del loader
            rows.append((workers, statistics.median(rates), min(rates), max(rates)))
            print(f"workers={workers}: median {rows[-1][1]:.1f} clips/s (min {min(rates):.1f}, max {max(rates):.1f})")
    lines = [
        "# Real-data loader throughput",
        "",
        f"`python benchmarks/data_loader_throughput.py` — {args.clips} synthetic H.264 clips (320x240, 48 frames,",
        "24 fps); each item decodes a 16-frame clip at 8 fps (seek + decode), random-crops and resizes it to",
        f"128x128 and converts to float32 (3, 16, 128, 128); batch size {args.batch_size}; median of "
        f"{args.repeats} passes after a warm-up (persistent workers: start-up not counted).",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs "
        f"(shared with other jobs; 1-min load average {os.getloadavg()[0]:.2f} at the end of the run), "
        f"Python {platform.python_version()}, torch {torch.__version__}.",
        "",
        "| DataLoader workers | clips/s (median) | min | max |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {w} | {med:.1f} | {lo:.1f} | {hi:.1f} |" for w, med, lo, hi in rows]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
