"""Object motions in world coordinates: per-frame pose (centre, angle, scale).

Object speed ``speed`` is in image sizes per frame; ``step = speed * sqrt(W H)`` pixels per frame.
Each motion returns a :class:`Pose` plus a few descriptive facts the caption uses. Angles are in
radians, positive = clockwise on the (y-down) screen, as in ``camera.rotation``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SUBSTEPS = 8  # integration substeps per frame for the bouncing motion


@dataclass
class Pose:
    center: np.ndarray  # (T, 2) world (x, y) of the silhouette centroid
    angle: np.ndarray  # (T,) radians
    scale: np.ndarray  # (T,) multiplies the object's radius
    facts: dict = field(default_factory=dict)  # e.g. {"spin": "clockwise", "bounced": True}


def _inner_point(rng, extent: float, width: int, height: int, frac: float = 1.0) -> np.ndarray:
    """A point where an object of bounding radius ``extent`` fits (the centre if it cannot)."""
    out = []
    for n in (width, height):
        lo, hi = extent, n - 1 - extent
        mid = (n - 1) / 2
        lo, hi = mid + frac * (lo - mid), mid + frac * (hi - mid)
        out.append(rng.uniform(lo, hi) if hi > lo else mid)
    return np.array(out)


def _bounce(p0, v0, gravity, extent, frames, width, height):
    """Ballistic motion under gravity (+y) with elastic reflections off the frame-0 walls."""
    lo = np.array([extent, extent])
    hi = np.array([width - 1 - extent, height - 1 - extent])
    stuck = lo >= hi  # an object wider than the world cannot move on that axis
    p, v = p0.astype(np.float64).copy(), v0.astype(np.float64).copy()
    p[stuck], v[stuck] = ((np.array([width, height]) - 1) / 2)[stuck], 0.0
    dt = 1.0 / SUBSTEPS
    out, bounced = [p.copy()], False
    for _ in range(frames - 1):
        for _ in range(SUBSTEPS):
            v[1] += gravity * dt
            p += v * dt
            for k in range(2):
                if stuck[k]:
                    continue
                if p[k] < lo[k]:
                    p[k], v[k], bounced = 2 * lo[k] - p[k], -v[k], True
                elif p[k] > hi[k]:
                    p[k], v[k], bounced = 2 * hi[k] - p[k], -v[k], True
        out.append(p.copy())
    return np.stack(out), bounced


def sample_motion(rng: np.random.Generator, kind: str, speed: float, radius: float, extent: float,
                  frames: int, width: int, height: int, upright: bool = False) -> Pose:
    """Draw a motion of ``kind`` for an object of ``radius`` (px) and bounding radius ``extent``."""
    step = speed * np.sqrt(width * height)
    t = np.arange(frames, dtype=np.float64)
    angle0 = rng.uniform(-0.25, 0.25) if upright else rng.uniform(-np.pi, np.pi)
    angle = np.full(frames, angle0)
    scale = np.ones(frames)
    sign = 1.0 if rng.random() < 0.5 else -1.0
    facts: dict = {}
    if kind == "still":
        center = np.repeat(_inner_point(rng, extent, width, height)[None], frames, 0)
    elif kind == "linear":
        phi = rng.uniform(0, 2 * np.pi)
        vel = step * np.array([np.cos(phi), np.sin(phi)])
        mid = _inner_point(rng, extent, width, height, frac=0.7)
        center = mid[None] + (t - (frames - 1) / 2)[:, None] * vel[None]
        facts["velocity"] = vel.tolist()
    elif kind == "bounce":
        phi = rng.uniform(0, 2 * np.pi)
        p0 = _inner_point(rng, extent, width, height)
        gravity = 2.0 * step / max(frames - 1, 1)
        center, facts["bounced"] = _bounce(p0, step * np.array([np.cos(phi), np.sin(phi)]), gravity,
                                           extent, frames, width, height)
    elif kind == "rotate":
        center = np.repeat(_inner_point(rng, extent, width, height)[None], frames, 0)
        angle = angle0 + sign * (step / radius) * t
        facts["spin"] = "clockwise" if sign > 0 else "counterclockwise"
    elif kind == "scale":
        rate = sign * min(step / radius, np.log(1.8) / max(frames - 1, 1))
        scale = np.exp(rate * t)
        extent_max = extent * scale.max()
        center = np.repeat(_inner_point(rng, extent_max, width, height)[None], frames, 0)
        facts["grow"] = bool(sign > 0)
    elif kind == "orbit":
        rho = rng.uniform(0.12, 0.25) * min(width, height)
        pivot = _inner_point(rng, rho + extent, width, height)
        alpha = rng.uniform(0, 2 * np.pi) + sign * (step / rho) * t
        center = pivot[None] + rho * np.stack([np.cos(alpha), np.sin(alpha)], 1)
        facts["spin"] = "clockwise" if sign > 0 else "counterclockwise"
        facts["pivot"] = pivot.tolist()
    else:
        raise KeyError(f"unknown motion {kind!r}")
    return Pose(center=center, angle=angle, scale=scale, facts=facts)
