"""The layered planned frame: a motion plan rendered in pixels, background plate + object sprite.

Cutting the main object out of a 16x16 latent and shifting it by bilinear resampling smears it:
decoded, such a reference moves the object the caption's way in 41-71% of kinema world's moving
test clips (depending on how the hole is filled), where the same composite built in pixels and
passed through the VAE does in 94%, as the real clips do. So ``object_mask`` models build the
object copy here, in pixel space, then encode it (:meth:`Conditioner.route`'s ``planned``):

1. the *plate*: the known frame with the object removed and the hole filled by Telea's
   fast-marching inpainting (OpenCV; Telea 2004), as layered video editing separates a clean
   background from the moving layer (Omnimatte, Lu et al. 2021);
2. each frame: the plate moved by the camera (:func:`~kinema.conditioning.plan.source_grids`),
   with the object's pixels (the known frame times its mask) shifted by the object velocity on top.

Frames are taken from their nearest known frame (:func:`~kinema.conditioning.plan.nearest_index`);
a still object (zero velocity) leaves the camera-moved frame itself.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import Tensor

from kinema.conditioning.plan import nearest_index, source_grids, warp_frames
from kinema.conditioning.planner import STILL_BELOW

INPAINT_RADIUS = 3  # pixels around the hole Telea's method reads


def clean_plate(image: Tensor, mask: Tensor) -> Tensor:
    """(3, H, W) in [-1, 1], (H, W) object mask in [0, 1] -> the image with the object inpainted."""
    hole = (mask > 0.5).cpu().numpy().astype(np.uint8)
    if not hole.any():
        return image
    hole = cv2.dilate(hole, np.ones((3, 3), np.uint8))  # the object's anti-aliased outline goes too
    rgb = ((image.detach().cpu().float().permute(1, 2, 0).clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
    filled = cv2.inpaint(np.ascontiguousarray(rgb), hole, INPAINT_RADIUS, cv2.INPAINT_TELEA)
    return torch.from_numpy(filled).permute(2, 0, 1).to(image).div(127.5).sub(1.0)


def render_layers(frames: Tensor, mask: Tensor, plan: Tensor, object_masks: Tensor) -> Tensor:
    """The plan rendered from each frame's nearest known frame: (B, 3, T, H, W).

    frames (B, 3, T, H, W) in [-1, 1] (only the known ones are read), mask (B, T) > 0 = known,
    plan (B, 6) in PLAN_FIELDS order, object_masks (B, T, H, W) in [0, 1]: the main object in
    each known frame.
    """
    B, _, T, H, W = frames.shape
    src, _ = nearest_index(mask)  # (B, T)
    n = torch.arange(T, device=mask.device)[None] - src
    moving = (plan[:, 4:].norm(dim=1) > STILL_BELOW).to(frames.dtype)  # (B,)
    image = torch.stack([frames[b, :, src[b]] for b in range(B)])  # (B, 3, T, H, W)
    obj = torch.stack([object_masks[b, src[b]] for b in range(B)])[:, None] * moving.view(B, 1, 1, 1, 1)
    plates = _plates(image, obj[:, 0], src, moving)
    camera, shift = source_grids(plan.to(frames), n, H, W)
    return warp_frames(plates, camera) * (1.0 - warp_frames(obj, shift)) + warp_frames(image * obj, shift)


def _plates(image: Tensor, obj: Tensor, src: Tensor, moving: Tensor) -> Tensor:
    """(B, 3, T, H, W) source frames -> plates, inpainted once per (sample, source frame) that moves."""
    out = image.clone()
    for b in range(image.shape[0]):
        if not moving[b]:
            continue
        for s in src[b].unique().tolist():
            at = (src[b] == s).nonzero()[:, 0]
            out[b][:, at] = clean_plate(image[b, :, at[0]], obj[b, at[0]])[:, None]
    return out
