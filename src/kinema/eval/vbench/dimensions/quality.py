"""Aesthetic and imaging quality (VBench, Huang et al. 2024, Sec. 3.2, frame-wise quality).

Aesthetic quality (Vchitect/VBench ``vbench/aesthetic_quality.py``): every frame's LAION aesthetic
score (linear head on L2-normalised CLIP ViT-L/14 image embeddings,
:mod:`kinema.eval.backbones.aesthetic`) divided by 10, averaged over the frames of a video; the
dimension is the mean over videos.

Imaging quality (``vbench/imaging_quality.py``): every frame, shrunk so that its longer side is at
most 512 (VBench-I2V's default ``imaging_quality_preprocessing_mode='longer'``), is scored by
MUSIQ trained on SPAQ (0-100); a video's value is the frame mean, and the dimension is the mean
over videos divided by 100.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from kinema.eval.vbench.preprocess import musiq_frames
from kinema.eval.vbench.result import (
    DimensionScore,
    as_videos,
    describe,
    dimension_protocol,
    require_backbone,
)
from kinema.eval.vbench.sampling import ALL_FRAMES

AESTHETIC_SCALE = 10.0  # LAION scores are divided by 10
MUSIQ_SCALE = 100.0  # MUSIQ scores are divided by 100


def _musiq_mean(x: torch.Tensor, quality: Callable) -> float:
    """Mean MUSIQ score of frames (T, 3, h, w), scored one at a time as VBench does."""
    return float(np.mean([float(torch.as_tensor(quality(x[i:i + 1])).detach().reshape(-1)[0]) for i in range(len(x))]))


def aesthetic_quality(videos, aesthetic: Callable | None = None) -> DimensionScore:
    """VBench aesthetic quality; ``aesthetic``: uint8 (T, H, W, 3) -> (T,) LAION scores (about 1-10)."""
    aesthetic = require_backbone(aesthetic, "aesthetic", "aesthetic_quality",
                                 "CLIP ViT-L/14 + LAION aesthetic linear head")
    videos = as_videos(videos, 1, "aesthetic_quality")
    per_video = tuple(float((torch.as_tensor(aesthetic(v)).detach().float() / AESTHETIC_SCALE).mean())
                      for v in videos)
    protocol = dimension_protocol("aesthetic_quality", videos, [aesthetic], ALL_FRAMES,
                                  describe(aesthetic, fallback="CLIP: bicubic 224 short side, centre crop 224"))
    return DimensionScore("aesthetic_quality", float(np.mean(per_video)), per_video, protocol)


def imaging_quality(videos, quality: Callable | None = None, mode: str = "longer") -> DimensionScore:
    """VBench imaging quality; ``quality``: float (N, 3, h, w) in [0, 1] -> (N,) MUSIQ-SPAQ scores
    (0-100; :mod:`kinema.eval.backbones.musiq`). ``mode``: VBench's imaging_quality_preprocessing_mode."""
    quality = require_backbone(quality, "quality", "imaging_quality", "MUSIQ trained on SPAQ")
    videos = as_videos(videos, 1, "imaging_quality")
    per_video = tuple(_musiq_mean(musiq_frames(v, mode), quality) / MUSIQ_SCALE for v in videos)
    protocol = dimension_protocol("imaging_quality", videos, [quality], ALL_FRAMES,
                                  f"resize mode {mode!r} (bilinear, no antialias, max side 512), /255",
                                  musiq_mode=mode)
    return DimensionScore("imaging_quality", float(np.mean(per_video)), per_video, protocol)
