"""Ground-truth targets of the world encoder's heads, read from a kinema world :class:`Clip`.

Every target is exact by construction of the world (no annotation noise):

* ``direction``: the main object's 8-way screen direction (caption words) or "none" (9 classes);
* ``motion``: the main object's motion kind (still, linear, bounce, rotate, scale, orbit);
* ``shape`` and ``texture`` of the main object;
* ``camera``: the camera move (13 moves, composites included);
* ``background``: flat, gradient, texture or photo;
* ``motion_amount``: ``log(motion_amount + 1e-3)``, standardised (regression).

The direction and camera heads can only be solved from the order of the frames, which makes the
embedding sensitive to shuffled or frozen clips; shape, texture and background make it see detail.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from kinema.data.world.caption import DIRECTIONS
from kinema.data.world.config import BACKGROUNDS, CAMERA_MOVES, MOTIONS, SHAPES, TEXTURES

CLASSES: dict[str, tuple[str, ...]] = {
    "direction": DIRECTIONS + ("none",),
    "motion": MOTIONS,
    "shape": SHAPES,
    "texture": TEXTURES,
    "camera": CAMERA_MOVES,
    "background": BACKGROUNDS,
}
REGRESSION: tuple[str, ...] = ("motion_amount",)
HEADS: dict[str, int] = {**{k: len(v) for k, v in CLASSES.items()}, **{k: 1 for k in REGRESSION}}
AMOUNT_MEAN, AMOUNT_STD = -5.5, 0.8  # rough centre and spread of log(amount + 1e-3) on the default world


def clip_labels(clip) -> dict[str, float | int]:
    """{head: class index or regression target} of one clip (the main object is objects[0])."""
    main = clip.objects[0].attributes if clip.objects else {}
    words = {
        "direction": main.get("direction_screen") or "none",
        "motion": main.get("motion", "still"),
        "shape": main.get("shape", "circle"),
        "texture": main.get("texture", "flat"),
        "camera": clip.attributes["camera"],
        "background": clip.attributes["background"],
    }
    labels: dict[str, float | int] = {k: CLASSES[k].index(v) for k, v in words.items()}
    labels["motion_amount"] = (np.log(clip.motion_amount + 1e-3) - AMOUNT_MEAN) / AMOUNT_STD
    return labels


def stack_labels(labels: list[dict]) -> dict[str, Tensor]:
    """List of :func:`clip_labels` -> {head: (N,) long (classes) or float32 (regression)}."""
    out = {k: torch.tensor([lab[k] for lab in labels], dtype=torch.long) for k in CLASSES}
    out.update({k: torch.tensor([lab[k] for lab in labels], dtype=torch.float32) for k in REGRESSION})
    return out


def head_losses(predictions: dict[str, Tensor], targets: dict[str, Tensor]) -> dict[str, Tensor]:
    """Cross-entropy per classification head, MSE for the regression head (each a scalar)."""
    losses = {k: torch.nn.functional.cross_entropy(predictions[k], targets[k]) for k in CLASSES}
    losses.update({k: torch.nn.functional.mse_loss(predictions[k][:, 0], targets[k]) for k in REGRESSION})
    return losses
