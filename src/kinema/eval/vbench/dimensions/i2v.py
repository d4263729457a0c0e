"""Video-image subject and background consistency (VBench++, Huang et al. 2025, I2V dimensions).

With L2-normalised features ``g`` of the input image and ``f_1..f_T`` of the frames (DINO ViT-B/16
for the subject, DreamSim for the background), VBench-I2V scores a video by order statistics

``0.4 * max_t c_t + 0.3 * mean_t p_t + 0.3 * min_t p_t``,
``c_t = max(0, cos(g, f_t))`` (t = 1..T), ``p_t = max(0, cos(f_{t-1}, f_t))`` (t = 2..T),

and the dimension is the mean over videos (Vchitect/VBench ``vbench2_beta_i2v/i2v_subject.py``,
``i2v_background.py``). The input image is preprocessed by PIL, the frames as tensors
(:mod:`kinema.eval.vbench.preprocess`), hence two feature callables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from kinema.errors import InputError
from kinema.eval.vbench.constants import I2V_MAX_WEIGHT, I2V_MEAN_WEIGHT, I2V_MIN_WEIGHT
from kinema.eval.vbench.result import (
    DimensionScore,
    as_videos,
    describe,
    dimension_protocol,
    require_backbone,
)
from kinema.eval.vbench.sampling import ALL_FRAMES


def i2v_similarity(image_feature: torch.Tensor, frame_features: torch.Tensor) -> float:
    """(D,) or (1, D) image feature, (T, D) frame features -> the order-statistics video score."""
    g = F.normalize(image_feature.float().reshape(1, -1), dim=-1, p=2)
    f = F.normalize(frame_features.float(), dim=-1, p=2)
    conformity = F.cosine_similarity(g.expand_as(f), f, dim=-1).clamp(min=0.0)  # (T,)
    consecutive = F.cosine_similarity(f[:-1], f[1:], dim=-1).clamp(min=0.0)  # (T-1,)
    return float(I2V_MAX_WEIGHT * conformity.max() + I2V_MEAN_WEIGHT * consecutive.double().mean()
                 + I2V_MIN_WEIGHT * consecutive.min())


def _as_images(images, n: int, dimension: str) -> list[np.ndarray]:
    images = [np.asarray(im.detach().cpu() if torch.is_tensor(im) else im) for im in images]
    if len(images) != n:
        raise InputError(f"{dimension}: got {len(images)} input images for {n} videos (one image per video)")
    for i, im in enumerate(images):
        if im.dtype != np.uint8 or im.ndim != 3 or im.shape[-1] != 3:
            raise InputError(f"{dimension}: input image {i} must be uint8 (H, W, 3), got {im.dtype} {im.shape}")
    return images


def _i2v(dimension: str, videos, images: Sequence, features, image_features, what: str) -> DimensionScore:
    features = require_backbone(features, "features", dimension, what)
    image_features = image_features or features
    videos = as_videos(videos, 2, dimension)
    images = _as_images(images, len(videos), dimension)
    per_video = tuple(i2v_similarity(torch.as_tensor(image_features(im[None])).detach(),
                                     torch.as_tensor(features(v)).detach())
                      for im, v in zip(images, videos))
    protocol = dimension_protocol(dimension, videos, [features], ALL_FRAMES,
                                  describe(features, image_features, fallback=what),
                                  input_images=len(images))
    return DimensionScore(dimension, float(np.mean(per_video)), per_video, protocol)


def i2v_subject(videos, images: Sequence, features: Callable | None = None,
                image_features: Callable | None = None) -> DimensionScore:
    """Video-image subject consistency; ``features`` / ``image_features``: uint8 (N, H, W, 3) -> (N, D)
    DINO ViT-B/16 features of frames / of the input image (defaults to ``features``)."""
    return _i2v("i2v_subject", videos, images, features, image_features,
                "DINO ViT-B/16, bicubic 256 short side + centre crop 224, ImageNet norm")


def i2v_background(videos, images: Sequence, features: Callable | None = None,
                   image_features: Callable | None = None) -> DimensionScore:
    """Video-image background consistency; ``features``: DreamSim embeddings (:mod:`kinema.eval.backbones.dreamsim`)."""
    return _i2v("i2v_background", videos, images, features, image_features,
                "DreamSim embeddings, bicubic 224x224")
