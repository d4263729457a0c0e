"""RAFT-large optical flow (Teed & Deng 2020, "RAFT: Recurrent All-Pairs Field Transforms"), as
VBench's dynamic degree runs it.

Pipeline (paper Sec. 3; princeton-vl/RAFT ``core/raft.py``, test mode):

1. frames on the 0..255 scale -> ``2 (x / 255) - 1``;
2. feature encoder on both frames, context encoder on frame 1 (split into tanh(hidden) and
   relu(context));
3. correlation pyramid (:mod:`raft_corr`), flow initialised to zero at 1/8 resolution;
4. ``iters`` updates ``f <- f + delta_f`` of the recurrent operator (:mod:`raft_update`);
5. convex upsampling of the last estimate: each full-resolution pixel is a softmax-weighted
   combination of the 3x3 coarse neighbours of 8 f (Sec. 3.3).

VBench (``vbench/dynamic_degree.py``) builds ``RAFT(small=False, mixed_precision=False,
alternate_corr=False)``, loads ``raft-things.pth`` with the ``module.`` prefix removed, pads every
frame pair with ``InputPadder`` (replicate, 'sintel' mode) and runs 20 iterations in float32. Note
that VBench then scores the *padded* flow; :func:`raft_flow` unpads unless ``unpad=False``.

Frames whose padded size is below 128 px are refused: the coarsest pyramid level is then 1 px wide
and the original's sampler divides by ``W - 1 = 0`` (its output is NaN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kinema.config import check_choice
from kinema.errors import InputError
from kinema.eval.backbones.raft_corr import CORR_LEVELS, CORR_RADIUS, CorrBlock, coords_grid
from kinema.eval.backbones.raft_encoder import BasicEncoder
from kinema.eval.backbones.raft_keys import load_raft_state_dict
from kinema.eval.backbones.raft_update import BasicUpdateBlock

WEIGHT_ID = "raft-things"  # princeton-vl/RAFT models/raft-things.pth (FlyingChairs + FlyingThings3D)
HIDDEN_DIM, CONTEXT_DIM = 128, 128
DOWNSAMPLE = 8  # encoders work at 1/8 resolution
MIN_SIZE = DOWNSAMPLE * 2 ** CORR_LEVELS  # 128: the coarsest correlation level must be >= 2 px
VBENCH_ITERS = 20
PAD_MODES = ("sintel", "kitti")


def upsample_flow(flow: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Convex upsampling: flow (B, 2, h, w), mask logits (B, 576, h, w) -> (B, 2, 8h, 8w)."""
    B, _, h, w = flow.shape
    mask = torch.softmax(mask.view(B, 1, 9, 8, 8, h, w), dim=2)  # weights over the 3x3 neighbours
    neighbours = F.unfold(8 * flow, [3, 3], padding=1).view(B, 2, 9, 1, 1, h, w)
    up = torch.sum(mask * neighbours, dim=2)  # (B, 2, 8, 8, h, w)
    return up.permute(0, 1, 4, 2, 5, 3).reshape(B, 2, 8 * h, 8 * w)


class RAFT(nn.Module):
    """RAFT-large. ``forward(image1, image2, iters)`` takes (B, 3, H, W) float frames on the
    0..255 scale with H, W multiples of 8 (at least 128) and returns the upsampled flow
    (B, 2, H, W) of the last iteration, from frame 1 to frame 2, in pixels (x, y).
    """

    def __init__(self):
        super().__init__()
        self.hidden_dim, self.context_dim = HIDDEN_DIM, CONTEXT_DIM
        self.fnet = BasicEncoder(output_dim=256, norm="instance")  # features for the correlation
        self.cnet = BasicEncoder(output_dim=HIDDEN_DIM + CONTEXT_DIM, norm="batch")  # h0 and context
        self.update_block = BasicUpdateBlock(CORR_LEVELS * (2 * CORR_RADIUS + 1) ** 2, hidden_dim=HIDDEN_DIM)

    def forward(self, image1: torch.Tensor, image2: torch.Tensor, iters: int = VBENCH_ITERS) -> torch.Tensor:
        check_padded_pair(image1, image2)
        image1 = (2 * (image1 / 255.0) - 1.0).contiguous()
        image2 = (2 * (image2 / 255.0) - 1.0).contiguous()
        B = image1.shape[0]
        fmap1, fmap2 = self.fnet(torch.cat([image1, image2], dim=0)).float().split([B, B], dim=0)
        corr_fn = CorrBlock(fmap1, fmap2)
        net, inp = torch.split(self.cnet(image1), [self.hidden_dim, self.context_dim], dim=1)
        net, inp = torch.tanh(net), torch.relu(inp)

        _, _, h, w = fmap1.shape
        coords0 = coords_grid(B, h, w, image1.device)  # (B, 2, H/8, W/8)
        coords1 = coords0.clone()  # flow = coords1 - coords0 starts at zero
        for _ in range(iters):
            corr = corr_fn(coords1)  # (B, 324, H/8, W/8)
            net, up_mask, delta_flow = self.update_block(net, inp, corr, coords1 - coords0)
            coords1 = coords1 + delta_flow
        return upsample_flow(coords1 - coords0, up_mask)


