"""Video-text camera motion (VBench++ I2V dimension; Vchitect/VBench ``vbench2_beta_i2v/camera_motion.py``).

A point tracker (CoTracker2 in VBench) follows a 10x10 grid of points through the whole video;
tracks are truncated to integer pixels (``.long()``). For the first and last frames, four edge
points are read from the grid (row-major, CoTracker's ``get_points_on_a_grid`` order, ``(x, y)``):
top ``grid[0, 5]``, bottom ``grid[9, 5]``, left ``grid[5, 0]``, right ``grid[5, 9]``. Each edge's
displacement ``(dx, dy)`` (last - first) is labelled ``right`` / ``left`` when ``|dx| > 0.005 *
min(H, W)`` and ``down`` / ``up`` when ``|dy|`` exceeds the same threshold, else ``static``.

Top/bottom label pairs map to ``left_left -> pan_right``, ``right_right -> pan_left``,
``down_down -> tilt_up``, ``up_up -> tilt_down``, ``up_down -> zoom_in``, ``down_up -> zoom_out``,
``static_static -> static``; left/right pairs alike with ``left_right -> zoom_in`` and
``right_left -> zoom_out``. The predicted set is the union of both ("static" dropped when other
labels exist, then "None" likewise). A video scores 1 when the prompt's camera motion is in the
set; the dimension is the mean over videos.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from kinema.errors import ConfigError, InputError
from kinema.eval.vbench.constants import CAMERA_PROMPTS, CAMERA_TYPES
from kinema.eval.vbench.result import (
    DimensionScore,
    as_videos,
    describe,
    dimension_protocol,
    require_backbone,
)
from kinema.eval.vbench.sampling import CAMERA_FRAMES

GRID_SIZE = 10  # tracked points per side
NUMBER_POINTS = 1  # edge points averaged per side
FACTOR = 0.005  # displacement threshold as a fraction of min(H, W)

_TOP_DOWN = {"left_left": "pan_right", "right_right": "pan_left", "down_down": "tilt_up", "up_up": "tilt_down",
             "up_down": "zoom_in", "down_up": "zoom_out", "static_static": "static"}
_LEFT_RIGHT = {**_TOP_DOWN, "left_right": "zoom_in", "right_left": "zoom_out"}
del _LEFT_RIGHT["up_down"], _LEFT_RIGHT["down_up"]


def camera_motion_type(text: str) -> str:
    """A camera-motion type from a type name or a prompt containing e.g. "camera pans left"."""
    if text in CAMERA_TYPES:
        return text
    for phrase, kind in CAMERA_PROMPTS.items():
        if phrase in text:
            return kind
    raise ConfigError(f"{text!r} names no camera motion; use one of {list(CAMERA_TYPES)} "
                      f"or a prompt containing one of {list(CAMERA_PROMPTS)}")


def _edge_points(grid: np.ndarray) -> list[np.ndarray]:
    """(g, g, 2) grid -> [top, down, left, right] point arrays (k, 2)."""
    g, half = grid.shape[0], NUMBER_POINTS / 2.0
    lo, hi = math.ceil(g // 2 - half), math.ceil(g // 2 + half)
    return [grid[0, lo:hi], grid[g - 1, lo:hi], grid[lo:hi, 0], grid[lo:hi, g - 1]]


def _direction(vector: np.ndarray, min_side: int) -> list[str]:
    scale = min_side * FACTOR
    x, y = vector
    labels = (["right"] if x > scale else ["left"] if x < -scale else []) + \
             (["down"] if y > scale else ["up"] if y < -scale else [])
    return labels or ["static"]


def _pairs(first: list[str], second: list[str], mapping: dict) -> list[str]:
    hits = [mapping[f"{a}_{b}"] for a in first for b in second if f"{a}_{b}" in mapping]
    return hits or ["None"]


def classify_camera_motion(tracks, height: int, width: int) -> tuple[str, ...]:
    """(T, g*g, 2) tracked grid points (x, y) -> the set of predicted camera motions (sorted)."""
    t = torch.as_tensor(tracks)
    if t.ndim != 3 or t.shape[-1] != 2 or t.shape[1] != GRID_SIZE * GRID_SIZE:
        raise InputError(f"camera motion expects tracks (T, {GRID_SIZE ** 2}, 2), got {tuple(t.shape)}")
    t = t.long().numpy()  # VBench truncates the tracks to integer pixels
    first, last = t[0].reshape(GRID_SIZE, GRID_SIZE, 2), t[-1].reshape(GRID_SIZE, GRID_SIZE, 2)
    moves = [(b - a).mean(axis=0) for a, b in zip(_edge_points(first), _edge_points(last))]
    top, down, left, right = (_direction(m, min(height, width)) for m in moves)
    found = set(_pairs(top, down, _TOP_DOWN) + _pairs(left, right, _LEFT_RIGHT))
    for drop in ("static", "None"):
        if drop in found and len(found) > 1:
            found.remove(drop)
    return tuple(sorted(found))


def camera_motion(videos, camera_types: Sequence[str], tracks: Callable | None = None) -> DimensionScore:
    """VBench-I2V camera motion; ``tracks``: uint8 (T, H, W, 3) -> (T, 100, 2) grid tracks (CoTracker2,
    ``grid_size=10``); ``camera_types``: per video a type in CAMERA_TYPES or its prompt."""
    tracks = require_backbone(tracks, "tracks", "camera_motion", "CoTracker2 point tracks on a 10x10 grid")
    videos = as_videos(videos, 2, "camera_motion")
    if len(camera_types) != len(videos):
        raise InputError(f"camera_motion: got {len(camera_types)} camera types for {len(videos)} videos")
    targets = [camera_motion_type(c) for c in camera_types]
    predicted = [classify_camera_motion(tracks(v), *v.shape[1:3]) for v in videos]
    per_video = tuple(float(k in p) for k, p in zip(targets, predicted))
    by_type = {k: float(np.mean([s for s, t in zip(per_video, targets) if t == k])) for k in sorted(set(targets))}
    protocol = dimension_protocol("camera_motion", videos, [tracks], CAMERA_FRAMES,
                                  describe(tracks, fallback="tracker input: raw frames"))
    return DimensionScore("camera_motion", float(np.mean(per_video)), per_video, protocol,
                          details={"by_type": by_type, "predicted": [list(p) for p in predicted]})
