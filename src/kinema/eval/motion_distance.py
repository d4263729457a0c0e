"""Fréchet motion distance: a **kinema variant** in the spirit of FVMD (Liu et al. 2024).

FVMD tracks keypoints with a learned tracker and compares histograms of their velocity and
acceleration fields through a Fréchet distance. kinema keeps the idea and drops the weights:

1. dense DIS flow between consecutive frames, F_t (H, W, 2), in image sizes (sqrt(W H)) per frame;
2. velocity = |F_t|; acceleration along the motion (Lagrangian) = |F_{t+1}(x + F_t(x)) - F_t(x)|;
3. per video, three normalised histograms: velocity magnitude and acceleration magnitude over
   ``MAGNITUDE_EDGES`` (log-spaced, resolution-free units) and the magnitude-weighted direction of
   velocity over 8 sectors; their square roots (a Hellinger embedding) are concatenated into a
   feature vector of ``MOTION_FEATURE_DIM`` numbers;
4. the Fréchet distance (Wang et al. 2026, I2V survey Eq. 6) between the Gaussians fitted to two sets of such vectors.

Metric id ``kinema-fmd-v1``. Numbers are not comparable to FVMD.
"""

from __future__ import annotations

import numpy as np

from kinema.errors import InputError
from kinema.eval.flow import backward_warp, video_flows
from kinema.eval.frames import as_uint8_video, gray_frames, require_frames
from kinema.eval.frechet import FeatureStats, frechet_distance_stats

METRIC_ID = "kinema-fmd-v1"
# 0, then 5e-4 .. 0.256 image sizes per frame (x2 steps), then open-ended: 11 bins
MAGNITUDE_EDGES = np.concatenate([[0.0], np.geomspace(5e-4, 0.256, 10), [np.inf]])
DIRECTION_BINS = 8
MOTION_FEATURE_DIM = 2 * (len(MAGNITUDE_EDGES) - 1) + DIRECTION_BINS


def _hist(values: np.ndarray, edges: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    h, _ = np.histogram(values, bins=edges, weights=weights)
    total = h.sum()
    return h / total if total > 0 else h.astype(np.float64)


def motion_features(video, method: str = "dis", value_range=(-1.0, 1.0)) -> np.ndarray:
    """(MOTION_FEATURE_DIM,) motion descriptor of one video (needs T >= 3)."""
    u8 = as_uint8_video(video, value_range)
    require_frames(u8, 3, "motion features")
    size = float(np.sqrt(u8.shape[1] * u8.shape[2]))
    flows = video_flows(gray_frames(u8), method)  # (T-1, H, W, 2) px
    accel = np.stack([backward_warp(flows[t + 1], flows[t]) - flows[t] for t in range(len(flows) - 1)])
    v = flows.reshape(-1, 2).astype(np.float64) / size  # (N, 2) image sizes per frame
    speed = np.hypot(v[:, 0], v[:, 1])
    a = np.hypot(accel[..., 0], accel[..., 1]).ravel().astype(np.float64) / size
    sector = np.floor((np.arctan2(v[:, 1], v[:, 0]) + np.pi) / (2 * np.pi) * DIRECTION_BINS) % DIRECTION_BINS
    parts = (_hist(speed, MAGNITUDE_EDGES), _hist(a, MAGNITUDE_EDGES),
             _hist(sector, np.arange(DIRECTION_BINS + 1), weights=speed))
    return np.sqrt(np.concatenate(parts))


def motion_stats(videos, method: str = "dis", value_range=(-1.0, 1.0)) -> FeatureStats:
    """:class:`FeatureStats` of the motion descriptors of a set of videos (a reference to save)."""
    videos = list(videos)
    if len(videos) < 2:
        raise InputError(f"a motion distance needs at least 2 videos per set, got {len(videos)}")
    feats = np.stack([motion_features(v, method, value_range) for v in videos])
    return FeatureStats.from_features(feats, meta={"metric": METRIC_ID, "flow": method})


def motion_distance(videos_a, videos_b, method: str = "dis", value_range=(-1.0, 1.0)) -> float:
    """Fréchet distance between the motion-descriptor Gaussians of two video sets (0 if identical)."""
    return frechet_distance_stats(motion_stats(videos_a, method, value_range),
                                  motion_stats(videos_b, method, value_range))
