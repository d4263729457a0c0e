"""Camera moves as per-frame 2D similarity transforms of the whole scene (world -> image).

World coordinates are the image pixel coordinates of frame 0 (pixel (row i, col j) has its centre
at (x, y) = (j, i); y points down). Per frame the camera has four parameters:

* ``tx, ty`` — pan / tilt offset of the view centre, in world pixels (pan right: tx grows, so the
  scene slides left on screen; tilt up: ty shrinks, so the scene slides down),
* ``zoom`` — magnification s (> 1 = zoomed in),
* ``roll`` — camera roll r in radians (r > 0: the camera turns clockwise, the picture turns
  counter-clockwise).

An image point is ``q = c + s * R(-r) (p - c - (tx, ty))`` with ``c`` the image centre
((W-1)/2, (H-1)/2) and ``R(a) = [[cos a, -sin a], [sin a, cos a]]``; frame 0 is the identity.
"""

from __future__ import annotations

import numpy as np

from kinema.data.world.config import CAMERA_PRIMITIVES

PARAMS = ("tx", "ty", "zoom", "roll")


def rotation(a: np.ndarray) -> np.ndarray:
    """(..., 2, 2) rotation matrices R(a); on a y-down screen a > 0 turns clockwise."""
    c, s = np.cos(a), np.sin(a)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def camera_matrices(params: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, 4) camera parameters -> (T, 3, 3) world -> image homogeneous matrices."""
    params = np.asarray(params, np.float64)
    t = params.shape[0]
    c = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    a = params[:, 2, None, None] * rotation(-params[:, 3])  # (T, 2, 2) = s R(-r)
    shift = c[None] + params[:, :2]  # (T, 2) = c + d
    m = np.zeros((t, 3, 3))
    m[:, :2, :2] = a
    m[:, :2, 2] = c[None] - np.einsum("tij,tj->ti", a, shift)
    m[:, 2, 2] = 1.0
    return m


def camera_trajectory(move: str, speed: float, frames: int, width: int, height: int) -> np.ndarray:
    """(T, 4) parameters for ``move`` ("pan_left", "zoom_in+roll_cw", ...) at ``speed``.

    ``speed`` is in image sizes per frame (image size = sqrt(W H)): a pan shifts the view by
    ``speed * size`` pixels per frame; a zoom or roll moves a point half an image size away from
    the centre by about the same amount (rate 2 * speed per frame).
    """
    step = speed * np.sqrt(width * height)
    t = np.arange(frames, dtype=np.float64)
    params = np.zeros((frames, 4))
    params[:, 2] = 1.0
    for part in move.split("+"):
        if part not in CAMERA_PRIMITIVES:
            raise KeyError(f"unknown camera move {part!r}; known: {list(CAMERA_PRIMITIVES)}")
        if part == "pan_left":
            params[:, 0] -= step * t
        elif part == "pan_right":
            params[:, 0] += step * t
        elif part == "tilt_up":
            params[:, 1] -= step * t
        elif part == "tilt_down":
            params[:, 1] += step * t
        elif part == "zoom_in":
            params[:, 2] *= np.exp(2 * speed * t)
        elif part == "zoom_out":
            params[:, 2] *= np.exp(-2 * speed * t)
        elif part == "roll_cw":
            params[:, 3] += 2 * speed * t
        elif part == "roll_ccw":
            params[:, 3] -= 2 * speed * t
    return params
