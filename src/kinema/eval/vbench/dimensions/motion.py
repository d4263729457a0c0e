"""Motion smoothness and dynamic degree (VBench, Huang et al. 2024, Sec. 3.2).

Motion smoothness (Vchitect/VBench ``vbench/motion_smoothness.py``): keep frames 0, 2, 4, ...,
let a frame-interpolation model (AMT-S in VBench) predict the middle of each consecutive kept pair
as uint8 frames, and compare them with the held-out frames 1, 3, 5, ...:
``vfi = mean_i mean_pixels |pred_i - frame_{2i+1}|`` (uint8 absolute difference over H, W and
colour), video score ``(255 - vfi) / 255``; the dimension is the mean over videos.

Dynamic degree (``vbench/dynamic_degree.py``): on frames sampled at about 8 fps
(:func:`~kinema.eval.vbench.sampling.dynamic_degree_indices`), optical flow (RAFT-things, 20
iterations, in VBench) between consecutive frames gives per pair the mean of the largest 5 %
flow magnitudes (``int(h * w * 0.05)`` values of the flow field as returned: RAFT's field is that
of the frames replicate-padded to a multiple of 8). A video is dynamic when at least
``round(4 * n / 16)`` pairs exceed ``6 * min(H, W) / 256`` pixels (n sampled frames, H x W the
unpadded frame; Python's round). The dimension is the fraction of dynamic videos.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from kinema.errors import InputError
from kinema.eval.vbench.result import (
    DimensionScore,
    as_videos,
    describe,
    dimension_protocol,
    require_backbone,
)
from kinema.eval.vbench.sampling import (
    DYNAMIC_DEGREE_FRAMES,
    MOTION_SMOOTHNESS_FRAMES,
    dynamic_degree_indices,
    dynamic_degree_interval,
    motion_smoothness_split,
)

TOP_FRACTION = 0.05  # share of flow magnitudes averaged per pair
THRESHOLD_AT_256 = 6.0  # flow threshold in pixels for a 256-pixel short side
PAIRS_PER_16_FRAMES = 4  # pairs that must exceed it, per 16 sampled frames


def vfi_score(held_out: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute uint8 difference between held-out frames and interpolations, (N, H, W, 3) each."""
    diffs = [np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))) for a, b in zip(held_out, predicted)]
    return float(np.mean(diffs))


def _smoothness(video: np.ndarray, interpolate: Callable) -> float:
    kept, held = motion_smoothness_split(video.shape[0])
    k = video[kept]
    pred = np.asarray(torch.as_tensor(interpolate(k[:-1], k[1:])).cpu())  # (len(kept) - 1, H, W, 3)
    if pred.dtype != np.uint8 or pred.shape != k[:-1].shape:
        raise InputError(f"interpolate must return uint8 frames of shape {k[:-1].shape}, got {pred.dtype} {pred.shape}")
    return (255.0 - vfi_score(video[held][:len(pred)], pred)) / 255.0


def motion_smoothness(videos, interpolate: Callable | None = None) -> DimensionScore:
    """VBench motion smoothness; ``interpolate(frames0, frames1)``: uint8 (N, H, W, 3) pairs -> uint8
    (N, H, W, 3) middle frames (AMT-S in VBench: :mod:`kinema.eval.backbones.amt`)."""
    interpolate = require_backbone(interpolate, "interpolate", "motion_smoothness",
                                   "AMT-S frame interpolation at t=0.5")
    videos = as_videos(videos, 3, "motion_smoothness")
    per_video = tuple(_smoothness(v, interpolate) for v in videos)
    protocol = dimension_protocol("motion_smoothness", videos, [interpolate], MOTION_SMOOTHNESS_FRAMES,
                                  describe(interpolate, fallback="interpolator input: raw uint8 frames"))
    return DimensionScore("motion_smoothness", float(np.mean(per_video)), per_video, protocol)


def top5_flow_magnitude(flow) -> float:
    """(2, h, w) flow -> mean of its largest ``int(h * w * 0.05)`` magnitudes (float32, as VBench)."""
    f = np.asarray(torch.as_tensor(flow).detach().cpu().float())
    if f.ndim != 3 or f.shape[0] != 2:
        raise InputError(f"flow must be (2, h, w) per frame pair, got shape {f.shape}")
    cut = int(f.shape[1] * f.shape[2] * TOP_FRACTION)
    if cut < 1:
        raise InputError(f"flow field {f.shape[1]}x{f.shape[2]} is too small: its top 5% holds no pixel")
    rad = np.sqrt(np.square(f[0]) + np.square(f[1])).ravel()
    return float(np.mean(np.sort(rad)[::-1][:cut]))


def dynamic_degree_thresholds(height: int, width: int, n_frames: int) -> tuple[float, int]:
    """(flow threshold in pixels, pairs needed) for sampled frames of size H x W, n of them."""
    return THRESHOLD_AT_256 * (min(height, width) / 256.0), round(PAIRS_PER_16_FRAMES * (n_frames / 16.0))


def is_moving(pair_scores, threshold: float, count_needed: int) -> bool:
    """VBench's ``check_move``: true once ``count_needed`` pair scores exceed ``threshold``
    (with ``count_needed == 0`` any pair at all suffices; no pairs is static)."""
    count = 0
    for s in pair_scores:
        count += s > threshold
        if count >= count_needed:
            return True
    return False


def _dynamic(video: np.ndarray, flow: Callable, fps: float | None) -> bool:
    frames = video[dynamic_degree_indices(video.shape[0], fps)]
    threshold, needed = dynamic_degree_thresholds(video.shape[1], video.shape[2], frames.shape[0])
    if frames.shape[0] < 2:
        return False
    flows = torch.as_tensor(flow(frames)).detach()  # (n-1, 2, h, w)
    if flows.ndim != 4 or flows.shape[0] != frames.shape[0] - 1:
        raise InputError(f"flow must return (n-1, 2, h, w) for n={frames.shape[0]} frames, got {tuple(flows.shape)}")
    return is_moving([top5_flow_magnitude(f) for f in flows], threshold, needed)


def dynamic_degree(videos, flow: Callable | None = None, fps: float | None = None) -> DimensionScore:
    """VBench dynamic degree; ``flow``: uint8 (n, H, W, 3) -> (n-1, 2, h, w) flow between consecutive
    frames (RAFT-things, 20 iterations, on frames padded to a multiple of 8); ``fps`` of the videos
    sets the sampling step (None: use every frame)."""
    flow = require_backbone(flow, "flow", "dynamic_degree", "RAFT-things optical flow, 20 iterations")
    videos = as_videos(videos, 2, "dynamic_degree")
    per_video = tuple(_dynamic(v, flow, fps) for v in videos)
    protocol = dimension_protocol("dynamic_degree", videos, [flow], DYNAMIC_DEGREE_FRAMES,
                                  describe(flow, fallback="flow input: raw uint8 frames"),
                                  stride=dynamic_degree_interval(fps), fps=fps)
    return DimensionScore("dynamic_degree", float(np.mean(per_video)), per_video, protocol)
