"""LPIPS, the learned perceptual distance of Zhang et al. (CVPR 2018; Wang et al. 2026, I2V survey Eq. 10), version 0.1.

For two images in [-1, 1] (uint8 frames enter as ``x / 127.5 - 1``, as ``lpips.im2tensor``):

1. scale each channel, ``(x - shift) / scale`` with shift (-0.030, -0.088, -0.188) and scale
   (0.458, 0.448, 0.450) (the v0.1 "ScalingLayer": ImageNet statistics expressed in [-1, 1]);
2. run the trunk (AlexNet or VGG-16, :mod:`kinema.eval.backbones.lpips_nets`) and take five ReLU maps;
3. unit-normalise each map along channels, ``f / (||f||_2 + 1e-10)``;
4. square the difference of the two images' maps, weight channels with the layer's 1x1 head
   (``lin_k``), average over the map's H_k x W_k positions (Eq. 10's 1/(H_f W_f) sum);
5. sum the five layer values.

This is the lpips package's ``LPIPS(net=..., version='0.1', lpips=True, spatial=False)`` forward in
evaluation mode, step for step. The package has no rule for images of different sizes (its layer
maps would not subtract), so kinema refuses them; frames smaller than the trunk's pooling stack
allows (``MIN_SIDE``: 31 px for AlexNet, 16 px for VGG) are refused too.

A video pair is scored per frame; the per-video value is the mean over frames, and
:func:`lpips_score` reports the mean of the per-video values over all pairs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from kinema.config import check_choice
from kinema.errors import InputError
from kinema.eval.backbones.lpips_nets import (
    HEAD_WEIGHT_IDS, MIN_SIDE, NETS, TRUNK_WEIGHT_IDS, LinearHeads, LPIPSTrunk, load_lpips_heads,
    load_lpips_trunk,
)
from kinema.eval.frames import as_float_video
from kinema.eval.protocol import MetricResult, make_protocol

SHIFT = (-0.030, -0.088, -0.188)  # v0.1 ScalingLayer, per RGB channel, on the [-1, 1] scale
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10  # added to the channel norm before dividing
METRIC_IDS = {"alex": "lpips-alex", "vgg": "lpips-vgg"}  # the registry's used_by names
PREPROCESSING = ("RGB frames to [-1, 1] (uint8 x / 127.5 - 1), no resize (pairs must match in size), "
                 "LPIPS v0.1 scaling (x - shift) / scale")


def unit_normalise(feat: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """(N, C, h, w) -> the same map divided by its per-position channel norm (+ eps)."""
    return feat / (feat.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


class LPIPS(nn.Module):
    """d(x0, x1) for image batches (N, 3, H, W) in [-1, 1] -> (N,) distances (module docstring)."""

    def __init__(self, net: str = "alex", trunk: LPIPSTrunk | None = None, heads: LinearHeads | None = None):
        super().__init__()
        check_choice("LPIPS net", net, NETS)
        self.net = net
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1), persistent=False)
        self.trunk = trunk if trunk is not None else LPIPSTrunk(net)
        self.heads = heads if heads is not None else LinearHeads(net)
        if self.trunk.net != net or self.heads.net != net:
            raise InputError(f"LPIPS net={net!r} given a {self.trunk.net!r} trunk and {self.heads.net!r} heads")

    @property
    def backbone_id(self) -> str:
        """Weight ids with their files' sha256 prefixes ("unloaded" for modules not read from a file)."""
        parts = []
        for wid, mod in ((TRUNK_WEIGHT_IDS[self.net], self.trunk), (HEAD_WEIGHT_IDS[self.net], self.heads)):
            sha = getattr(mod, "weights_sha256", None)
            parts.append(f"{wid}@sha256:{sha[:16]}" if sha else f"{wid}@unloaded")
        return "+".join(parts)

    def check_pair(self, x0: torch.Tensor, x1: torch.Tensor) -> None:
        if x0.shape != x1.shape:
            raise InputError(f"LPIPS compares images of the same size; got {tuple(x0.shape)} and "
                             f"{tuple(x1.shape)} (N, 3, H, W); resize one of them first")
        if x0.ndim != 4 or x0.shape[1] != 3:
            raise InputError(f"LPIPS expects (N, 3, H, W) images, got {tuple(x0.shape)}")
        if min(x0.shape[-2:]) < MIN_SIDE[self.net]:
            raise InputError(f"LPIPS-{self.net} needs frames of at least {MIN_SIDE[self.net]} px per side, "
                             f"got {x0.shape[-2]}x{x0.shape[-1]}")

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        self.check_pair(x0, x1)
        f0 = self.trunk((x0 - self.shift) / self.scale)
        f1 = self.trunk((x1 - self.shift) / self.scale)
        dist = 0
        for k, (a, b) in enumerate(zip(f0, f1)):
            diff = (unit_normalise(a) - unit_normalise(b)) ** 2  # (N, C_k, H_k, W_k)
            dist = dist + self.heads[k](diff).mean(dim=(2, 3))  # (N, 1)
        return dist[:, 0]