def check_padded_pair(image1: torch.Tensor, image2: torch.Tensor) -> None:
    """Raise InputError unless both are (B, 3, H, W) with H, W multiples of 8 and >= 128."""
    if image1.shape != image2.shape or image1.ndim != 4 or image1.shape[1] != 3:
        raise InputError(f"RAFT expects two frames (B, 3, H, W) of the same shape, got "
                         f"{tuple(image1.shape)} and {tuple(image2.shape)}")
    h, w = image1.shape[-2:]
    if h % DOWNSAMPLE or w % DOWNSAMPLE or min(h, w) < MIN_SIZE:
        raise InputError(f"RAFT needs padded frames with H, W multiples of {DOWNSAMPLE} and at least "
                         f"{MIN_SIZE} px, got {h}x{w}; pad with InputPadder, and upscale frames under "
                         f"{MIN_SIZE - DOWNSAMPLE + 1} px")


class InputPadder:
    """Replicate-pad frames so H and W are multiples of 8, and crop flows back (as the original's
    ``InputPadder``): 'sintel' mode splits the padding evenly (extra pixel at the bottom/right),
    'kitti' mode pads only the bottom vertically."""

    def __init__(self, dims: tuple[int, ...], mode: str = "sintel"):
        check_choice("InputPadder mode", mode, PAD_MODES)
        self.ht, self.wd = dims[-2:]
        pad_ht = (-self.ht) % DOWNSAMPLE
        pad_wd = (-self.wd) % DOWNSAMPLE
        top = pad_ht // 2 if mode == "sintel" else 0
        self._pad = [pad_wd // 2, pad_wd - pad_wd // 2, top, pad_ht - top]  # left, right, top, bottom

    def pad(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        return [F.pad(x, self._pad, mode="replicate") for x in inputs]

    def unpad(self, x: torch.Tensor) -> torch.Tensor:
        ht, wd = x.shape[-2:]
        left, right, top, bottom = self._pad
        return x[..., top:ht - bottom, left:wd - right]


def as_raft_frames(frame: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 or float (B, 3, H, W) / (3, H, W) on the 0..255 scale -> float32 (B, 3, H, W)."""
    if not isinstance(frame, torch.Tensor):
        raise InputError(f"raft_flow expects torch tensors, got {type(frame).__name__}")
    if frame.dtype != torch.uint8 and not frame.is_floating_point():
        raise InputError(f"raft_flow expects uint8 or float frames on the 0..255 scale, got {frame.dtype}")
    if frame.ndim == 3:
        frame = frame[None]
    if frame.ndim != 4 or frame.shape[1] != 3:
        raise InputError(f"raft_flow expects frames (B, 3, H, W) or (3, H, W), got {tuple(frame.shape)}")
    return frame.to(device=device, dtype=torch.float32)


@torch.no_grad()
def raft_flow(model: RAFT, frame1: torch.Tensor, frame2: torch.Tensor, iters: int = VBENCH_ITERS,
              unpad: bool = True) -> torch.Tensor:
    """Flow from frame1 to frame2, float32 (B, 2, H, W) in pixels, as VBench computes it.

    Frames are uint8 or float on the 0..255 scale, channels first. They are replicate-padded to
    multiples of 8 ('sintel' mode) before the network; the flow is cropped back to (H, W) unless
    ``unpad=False`` (VBench's dynamic degree scores the padded flow).
    """
    if model.training:
        raise InputError("raft_flow needs the model in eval mode (batch-norm running statistics); "
                         "call model.eval() first")
    if not isinstance(iters, int) or iters < 1:
        raise InputError(f"iters={iters!r} must be a positive integer (VBench uses {VBENCH_ITERS})")
    device = next(model.parameters()).device
    image1, image2 = as_raft_frames(frame1, device), as_raft_frames(frame2, device)
    if image1.shape != image2.shape:
        raise InputError(f"frames differ in shape: {tuple(image1.shape)} vs {tuple(image2.shape)}")
    padder = InputPadder(image1.shape)
    flow = model(*padder.pad(image1, image2), iters=iters)  # (B, 2, H8, W8)
    return padder.unpad(flow) if unpad else flow


def load_raft(path=None, device: str | torch.device = "cpu") -> RAFT:
    """RAFT-large with the ``raft-things`` weights (explicit path > environment > cache dir), in eval
    mode. Accepts the file as princeton-vl saved it (``module.`` keys) or without the prefix."""
    from kinema.eval.weights import load_state_dict, resolve_weights

    resolved = resolve_weights(WEIGHT_ID, path=path)
    model = RAFT()
    load_raft_state_dict(model, load_state_dict(resolved), source=str(resolved))
    return model.to(device).eval()
