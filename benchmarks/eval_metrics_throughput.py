"""Throughput (videos/s, median of repeats) of kinema's weight-free metrics on this CPU.

    python benchmarks/eval_metrics_throughput.py [--repeats 5] [--out benchmarks/results/eval_metrics_throughput.md]

Videos are 16 frames of a smooth random texture panning 1 px/frame with a square moving across it
(uint8 T x H x W x 3), at 64x64 and 256x256. Pairwise metrics compare against a noisy copy. Set
OMP_NUM_THREADS / cv2 threads before comparing runs: OpenCV parallelises flow on its own.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import cv2
import numpy as np

from kinema import eval as ev

T = 16
SIZES = (64, 256)


def make_video(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    canvas = cv2.GaussianBlur(rng.random((size + 2 * T, size + 2 * T, 3)).astype(np.float32), (0, 0), 1.5)
    canvas = ((canvas - canvas.min()) / (canvas.max() - canvas.min()) * 255).astype(np.uint8)
    video = np.stack([canvas[T:T + size, T - t:T - t + size] for t in range(T)])  # content moves right
    side = size // 6
    for t in range(T):
        x = size // 8 + t * size // 64
        video[t, size // 3:size // 3 + side, x:x + side] = (220, 40, 40)
    return np.ascontiguousarray(video)


def metrics(size: int) -> dict:
    video = make_video(size)
    noise = np.random.default_rng(1).integers(-10, 11, video.shape)
    noisy = np.clip(video.astype(int) + noise, 0, 255).astype(np.uint8)
    box = (size // 8, size // 3, size // 8 + size // 6, size // 3 + size // 6)
    table = {
        "psnr": lambda: ev.psnr(video, noisy),
        "ssim": lambda: ev.ssim(video, noisy),
        "temporal_flicker": lambda: ev.temporal_flicker(video),
        "warping_error (DIS)": lambda: ev.warping_error(video),
        "motion_smoothness (DIS)": lambda: ev.motion_smoothness(video),
        "dynamic_degree (DIS)": lambda: ev.dynamic_degree(video),
        "colour_drift (Lab)": lambda: ev.colour_drift(video),
        "first_frame_fidelity": lambda: ev.first_frame_fidelity(video, noisy[0]),
        "classify_camera_motion (KLT)": lambda: ev.classify_camera_motion(video),
        "object_trajectory (KLT)": lambda: ev.object_trajectory(video, box),
        "motion_features (kinema-fmd-v1)": lambda: ev.motion_features(video),
    }
    if size >= ev.frame_metrics.ms_ssim_min_size():
        table["ms_ssim"] = lambda: ev.ms_ssim(video, noisy)
    return table


def median_rate(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1.0 / statistics.median(times)


def set_metric_rates(repeats: int) -> list[tuple[str, float]]:
    rng = np.random.default_rng(0)
    out = []
    for n, d in ((256, 64), (2048, 2048)):
        a, b = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        rate = median_rate(lambda: ev.frechet_distance_features(a, b), 3)
        out.append((f"frechet_distance_features n={n} d={d}", rate))
    a, b = rng.normal(size=(2048, 2048)), rng.normal(size=(2048, 2048))
    out.append(("kernel_distance n=2048 d=2048 (100 subsets of 1000)",
                median_rate(lambda: ev.kernel_distance(a, b), 3)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results/eval_metrics_throughput.md")
    args = parser.parse_args()
    rates = {size: {name: median_rate(fn, args.repeats) for name, fn in metrics(size).items()} for size in SIZES}
    names = list(rates[SIZES[-1]])
    lines = ["| metric | " + " | ".join(f"{T}x{s}x{s} videos/s" for s in SIZES) + " |",
             "|---|" + "---:|" * len(SIZES)]
    for name in names:
        cells = [f"{rates[s][name]:.1f}" if name in rates[s] else "n/a (frames < 176 px)" for s in SIZES]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "| set-level computation | calls/s |", "|---|---:|"]
    lines += [f"| {name} | {rate:.3f} |" for name, rate in set_metric_rates(args.repeats)]
    header = (f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
              f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, cv2 threads={cv2.getNumThreads()}, "
              f"median of {args.repeats} runs after one warm-up.")
    title = ["# Weight-free evaluation metrics: throughput", "",
             "Written by `benchmarks/eval_metrics_throughput.py` (16-frame uint8 videos: a textured pan with a",
             "moving square; pairwise metrics against a noisy copy). Flow metrics use OpenCV DIS, tracking uses KLT.",
             "Numbers from a shared 2-core machine: compare only runs made on the same machine.", ""]
    text = "\n".join(title + [header, ""] + lines) + "\n"
    print(text)
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
