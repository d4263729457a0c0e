"""Natural-language captions built from a clip's attributes and its exact trajectories.

Directions are said **as the viewer sees them** (image coordinates, y down): "drifts to the left"
means the object's centre moves left on screen between the first and last frame. When the camera
moves, a linear mover whose direction in the scene differs from its on-screen direction gets a
second phrase ("..., heading up in the scene"), so both are captioned. Spin and orbit senses
("clockwise") describe the object in the scene. The phrasing (synonyms, clause order,
background mention) is drawn from a generator seeded by the clip seed, so captions are
deterministic yet varied.
"""

from __future__ import annotations

import numpy as np

from kinema.data.world.assets import SPRITE_NAMES

DIRECTIONS = ("to the right", "down and to the right", "downward", "down and to the left",
              "to the left", "up and to the left", "upward", "up and to the right")
SIZE_WORDS = {"small": ("small", "little", "tiny"), "medium": ("medium-sized", "mid-sized", ""),
              "large": ("large", "big")}
SHAPE_WORDS = {"circle": ("circle", "disc", "ball", "dot"), "square": ("square", "block"),
               "triangle": ("triangle",), "star": ("star",), "ring": ("ring", "hoop", "donut")}
TEXTURE_WORDS = {"flat": ("",), "stripes": ("striped",), "checker": ("checkered",),
                 "gradient": ("shaded",), "noise": ("mottled", "speckled"), "photo": ("photo-textured",)}
LINEAR_VERBS = ("drifts", "moves", "slides", "glides", "travels")
CAMERA_WORDS = {"static": ("the camera is static", "the camera stays still", "the camera does not move"),
                "pan_left": ("pans left",), "pan_right": ("pans right",), "tilt_up": ("tilts up",),
                "tilt_down": ("tilts down",), "zoom_in": ("zooms in", "pushes in"),
                "zoom_out": ("zooms out", "pulls back"), "roll_cw": ("rolls clockwise",),
                "roll_ccw": ("rolls counterclockwise",)}


def direction_word(displacement: np.ndarray, min_shift: float) -> str | None:
    """8-way direction of a (dx, dy) screen displacement, None if shorter than ``min_shift`` px."""
    dx, dy = float(displacement[0]), float(displacement[1])
    if np.hypot(dx, dy) < min_shift:
        return None
    sector = int(np.round(np.arctan2(dy, dx) / (np.pi / 4))) % 8  # y down: +pi/2 is "down"
    return DIRECTIONS[sector]


def speed_adverb(speed: float) -> str:
    """Adverb for a speed in image sizes per frame."""
    if speed < 0.004:
        return "very slowly"
    if speed < 0.012:
        return "slowly"
    if speed < 0.025:
        return ""
    return "quickly"


def _pick(rng: np.random.Generator, options) -> str:
    return str(options[int(rng.integers(len(options)))])


def _join(*words: str) -> str:
    return " ".join(w for w in words if w)


def _article(phrase: str) -> str:
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def noun_phrase(rng, attrs: dict) -> str:
    size = _pick(rng, SIZE_WORDS[attrs["size"]])
    if attrs["shape"] == "sprite":
        return _article(_join(size, SPRITE_NAMES[attrs["sprite"]]))
    texture = _pick(rng, TEXTURE_WORDS[attrs["texture"]]) if rng.random() < 0.8 else ""
    return _article(_join(size, attrs["color"], texture, _pick(rng, SHAPE_WORDS[attrs["shape"]])))


def verb_phrase(rng, attrs: dict, facts: dict, screen_dir: str | None, world_dir: str | None) -> str:
    motion, adverb = attrs["motion"], speed_adverb(attrs["speed"])
    if motion == "linear" and screen_dir is None and world_dir is not None:  # camera tracks it
        return _join(_pick(rng, LINEAR_VERBS), world_dir.replace("to the ", ""), "in the scene",
                     "but keeps its place on screen")
    if motion == "still" or (motion == "linear" and screen_dir is None):
        phrase = _pick(rng, ("stays still", "rests in place", "does not move", "sits motionless"))
        return phrase + (" in the scene" if screen_dir is not None else "")
    if motion == "linear":
        phrase = _join(_pick(rng, LINEAR_VERBS), adverb, screen_dir)
        if world_dir is not None and world_dir != screen_dir:
            phrase += f", heading {world_dir.replace('to the ', '')} in the scene"
        return phrase
    if motion == "bounce":
        return _join(_pick(rng, ("bounces", "bounces around", "hops")), adverb,
                     "off the walls" if facts.get("bounced") else "under gravity")
    if motion == "rotate":
        return _join(_pick(rng, ("spins", "rotates", "turns")), adverb, facts["spin"])
    if motion == "scale":
        verbs = ("grows", "expands", "gets bigger") if facts["grow"] else ("shrinks", "gets smaller")
        return _join(_pick(rng, verbs), adverb)
    if motion == "orbit":
        return _join(_pick(rng, ("circles", "orbits", "moves in a circle")), adverb, facts["spin"])
    raise KeyError(motion)


def camera_phrase(rng, move: str, speed: float) -> str:
    if move == "static":
        return _pick(rng, CAMERA_WORDS["static"])
    adverb = "slowly" if speed < 0.006 else ("quickly" if speed > 0.014 else "")
    parts = [_pick(rng, CAMERA_WORDS[p]) for p in move.split("+")]
    return _join("the camera", adverb, " and ".join(parts))


def build_caption(rng, objects: list[dict], camera: str, camera_speed: float, background: str) -> str:
    """``objects``: front to back, each {"attrs", "facts", "screen_dir", "world_dir"}."""
    cam = camera_phrase(rng, camera, camera_speed)
    if not objects:
        return f"{background[:1].upper()}{background[1:]}; {cam}."
    main = objects[0]
    subject = _join(noun_phrase(rng, main["attrs"]),
                    verb_phrase(rng, main["attrs"], main["facts"], main["screen_dir"], main["world_dir"]))
    if rng.random() < 0.5:
        subject += _pick(rng, (" on ", " in front of ", " over ")) + background
    template = int(rng.integers(3))
    if template == 2 and camera == "static":
        template = 0  # "as the camera is static" reads badly
    if template == 0:
        text = f"{subject} while {cam}."
    elif template == 1:
        text = f"{subject}, and {cam}."
    else:
        text = f"as {cam}, {subject}."
    for other, where in zip(objects[1:], ("Behind it", "Further back", "Furthest back")):
        text += f" {where}, " + _join(noun_phrase(rng, other["attrs"]),
                                      verb_phrase(rng, other["attrs"], other["facts"],
                                                  other["screen_dir"], other["world_dir"])) + "."
    return text[:1].upper() + text[1:]
