"""Draw a scene description from a config and a seed: attributes first, then geometry.

Attributes (shape, colour, size class, texture, motion per object; camera move; background) are
drawn first so that held-out combinations can be rejected (train) or forced (val/test with
``holdout_eval="only"``) before any geometry is drawn. Everything comes from one
``numpy.random.Generator`` seeded by the clip seed, so a seed fixes the clip bit for bit.
Objects are listed front to back: index 0 is the main object (frontmost, captioned first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinema.data.world.assets import SPRITE_NAMES
from kinema.data.world.camera import camera_matrices, camera_trajectory
from kinema.data.world.config import COLORS, SIZES, WorldConfig, parse_combo
from kinema.data.world.motion import Pose, sample_motion
from kinema.data.world.shapes import outline
from kinema.data.world.textures import TextureSpec, background_texture, sample_texture
from kinema.errors import ConfigError

MAX_REJECTIONS = 200


@dataclass
class ObjectSpec:
    attrs: dict  # shape, sprite, color, size, texture, motion, speed (JSON-able)
    shape: str  # inside-test key: "circle", ..., or "sprite:<name>"
    radius: float  # R in pixels at scale 1
    texture: TextureSpec
    pose: Pose  # world pose per frame


@dataclass
class SceneSpec:
    width: int
    height: int
    frames: int
    objects: list[ObjectSpec]  # front to back
    camera_move: str
    camera_speed: float
    camera: np.ndarray  # (T, 4) tx, ty, zoom, roll
    background: str
    background_phrase: str
    background_texture: np.ndarray  # (h, w, 3) float32, texel (0, 0) at world background_origin
    background_origin: tuple[float, float]


def _speed(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Log-uniform on [lo, hi] (uniform if lo == 0): slow, nearly static motions are common."""
    if lo <= 0.0 or hi <= lo:
        return float(rng.uniform(lo, hi))
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _draw_object_attrs(rng: np.random.Generator, cfg: WorldConfig) -> dict:
    shape = str(rng.choice(cfg.shapes))
    attrs = {"shape": shape, "sprite": None, "color": str(rng.choice(cfg.colors)),
             "size": str(rng.choice(cfg.sizes)), "texture": str(rng.choice(cfg.textures)),
             "motion": str(rng.choice(cfg.motions)), "speed": _speed(rng, *cfg.speed_range)}
    if shape == "sprite":
        attrs["sprite"] = str(rng.choice(list(SPRITE_NAMES)))
        attrs["color"], attrs["texture"] = "natural", "photo"
    return attrs


def _draw_attrs(rng: np.random.Generator, cfg: WorldConfig) -> dict:
    n = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    objects = [_draw_object_attrs(rng, cfg) for _ in range(n)]
    moving = [m for m in cfg.camera_moves if m != "static"]
    static_ok = "static" in cfg.camera_moves or not moving
    static = static_ok and (not moving or rng.random() < cfg.camera_static_prob)
    camera = "static" if static else str(rng.choice(moving))
    return {"objects": objects, "camera": camera, "background": str(rng.choice(cfg.backgrounds)),
            "camera_speed": 0.0 if camera == "static" else _speed(rng, *cfg.camera_speed_range)}


def matches(attrs: dict, combo: dict[str, str]) -> bool:
    """True if the clip shows ``combo``: clip keys equal and one object has all object keys."""
    for key in ("camera", "background"):
        if key in combo and attrs[key] != combo[key]:
            return False
    obj_keys = [k for k in combo if k not in ("camera", "background")]
    if not obj_keys:
        return True
    return any(all(o[k] == combo[k] for k in obj_keys) for o in attrs["objects"])


