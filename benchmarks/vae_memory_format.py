"""How much does storing frames channels-last speed up the KL autoencoder on the CPU?

    python benchmarks/vae_memory_format.py [--reps 7] [--out benchmarks/results/vae_memory_format.md]

:func:`kinema.vae.kl.fold` hands the per-frame encoder and decoder their (B*T, C, H, W) frames
stored channels-last. This times ``encode`` and ``decode`` of the default model's autoencoder
shape (base 32 channels, 8 latent channels, 2 res blocks, 3 levels) on one bench-sized batch
(4 clips x 16 frames at 64x64) with that fold and with the plain contiguous one, interleaved so
that both see the same load, and reports medians, their ratio and the largest difference between
the two outputs. Random weights: the speed of a convolution does not depend on its values.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from einops import rearrange

from kinema.vae import kl
from kinema.vae.config import KLAutoencoderConfig


def contiguous_fold(video: torch.Tensor) -> torch.Tensor:
    return rearrange(video, "b c t h w -> (b t) c h w")  # the fold before channels-last


def timed(fn) -> tuple[float, torch.Tensor]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def measure(ae: kl.KLAutoencoder, video: torch.Tensor, z: torch.Tensor, reps: int) -> dict:
    folds = {"contiguous": contiguous_fold, "channels-last": kl.fold}
    times = {(f, op): [] for f in folds for op in ("encode", "decode")}
    outs = {}
    with torch.no_grad():
        for rep in range(reps + 1):  # the first round warms up and is not counted
            for name, fold in folds.items():
                kl.fold = fold
                for op, fn in (("encode", lambda: ae.encode(video)), ("decode", lambda: ae.decode(z))):
                    dt, outs[name, op] = timed(fn)
                    if rep:
                        times[name, op].append(dt)
    kl.fold = folds["channels-last"]
    diff = {op: float((outs["contiguous", op] - outs["channels-last", op]).abs().max()) for op in ("encode", "decode")}
    return {"median": {k: statistics.median(v) for k, v in times.items()}, "diff": diff}


def table(result: dict, reps: int) -> str:
    med, diff = result["median"], result["diff"]
    rows = ["| op | contiguous (s) | channels-last (s) | speed-up | max abs. difference |", "|---|---:|---:|---:|---:|"]
    for op in ("encode", "decode"):
        a, b = med["contiguous", op], med["channels-last", op]
        rows.append(f"| {op} | {a:.3f} | {b:.3f} | {a / b:.2f}x | {diff[op]:.1e} |")
    head = (f"# KL autoencoder: channels-last frames on the CPU\n\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
            f"load average {os.getloadavg()[0]:.2f} at the end. One batch of 4 clips x 16 frames at 64x64 "
            f"(encode: pixels -> latents; decode: 8x16x16 latents -> pixels), the default model's autoencoder "
            f"shape, random weights; medians of {reps} interleaved repetitions after one warm-up.\n\n")
    return head + "\n".join(rows) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--out", default="benchmarks/results/vae_memory_format.md")
    args = ap.parse_args()
    torch.manual_seed(0)
    ae = kl.KLAutoencoder(KLAutoencoderConfig(base_channels=32, latent_channels=8, num_res_blocks=2)).eval()
    video, z = torch.rand(4, 3, 16, 64, 64) * 2 - 1, torch.randn(4, 8, 16, 16, 16)
    text = table(measure(ae, video, z, args.reps), args.reps)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
