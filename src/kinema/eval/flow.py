"""Dense optical flow, backward warping and occlusion masks shared by the temporal metrics.

Convention: ``flow = dense_flow(a, b)`` is the flow *from a to b*, so ``a(x) ~ b(x + flow(x))``.
Two classical estimators, no weights: DIS (Kroeger et al. 2016, ``cv2.DISOpticalFlow``, the
default) and Farneback (2003). Occlusions come from the forward-backward check of Sundaram et
al. (2010): a pixel is trusted when the backward flow at its target undoes the forward flow,
``|F_f + F_b(x + F_f)|^2 <= 0.01 (|F_f|^2 + |F_b(x + F_f)|^2) + 0.5``, and its target is inside the
frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from kinema.config import check_choice

FLOW_METHODS = ("dis", "farneback")
_FARNEBACK = (0.5, 4, 15, 3, 5, 1.2, 0)  # pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags
FB_ALPHA1, FB_ALPHA2 = 0.01, 0.5  # forward-backward tolerances (Sundaram et al. 2010)


class FlowEstimator:
    """Callable ``(gray_a, gray_b) -> (H, W, 2) float32`` flow from a to b, in pixels."""

    def __init__(self, method: str = "dis"):
        check_choice("flow method", method, FLOW_METHODS)
        self.method = method
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) if method == "dis" else None

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self._dis is not None:
            return self._dis.calc(a, b, None)
        return cv2.calcOpticalFlowFarneback(a, b, None, *_FARNEBACK)


def pixel_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) float32 x and y pixel coordinates."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


def backward_warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``img(x + flow(x))`` by bilinear sampling (edge pixels replicated outside the frame)."""
    xs, ys = pixel_grid(*flow.shape[:2])
    return cv2.remap(img, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def inside_frame(flow: np.ndarray) -> np.ndarray:
    """(H, W) bool: the target x + flow(x) lies inside the frame."""
    h, w = flow.shape[:2]
    xs, ys = pixel_grid(h, w)
    tx, ty = xs + flow[..., 0], ys + flow[..., 1]
    return (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)


def consistent_mask(flow_fwd: np.ndarray, flow_bwd: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels that pass the forward-backward check and stay in the frame."""
    bwd_at_target = backward_warp(flow_bwd, flow_fwd)  # F_b(x + F_f(x))
    err = ((flow_fwd + bwd_at_target) ** 2).sum(-1)
    bound = FB_ALPHA1 * ((flow_fwd ** 2).sum(-1) + (bwd_at_target ** 2).sum(-1)) + FB_ALPHA2
    return (err <= bound) & inside_frame(flow_fwd)


def video_flows(gray: np.ndarray, method: str = "dis") -> np.ndarray:
    """uint8 (T, H, W) -> (T-1, H, W, 2) float32 flows from frame t to t+1."""
    estimate = FlowEstimator(method)
    return np.stack([estimate(gray[t], gray[t + 1]) for t in range(len(gray) - 1)])
