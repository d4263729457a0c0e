"""The recipe of ``kinema-world-encoder-v1``: supervised training on kinema world only.

1. render a pool of ``pool`` clips of the **train** split of the default world (64x64x16; the
   test split that the benchmark evaluates is never seen) and their labels
   (:mod:`kinema.bench.encoder_labels`);
2. train :class:`~kinema.bench.world_encoder.WorldEncoder` with AdamW (lr warm-up then cosine
   decay) on the sum of the head losses, batches drawn from the pool by a seeded generator;
3. report per-head accuracy on ``val_clips`` clips of the **val** split;
4. write the weights (float16 safetensors, architecture + recipe + val scores in the header).

Deterministic for a given recipe and thread count (CPU, float32). Run it with
``python -m kinema.bench.encoder_train --out src/kinema/assets/world_encoder.safetensors``; then
update the sha256 in :data:`kinema.bench.world_encoder.WORLD_ENCODERS`.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from kinema.bench.encoder_labels import CLASSES, HEADS, clip_labels, head_losses, stack_labels
from kinema.bench.world_encoder import WorldEncoder, WorldEncoderConfig, encoder_metadata, uint8_to_tensor


@dataclass
class EncoderRecipe:
    steps: int = 1200  # optimiser steps
    batch: int = 32  # clips per step
    pool: int = 3072  # train-split clips rendered once and sampled from
    val_clips: int = 256  # val-split clips scored after training
    lr: float = 2e-3  # peak AdamW learning rate
    weight_decay: float = 0.05
    warmup: int = 50  # linear warm-up steps, then cosine decay to 0
    seed: int = 0  # torch seed (init and batch order) and the world's base seed
    world_preset: str = "default"  # 64x64x16 kinema world


def render_pool(n: int, split: str, base_seed: int, preset: str = "default") -> tuple[np.ndarray, dict]:
    """uint8 (n, T, H, W, 3) clips ``clip_seed(split, i, base_seed)`` and their stacked labels."""
    from kinema.data.world import clip_seed, generate_clip, world_preset

    cfg = world_preset(preset)
    frames, labels = [], []
    for i in range(n):  # keep only frames and labels: a clip's flow and masks are ~6x its frames
        clip = generate_clip(cfg, clip_seed(split, i, base_seed), split)
        frames.append(clip.frames)
        labels.append(clip_labels(clip))
    return np.stack(frames), stack_labels(labels)


def _lr_at(step: int, recipe: EncoderRecipe) -> float:
    if step < recipe.warmup:
        return recipe.lr * (step + 1) / recipe.warmup
    progress = (step - recipe.warmup) / max(1, recipe.steps - recipe.warmup)
    return recipe.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def fit(model: WorldEncoder, videos: np.ndarray, labels: dict, recipe: EncoderRecipe, log=print) -> list[float]:
    """Train in place; returns the loss per step."""
    gen = torch.Generator().manual_seed(recipe.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    losses, t0 = [], time.perf_counter()
    model.train()
    for step in range(recipe.steps):
        idx = torch.randint(len(videos), (recipe.batch,), generator=gen)
        x = uint8_to_tensor(videos[idx.numpy()])  # (B, 3, T, H, W)
        per_head = head_losses(model.predict(model(x)), {k: v[idx] for k, v in labels.items()})
        loss = sum(per_head.values())
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, recipe)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if step % 100 == 0 or step == recipe.steps - 1:
            log(f"step {step:5d} loss {np.mean(losses[-100:]):.4f} ({time.perf_counter() - t0:.0f} s)")
    return losses


@torch.no_grad()
def score(model: WorldEncoder, videos: np.ndarray, labels: dict) -> dict[str, float]:
    """Accuracy per classification head and RMSE of the regression head."""
    model.eval()
    preds: dict[str, list] = {k: [] for k in HEADS}
    for i in range(0, len(videos), 64):
        out = model.predict(model(uint8_to_tensor(videos[i:i + 64])))
        for k, v in out.items():
            preds[k].append(v)
    res = {}
    for k in HEADS:
        p = torch.cat(preds[k])
        if k in CLASSES:
            res[f"{k}_acc"] = round(float((p.argmax(1) == labels[k]).float().mean()), 4)
        else:
            res[f"{k}_rmse"] = round(float(((p[:, 0] - labels[k]) ** 2).mean().sqrt()), 4)
    return res


def train_world_encoder(out: str | Path, steps: int = 1200, batch: int = 32, seed: int = 0,
                        recipe: EncoderRecipe | None = None, log=print) -> dict:
    """Run the recipe and write the weights to ``out``; returns {path, sha256, val, seconds, recipe}."""
    from safetensors.torch import save_file

    from kinema.checkpoint import atomic_write, sha256_file

    recipe = recipe or EncoderRecipe(steps=steps, batch=batch, seed=seed)
    t0 = time.perf_counter()
    torch.manual_seed(recipe.seed)
    videos, labels = render_pool(recipe.pool, "train", recipe.seed, recipe.world_preset)
    log(f"rendered {recipe.pool} train clips in {time.perf_counter() - t0:.0f} s")
    model = WorldEncoder(WorldEncoderConfig(heads=dict(HEADS)))
    fit(model, videos, labels, recipe, log)
    val_videos, val_labels = render_pool(recipe.val_clips, "val", recipe.seed, recipe.world_preset)
    val = score(model, val_videos, val_labels)
    seconds = round(time.perf_counter() - t0, 1)
    log(f"val {val} ({seconds} s, {torch.get_num_threads()} threads)")
    meta = encoder_metadata(model.config, {**asdict(recipe), "val": val, "seconds": seconds,
                                           "threads": torch.get_num_threads()})
    state = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}  # float16 on disk: ~1 MB
    path = atomic_write(out, lambda tmp: save_file(state, tmp, metadata=meta))
    os.chmod(path, 0o644)  # mkstemp made it 0600
    return {"path": str(path), "sha256": sha256_file(path), "val": val, "seconds": seconds, "recipe": asdict(recipe)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Train kinema-world-encoder-v1 on kinema world (CPU, ~10 min).")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=EncoderRecipe.steps)
    ap.add_argument("--batch", type=int, default=EncoderRecipe.batch)
    ap.add_argument("--pool", type=int, default=EncoderRecipe.pool)
    ap.add_argument("--seed", type=int, default=EncoderRecipe.seed)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    res = train_world_encoder(a.out, recipe=EncoderRecipe(steps=a.steps, batch=a.batch, pool=a.pool, seed=a.seed))
    print(f"wrote {res['path']} sha256 {res['sha256']}")


if __name__ == "__main__":
    main()
