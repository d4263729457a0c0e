"""Exact forward optical flow, visibility and the scalar motion amount.

Each pixel centre q of frame t shows one surface: the frontmost object whose coverage there is
>= 0.5, else the background. Its flow is where that surface point lands in frame t+1:
``q' = G q`` with ``G = A[k, t+1] A[k, t]^-1`` for object k, or ``C[t+1] C[t]^-1`` for the
background, so ``flow[t, i, j] = q' - q`` with no estimation involved. ``valid`` marks pixels
whose surface point is still visible in frame t+1: q' inside the image and not covered (by the
analytic shape test at q') by any object in front of that surface.
"""

from __future__ import annotations

import numpy as np

from kinema.data.motion import ANALYSIS_FPS
from kinema.data.world.render import Rendered
from kinema.data.world.scene import SceneSpec
from kinema.data.world.shapes import inside


def labels(coverage: np.ndarray) -> np.ndarray:
    """(T, H, W) int: index of the frontmost object with coverage >= 0.5, or -1 (background)."""
    n, t, h, w = coverage.shape
    lab = np.full((t, h, w), -1, np.int64)
    for k in reversed(range(n)):  # back to front, front objects overwrite
        lab[coverage[k] >= 0.5] = k
    return lab


def _covered(shape: str, affine_next: np.ndarray, tix, qx, qy) -> np.ndarray:
    """Bool (P,): is point (qx, qy) of frame tix+1 inside the object (analytic shape test)."""
    inv = np.linalg.inv(affine_next)  # (T-1, 3, 3) image -> local
    ux = inv[tix, 0, 0] * qx + inv[tix, 0, 1] * qy + inv[tix, 0, 2]
    uy = inv[tix, 1, 0] * qx + inv[tix, 1, 1] * qy + inv[tix, 1, 2]
    return inside(shape, ux, uy)


def _step(m: np.ndarray) -> np.ndarray:
    """(T, 3, 3) -> (T-1, 3, 3) frame-to-frame maps ``m[t+1] m[t]^-1``; exactly I where m is unchanged."""
    g = m[1:] @ np.linalg.inv(m[:-1])
    g[np.all(m[1:] == m[:-1], axis=(1, 2))] = np.eye(3)
    return g


def forward_flow(scene: SceneSpec, r: Rendered) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flow (T-1, H, W, 2) float32 (dx, dy), valid (T-1, H, W) bool and labels (T, H, W)."""
    n, t, h, w = r.coverage.shape
    lab = labels(r.coverage)
    # per-surface frame-to-frame matrices, surface 0 = background, k + 1 = object k
    mats = [_step(r.camera)] + [_step(r.affines[k]) for k in range(n)]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    surface = lab[:-1] + 1  # (T-1, H, W)
    qx, qy = np.empty(surface.shape, np.float32), np.empty(surface.shape, np.float32)
    for s, g in enumerate(mats):  # g: (T-1, 3, 3); fill the pixels showing surface s
        c = g[:, :2, :, None, None].astype(np.float32)  # (T-1, 2, 3, 1, 1)
        hit = surface == s
        if s == 0 or hit.any():
            np.copyto(qx, c[:, 0, 0] * xx + c[:, 0, 1] * yy + c[:, 0, 2], where=hit)
            np.copyto(qy, c[:, 1, 0] * xx + c[:, 1, 1] * yy + c[:, 1, 2], where=hit)
    flow = np.stack([qx - xx, qy - yy], -1).astype(np.float32)
    valid = (qx >= -0.5) & (qx <= w - 0.5) & (qy >= -0.5) & (qy <= h - 0.5)
    for j in range(n):  # occluder j hides surfaces behind it: the background and objects k > j
        b = r.boxes[j, 1:, :, None, None].astype(np.float32)  # (T-1, 4, 1, 1) box at t+1
        near = (qx >= b[:, 0]) & (qx <= b[:, 2]) & (qy >= b[:, 1]) & (qy <= b[:, 3])
        ti, ii, jj = np.nonzero(near & valid & ((surface == 0) | (surface > j + 1)))
        if ti.size:
            hit = _covered(scene.objects[j].shape, r.affines[j, 1:], ti, qx[ti, ii, jj], qy[ti, ii, jj])
            valid[ti[hit], ii[hit], jj[hit]] = False
    return flow, valid, lab


def motion_amount(flow: np.ndarray, width: int, height: int, fps: float) -> float:
    """Mean exact flow magnitude / image diagonal, per 1/ANALYSIS_FPS s (``kinema.data.motion`` units).

    ``mean ||flow|| / hypot(W, H) * ANALYSIS_FPS / fps``: the same unit as the Farneback-based
    ``motion_score`` of real footage (fraction of the diagonal moved per 1/8 s), computed from
    the exact flow over all pixels and frame pairs. 0 for a still scene under a static camera.
    """
    if flow.size == 0:
        return 0.0
    per_frame = float(np.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2).mean()) / float(np.hypot(width, height))
    return per_frame * ANALYSIS_FPS / fps
