"""``generate_clip(config, seed)``: one clip with its exact ground truth (schema in README.md).

Steps: draw the scene (attributes, geometry, camera, background) -> render frames and coverage
-> exact forward flow and visibility -> per-object tracks -> caption -> motion amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kinema.data.world.caption import build_caption, direction_word
from kinema.data.world.config import WorldConfig
from kinema.data.world.flow import forward_flow, motion_amount
from kinema.data.world.render import apply, render
from kinema.data.world.scene import SceneSpec, sample_scene
from kinema.data.world.shapes import inside

CAPTION_STREAM = 0x6361  # caption phrasing uses its own generator: (seed, CAPTION_STREAM)


@dataclass
class ObjectTrack:
    attributes: dict  # shape, sprite, color, size, texture, motion, speed, radius, depth, directions
    center: np.ndarray  # (T, 2) float32 image (x, y) of the silhouette centroid
    box: np.ndarray  # (T, 4) float32 image (x0, y0, x1, y1) of the whole silhouette, unclipped
    visible: np.ndarray  # (T,) bool: at least one pixel shows this object
    visible_fraction: np.ndarray  # (T,) float32: shown pixels / full-silhouette pixels (approx.)
    mask: np.ndarray  # (T, H, W) bool: pixels showing this object (modal, occlusion applied)
    amodal_mask: np.ndarray  # (T, H, W) bool: coverage >= 0.5 of the whole silhouette
    center_world: np.ndarray  # (T, 2) float32 world (x, y)
    angle: np.ndarray  # (T,) float32 world orientation, radians (clockwise on screen)
    scale: np.ndarray  # (T,) float32 size multiplier


@dataclass
class Clip:
    frames: np.ndarray  # (T, H, W, 3) uint8
    caption: str
    fps: float
    seed: int
    split: str | None
    objects: list[ObjectTrack]  # front to back; objects[0] is the captioned main object
    camera: np.ndarray  # (T, 4) float32 (tx, ty, zoom, roll), see camera.py
    camera_matrix: np.ndarray  # (T, 3, 3) float64 world -> image
    flow: np.ndarray  # (T-1, H, W, 2) float32 forward flow (dx, dy) from frame t to t+1
    flow_valid: np.ndarray  # (T-1, H, W) bool: the pixel's surface is still visible at t+1
    labels: np.ndarray  # (T, H, W) int8: object index shown at each pixel, -1 = background
    motion_amount: float  # mean ||flow|| / hypot(W, H) per 1/8 s (kinema.data.motion units)
    attributes: dict = field(default_factory=dict)  # JSON-able scene description

    @property
    def num_frames(self) -> int:
        return self.frames.shape[0]

    def stacked(self, name: str) -> np.ndarray:
        """Per-object field stacked over objects, e.g. ``stacked("center")`` -> (N, T, 2)."""
        t, h, w = self.frames.shape[:3]
        empty = {"center": (0, t, 2), "box": (0, t, 4), "mask": (0, t, h, w), "amodal_mask": (0, t, h, w),
                 "center_world": (0, t, 2)}
        if not self.objects:
            return np.zeros(empty.get(name, (0, t)))
        return np.stack([getattr(o, name) for o in self.objects])


def _track(scene: SceneSpec, k: int, r, lab: np.ndarray, cfg: WorldConfig) -> ObjectTrack:
    obj = scene.objects[k]
    center = apply(r.camera, obj.pose.center[:, None, :])[:, 0]  # (T, 2) world -> image
    mask = lab == k
    zoom = np.sqrt(np.abs(np.linalg.det(r.camera[:, :2, :2])))
    area = _shape_area(obj.shape) * (obj.radius * obj.pose.scale * zoom) ** 2
    shown = mask.sum(axis=(1, 2))
    size = np.sqrt(cfg.size[0] * cfg.size[1])
    screen = direction_word(center[-1] - center[0], max(1.0, 0.03 * size))
    world = direction_word(obj.pose.center[-1] - obj.pose.center[0], max(1.0, 0.03 * size))
    attrs = dict(obj.attrs, radius=obj.radius, depth=k, direction_screen=screen, direction_world=world,
                 **{k2: v for k2, v in obj.pose.facts.items() if k2 in ("spin", "grow", "bounced")})
    return ObjectTrack(attributes=attrs, center=center.astype(np.float32), box=r.boxes[k].astype(np.float32),
                       visible=shown > 0, visible_fraction=np.clip(shown / area, 0, 1).astype(np.float32),
                       mask=mask, amodal_mask=r.coverage[k] >= 0.5,
                       center_world=obj.pose.center.astype(np.float32),
                       angle=obj.pose.angle.astype(np.float32), scale=obj.pose.scale.astype(np.float32))


_AREAS: dict[str, float] = {}


def _shape_area(shape: str) -> float:
    """Area of a shape in local units (numerical, cached)."""
    if shape not in _AREAS:
        y, x = np.mgrid[-1.5:1.5:0.005, -1.5:1.5:0.005]
        _AREAS[shape] = float(inside(shape, x, y).sum() * 0.005**2)
    return _AREAS[shape]


def generate_clip(config: WorldConfig, seed: int, split: str | None = None) -> Clip:
    """Render clip ``seed``; ``split="train"`` excludes ``config.holdout`` combos (see scene.py)."""
    scene = sample_scene(config, seed, split)
    r = render(scene, config.supersample)
    flow, valid, lab = forward_flow(scene, r)
    tracks = [_track(scene, k, r, lab, config) for k in range(len(scene.objects))]
    described = [{"attrs": o.attrs, "facts": o.pose.facts, "screen_dir": tr.attributes["direction_screen"],
                  "world_dir": tr.attributes["direction_world"]} for o, tr in zip(scene.objects, tracks)]
    rng = np.random.default_rng((seed, CAPTION_STREAM))
    caption = build_caption(rng, described, scene.camera_move, scene.camera_speed, scene.background_phrase)
    attributes = {"camera": scene.camera_move, "camera_speed": scene.camera_speed,
                  "background": scene.background, "background_phrase": scene.background_phrase,
                  "num_objects": len(tracks), "objects": [tr.attributes for tr in tracks]}
    return Clip(frames=r.frames, caption=caption, fps=float(config.fps), seed=int(seed), split=split,
                objects=tracks, camera=scene.camera.astype(np.float32), camera_matrix=r.camera,
                flow=flow, flow_valid=valid, labels=lab.astype(np.int8),
                motion_amount=motion_amount(flow, scene.width, scene.height, config.fps), attributes=attributes)
