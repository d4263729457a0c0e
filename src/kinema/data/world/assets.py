"""Real photographs shipped inside scikit-image, used as backgrounds, textures and sprites.

Nothing is downloaded: ``skimage.data`` reads images that are part of the installed package.
Each image is loaded once per process, downscaled to at most 384 px and kept as float32 RGB
in [0, 1]. Sprites are cut-outs with an exact binary alpha, re-centred so that the alpha's area
centroid sits at the sprite's local origin (the trajectory centre is the silhouette centroid).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

# name -> (skimage.data function, caption phrase)
PHOTOS: dict[str, tuple[str, str]] = {
    "astronaut": ("astronaut", "a photo of an astronaut"),
    "coffee": ("coffee", "a cup of coffee"),
    "chelsea": ("chelsea", "a photo of a cat"),
    "rocket": ("rocket", "a rocket on its launch pad"),
    "hubble": ("hubble_deep_field", "a deep-space photograph"),
    "cells": ("immunohistochemistry", "stained cells under a microscope"),
    "retina": ("retina", "a retina scan"),
    "brick": ("brick", "a brick wall"),
    "grass": ("grass", "grass"),
    "gravel": ("gravel", "gravel"),
}
SPRITE_NAMES: dict[str, str] = {  # sprite -> caption noun
    "coin": "coin",
    "cat": "cat face",
    "astronaut": "astronaut portrait",
    "horse": "horse",
}
SPRITE_RES = 64  # sprite textures are SPRITE_RES x SPRITE_RES texels


def _to_rgb_float(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3].astype(np.float32) / 255.0
    scale = 384.0 / max(img.shape[:2])
    if scale < 1.0:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


@lru_cache(maxsize=None)
def photo(name: str) -> np.ndarray:
    """Photograph ``name`` (a key of PHOTOS) as float32 (h, w, 3) in [0, 1]; read-only."""
    import skimage.data

    img = _to_rgb_float(getattr(skimage.data, PHOTOS[name][0])())
    img.setflags(write=False)
    return img


@dataclass(frozen=True)
class Sprite:
    rgb: np.ndarray  # (S, S, 3) float32 texture; texel (i, j) sits at local (x, y) = texel_xy(j, i)
    alpha: np.ndarray  # (S, S) float32 in {0, 1}
    center: tuple[float, float]  # alpha area centroid in texel coords (x, y): the local origin
    half: float  # texels per local unit: local u = (texel - center) / half
    hull: np.ndarray  # (K, 2) local convex hull of the alpha's texel corners (for exact boxes)


def _ellipse_alpha(n: int) -> np.ndarray:
    y, x = np.mgrid[0:n, 0:n]
    c = (n - 1) / 2
    return (((x - c) / (0.48 * n)) ** 2 + ((y - c) / (0.40 * n)) ** 2 <= 1.0).astype(np.float32)


def _cut(rgb: np.ndarray, alpha: np.ndarray) -> Sprite:
    """Pad to a square of SPRITE_RES texels; the local origin is the alpha's area centroid.

    Local unit length = half the padded side, so the silhouette lies within |u| <= ~1.
    """
    h, w = alpha.shape
    side = max(h, w) + 2
    canvas = np.zeros((side, side, 3), np.float32)
    mask = np.zeros((side, side), np.float32)
    oy, ox = (side - h) // 2, (side - w) // 2
    canvas[oy:oy + h, ox:ox + w] = rgb
    mask[oy:oy + h, ox:ox + w] = alpha
    n = SPRITE_RES
    canvas = cv2.resize(canvas, (n, n), interpolation=cv2.INTER_AREA)
    mask = (cv2.resize(mask, (n, n), interpolation=cv2.INTER_AREA) >= 0.5).astype(np.float32)
    ys, xs = np.nonzero(mask)
    center = (float(xs.mean()), float(ys.mean()))
    half = n / 2.0
    corners = np.array([[-.5, -.5], [-.5, .5], [.5, -.5], [.5, .5]], np.float32)
    hull = (np.stack([xs, ys], 1)[:, None, :] + corners[None]).reshape(-1, 2)
    hull = cv2.convexHull(hull.astype(np.float32)).reshape(-1, 2)  # only the hull matters for boxes
    hull = ((hull - np.float32(center)) / half).astype(np.float32)
    for a in (canvas, mask, hull):
        a.setflags(write=False)
    return Sprite(rgb=np.clip(canvas, 0, 1), alpha=mask, center=center, half=half, hull=hull)


@lru_cache(maxsize=None)
def sprite(name: str) -> Sprite:
    """Cut-out ``name`` (a key of SPRITE_NAMES) from a real photograph."""
    import skimage.data
    from skimage.filters import threshold_otsu
    from skimage.measure import label, regionprops
    from scipy.ndimage import binary_fill_holes

    if name == "coin":
        grey = skimage.data.coins()
        fg = binary_fill_holes(grey > threshold_otsu(grey))
        round_ones = [r for r in regionprops(label(fg)) if r.solidity > 0.95 and r.eccentricity < 0.35]
        coin = max(round_ones, key=lambda r: r.area)  # the largest clean, round coin
        y0, x0, y1, x1 = coin.bbox
        rgb = _to_rgb_float(grey[y0:y1, x0:x1])
        return _cut(rgb, coin.image.astype(np.float32))
    if name == "horse":
        shape = ~skimage.data.horse()
        ys, xs = np.nonzero(shape)
        shape = shape[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        fur = photo("chelsea")  # real fur texture inside the silhouette
        fur = cv2.resize(np.ascontiguousarray(fur), (shape.shape[1], shape.shape[0]), interpolation=cv2.INTER_AREA)
        return _cut(fur, shape.astype(np.float32))
    crops = {"cat": ("chelsea", (0, 300, 40, 400)), "astronaut": ("astronaut", (20, 220, 120, 300))}
    if name in crops:
        src, (y0, y1, x0, x1) = crops[name]
        img = skimage.data.chelsea() if src == "chelsea" else skimage.data.astronaut()
        rgb = img[y0:y1, x0:x1].astype(np.float32) / 255.0
        n = max(rgb.shape[:2])
        rgb = cv2.resize(rgb, (n, n), interpolation=cv2.INTER_AREA)
        return _cut(rgb, _ellipse_alpha(n))
    raise KeyError(f"unknown sprite {name!r}; known: {list(SPRITE_NAMES)}")
