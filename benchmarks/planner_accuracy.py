"""How well does a model's motion planner read kinema world captions?

    python benchmarks/planner_accuracy.py --model M.safetensors [--n 600]

For the first ``n`` clips of the kinema world ``default`` test split (held-out combinations
included), the planner reads the caption and motion amount, exactly as when sampling. Against
each clip's exact plan (:func:`kinema.data.world.plan.clip_plan`) it reports:

* object direction accuracy: the planned 8-way class on clips whose main object is a linear mover
  travelling at least 0.05 image sizes (the bench's "moving" clips);
* camera accuracy: every axis' sign (pan, tilt, zoom, roll) right on moving-camera clips, and
  "no move" on static-camera clips;
* speed: the median |log(planned / exact)| object speed and camera rate where both move;
* object mask (models with ``conditioner.object_mask``): the segmenter's mean IoU with the main
  object's frame-0 mask on the latent grid (coverage >= 0.5), on the moving clips.

Writes ``benchmarks/results/planner_accuracy.md`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from kinema.conditioning.planner import plan_classes
from kinema.data.world import clip_seed, generate_clip, world_preset
from kinema.data.world.dataset import main_object_masks, video_tensor
from kinema.data.world.plan import clip_plan
from kinema.sampling.pipeline import load_pipeline

MOVING_MIN = 0.05  # net displacement in image sizes for a "moving" main object (kinema.bench.clip_metrics)


def world_clips(n: int, size, frames: int, fps: float) -> list:
    cfg = world_preset("default", size=size, frames=frames, fps=fps)
    return [generate_clip(cfg, clip_seed("test", i, 0), split="test") for i in range(n)]


def world_plans(clips: list) -> tuple[list[str], torch.Tensor, torch.Tensor, list[str]]:
    """(captions, motion amounts (n,), exact plans (n, 6), camera moves) of the clips."""
    plans = torch.from_numpy(np.stack([clip_plan(c) for c in clips]))
    motion = torch.tensor([c.motion_amount for c in clips], dtype=torch.float32)
    return [c.caption for c in clips], motion, plans, [c.attributes["camera"] for c in clips]


def mask_iou(pipe, clips: list, tokens: torch.Tensor, mask: torch.Tensor, keep: torch.Tensor) -> float:
    """Mean IoU of the segmenter's frame-0 object mask with the exact one, on the latent grid."""
    frames = torch.stack([video_tensor(c.frames[:1]) for c in clips])  # (n, 3, 1, H, W)
    latent = pipe.autoencoder.encode(frames)[:, :, 0]  # (n, C, h, w)
    got = pipe.conditioner.planner.segmenter.mask(latent, tokens, mask) >= 0.5
    exact = torch.from_numpy(np.stack([main_object_masks(c)[0] for c in clips])).float()[:, None]
    want = F.adaptive_avg_pool2d(exact, latent.shape[-2:])[:, 0] >= 0.5
    iou = (got & want).sum((1, 2)).float() / (got | want).sum((1, 2)).clamp(min=1).float()
    return float(iou[keep].mean())


def accuracy(pred: torch.Tensor, exact: torch.Tensor, cameras: list[str], frames: int) -> dict:
    pc, po = plan_classes(pred)
    ec, eo = plan_classes(exact)
    moving = exact[:, 4:].norm(dim=1) * (frames - 1) >= MOVING_MIN
    cam = torch.tensor([c != "static" for c in cameras])
    both = moving & (po > 0)
    speed = (pred[:, 4:].norm(dim=1)[both] / exact[:, 4:].norm(dim=1)[both]).log().abs()
    rate_mask = (pred[:, :4].abs() > 0) & (exact[:, :4].abs() > 0)
    rate = (pred[:, :4].abs()[rate_mask] / exact[:, :4].abs()[rate_mask]).log().abs()
    return {"direction": float((po == eo)[moving].float().mean()), "n_moving": int(moving.sum()),
            "camera": float((pc == ec).all(1)[cam].float().mean()), "n_camera": int(cam.sum()),
            "static": float((pc == ec).all(1)[~cam].float().mean()), "n_static": int((~cam).sum()),
            "speed_log_err": float(speed.median()) if len(speed) else float("nan"),
            "camera_log_err": float(rate.median()) if len(rate) else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a model file with a motion planner")
    ap.add_argument("--n", type=int, default=600, help="test clips")
    ap.add_argument("--out", default="benchmarks/results/planner_accuracy.md")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    t0 = time.perf_counter()
    pipe = load_pipeline(args.model, device="cpu")
    v = pipe.model_config["video"]
    clips = world_clips(args.n, tuple(v["size"]), int(v["frames"]), float(v["fps"]))
    captions, motion, exact, cameras = world_plans(clips)
    tokens, mask = pipe.conditioner.encode_text(captions)
    pred = pipe.conditioner.planner.eval().plan(tokens, mask, motion)
    r = accuracy(pred, exact, cameras, int(v["frames"]))
    moving = exact[:, 4:].norm(dim=1) * (int(v["frames"]) - 1) >= MOVING_MIN
    segmenter = pipe.conditioner.planner.segmenter is not None
    lines = [
        "# Motion planner accuracy on kinema world captions", "",
        (f"`python benchmarks/planner_accuracy.py --model {args.model} --n {args.n}`: the first {args.n} clips of the "
         f"`default` test split ({time.perf_counter() - t0:.0f} s on the 2-core CPU)."), "",
        "| measure | value | clips |", "|---|---:|---:|",
        f"| object direction (8-way class) | {r['direction']:.3f} | {r['n_moving']} moving |",
        f"| camera move (every axis' sign) | {r['camera']:.3f} | {r['n_camera']} moving cameras |",
        f"| static camera planned as static | {r['static']:.3f} | {r['n_static']} |",
        f"| object speed, median abs. log ratio | {r['speed_log_err']:.3f} | |",
        f"| camera rate, median abs. log ratio | {r['camera_log_err']:.3f} | |",
    ] + ([f"| object mask IoU (segmenter, latent grid) | {mask_iou(pipe, clips, tokens, mask, moving):.3f} "
          f"| {r['n_moving']} moving |"] if segmenter else [])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
