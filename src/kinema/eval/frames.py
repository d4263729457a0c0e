"""One canonical frame layout for every weight-free metric.

Metrics accept a video as

* uint8 ``(T, H, W, 3)`` (the user-boundary layout, values 0..255), or
* a float array / ``torch.Tensor`` in the model layout ``(3, T, H, W)`` or channels-last
  ``(T, H, W, 3)``, with values in ``value_range`` (default ``(-1, 1)``, the pixel contract).

and convert it once, here, to float64 ``(T, H, W, 3)`` on the 0..255 scale (no rounding, so PSNR
and SSIM of float inputs are exact) or to uint8 for OpenCV (flow, tracking). When the last axis
and the first axis both have size 3, channels-last is assumed.
"""

from __future__ import annotations

import cv2
import numpy as np

from kinema.errors import InputError

DATA_RANGE = 255.0  # every canonical float video is on the 0..255 scale


def _to_numpy(video) -> np.ndarray:
    if hasattr(video, "detach"):  # torch.Tensor, without importing torch here
        video = video.detach().cpu().numpy()
    return np.asarray(video)


def as_float_video(video, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Video -> float64 (T, H, W, 3) on the 0..255 scale (see module docstring)."""
    x = _to_numpy(video)
    if x.ndim != 4:
        raise InputError(f"expected a video (T, H, W, 3) or (3, T, H, W), got shape {x.shape}")
    if x.shape[-1] != 3:
        if x.shape[0] != 3:
            raise InputError(f"video shape {x.shape} has no colour axis of size 3 (first or last)")
        x = np.moveaxis(x, 0, -1)  # (3, T, H, W) -> (T, H, W, 3)
    if x.dtype == np.uint8:
        return x.astype(np.float64)
    if not np.issubdtype(x.dtype, np.floating):
        raise InputError(f"video dtype {x.dtype} is not supported; use uint8 or a float type")
    lo, hi = value_range
    if not hi > lo:
        raise InputError(f"value_range={value_range!r} must satisfy low < high")
    return (x.astype(np.float64) - lo) * (DATA_RANGE / (hi - lo))


def as_uint8_video(video, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Video -> contiguous uint8 (T, H, W, 3), rounding and clipping float inputs."""
    x = _to_numpy(video)
    if x.dtype == np.uint8 and x.ndim == 4 and x.shape[-1] == 3:
        return np.ascontiguousarray(x)
    f = as_float_video(x, value_range)
    return np.ascontiguousarray(np.clip(np.rint(f), 0, 255).astype(np.uint8))


def as_float_image(image, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Image uint8 (H, W, 3) or float (3, H, W) / (H, W, 3) -> float64 (H, W, 3), 0..255 scale."""
    x = _to_numpy(image)
    if x.ndim != 3:
        raise InputError(f"expected an image (H, W, 3) or (3, H, W), got shape {x.shape}")
    return as_float_video(x[None] if x.shape[-1] == 3 else x[:, None], value_range)[0]


def require_frames(video: np.ndarray, minimum: int, metric: str) -> None:
    """Raise InputError when ``video`` has fewer than ``minimum`` frames."""
    if video.shape[0] < minimum:
        raise InputError(f"{metric} needs at least {minimum} frames, got T={video.shape[0]}")


def gray_frames(video_u8: np.ndarray) -> np.ndarray:
    """uint8 (T, H, W, 3) RGB -> uint8 (T, H, W) luma (ITU-R BT.601, as cv2.COLOR_RGB2GRAY)."""
    return np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in video_u8])
