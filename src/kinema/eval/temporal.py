"""Weight-free temporal metrics of one generated video. All are **kinema variants**.

They follow the intent of published metrics but swap learned parts for classical ones, so their
numbers are not interchangeable with the originals; report them under their kinema names.

* ``temporal_flicker``: mean absolute difference of consecutive frames (0..255 scale), and
  ``flicker_score = 1 - flicker / 255`` — VBench's *temporal flickering* formula (Huang et al.
  2024), here without VBench's static-video filtering.
* ``warping_error``: Lai et al. (2018) warping error, but with the flow estimated on the generated
  video itself (DIS by default): frame t+1 is backward-warped onto t along the flow t -> t+1 and
  the mean squared error (RGB in [0, 1]) is averaged over pixels that pass the forward-backward
  occlusion check (:mod:`kinema.eval.flow`).
* ``motion_smoothness``: VBench's motion smoothness uses a learned frame interpolator (AMT); here
  frame t is predicted by *linear motion*: with F the flow t-1 -> t+1, ``I_t(x) ~ (I_{t-1}(x - F/2)
  + I_{t+1}(x + F/2)) / 2``; score = 1 - mean |I_t - prediction| / 255 (1 = perfectly smooth).
* ``dynamic_degree``: VBench's rule with DIS instead of RAFT and no frame-rate resampling: per
  consecutive pair, the mean of the top 5 % flow magnitudes; the video is dynamic when at least
  ``round(4 T / 16)`` pairs exceed ``6 * min(H, W) / 256`` px.
* ``colour_drift``: CIE76 distance (Lab, or RGB on 0..255) between frame t's mean colour and frame
  0's, averaged over t >= 1.
* ``first_frame_fidelity``: PSNR / SSIM of generated frame 0 against the input image (I2V).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import cv2
import numpy as np

from kinema.config import check_choice
from kinema.errors import InputError
from kinema.eval.flow import FlowEstimator, backward_warp, consistent_mask, inside_frame, video_flows
from kinema.eval.frame_metrics import psnr, ssim
from kinema.eval.frames import DATA_RANGE, as_float_image, as_float_video, as_uint8_video, gray_frames, require_frames

DYNAMIC_TOP_FRACTION = 0.05  # share of the largest flow magnitudes averaged per pair (VBench)
DYNAMIC_THRESHOLD_256 = 6.0  # px at min(H, W) = 256, scaled linearly with resolution (VBench)
DYNAMIC_COUNT_16 = 4  # pairs above threshold needed for a 16-frame video, scaled with T (VBench)


def flicker_frames(video, value_range=(-1.0, 1.0)) -> np.ndarray:
    """(T-1,) mean |frame_{t+1} - frame_t| on the 0..255 scale."""
    x = as_float_video(video, value_range)
    require_frames(x, 2, "temporal flicker")
    return np.abs(np.diff(x, axis=0)).mean(axis=(1, 2, 3))


def temporal_flicker(video, value_range=(-1.0, 1.0)) -> float:
    """Mean absolute difference of consecutive frames (0..255 scale); 0 for a still video."""
    return float(flicker_frames(video, value_range).mean())


def flicker_score(video, value_range=(-1.0, 1.0)) -> float:
    """VBench-style temporal-flickering score 1 - flicker / 255 (1 = no change at all)."""
    return 1.0 - temporal_flicker(video, value_range) / DATA_RANGE


def warping_error(video, method: str = "dis", value_range=(-1.0, 1.0)) -> float:
    """Mean squared warping error (RGB in [0, 1]) over non-occluded pixels; ~0 for a still video."""
    u8 = as_uint8_video(video, value_range)
    require_frames(u8, 2, "warping error")
    gray, rgb = gray_frames(u8), u8.astype(np.float32) / 255.0
    estimate = FlowEstimator(method)
    errors = []
    for t in range(len(u8) - 1):
        fwd, bwd = estimate(gray[t], gray[t + 1]), estimate(gray[t + 1], gray[t])
        mask = consistent_mask(fwd, bwd)
        if mask.any():
            diff = (rgb[t] - backward_warp(rgb[t + 1], fwd)) ** 2  # (H, W, 3)
            errors.append(float(diff[mask].mean()))
    if not errors:
        warnings.warn("warping error: no pixel passed the occlusion check in any frame pair",
                      RuntimeWarning, stacklevel=2)
        return float("nan")
    return float(np.mean(errors))


def motion_smoothness(video, method: str = "dis", value_range=(-1.0, 1.0)) -> float:
    """Linear-motion interpolation score in [0, 1] (see module docstring); needs T >= 3."""
    u8 = as_uint8_video(video, value_range)
    require_frames(u8, 3, "motion smoothness")
    gray, rgb = gray_frames(u8), u8.astype(np.float32)
    estimate = FlowEstimator(method)
    errors = []
    for t in range(1, len(u8) - 1):
        half = 0.5 * estimate(gray[t - 1], gray[t + 1])  # (H, W, 2)
        predicted = 0.5 * (backward_warp(rgb[t - 1], -half) + backward_warp(rgb[t + 1], half))
        valid = inside_frame(half) & inside_frame(-half)
        if valid.any():
            errors.append(float(np.abs(rgb[t] - predicted)[valid].mean()))
    return 1.0 - float(np.mean(errors)) / DATA_RANGE if errors else float("nan")


@dataclass(frozen=True)
class DynamicDegree:
    dynamic: bool  # the VBench decision
    magnitudes: np.ndarray  # (T-1,) mean of the top-5 % flow magnitudes per consecutive pair, px
    threshold: float  # px, 6 * min(H, W) / 256
    count_needed: int  # pairs above threshold needed, max(1, round(4 T / 16))


def top_magnitude(flow: np.ndarray, fraction: float = DYNAMIC_TOP_FRACTION) -> float:
    """Mean of the largest ``fraction`` of the flow magnitudes of one (H, W, 2) flow."""
    mag = np.sqrt((flow.astype(np.float64) ** 2).sum(-1)).ravel()
    k = max(1, int(mag.size * fraction))
    return float(np.partition(mag, mag.size - k)[-k:].mean())


def dynamic_degree(video, method: str = "dis", value_range=(-1.0, 1.0)) -> DynamicDegree:
    """VBench-style dynamic-degree decision of one video (see module docstring)."""
    u8 = as_uint8_video(video, value_range)
    require_frames(u8, 2, "dynamic degree")
    t, h, w = u8.shape[:3]
    magnitudes = np.array([top_magnitude(f) for f in video_flows(gray_frames(u8), method)])
    threshold = DYNAMIC_THRESHOLD_256 * min(h, w) / 256.0
    count_needed = max(1, round(DYNAMIC_COUNT_16 * t / 16.0))
    return DynamicDegree(bool((magnitudes > threshold).sum() >= count_needed), magnitudes, threshold, count_needed)


def mean_colours(video, space: str = "lab", value_range=(-1.0, 1.0)) -> np.ndarray:
    """(T, 3) mean colour per frame: CIE Lab (L in 0..100) or RGB (0..255)."""
    check_choice("colour space", space, ("lab", "rgb"))
    x = as_float_video(video, value_range)
    if space == "lab":
        rgb01 = np.clip(x / DATA_RANGE, 0.0, 1.0).astype(np.float32)
        x = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2Lab) for f in rgb01])
    return x.reshape(x.shape[0], -1, 3).mean(axis=1)


def colour_drift_curve(video, space: str = "lab", value_range=(-1.0, 1.0)) -> np.ndarray:
    """(T,) distance of each frame's mean colour to frame 0's (0 at t = 0)."""
    m = mean_colours(video, space, value_range)
    return np.sqrt(((m - m[0]) ** 2).sum(-1))


def colour_drift(video, space: str = "lab", value_range=(-1.0, 1.0)) -> float:
    """Mean over t >= 1 of :func:`colour_drift_curve`; needs T >= 2."""
    curve = colour_drift_curve(video, space, value_range)
    if curve.size < 2:
        raise InputError(f"colour drift needs at least 2 frames, got T={curve.size}")
    return float(curve[1:].mean())


def first_frame_fidelity(video, image, value_range=(-1.0, 1.0)) -> dict[str, float]:
    """{"psnr", "ssim"} of generated frame 0 against the conditioning image (same size required)."""
    first = as_float_video(video, value_range)[:1]
    ref = as_float_image(image, value_range)[None]
    if first.shape != ref.shape:
        raise InputError(f"input image {ref.shape[1:3]} and video frames {first.shape[1:3]} differ in size; "
                         "resize the image to the video's (H, W) first")
    return {"psnr": psnr(first, ref, (0.0, 255.0)), "ssim": ssim(first, ref, (0.0, 255.0))}
