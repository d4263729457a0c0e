"""WorldConfig: what the procedural world may draw, with named presets.

Every distribution of the generator is a field here, so a training run, a held-out evaluation
and a benchmark differ only by configuration. Speeds are in units of *image size per frame*
(image size = sqrt(W * H) pixels), so the same config means the same apparent motion at any
resolution.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from kinema.config import check_choice, check_range
from kinema.errors import ConfigError

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "ring", "sprite")
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 40),
    "orange": (245, 140, 30),
    "purple": (140, 60, 190),
    "pink": (245, 130, 190),
    "cyan": (40, 200, 220),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "brown": (130, 80, 40),
    "gray": (128, 128, 128),
}
SIZES: dict[str, tuple[float, float]] = {  # radius as a fraction of min(W, H)
    "small": (0.06, 0.09),
    "medium": (0.10, 0.13),
    "large": (0.14, 0.18),
}
TEXTURES: tuple[str, ...] = ("flat", "stripes", "checker", "gradient", "noise", "photo")
MOTIONS: tuple[str, ...] = ("still", "linear", "bounce", "rotate", "scale", "orbit")
CAMERA_PRIMITIVES: tuple[str, ...] = (
    "static", "pan_left", "pan_right", "tilt_up", "tilt_down",
    "zoom_in", "zoom_out", "roll_cw", "roll_ccw",
)
CAMERA_MOVES: tuple[str, ...] = CAMERA_PRIMITIVES + (
    "pan_left+zoom_in", "pan_right+zoom_out", "tilt_up+pan_right", "zoom_in+roll_cw",
)
BACKGROUNDS: tuple[str, ...] = ("flat", "gradient", "texture", "photo")
HOLDOUT_KEYS: tuple[str, ...] = ("shape", "color", "size", "texture", "motion", "camera", "background")
SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass
class WorldConfig:
    size: tuple[int, int] = (64, 64)  # (W, H) in pixels
    frames: int = 16  # T, frames per clip
    fps: float = 8.0  # playback rate written to the manifest (motion is per frame)
    min_objects: int = 1
    max_objects: int = 3
    shapes: tuple[str, ...] = SHAPES
    colors: tuple[str, ...] = tuple(COLORS)
    sizes: tuple[str, ...] = tuple(SIZES)
    textures: tuple[str, ...] = TEXTURES
    motions: tuple[str, ...] = MOTIONS
    camera_moves: tuple[str, ...] = CAMERA_MOVES
    camera_static_prob: float = 0.35  # P(camera = static); otherwise uniform over the other moves
    backgrounds: tuple[str, ...] = BACKGROUNDS
    speed_range: tuple[float, float] = (0.002, 0.04)  # object speed, image sizes / frame, log-uniform
    camera_speed_range: tuple[float, float] = (0.002, 0.02)  # camera speed, same units
    supersample: int = 2  # ss x ss samples per pixel for anti-aliased objects
    holdout: tuple[str, ...] = ()  # combos like "shape=star&color=red"; never drawn in "train"
    holdout_eval: Literal["mixed", "only"] = "mixed"  # val/test: natural mix, or only held-out combos

    def __post_init__(self) -> None:
        self.size = tuple(int(v) for v in self.size)
        if len(self.size) != 2:
            raise ConfigError(f"size={self.size!r} must be (W, H)")
        for name, v in zip(("size[0] (W)", "size[1] (H)"), self.size):
            check_range(name, v, 8, 4096)
        check_range("frames", self.frames, 2, 1024)
        check_range("fps", self.fps, 0.1, 240)
        check_range("min_objects", self.min_objects, 0, 8)
        check_range("max_objects", self.max_objects, self.min_objects, 8)
        check_range("camera_static_prob", self.camera_static_prob, 0.0, 1.0)
        check_range("supersample", self.supersample, 1, 8)
        for key, allowed in (("shapes", SHAPES), ("colors", tuple(COLORS)), ("sizes", tuple(SIZES)),
                             ("textures", TEXTURES), ("motions", MOTIONS), ("backgrounds", BACKGROUNDS)):
            values = tuple(getattr(self, key))
            if not values:
                raise ConfigError(f"{key} is empty; choose at least one of {list(allowed)}")
            for v in values:
                check_choice(key, v, allowed)
            setattr(self, key, values)
        self.camera_moves = tuple(self.camera_moves)
        if not self.camera_moves:
            raise ConfigError(f"camera_moves is empty; e.g. {list(CAMERA_MOVES)}")
        for move in self.camera_moves:
            for part in move.split("+"):
                check_choice(f"camera_moves ({move!r})", part, CAMERA_PRIMITIVES)
        for key in ("speed_range", "camera_speed_range"):
            lo, hi = getattr(self, key)
            if not 0.0 <= lo <= hi <= 0.5:
                raise ConfigError(f"{key}=({lo}, {hi}) must satisfy 0 <= min <= max <= 0.5")
        self.holdout = tuple(self.holdout)
        for combo in self.holdout:
            parse_combo(combo)
        check_choice("holdout_eval", self.holdout_eval, ("mixed", "only"))

    def replace(self, **changes) -> "WorldConfig":
        return dataclasses.replace(self, **changes)


def parse_combo(combo: str) -> dict[str, str]:
    """``"shape=star&color=red"`` -> ``{"shape": "star", "color": "red"}`` (validated)."""
    out: dict[str, str] = {}
    for item in combo.split("&"):
        if "=" not in item:
            raise ConfigError(f"holdout combo {combo!r}: item {item!r} must look like key=value, "
                              f"keys {list(HOLDOUT_KEYS)}")
        key, value = (s.strip() for s in item.split("=", 1))
        check_choice(f"holdout key in {combo!r}", key, HOLDOUT_KEYS)
        out[key] = value
    return out


PRESETS: dict[str, WorldConfig] = {
    "tiny": WorldConfig(size=(32, 32), frames=8, max_objects=2),
    "default": WorldConfig(),
    "large": WorldConfig(size=(128, 128), frames=16, max_objects=4),
}


def world_preset(name: str, **overrides) -> WorldConfig:
    """A fresh copy of preset ``name`` ("tiny" 32x32x8, "default" 64x64x16, "large" 128x128x16)."""
    check_choice("world preset", name, PRESETS)
    return dataclasses.replace(PRESETS[name], **overrides)
