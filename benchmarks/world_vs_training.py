"""Does training ever wait on kinema world? Data supply rate vs the training loop's demand.

    python benchmarks/world_vs_training.py [--steps 8]

For each training configuration, measures in one run (interleaved, same load):

* demand: clips/s the optimiser step consumes = batch_size / median step time, with the batch
  already in memory (forward + loss + backward + AdamW + EMA on the configured model);
* supply: clips/s kinema world renders in-process for that clip size (single process).

The issue's requirement is supply >= 10x demand. Writes benchmarks/results/world_vs_training.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from kinema.train import Trainer, load_config
from kinema.train.components import step_generator
from kinema.train.data import batch_iterator, build_dataset

CONFIGS = {
    "toy (unet3d tiny, pixel 32x32x8, batch 4)": ("toy", []),
    "unet3d small, f4 KL latents of 64x64x16, batch 4": (
        "toy", ["model.preset=small", "autoencoder.kind=kl", "autoencoder.preset=f4c4", "data.size=[64,64]",
                "data.frames=16"]),
}


def _demand(trainer: Trainer, steps: int) -> float:
    cfg = trainer.config
    stage = cfg.stages[0]
    model = trainer._prepare_stage(stage)
    ds = build_dataset(cfg.data, tuple(cfg.data.size), cfg.data.frames, cfg.seed)
    batch = next(batch_iterator(ds, cfg.batch_size, cfg.seed, 0))
    from kinema.diffusion import LossBins

    bins = LossBins.for_param(trainer.c.param)
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        trainer.optimizer.zero_grad(set_to_none=True)
        loss = trainer.objective(stage).loss(stage, model, batch, step_generator(0, i, 0), bins)
        loss.backward()
        trainer.optimizer.step()
        trainer.ema.update(trainer.c.backbone, i + 1)
        if i:  # the first step warms up
            times.append(time.perf_counter() - t0)
    return cfg.batch_size / statistics.median(times)


def _supply(trainer: Trainer, clips: int) -> float:
    cfg = trainer.config
    ds = build_dataset(cfg.data, tuple(cfg.data.size), cfg.data.frames, cfg.seed)
    ds[0]  # load assets
    t0 = time.perf_counter()
    for i in range(1, clips + 1):
        ds[i]
    return clips / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "world_vs_training.md"))
    args = ap.parse_args()
    rows = []
    for name, (preset, overrides) in CONFIGS.items():
        trainer = Trainer(load_config(preset, overrides), "/tmp/kinema_bench_wvt", progress=False, log=lambda *_: None)
        demand = _demand(trainer, args.steps)
        supply = _supply(trainer, args.clips)
        rows.append((name, demand, supply, supply / demand))
        print(f"{name}: training consumes {demand:.2f} clips/s, world supplies {supply:.1f} clips/s "
              f"({supply / demand:.0f}x)")
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    lines = ["# kinema world supply vs training demand", "",
             f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}, "
             f"load average {load} at the end; median step time over {args.steps} steps, {args.clips} clips rendered.",
             "", "| training config | demand (clips/s) | world supply (clips/s, 1 process) | supply / demand |",
             "|---|---|---|---|"]
    lines += [f"| {n} | {d:.2f} | {s:.1f} | {r:.0f}x |" for n, d, s, r in rows]
    lines += ["", "Supply is one process rendering in the training loop's own thread; DataLoader workers "
              "(`data.num_workers`) multiply it."]
    Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
