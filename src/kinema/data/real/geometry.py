"""Spatial policies: bring decoded frames (T, H, W, 3) uint8 to the training size (W, H).

Policies share their names with :func:`kinema.video.load_image`:

* ``"resize_crop"``: crop to the target aspect ratio (at the centre, or at a random position
  drawn per clip with ``crop="random"``), then resize. Cropping first keeps the cost of a
  4K frame low.
* ``"pad"``: fit inside (W, H) keeping the aspect ratio, pad with black.
* ``"stretch"``: resize to (W, H), ignoring the aspect ratio.

Resizing uses OpenCV: area averaging when shrinking (no aliasing), bicubic when enlarging.
The same crop box is used for every frame of a clip, so a crop never adds motion.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from kinema.config import check_choice
from kinema.errors import ConfigError

POLICIES = ("resize_crop", "pad", "stretch")
CROPS = ("center", "random")


def _resize(frames: np.ndarray, w: int, h: int) -> np.ndarray:
    t, H, W, _ = frames.shape
    if (W, H) == (w, h):
        return frames
    interp = cv2.INTER_AREA if (w <= W and h <= H) else cv2.INTER_CUBIC
    return np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in frames])


def crop_box(src: tuple[int, int], dst: tuple[int, int], crop: str = "center",
             generator: torch.Generator | None = None) -> tuple[int, int, int, int]:
    """(x0, y0, cw, ch): the largest box of aspect ``dst`` inside ``src`` (both (W, H))."""
    W, H = src
    w, h = dst
    if W * h > H * w:  # source wider than target: crop columns
        cw, ch = max(1, round(H * w / h)), H
    else:
        cw, ch = W, max(1, round(W * h / w))
    if crop == "center":
        return (W - cw) // 2, (H - ch) // 2, cw, ch
    x0 = int(torch.randint(0, W - cw + 1, (), generator=generator))
    y0 = int(torch.randint(0, H - ch + 1, (), generator=generator))
    return x0, y0, cw, ch


def _pad(frames: np.ndarray, w: int, h: int) -> np.ndarray:
    t, H, W, _ = frames.shape
    scale = min(w / W, h / H)
    fw, fh = max(1, min(w, round(W * scale))), max(1, min(h, round(H * scale)))
    out = np.zeros((t, h, w, 3), dtype=np.uint8)
    x0, y0 = (w - fw) // 2, (h - fh) // 2
    out[:, y0:y0 + fh, x0:x0 + fw] = _resize(frames, fw, fh)
    return out


def fit_frames(frames: np.ndarray, size: tuple[int, int], policy: str = "resize_crop", crop: str = "center",
               generator: torch.Generator | None = None) -> np.ndarray:
    """uint8 (T, H, W, 3) -> uint8 (T, size[1], size[0], 3) by ``policy``."""
    check_choice("policy", policy, POLICIES)
    check_choice("crop", crop, CROPS)
    w, h = int(size[0]), int(size[1])
    if w < 1 or h < 1:
        raise ConfigError(f"size={tuple(size)} must be (W, H) with both >= 1")
    if policy == "stretch":
        return _resize(frames, w, h)
    if policy == "pad":
        return _pad(frames, w, h)
    x0, y0, cw, ch = crop_box((frames.shape[2], frames.shape[1]), (w, h), crop, generator)
    return _resize(np.ascontiguousarray(frames[:, y0:y0 + ch, x0:x0 + cw]), w, h)


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> float32 (3, T, H, W) in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)  # (T,H,W,3) -> (3,T,H,W)
    return x.float().div_(127.5).sub_(1.0).contiguous()
