"""AMT-S frame interpolation (Li et al. 2023, "AMT: All-Pairs Multi-Field Transforms for Efficient
Frame Interpolation", CVPR), the interpolator behind VBench's motion smoothness.

The network is MCG-NKU/AMT's ``networks/AMT-S.py`` (VBench vendors the same code as
``vbench/third_party/amt``), built as ``cfgs/AMT-S.yaml`` builds it (radius 3, 4 correlation levels,
3 flows). That code is CC-BY-NC-4.0, so kinema does not ship it: ``$KINEMA_AMT_SRC`` names a local
checkout of MCG-NKU/AMT (the directory holding ``networks/``), the weights come from kinema's catalog
(weight id ``amt-s``). :class:`AmtS` adapts the call to kinema's: frames in [0, 1] (B, 3, H, W), the
time ``embt``, the interpolated frame clamped to [0, 1] out.

The frame pipeline VBench wraps around the network (divide by 255, pad, quantise) is
:class:`kinema.eval.backbones.amt_interp.AmtInterpolator`.
"""

from __future__ import annotations

import torch
from torch import nn

from kinema.errors import InputError
from kinema.eval.backbones.upstream import import_upstream

SRC_ENV = "KINEMA_AMT_SRC"  # an MCG-NKU/AMT checkout
WEIGHT_ID = "amt-s"  # MCG-NKU/AMT amt-s.pth (Vimeo90K), as VBench downloads it
AMT_S = {"corr_radius": 3, "corr_lvls": 4, "num_flows": 3}  # cfgs/AMT-S.yaml network.params


def min_size(corr_levels: int) -> int:
    """8 * 2^levels: the 1/8 correlation's last level (pooled ``levels - 1`` times) keeps 2 px."""
    return 8 * 2**corr_levels


MIN_SIZE = min_size(AMT_S["corr_lvls"])  # 128 for AMT-S


def check_frames(img0: torch.Tensor, img1: torch.Tensor, scale_factor: float = 1.0, min_side: int = MIN_SIZE) -> None:
    """Raise InputError unless img0, img1 are equal (B, 3, H, W) with H, W multiples of 16 (after
    rescaling) and at least ``min_side`` (128 for AMT-S): below that the coarsest correlation level
    is 1 px wide and the reference's sampler divides by ``W - 1 = 0`` (VBench's output is NaN)."""
    if img0.shape != img1.shape or img0.ndim != 4 or img0.shape[1] != 3:
        raise InputError(f"AMT expects two frames (B, 3, H, W) of the same shape, got "
                         f"{tuple(img0.shape)} and {tuple(img1.shape)}")
    h, w = (int(s * scale_factor) for s in img0.shape[-2:])
    if h % 16 or w % 16 or min(h, w) < min_side:
        raise InputError(f"AMT needs frames whose (rescaled) H, W are multiples of 16 and at least {min_side} px, "
                         f"got {h}x{w} (scale_factor={scale_factor}); pad them (AmtPadder), and upscale "
                         f"frames under {min_side - 15} px")


class AmtS(nn.Module):
    """MCG-NKU/AMT's AMT-S. ``forward(img0, img1, embt, scale_factor=1.0)``: two (B, 3, H, W) frames in
    [0, 1] and the time embt (B or 1, 1, 1, 1) -> the interpolated frame (B, 3, H, W) in [0, 1]."""

    def __init__(self, src=None, **params):
        super().__init__()
        module = import_upstream("networks.AMT-S", SRC_ENV, "MCG-NKU/AMT", "networks/AMT-S.py", src)
        params = {**AMT_S, **params}  # smaller networks for tests: corr_lvls, num_flows, channels, ...
        self.net = module.Model(**params)  # state-dict keys: the released file's, under "net."
        self.min_size = min_size(params["corr_lvls"])

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, embt: torch.Tensor,
                scale_factor: float = 1.0) -> torch.Tensor:
        check_frames(img0, img1, scale_factor, self.min_size)
        embt = embt.expand(img0.shape[0], 1, 1, 1)
        return self.net(img0, img1, embt, scale_factor=scale_factor, eval=True)["imgt_pred"]


def load_amt_state_dict(model: AmtS, sd: dict[str, torch.Tensor], source: str = "state dict") -> None:
    """Load an AMT-S state dict (the released file's keys) strictly; InputError names bad keys."""
    missing, unexpected = model.net.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise InputError(f"{source} is not an AMT-S state dict: {len(missing)} missing keys {missing[:5]}, "
                         f"{len(unexpected)} unexpected keys {unexpected[:5]}")


def load_amt(path=None, device: str | torch.device = "cpu", src=None) -> AmtS:
    """AMT-S with the ``amt-s`` weights (explicit path > environment > cache dir), in eval mode. The
    released file nests the weights under ``state_dict``; the loader unwraps it."""
    from kinema.eval.weights import load_state_dict, resolve_weights

    resolved = resolve_weights(WEIGHT_ID, path=path)
    model = AmtS(src)
    load_amt_state_dict(model, load_state_dict(resolved), source=str(resolved))
    return model.to(device).eval()
