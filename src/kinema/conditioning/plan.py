"""Motion plans: a camera move and a main-object velocity, turned into warped reference latents.

A plan is six numbers per sample (``PLAN_FIELDS``), each a rate per frame:

* ``pan_x, pan_y`` — the camera's offset (image sizes sqrt(W H) per frame; pan right / tilt down > 0,
  so the scene slides the other way on screen),
* ``zoom`` — log magnification per frame (> 0 zooms in), ``roll`` — camera roll in radians per
  frame (> 0 turns the camera clockwise, the picture counter-clockwise),
* ``object_x, object_y`` — the main object's screen velocity (image sizes per frame, y down).

The camera convention is kinema world's (:mod:`kinema.data.world.camera`): a point ``p`` of the
known frame shows ``n`` frames later at ``q = s R(-r) (p - d)`` with ``d = n (pan_x, pan_y)``,
``s = exp(n zoom)``, ``r = n roll`` (centred coordinates in image sizes).

:func:`warp_references` gives every frame its nearest known latent twice: warped by the camera
move, and shifted by the object's velocity (``conditioner.object_mask`` models replace the second
by the plan rendered in pixels, :mod:`kinema.conditioning.layered`: only the object moves). They extend the concat route (Wang et al. 2026 Eq. 12), so the denoiser
sees where the scene and the object should be in each frame — the explicit camera and trajectory
conditions of CameraCtrl / MotionCtrl / DragNUWA, with the trajectory planned from the prompt by
:class:`~kinema.conditioning.planner.MotionPlanner` (LVD's text -> layout -> video, Lian et al. 2023).
A zero plan repeats the known latent, exactly ``reference="nearest"``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

PLAN_FIELDS: tuple[str, ...] = ("pan_x", "pan_y", "zoom", "roll", "object_x", "object_y")
# a named camera move -> (PLAN_FIELDS index, signed factor on its speed): zoom and roll move a point half an image size from the
# centre by about ``speed`` per frame at rate 2 speed, as kinema world's camera does
CAMERA_MOVES: dict[str, tuple[int, float]] = {
    "pan_left": (0, -1.0), "pan_right": (0, 1.0), "tilt_up": (1, -1.0), "tilt_down": (1, 1.0),
    "zoom_in": (2, 2.0), "zoom_out": (2, -2.0), "roll_cw": (3, 2.0), "roll_ccw": (3, -2.0),
}
DEFAULT_CAMERA_SPEED = 0.01  # image sizes per frame


def camera_rates(move: str) -> tuple[float, float, float, float]:
    """``"pan_left"``, ``"zoom_in+roll_cw:0.02"``, ``"static"`` -> (pan_x, pan_y, zoom, roll) rates.

    The optional ``:speed`` is in image sizes per frame (default 0.01).
    """
    name, _, speed_text = move.partition(":")
    try:
        speed = float(speed_text) if speed_text else DEFAULT_CAMERA_SPEED
    except ValueError:
        raise ValueError(f"camera speed {speed_text!r} is not a number") from None
    if not 0.0 <= speed <= 0.2:
        raise ValueError(f"camera speed {speed} is outside [0, 0.2] image sizes per frame")
    rates = [0.0, 0.0, 0.0, 0.0]
    for part in name.split("+"):
        if part == "static":
            continue
        if part not in CAMERA_MOVES:
            raise ValueError(f"unknown camera move {part!r}; known: static, {', '.join(CAMERA_MOVES)}")
        field, factor = CAMERA_MOVES[part]
        rates[field] += factor * speed
    return tuple(rates)


def nearest_index(mask: Tensor) -> tuple[Tensor, Tensor]:
    """(B, T) mask (> 0 = known) -> (src (B, T) nearest known frame, ties to the earlier; has (B,))."""
    T = mask.shape[1]
    t = torch.arange(T, device=mask.device)
    dist = (t[None, :, None] - t[None, None, :]).abs().float()  # (1, T_query, T_known)
    dist = dist + torch.where(mask[:, None, :] > 0, 0.0, float("inf"))  # unknown frames never win
    return dist.argmin(dim=2), (mask > 0).any(dim=1)  # argmin takes the first minimum


def _centred_grid(h: int, w: int, device) -> tuple[Tensor, Tensor]:
    """Pixel centres in centred image-size units: qx (1, 1, 1, w), qy (1, 1, h, 1)."""
    size = math.sqrt(h * w)
    xs = (torch.arange(w, device=device) * 2.0 + 1.0) / w - 1.0  # grid_sample's align_corners=False
    ys = (torch.arange(h, device=device) * 2.0 + 1.0) / h - 1.0
    return (xs * w / (2 * size)).view(1, 1, 1, w), (ys * h / (2 * size)).view(1, 1, h, 1)


def source_grids(plan: Tensor, n: Tensor, h: int, w: int) -> tuple[Tensor, Tensor]:
    """grid_sample grids (B*T, h, w, 2) of the camera warp and the object shift.

    plan (B, 6) in PLAN_FIELDS order; n (B, T) frames since (or, negative, before) the known frame.
    Each output pixel q reads the known frame at p = d + R(r) q / s (camera) and p = q - n v (object).
    """
    B, T = n.shape
    qx, qy = _centred_grid(h, w, plan.device)
    nb = n.to(plan.dtype)[:, :, None, None]  # (B, T, 1, 1)
    p = [plan[:, k].view(B, 1, 1, 1) for k in range(6)]
    s, r = torch.exp(nb * p[2]), nb * p[3]
    cx = nb * p[0] + (torch.cos(r) * qx - torch.sin(r) * qy) / s  # (B, T, h, w)
    cy = nb * p[1] + (torch.sin(r) * qx + torch.cos(r) * qy) / s
    ox, oy = (qx - nb * p[4]).expand(B, T, h, w), (qy - nb * p[5]).expand(B, T, h, w)
    size = math.sqrt(h * w)
    to_grid = lambda x, y: torch.stack([x * 2 * size / w, y * 2 * size / h], -1).reshape(B * T, h, w, 2)  # noqa: E731
    return to_grid(cx, cy), to_grid(ox, oy)


def warp_references(reference: Tensor, mask: Tensor, plan: Tensor | None) -> Tensor:
    """(B, C, T, h, w) nearest known latents -> (B, 2C, T, h, w): camera-warped, then object-shifted.

    Pixels that come from outside the known frame are zero. ``plan`` None = no motion (both copies).
    """
    if plan is None:
        return torch.cat([reference, reference], dim=1)
    B, C, T, h, w = reference.shape
    src, _ = nearest_index(mask)
    n = torch.arange(T, device=mask.device)[None] - src  # (B, T)
    camera, shift = source_grids(plan.to(reference.device, reference.dtype), n, h, w)
    return torch.cat([warp_frames(reference, camera), warp_frames(reference, shift)], dim=1)


def warp_frames(x: Tensor, grid: Tensor) -> Tensor:
    """(B, C, T, h, w) read through :func:`source_grids`' (B*T, h, w, 2) grids; outside the frame = 0."""
    B, C, T, h, w = x.shape
    flat = x.transpose(1, 2).reshape(B * T, C, h, w)
    out = F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.view(B, T, C, h, w).transpose(1, 2)
