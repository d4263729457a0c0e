"""Motion score of a clip from dense optical flow: the motion-amount control's training target.

SVD (Blattmann et al. 2023) conditions on a "motion bucket" computed from optical flow; the
I2V survey (Wang et al. 2026, Sec. IV-B2) groups it with the implicit motion priors. kinema computes:

    motion_score = mean over frame pairs and pixels of |flow| / image diagonal

with Farneback flow (``cv2.calcOpticalFlowFarneback``) between consecutive frames resampled to
``ANALYSIS_FPS`` (8 fps) and converted to grayscale at a fixed analysis size (longer side
``ANALYSIS_SIZE`` = 128 px). **Unit: fraction of the image diagonal moved per 1/8 s**; a
still video scores ~0, an object panning across the whole frame in one second about 0.1.
Resampling in time and normalising by the diagonal make the score independent of the file's
frame rate and resolution, so clips of any source are comparable.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

ANALYSIS_FPS = 8.0  # frame pairs are 1/8 s apart
ANALYSIS_SIZE = 128  # longer side of the grayscale analysis frames, in pixels
MAX_PAIRS = 32  # at most this many frame pairs, spread evenly over the clip
# Farneback parameters: pyramid scale, levels, window, iterations, poly_n, poly_sigma, flags
_FARNEBACK = (0.5, 4, 15, 3, 5, 1.2, 0)


def analysis_shape(width: int, height: int, size: int = ANALYSIS_SIZE) -> tuple[int, int]:
    """(w, h) of the analysis frames: longer side ``size``, aspect ratio kept."""
    scale = size / max(width, height)
    return max(8, round(width * scale)), max(8, round(height * scale))


def to_analysis_gray(frame: np.ndarray, size: int = ANALYSIS_SIZE) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> uint8 gray (h, w) at the analysis size."""
    h, w = frame.shape[:2]
    gray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    return cv2.resize(gray, analysis_shape(w, h, size), interpolation=cv2.INTER_AREA)


def analysis_pairs(window: tuple[int, int], native_fps: float | None, analysis_fps: float = ANALYSIS_FPS,
                   max_pairs: int = MAX_PAIRS) -> list[tuple[int, int]]:
    """Native frame index pairs (a, b), 1/analysis_fps apart, spread evenly over ``window``."""
    first, stop = window
    step = max(1.0, (native_fps or analysis_fps) / analysis_fps)
    n = int(math.floor((stop - 1 - first) / step + 1e-9)) + 1 if stop > first else 0
    grid = [first + int(round(k * step)) for k in range(n)]
    pairs = list(zip(grid[:-1], grid[1:]))
    if len(pairs) > max_pairs:
        pick = np.linspace(0, len(pairs) - 1, max_pairs).round().astype(int)
        pairs = [pairs[i] for i in pick]
    return pairs


def pair_motion(a: np.ndarray, b: np.ndarray) -> float:
    """Mean Farneback flow magnitude from gray ``a`` to ``b``, as a fraction of the diagonal."""
    flow = cv2.calcOpticalFlowFarneback(a, b, None, *_FARNEBACK)  # (h, w, 2) pixels
    magnitude = np.sqrt((flow.astype(np.float64) ** 2).sum(-1))
    return float(magnitude.mean() / math.hypot(a.shape[0], a.shape[1]))


def motion_from_gray(gray: dict[int, np.ndarray], pairs: list[tuple[int, int]]) -> float:
    """Score from analysis frames keyed by native index (pairs with a missing frame are skipped)."""
    values = [pair_motion(gray[a], gray[b]) for a, b in pairs if a in gray and b in gray]
    return float(np.mean(values)) if values else 0.0


def motion_score(frames: np.ndarray, fps: float | None) -> float:
    """Motion score of uint8 RGB frames (T, H, W, 3) played at ``fps`` (see module docstring)."""
    pairs = analysis_pairs((0, len(frames)), fps)
    needed = {i for pair in pairs for i in pair}
    gray = {i: to_analysis_gray(frames[i]) for i in needed}
    return motion_from_gray(gray, pairs)
