"""Throughput (videos/s, median of repeats) of kinema's evaluation backbones on this CPU, random weights.

    python benchmarks/eval_backbones_throughput.py [--repeats 3] [--out benchmarks/results/eval_backbones_throughput.md]

Each backbone runs at its real size with random weights (the pretrained files are not on this
machine; weights do not change the cost) on 16-frame uint8 videos at 64x64 and 256x256, through the
same preprocessing as the metric (most resize every frame to 224 or 299, so the input size matters
little). One video per call (batch 1) unless noted. Frame backbones see all 16 frames.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_metrics_throughput import make_video  # noqa: E402  (the same test videos)

from kinema.errors import ConfigError  # noqa: E402

T = 16
SIZES = (64, 256)


def _inception():
    from kinema.eval.backbones.inception import FIDInceptionV3, InceptionFeatures

    model = FIDInceptionV3().eval()
    return lambda v: InceptionFeatures(model)(torch.from_numpy(v))  # 16 frames -> (16, 2048)


def _i3d():
    from kinema.eval.backbones.i3d import InceptionI3d, TATSI3DFeatures

    ext = TATSI3DFeatures(InceptionI3d())
    return lambda v: ext(torch.from_numpy(v[None]))


def _videomae_base():
    from kinema.eval.backbones.videomae import VIDEOMAE_PRESETS, VideoMAEFeatures, VideoMAEViT

    ext = VideoMAEFeatures(VideoMAEViT(VIDEOMAE_PRESETS["b"]))
    return lambda v: ext(torch.from_numpy(v[None]))


def _lpips(net: str):
    from kinema.eval.metrics.lpips import LPIPS, lpips_frames

    model = LPIPS(net).eval()
    noisy = {}

    def run(v):
        other = noisy.setdefault(v.shape, np.clip(v.astype(int) + 8, 0, 255).astype(np.uint8))
        return lpips_frames(model, v, other)

    return run


class _ImageOnlyProcessor:
    """CLIPProcessor's image half (the benchmark times image features only; no tokenizer needed)."""

    def __init__(self):
        from transformers import CLIPImageProcessor

        self.image_processor = CLIPImageProcessor()

    def __call__(self, images, return_tensors="pt", padding=True):
        return self.image_processor(images=images, return_tensors=return_tensors)


def _clip(size: str):
    from transformers import CLIPConfig, CLIPModel

    from kinema.eval.backbones.clip import CLIPBackbone

    vision = {"L14": dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                          patch_size=14, image_size=224),
              "B32": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                          patch_size=32, image_size=224)}[size]
    text = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=2, vocab_size=100)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=768 if size == "L14" else 512))
    clip = CLIPBackbone(model, _ImageOnlyProcessor())
    return lambda v: clip.image_features(v)


def _dino():
    from kinema.eval.backbones.vit import dino_vit
    from kinema.eval.vbench.backbones import dino_callables

    subject = dino_callables(dino_vit("base").eval())["subject"]
    return lambda v: subject(torch.from_numpy(v))


def _raft():
    from kinema.eval.backbones.raft import RAFT, raft_flow

    model = RAFT().eval()

    def run(v):
        x = torch.from_numpy(v).permute(0, 3, 1, 2)  # (T, 3, H, W) uint8
        return raft_flow(model, x[:-1], x[1:], iters=20)  # 15 pairs

    return run


def _amt():
    from kinema.eval.backbones.amt import AmtS
    from kinema.eval.backbones.amt_interp import AmtInterpolator

    interp = AmtInterpolator(AmtS().eval())  # MCG-NKU/AMT's code from $KINEMA_AMT_SRC
    return lambda v: interp(v[0:-2:2], v[2::2])  # VBench: the middle of each kept pair (7 pairs)


def _musiq():
    from kinema.eval.backbones.musiq import MusiqQuality, musiq_network
    from kinema.eval.vbench.preprocess import musiq_frames

    quality = MusiqQuality(musiq_network())  # pyiqa's code (installed, or $KINEMA_PYIQA_SRC)
    return lambda v: quality(musiq_frames(v))


def _dreamsim():
    from kinema.eval.backbones.dreamsim import DreamSim, DreamSimFeatures

    ext = DreamSimFeatures(DreamSim().eval(), source="frames")
    return lambda v: ext(v)


def _cotracker():
    from kinema.eval.backbones.cotracker import CoTrackerGridTracks, cotracker_predictor

    tracks = CoTrackerGridTracks(cotracker_predictor())  # co-tracker's code from $KINEMA_COTRACKER_SRC
    return lambda v: tracks(v)


BACKBONES = {
    "Inception-v3 FID (FID/KID/IS; 16 frames)": _inception,
    "I3D (fvd-tats; fvd-styleganv is the same network)": _i3d,
    "VideoMAE-v2 at ViT-B/16 size (fvd-videomae uses ViT-g, ~13x the compute)": _videomae_base,
    "LPIPS alex (16 frame pairs)": lambda: _lpips("alex"),
    "LPIPS vgg (16 frame pairs)": lambda: _lpips("vgg"),
    "CLIP ViT-L/14 image tower (CLIPScore, aesthetic; 16 frames)": lambda: _clip("L14"),
    "CLIP ViT-B/32 image tower (VBench background consistency; 16 frames)": lambda: _clip("B32"),
    "DINO ViT-B/16 (VBench subject consistency; 16 frames)": _dino,
    "RAFT-large, 20 iterations (VBench dynamic degree; 15 pairs)": _raft,
    "AMT-S (VBench motion smoothness; 7 interpolated frames)": _amt,
    "MUSIQ-SPAQ (VBench imaging quality; 16 frames)": _musiq,
    "DreamSim ensemble (VBench-I2V i2v_background; 16 frames)": _dreamsim,
    "CoTracker2, 10x10 grid (VBench-I2V camera motion; resized to 384x512)": _cotracker,
}


def median_rate(fn, video, repeats: int) -> float:
    fn(video)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(video)
        times.append(time.perf_counter() - t0)
    return 1.0 / statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--only", default=None, help="substring of the backbones to run")
    p.add_argument("--out", default="benchmarks/results/eval_backbones_throughput.md")
    args = p.parse_args()
    torch.manual_seed(0)
    rows = []
    for name, build in BACKBONES.items():
        if args.only and args.only not in name:
            continue
        try:
            fn, cells = build(), []
        except ConfigError as e:  # AMT / CoTracker / MUSIQ code not shipped: its checkout is not named
            print(f"skipped {name}: {e}", flush=True)
            continue
        for size in SIZES:
            if ("RAFT" in name or "AMT" in name) and size < 128:
                cells.append("n/a (needs >= 128 px after padding, as the original)")
                continue
            with torch.inference_mode():
                cells.append(f"{median_rate(fn, make_video(size), args.repeats):.3f}")
        rows.append(f"| {name} | {cells[0]} | {cells[1]} |")
        print(rows[-1], flush=True)
    header = ["# Evaluation backbones: throughput (random weights)", "",
              "Written by `benchmarks/eval_backbones_throughput.py`: 16-frame uint8 videos (a textured pan with a "
              "moving square), one video per call, through each metric's own preprocessing. Weights are random "
              "(the pretrained files are not on this machine); the cost does not depend on them.", "",
              f"CPU: {platform.machine()}, {os.cpu_count()} logical cores, torch threads={torch.get_num_threads()}, "
              f"median of {args.repeats} runs after one warm-up. No GPU was available.", "",
              "| backbone | 16x64x64 videos/s | 16x256x256 videos/s |", "|---|---:|---:|"]
    Path(args.out).write_text("\n".join(header + rows) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