def load_lpips(net: str = "alex", trunk_path: str | os.PathLike | None = None,
               head_path: str | os.PathLike | None = None) -> LPIPS:
    """LPIPS v0.1 with the trunk and heads read from local files (see lpips_nets loaders), eval mode."""
    model = LPIPS(net, load_lpips_trunk(net, trunk_path), load_lpips_heads(net, head_path))
    return model.eval().requires_grad_(False)


# ---- videos ----------------------------------------------------------------------------------

def video_to_lpips_input(video, value_range=(-1.0, 1.0)) -> torch.Tensor:
    """A video (layouts of :mod:`kinema.eval.frames`) -> float32 (T, 3, H, W) in [-1, 1]."""
    x = as_float_video(video, value_range) / 127.5 - 1.0  # (T, H, W, 3), float64 as lpips.im2tensor
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).float()


@torch.no_grad()
def lpips_tensor_frames(model: LPIPS, a: torch.Tensor, b: torch.Tensor, batch_size: int = 16) -> np.ndarray:
    """(T,) float64 LPIPS of paired frames (T, 3, H, W) in [-1, 1], run ``batch_size`` frames at a time."""
    model.check_pair(a, b)
    device = model.shift.device
    out = [model(a[i:i + batch_size].to(device), b[i:i + batch_size].to(device)).cpu()
           for i in range(0, a.shape[0], batch_size)]
    return torch.cat(out).double().numpy()


def lpips_frames(model: LPIPS, video_a, video_b, value_range=(-1.0, 1.0), batch_size: int = 16) -> np.ndarray:
    """(T,) LPIPS between frame t of ``video_a`` and frame t of ``video_b``."""
    a, b = video_to_lpips_input(video_a, value_range), video_to_lpips_input(video_b, value_range)
    return lpips_tensor_frames(model, a, b, batch_size)


def lpips_video(model: LPIPS, video_a, video_b, value_range=(-1.0, 1.0), batch_size: int = 16) -> float:
    """Per-video LPIPS: the mean over frames of :func:`lpips_frames`."""
    return float(lpips_frames(model, video_a, video_b, value_range, batch_size).mean())


def lpips_score(model: LPIPS, generated: Sequence, reference: Sequence, value_range=(-1.0, 1.0),
                batch_size: int = 16) -> MetricResult:
    """Mean per-video LPIPS over pairs (generated[i], reference[i]), with its protocol."""
    if len(generated) != len(reference) or len(generated) == 0:
        raise InputError(f"LPIPS needs as many reference videos as generated ones (at least one); "
                         f"got {len(generated)} generated and {len(reference)} reference")
    values, shape = [], None
    for i, (g, r) in enumerate(zip(generated, reference)):
        a, b = video_to_lpips_input(g, value_range), video_to_lpips_input(r, value_range)  # (T, 3, H, W)
        if shape is not None and a.shape != shape:
            raise InputError(f"LPIPS over a set needs one video shape; video {i} is {tuple(a.shape)}, "
                             f"video 0 is {tuple(shape)} (T, 3, H, W)")
        shape = a.shape
        values.append(lpips_tensor_frames(model, a, b, batch_size).mean())
    t, _, h, w = shape
    proto = make_protocol(METRIC_IDS[model.net], backbone=model.backbone_id, n_real=len(reference),
                          n_generated=len(generated), frames=t, resolution=(h, w), preprocessing=PREPROCESSING,
                          aggregation="mean over frames, then mean over videos")
    return MetricResult(METRIC_IDS[model.net], float(np.mean(values)), proto)