def _force(rng: np.random.Generator, attrs: dict, combo: dict[str, str]) -> dict:
    """Make the clip show ``combo`` by overwriting the main object's (and clip's) attributes."""
    if not attrs["objects"]:
        attrs["objects"].append({"shape": "circle", "sprite": None, "color": "red", "size": "medium",
                                 "texture": "flat", "motion": "still", "speed": 0.0})
    main = attrs["objects"][0]
    for key, value in combo.items():
        if key in ("camera", "background"):
            attrs[key] = value
        else:
            main[key] = value
    if main["shape"] == "sprite" and main["sprite"] is None:
        main["sprite"], main["color"], main["texture"] = str(rng.choice(list(SPRITE_NAMES))), "natural", "photo"
    if main["shape"] != "sprite":
        main["sprite"] = None
    if attrs["camera"] != "static" and attrs["camera_speed"] == 0.0:
        attrs["camera_speed"] = 0.01
    return attrs


def draw_attributes(rng: np.random.Generator, cfg: WorldConfig, split: str | None) -> dict:
    """Clip attributes; the "train" split never shows a held-out combo."""
    combos = [parse_combo(c) for c in cfg.holdout]
    if combos and split in ("val", "test") and cfg.holdout_eval == "only":
        return _force(rng, _draw_attrs(rng, cfg), combos[int(rng.integers(len(combos)))])
    for _ in range(MAX_REJECTIONS):
        attrs = _draw_attrs(rng, cfg)
        if split != "train" or not any(matches(attrs, c) for c in combos):
            return attrs
    raise ConfigError(f"holdout={list(cfg.holdout)} rejects almost every clip of this config; "
                      "hold out narrower combinations")


def _background(rng, cfg: WorldConfig, kind: str, camera: np.ndarray, used: set[str]):
    """World texture covering every pixel the camera sees over the clip (plus a margin)."""
    w, h = cfg.size
    inv = np.linalg.inv(camera_matrices(camera, w, h))  # (T, 3, 3) image -> world
    corners = np.array([[-2, -2, 1], [w + 1, -2, 1], [-2, h + 1, 1], [w + 1, h + 1, 1]], float)
    pts = np.einsum("tij,kj->tki", inv, corners)[..., :2].reshape(-1, 2)
    x0, y0 = np.floor(pts.min(0)) - 2
    x1, y1 = np.ceil(pts.max(0)) + 2
    colors = [(n, c) for n, c in COLORS.items() if n not in used] or list(COLORS.items())
    tex, phrase = background_texture(rng, kind, int(x1 - x0) + 1, int(y1 - y0) + 1, colors)
    return tex, phrase, (float(x0), float(y0))


def _object(rng, cfg: WorldConfig, attrs: dict) -> ObjectSpec:
    w, h = cfg.size
    lo, hi = SIZES[attrs["size"]]
    radius = float(rng.uniform(lo, hi) * min(w, h))
    shape = f"sprite:{attrs['sprite']}" if attrs["shape"] == "sprite" else attrs["shape"]
    extent = radius * float(np.linalg.norm(outline(shape), axis=1).max())
    pose = sample_motion(rng, attrs["motion"], attrs["speed"], radius, extent, cfg.frames, w, h,
                         upright=attrs["shape"] == "sprite")
    base = COLORS.get(attrs["color"], (128, 128, 128))
    texture = sample_texture(rng, attrs["texture"], base, shape)
    return ObjectSpec(attrs=attrs, shape=shape, radius=radius, texture=texture, pose=pose)


def sample_scene(cfg: WorldConfig, seed: int, split: str | None = None) -> SceneSpec:
    """The full scene for ``seed`` (attributes, then geometry, camera and background)."""
    rng = np.random.default_rng(seed)
    attrs = draw_attributes(rng, cfg, split)
    objects = [_object(rng, cfg, a) for a in attrs["objects"]]
    w, h = cfg.size
    camera = camera_trajectory(attrs["camera"], attrs["camera_speed"], cfg.frames, w, h)
    used = {a["color"] for a in attrs["objects"]}
    tex, phrase, origin = _background(rng, cfg, attrs["background"], camera, used)
    return SceneSpec(width=w, height=h, frames=cfg.frames, objects=objects, camera_move=attrs["camera"],
                     camera_speed=attrs["camera_speed"], camera=camera, background=attrs["background"],
                     background_phrase=phrase, background_texture=tex, background_origin=origin)
