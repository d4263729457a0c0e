"""Analytic rendering: inverse-map every (sub-)pixel into the surface it shows.

Per frame t, object k has the local -> image matrix ``A[k, t] = C[t] @ P[k, t]`` (camera times
pose). A pixel is split into ss x ss sub-samples; each is mapped back to local coordinates by
``A^-1`` and tested against the shape, giving an exact-up-to-sampling coverage in [0, 1] and a
premultiplied colour. Objects are composited back to front ("over"). Work is restricted to a
per-frame window around each object's exact image box and vectorised over frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from kinema.data.world.camera import camera_matrices, rotation
from kinema.data.world.scene import ObjectSpec, SceneSpec
from kinema.data.world.shapes import inside, outline
from kinema.data.world.textures import object_color


@dataclass
class Rendered:
    frames: np.ndarray  # (T, H, W, 3) uint8
    coverage: np.ndarray  # (N, T, H, W) float32 anti-aliased coverage of each object's full shape
    camera: np.ndarray  # (T, 3, 3) world -> image
    affines: np.ndarray  # (N, T, 3, 3) object local -> image
    boxes: np.ndarray  # (N, T, 4) exact image boxes (x0, y0, x1, y1), unclipped


def pose_matrices(obj: ObjectSpec) -> np.ndarray:
    """(T, 3, 3) local -> world: p = center + radius * scale * R(angle) u."""
    pose = obj.pose
    t = pose.center.shape[0]
    m = np.zeros((t, 3, 3))
    m[:, :2, :2] = (obj.radius * pose.scale)[:, None, None] * rotation(pose.angle)
    m[:, :2, 2] = pose.center
    m[:, 2, 2] = 1.0
    return m


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply (..., 3, 3) affine matrices to (..., K, 2) points."""
    return np.matmul(pts, np.swapaxes(m[..., :2, :2], -1, -2)) + m[..., None, :2, 2]


def object_boxes(shape: str, affine: np.ndarray) -> np.ndarray:
    """(T, 4) image box of the whole silhouette from its outline points (exact for polygons)."""
    u = outline(shape)  # (K, 2)
    x = affine[:, 0, :1] * u[:, 0] + affine[:, 0, 1:2] * u[:, 1] + affine[:, 0, 2:]  # (T, K)
    y = affine[:, 1, :1] * u[:, 0] + affine[:, 1, 1:2] * u[:, 1] + affine[:, 1, 2:]
    return np.stack([x.min(1), y.min(1), x.max(1), y.max(1)], axis=1)


def render_background(scene: SceneSpec, camera: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) float32: the world texture seen through each frame's camera (bilinear)."""
    w, h = scene.width, scene.height
    ox, oy = scene.background_origin
    to_tex = np.array([[1, 0, -ox], [0, 1, -oy], [0, 0, 1]], float)
    out = np.empty((scene.frames, h, w, 3), np.float32)
    for t in range(scene.frames):
        m = (to_tex @ np.linalg.inv(camera[t]))[:2]  # image pixel -> texel
        out[t] = cv2.warpAffine(scene.background_texture, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_REFLECT)
    return out


def _windows(box: np.ndarray, w: int, h: int):
    """Per-frame pixel windows of one common size that hold the (clipped) box."""
    j0 = np.clip(np.ceil(box[:, 0] - 0.5), 0, w - 1).astype(int)
    j1 = np.clip(np.floor(box[:, 2] + 0.5), 0, w - 1).astype(int)
    i0 = np.clip(np.ceil(box[:, 1] - 0.5), 0, h - 1).astype(int)
    i1 = np.clip(np.floor(box[:, 3] + 0.5), 0, h - 1).astype(int)
    bw, bh = int((j1 - j0).max()) + 1, int((i1 - i0).max()) + 1
    return np.minimum(j0, w - bw), np.minimum(i0, h - bh), bw, bh


def render_object(obj: ObjectSpec, affine: np.ndarray, box: np.ndarray, w: int, h: int, ss: int):
    """Coverage (T, bh, bw) and premultiplied colour (T, bh, bw, 3) in per-frame windows."""
    x0, y0, bw, bh = _windows(box, w, h)
    sub = (np.arange(ss) + 0.5) / ss - 0.5
    xs = x0[:, None] + (np.arange(bw)[:, None] + sub[None]).ravel()[None]  # (T, bw*ss)
    ys = y0[:, None] + (np.arange(bh)[:, None] + sub[None]).ravel()[None]  # (T, bh*ss)
    inv = np.linalg.inv(affine)
    ux = inv[:, 0, 0, None, None] * xs[:, None, :] + inv[:, 0, 1, None, None] * ys[:, :, None] + inv[:, 0, 2, None, None]
    uy = inv[:, 1, 0, None, None] * xs[:, None, :] + inv[:, 1, 1, None, None] * ys[:, :, None] + inv[:, 1, 2, None, None]
    hit = inside(obj.shape, ux.astype(np.float32), uy.astype(np.float32))  # (T, bh*ss, bw*ss)
    cov = _box_mean(hit.astype(np.float32), ss)
    if obj.texture.kind == "flat":
        prem = cov[..., None] * np.float32(obj.texture.base)
    else:
        col = object_color(obj.texture, ux, uy) * hit[..., None]  # (T, bh*ss, bw*ss, 3)
        prem = _box_mean(col.astype(np.float32), ss)
    return x0, y0, cov, prem


def _box_mean(a: np.ndarray, ss: int) -> np.ndarray:
    """Mean over ss x ss sub-sample blocks: (T, bh*ss, bw*ss, ...) -> (T, bh, bw, ...)."""
    out = a[:, 0::ss, 0::ss].copy()
    for i in range(ss):
        for j in range(ss):
            if i or j:
                out += a[:, i::ss, j::ss]
    out *= 1.0 / (ss * ss)
    return out


def render(scene: SceneSpec, supersample: int = 2) -> Rendered:
    """Frames, per-object coverage and the exact geometry used to draw them."""
    w, h, t, n = scene.width, scene.height, scene.frames, len(scene.objects)
    camera = camera_matrices(scene.camera, w, h)
    frames = render_background(scene, camera)
    coverage = np.zeros((n, t, h, w), np.float32)
    affines = np.stack([camera @ pose_matrices(o) for o in scene.objects]) if n else np.zeros((0, t, 3, 3))
    boxes = np.stack([object_boxes(o.shape, a) for o, a in zip(scene.objects, affines)]) if n else np.zeros((0, t, 4))
    tix = np.arange(t)[:, None, None]
    for k in reversed(range(n)):  # back to front
        x0, y0, cov, prem = render_object(scene.objects[k], affines[k], boxes[k], w, h, supersample)
        rows = y0[:, None, None] + np.arange(cov.shape[1])[None, :, None]
        cols = x0[:, None, None] + np.arange(cov.shape[2])[None, None, :]
        frames[tix, rows, cols] = frames[tix, rows, cols] * (1.0 - cov[..., None]) + prem
        coverage[k][tix, rows, cols] = cov
    frames = np.clip(np.rint(frames * 255.0), 0, 255).astype(np.uint8)
    return Rendered(frames=frames, coverage=coverage, camera=camera, affines=affines, boxes=boxes)
