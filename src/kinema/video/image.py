"""Load a still image as a float32 tensor (3, H, W) in [-1, 1], whatever its file mode.

Conversions (all to RGB before any geometry):

* EXIF orientation is applied first (a phone photo shot in portrait stays in portrait);
* alpha (RGBA, LA, PA, palette with transparency) is composited on white;
* grayscale (1, L), palette (P), CMYK, YCbCr, LAB, HSV go through Pillow's RGB conversion;
* 16-bit and 32-bit integer modes (I;16, I;16B, I;16L, I) are scaled by 1/65535 keeping
  their precision; float mode F is taken as [0, 1] when its maximum is at most 1, else [0, 255].

Geometry (``size=(W, H)``), the ``policy``:

* ``"resize_crop"`` (default): centre-crop to the target aspect ratio, then resize. Equivalent to
  "resize the shorter side, then centre-crop" but crops first, so an extreme aspect ratio
  (a 20000 x 10 strip) never builds a huge intermediate.
* ``"pad"``: resize to fit inside (W, H) keeping aspect ratio (each side at least 1 pixel), then
  pad centred with ``pad_value`` (default -1 = black).
* ``"stretch"``: resize to (W, H), ignoring aspect ratio.
Resizing is bicubic with antialiasing, then clamped to [-1, 1].
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from kinema.errors import ConfigError, InputError
from kinema.video.inputs import DEFAULT_MAX_PIXELS, check_pixels, open_image

POLICIES = ("resize_crop", "pad", "stretch")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_INT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def _to_rgb01(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> float32 (H, W, 3) in [0, 1] (see the module docstring)."""
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in _ALPHA_MODES:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3:4]
        return rgba[..., :3] * alpha + (1.0 - alpha)  # composite on white
    if im.mode in _INT_MODES:
        gray = np.asarray(im, dtype=np.float64)
        gray = np.clip(gray / 65535.0, 0.0, 1.0).astype(np.float32)
        return np.repeat(gray[..., None], 3, axis=-1)
    if im.mode == "F":
        gray = np.asarray(im, dtype=np.float32)
        gray = gray if gray.max(initial=0.0) <= 1.0 else gray / 255.0
        return np.repeat(np.clip(gray, 0.0, 1.0)[..., None], 3, axis=-1)
    return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def _array_to_rgb01(a: np.ndarray) -> np.ndarray:
    """A numpy image, as diffusers takes them, -> float32 (H, W, 3) in [0, 1].

    Shapes (H, W), (H, W, 1), (H, W, 3) and (H, W, 4) (alpha composited on white); uint8 is 0-255,
    uint16 0-65535, floats must already be in [0, 1] (diffusers' convention for numpy images).
    """
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (1, 3, 4)) or 0 in a.shape:
        raise InputError(f"image array must be (H, W, 3) (or (H, W), (H, W, 1), (H, W, 4)), got shape {a.shape}")
    if a.dtype == np.uint8 or a.dtype == np.uint16:
        x = a.astype(np.float32) / float(np.iinfo(a.dtype).max)
    elif np.issubdtype(a.dtype, np.floating):
        x = a.astype(np.float32)
        if not np.isfinite(x).all() or x.min() < 0.0 or x.max() > 1.0:
            raise InputError(f"float image array must lie in [0, 1], got values in [{np.nanmin(x):g}, "
                             f"{np.nanmax(x):g}] (pass uint8 for 0-255)")
    else:
        raise InputError(f"image array dtype {a.dtype} is not uint8, uint16 or float in [0, 1]")
    x = x.reshape(*x.shape[:2], -1)  # (H, W) -> (H, W, 1)
    if x.shape[-1] == 4:
        x = x[..., :3] * x[..., 3:] + (1.0 - x[..., 3:])  # composite on white, as for RGBA files
    return np.broadcast_to(x, (*x.shape[:2], 3)) if x.shape[-1] == 1 else x


