"""MotionPlanner: prompt tokens + motion amount -> a motion plan (:mod:`kinema.conditioning.plan`).

The text -> layout stage of LLM-grounded video diffusion (LVD, Lian et al. 2023), learned: multi-head
attention pooling over the text encoder's tokens (a learned query per head finds words such as
"to the left" or "pans right" wherever the sentence puts them), then an MLP on it and the motion
amount with

* a 3-way sign per camera axis (negative / none / positive for pan_x, pan_y, zoom, roll),
* a 9-way object class (still, or one of 8 screen directions, 45 degrees apart, 0 = right, y down),
* a log magnitude per camera axis and for the object's speed.

Classes rather than a regression: the rates span 20x, so a squared error on them is ruled by the
fast clips and the sign of slow moves is never learned. The plan is the argmax class times the
predicted magnitude. Trained by a ``target: "planner"`` stage on kinema world's exact plans.

With ``conditioner.object_mask`` the planner also carries an
:class:`~kinema.conditioning.segmenter.ObjectSegmenter` (which pixels the object velocity moves),
trained in the same stage on the first frame's latent and its main-object mask.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kinema.conditioning.pooling import attention_pool
from kinema.conditioning.segmenter import ObjectSegmenter

CAMERA_AXES = 4  # pan_x, pan_y, zoom, roll
DIRECTIONS = 8  # object sectors; class 0 = still
MOTION_INPUT_SCALE = 100.0  # motion amounts are ~0.01 (kinema.data.motion units)
STILL_BELOW = 1e-4  # rates smaller than this are "none" / "still" in the targets


class MotionPlanner(nn.Module):
    def __init__(self, text_dim: int, hidden: int = 256, heads: int = 8, latent_channels: int | None = None):
        super().__init__()
        if text_dim % heads:
            raise ValueError(f"text_dim {text_dim} is not divisible by heads {heads}")
        self.query = nn.Parameter(torch.randn(heads, text_dim // heads) * 0.02)
        self.key = nn.Linear(text_dim, text_dim)
        out = CAMERA_AXES * 3 + DIRECTIONS + 1 + CAMERA_AXES + 1
        self.mlp = nn.Sequential(nn.LayerNorm(text_dim + 2), nn.Linear(text_dim + 2, hidden), nn.GELU(),
                                 nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, out))
        self.segmenter = None if latent_channels is None else ObjectSegmenter(latent_channels, text_dim)

    def forward(self, tokens: Tensor, token_mask: Tensor, motion: Tensor | None) -> dict[str, Tensor]:
        """tokens (B, L, D), token_mask (B, L) bool, motion (B,) or None -> logits and log magnitudes."""
        B, L, D = tokens.shape
        pooled = attention_pool(self.key(tokens.float()), self.query, token_mask)
        given = torch.zeros(B, 2, device=tokens.device)
        if motion is not None:
            given = torch.stack([motion.float() * MOTION_INPUT_SCALE, torch.ones_like(motion.float())], 1)
        o = self.mlp(torch.cat([pooled, given], 1))
        c3 = CAMERA_AXES * 3
        return {"camera": o[:, :c3].view(B, CAMERA_AXES, 3), "object": o[:, c3:c3 + DIRECTIONS + 1],
                "log_rate": o[:, c3 + DIRECTIONS + 1:]}

    @torch.no_grad()
    def plan(self, tokens: Tensor, token_mask: Tensor, motion: Tensor | None) -> Tensor:
        """(B, 6) plan in PLAN_FIELDS order: argmax classes times predicted magnitudes."""
        o = self.forward(tokens, token_mask, motion)
        rate = o["log_rate"].exp()  # (B, 5)
        camera = (o["camera"].argmax(-1) - 1).float() * rate[:, :CAMERA_AXES]  # sign in {-1, 0, 1}
        cls = o["object"].argmax(-1)  # (B,)
        angle = (cls - 1).float() * (2 * math.pi / DIRECTIONS)
        speed = rate[:, CAMERA_AXES] * (cls > 0).float()
        return torch.cat([camera, (speed * torch.cos(angle))[:, None], (speed * torch.sin(angle))[:, None]], 1)

    def loss(self, tokens: Tensor, token_mask: Tensor, motion: Tensor | None, target: Tensor,
             latent: Tensor | None = None, object_mask: Tensor | None = None) -> Tensor:
        """Cross-entropy on the classes + 0.1 x squared log-magnitude error where a move exists
        [+ the segmenter's loss on ``latent`` (B, C, h, w) against ``object_mask`` (B, H, W)]."""
        o = self.forward(tokens, token_mask, motion)
        camera_cls, object_cls = plan_classes(target)
        ce = F.cross_entropy(o["camera"].transpose(1, 2), camera_cls) + F.cross_entropy(o["object"], object_cls)
        mag = torch.cat([target[:, :CAMERA_AXES].abs(), target[:, CAMERA_AXES:].norm(dim=1, keepdim=True)], 1)
        moving = (mag > STILL_BELOW).float()
        err = (o["log_rate"] - mag.clamp(min=STILL_BELOW).log()) ** 2 * moving
        total = ce + 0.1 * err.sum() / moving.sum().clamp(min=1.0)
        if self.segmenter is not None and latent is not None and object_mask is not None:
            total = total + self.segmenter.loss(latent, tokens, token_mask, object_mask)
        return total


def plan_classes(plan: Tensor) -> tuple[Tensor, Tensor]:
    """(B, 6) plans -> camera sign classes (B, 4) in {0: -, 1: none, 2: +} and object class (B,)."""
    cam = plan[:, :CAMERA_AXES]
    camera = torch.where(cam.abs() > STILL_BELOW, torch.sign(cam), torch.zeros_like(cam)).long() + 1
    v = plan[:, CAMERA_AXES:]
    sector = torch.round(torch.atan2(v[:, 1], v[:, 0]) / (2 * math.pi / DIRECTIONS)).long() % DIRECTIONS
    return camera, torch.where(v.norm(dim=1) > STILL_BELOW, sector + 1, torch.zeros_like(sector))
