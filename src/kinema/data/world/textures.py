"""Surface colour as a function of position: object textures (local frame) and backgrounds (world).

Object textures are evaluated at the object's *local* coordinates, so they move, turn and scale
rigidly with the object; the flow ground truth then equals the true motion of the painted
pattern. Every textured colour is ``base * m(u)`` with ``m`` in [0.55, 1], so the colour name
in the caption stays right. Backgrounds are a world-space texture image sampled through the
camera (see ``render.render_background``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from kinema.data.world.assets import PHOTOS, photo
from kinema.data.world.shapes import sprite_lookup

LOW = 0.55  # darkest modulation of the base colour


@dataclass(frozen=True)
class TextureSpec:
    kind: str  # "flat" | "stripes" | "checker" | "gradient" | "noise" | "photo" | "sprite"
    base: tuple[float, float, float]  # RGB in [0, 1]
    freq: float = 3.0  # radians per local unit
    angle: float = 0.0  # pattern orientation (radians)
    phase: float = 0.0
    source: str = ""  # photo name ("photo") or sprite name ("sprite")
    noise: np.ndarray | None = None  # (8, 8) float32 in [0, 1] ("noise")
    offset: tuple[float, float] = (0.0, 0.0)  # photo crop centre, fraction of the photo


def sample_texture(rng: np.random.Generator, kind: str, base, shape: str) -> TextureSpec:
    """Draw the free parameters of a texture (deterministic given ``rng``)."""
    base = tuple(float(c) / 255.0 for c in base)
    if shape.startswith("sprite:"):
        return TextureSpec("sprite", base, source=shape[7:])
    noise = rng.random((8, 8), dtype=np.float32) if kind == "noise" else None
    source = str(rng.choice(list(PHOTOS))) if kind == "photo" else ""
    return TextureSpec(kind, base, freq=float(rng.uniform(2.5, 5.0)), angle=float(rng.uniform(0, np.pi)),
                       phase=float(rng.uniform(0, 2 * np.pi)), source=source, noise=noise,
                       offset=(float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7))))


def _remap(img: np.ndarray, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
    shape = mx.shape
    mx = mx.astype(np.float32).reshape(-1, shape[-1])  # (..., w) -> (prod(...), w) for OpenCV
    my = my.astype(np.float32).reshape(mx.shape)
    out = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out.reshape(shape + img.shape[2:])


def modulation(tex: TextureSpec, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    """Pattern m(u) in [0, 1] (before mapping to [LOW, 1])."""
    c, s = np.cos(tex.angle), np.sin(tex.angle)
    along = ux * c + uy * s
    if tex.kind == "stripes":
        return 0.5 + 0.5 * np.sin(tex.freq * along + tex.phase)
    if tex.kind == "checker":
        return 0.5 + 0.5 * np.sin(tex.freq * (ux * c + uy * s)) * np.sin(tex.freq * (uy * c - ux * s))
    if tex.kind == "gradient":
        return np.clip(0.5 + 0.5 * along, 0.0, 1.0)
    if tex.kind == "noise":  # 8x8 lattice spans local [-1.2, 1.2]
        return _remap(tex.noise, (ux + 1.2) * (7 / 2.4), (uy + 1.2) * (7 / 2.4))
    if tex.kind == "photo":
        img = photo(tex.source)
        h, w = img.shape[:2]
        k = min(h, w) / 6.0  # one local unit covers a sixth of the photo
        luma = _remap(img, tex.offset[0] * w + ux * k, tex.offset[1] * h + uy * k) @ np.float32([.3, .59, .11])
        return luma
    raise KeyError(f"unknown texture {tex.kind!r}")


def object_color(tex: TextureSpec, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] at local points, shape ux.shape + (3,)."""
    if tex.kind == "sprite":
        return sprite_lookup(tex.source, ux, uy, "rgb")
    base = np.asarray(tex.base, np.float32)
    if tex.kind == "flat":
        return np.broadcast_to(base, ux.shape + (3,))
    m = LOW + (1.0 - LOW) * modulation(tex, ux, uy).astype(np.float32)
    return m[..., None] * base


# ---------------------------------------------------------------- backgrounds (world space)

def background_texture(rng: np.random.Generator, kind: str, w: int, h: int, colors: list) -> tuple[np.ndarray, str]:
    """A (h, w, 3) float32 world texture (1 texel per world pixel) and its caption phrase.

    ``colors``: RGB 0-255 tuples with names, ``[(name, rgb), ...]``, to pick flat/gradient colours.
    """
    if kind == "flat":
        name, rgb = colors[int(rng.integers(len(colors)))]
        return np.broadcast_to(np.float32(rgb) / 255.0, (h, w, 3)).copy(), f"a plain {name} background"
    if kind == "gradient":
        i, j = rng.choice(len(colors), size=2, replace=False)
        (n1, c1), (n2, c2) = colors[i], colors[j]
        a = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        d = (xx - w / 2) * np.cos(a) + (yy - h / 2) * np.sin(a)
        t = np.clip(0.5 + d / max(w, h), 0, 1)[..., None]
        img = (1 - t) * np.float32(c1) / 255.0 + t * np.float32(c2) / 255.0
        return img.astype(np.float32), f"a {n1}-to-{n2} gradient background"
    if kind == "texture":
        img = np.zeros((h, w, 3), np.float32)
        for cell, amp in ((16, 0.7), (6, 0.3)):  # two octaves of smooth value noise
            gh, gw = h // cell + 3, w // cell + 3
            coarse = rng.random((gh, gw, 3), dtype=np.float32)
            img += amp * cv2.resize(coarse, (gw * cell, gh * cell), interpolation=cv2.INTER_CUBIC)[:h, :w]
        img = 0.15 + 0.7 * np.clip(img, 0, 1)
        return img, "a mottled, textured background"
    if kind == "photo":
        name = str(rng.choice(list(PHOTOS)))
        src = photo(name)
        sh, sw = src.shape[:2]
        frac = rng.uniform(0.5, 0.9)  # crop a random window with the needed aspect
        ch = min(sh, int(frac * min(sh, sw * h / w)))
        cw = min(sw, max(1, int(ch * w / h)))
        y0 = int(rng.integers(0, sh - ch + 1))
        x0 = int(rng.integers(0, sw - cw + 1))
        crop = np.ascontiguousarray(src[y0:y0 + ch, x0:x0 + cw])
        interp = cv2.INTER_AREA if cw > w else cv2.INTER_LINEAR
        return cv2.resize(crop, (w, h), interpolation=interp), PHOTOS[name][1]
    raise KeyError(f"unknown background {kind!r}")