def _decode(image: str | os.PathLike | Image.Image | np.ndarray, max_pixels: int) -> torch.Tensor:
    """Open, check the declared size, decode, orient, convert -> (3, H, W) in [0, 1]."""
    if isinstance(image, np.ndarray):
        h, w = image.shape[:2] if image.ndim >= 2 else (0, 0)
        if h * w > max_pixels:
            raise InputError(f"image array is {w}x{h}, above the limit of {max_pixels / 1e6:.1f} Mpx")
        rgb = _array_to_rgb01(image)
        return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)  # (H, W, 3) -> (3, H, W)
    if isinstance(image, Image.Image):
        name, im = "<PIL image>", image
    elif isinstance(image, (str, os.PathLike)):
        path = Path(image)
        name, im = str(path), open_image(path)
    else:
        raise InputError(f"an image must be a file path, a PIL image or a numpy (H, W, 3) array, "
                         f"got {type(image).__name__}")
    try:
        check_pixels(im, name, max_pixels)  # from the header, before decoding any pixel data
        try:
            im.load()
            im = ImageOps.exif_transpose(im)
            rgb = _to_rgb01(im)
        except (OSError, ValueError, SyntaxError) as e:
            raise InputError(f"cannot read image {name}: {' '.join(str(e).split())}") from None
    finally:
        if im is not image:
            im.close()
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)  # (H, W, 3) -> (3, H, W)


def _resize(x: torch.Tensor, w: int, h: int) -> torch.Tensor:
    if x.shape[-2:] == (h, w):
        return x
    return F.interpolate(x[None], size=(h, w), mode="bicubic", antialias=True, align_corners=False)[0]


def _centre_crop_to_aspect(x: torch.Tensor, w: int, h: int) -> torch.Tensor:
    _, H, W = x.shape
    if W * h > w * H:  # too wide: keep full height
        cw = max(1, round(H * w / h))
        left = (W - cw) // 2
        return x[:, :, left:left + cw]
    ch = max(1, round(W * h / w))
    top = (H - ch) // 2
    return x[:, top:top + ch, :]


def _fit_and_pad(x: torch.Tensor, w: int, h: int, pad_value: float) -> torch.Tensor:
    _, H, W = x.shape
    s = min(w / W, h / H)
    nw, nh = min(w, max(1, round(W * s))), min(h, max(1, round(H * s)))
    x = _resize(x, nw, nh)
    left, top = (w - nw) // 2, (h - nh) // 2
    return F.pad(x, (left, w - nw - left, top, h - nh - top), value=pad_value)


def _check_size(size) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ConfigError(f"size={size!r} must be (width, height)") from None
    if w < 1 or h < 1:
        raise ConfigError(f"size={size!r}: width and height must be >= 1")
    return w, h


def load_image(image: str | os.PathLike | Image.Image | np.ndarray, size: tuple[int, int] | None = None,
               policy: str = "resize_crop", max_pixels: int = DEFAULT_MAX_PIXELS,
               pad_value: float = -1.0) -> torch.Tensor:
    """Load ``image`` (a path, a PIL image or a numpy array) as float32 (3, H, W) in [-1, 1].

    ``size=(W, H)`` resizes by ``policy`` (``"resize_crop"`` | ``"pad"`` | ``"stretch"``);
    images above ``max_pixels`` (declared size) and unreadable files raise InputError.
    """
    if policy not in POLICIES:
        raise ConfigError(f"policy={policy!r} is not one of {list(POLICIES)}")
    x = _decode(image, max_pixels) * 2.0 - 1.0  # [0, 1] -> [-1, 1]
    if size is not None:
        w, h = _check_size(size)
        if policy == "resize_crop":
            x = _resize(_centre_crop_to_aspect(x, w, h), w, h)
        elif policy == "pad":
            x = _fit_and_pad(x, w, h, pad_value)
        else:
            x = _resize(x, w, h)
    return x.clamp(-1.0, 1.0).contiguous().float()
