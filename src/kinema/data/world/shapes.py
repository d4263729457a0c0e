"""Shapes as inside-tests in the object's local frame, plus outline points for exact boxes.

Local coordinates ``u = (ux, uy)`` are in units of the object's radius R (pixels at scale 1);
``y`` points down like image rows. Every shape is centred on its area centroid, so the pose
centre is the silhouette centroid (what the trajectory tests compare against).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from kinema.data.world.assets import sprite

SQUARE_HALF = 0.886  # half side: area ~ pi, like the unit circle
TRIANGLE_R = 1.3  # circumradius of the equilateral triangle (apex up)
STAR_OUTER, STAR_INNER = 1.25, 0.5  # five-pointed star, one point up
RING_OUTER, RING_INNER = 1.0, 0.55


def _star(ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    """Regular 5-point star: fold the angle into one spike, then a half-plane test on its edge."""
    sector = 2 * np.pi / 5
    phi = np.arctan2(uy, ux) + np.pi / 2  # 0 at the upward point
    psi = np.abs(np.mod(phi, sector) - sector / 2)  # 0 at an inner vertex, pi/5 at a tip
    psi = sector / 2 - psi  # 0 at the tip, pi/5 at the inner vertex
    r = np.hypot(ux, uy)
    px, py = r * np.cos(psi), r * np.sin(psi)
    ox, oy = STAR_OUTER, 0.0
    ix, iy = STAR_INNER * np.cos(sector / 2), STAR_INNER * np.sin(sector / 2)
    # origin side of the tip->inner edge: cross(I - O, P - O) has the sign of cross(I - O, -O)
    cross = (ix - ox) * (py - oy) - (iy - oy) * (px - ox)
    return cross * np.sign((ix - ox) * (0 - oy) - (iy - oy) * (0 - ox)) >= 0


def _triangle(ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    inradius = TRIANGLE_R / 2
    inside = uy <= inradius  # bottom edge (y down)
    for a in (np.deg2rad(210.0), np.deg2rad(330.0)):  # outward normals of the two slanted edges
        inside &= ux * np.cos(a) + uy * np.sin(a) <= inradius
    return inside


def inside(shape: str, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    """Bool array: is local point (ux, uy) inside ``shape`` ("sprite:<name>" for cut-outs)."""
    if shape == "circle":
        return ux * ux + uy * uy <= 1.0
    if shape == "square":
        return (np.abs(ux) <= SQUARE_HALF) & (np.abs(uy) <= SQUARE_HALF)
    if shape == "triangle":
        return _triangle(ux, uy)
    if shape == "star":
        return _star(ux, uy)
    if shape == "ring":
        r2 = ux * ux + uy * uy
        return (r2 <= RING_OUTER**2) & (r2 >= RING_INNER**2)
    if shape.startswith("sprite:"):
        return sprite_lookup(shape[7:], ux, uy, "alpha") >= 0.5
    raise KeyError(f"unknown shape {shape!r}")


def sprite_lookup(name: str, ux: np.ndarray, uy: np.ndarray, what: str) -> np.ndarray:
    """Bilinear lookup of a sprite's alpha (shape of ux) or rgb (shape of ux + (3,))."""
    sp = sprite(name)
    shape = ux.shape
    mx = (sp.center[0] + ux * sp.half).astype(np.float32).reshape(-1, shape[-1] if ux.ndim else 1)
    my = (sp.center[1] + uy * sp.half).astype(np.float32).reshape(mx.shape)
    src = sp.alpha if what == "alpha" else sp.rgb
    out = cv2.remap(src, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out.reshape(shape + src.shape[2:])


@lru_cache(maxsize=None)
def outline(shape: str) -> np.ndarray:
    """(K, 2) local points whose convex hull contains the shape (tight: vertices or a fine circle)."""
    if shape in ("circle", "ring"):
        a = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        pts = np.stack([np.cos(a), np.sin(a)], 1) / np.cos(np.pi / 64)  # circumscribed: box error < 0.13% R
    elif shape == "square":
        pts = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * SQUARE_HALF
    elif shape == "triangle":
        a = np.deg2rad([-90.0, 30.0, 150.0])
        pts = TRIANGLE_R * np.stack([np.cos(a), np.sin(a)], 1)
    elif shape == "star":
        a = -np.pi / 2 + np.arange(5) * 2 * np.pi / 5
        pts = STAR_OUTER * np.stack([np.cos(a), np.sin(a)], 1)
    elif shape.startswith("sprite:"):
        pts = sprite(shape[7:]).hull
    else:
        raise KeyError(f"unknown shape {shape!r}")
    pts = np.asarray(pts, np.float64)
    pts.setflags(write=False)
    return pts
