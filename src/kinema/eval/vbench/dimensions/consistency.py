"""Subject and background consistency (VBench, Huang et al. 2024, Sec. 3.2; VBench++ quality dims).

For frames with L2-normalised features ``f_1..f_T`` (DINO ViT-B/16 for the subject, CLIP ViT-B/32
for the background), each later frame scores
``s_t = (max(0, cos(f_{t-1}, f_t)) + max(0, cos(f_1, f_t))) / 2``, t = 2..T.
A video's value is the mean of its ``s_t``; the dimension's value is the mean over *all frame
pairs of all videos* (``sim / cnt`` in Vchitect/VBench ``vbench/subject_consistency.py`` and
``background_consistency.py``), so longer videos weigh more.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from kinema.eval.vbench.result import (
    DimensionScore,
    as_videos,
    describe,
    dimension_protocol,
    require_backbone,
)
from kinema.eval.vbench.sampling import ALL_FRAMES


def frame_consistency(features: torch.Tensor) -> torch.Tensor:
    """(T, D) features -> (T-1,) pair scores ``s_t`` (first-frame and previous-frame cosine, clamped)."""
    f = F.normalize(features.float(), dim=-1, p=2)
    prev = F.cosine_similarity(f[:-1], f[1:], dim=-1).clamp(min=0.0)
    first = F.cosine_similarity(f[:1].expand_as(f[1:]), f[1:], dim=-1).clamp(min=0.0)
    return (prev + first) / 2


def _consistency(dimension: str, videos, features: Callable | None, what: str) -> DimensionScore:
    features = require_backbone(features, "features", dimension, what)
    videos = as_videos(videos, 2, dimension)
    pair_scores = [frame_consistency(torch.as_tensor(features(v)).detach()) for v in videos]  # each (T-1,)
    per_video = tuple(float(s.double().mean()) for s in pair_scores)
    value = float(sum(float(s.double().sum()) for s in pair_scores) / sum(len(s) for s in pair_scores))
    protocol = dimension_protocol(dimension, videos, [features], ALL_FRAMES, describe(features, fallback=what))
    return DimensionScore(dimension, value, per_video, protocol)


def subject_consistency(videos, features: Callable | None = None) -> DimensionScore:
    """VBench subject consistency; ``features``: uint8 (T, H, W, 3) -> (T, D) DINO ViT-B/16 [CLS]."""
    return _consistency("subject_consistency", videos, features,
                        "DINO ViT-B/16 frame features, 224 short side bilinear, ImageNet norm")


def background_consistency(videos, features: Callable | None = None) -> DimensionScore:
    """VBench background consistency; ``features``: uint8 (T, H, W, 3) -> (T, D) CLIP ViT-B/32 image embeds."""
    return _consistency("background_consistency", videos, features,
                        "CLIP ViT-B/32 image embeddings, bicubic 224 short side, centre crop 224, CLIP norm")
