"""AMT-S frame interpolation (Li et al. 2023, "AMT: All-Pairs Multi-Field Transforms for Efficient
Frame Interpolation", CVPR), the interpolator behind VBench's motion smoothness.

Forward pass (paper Sec. 3; ``vbench/third_party/amt/networks/AMT-S.py``), frames in [0, 1]:

1. subtract the mean of both frames (one scalar per pair), optionally rescale by ``scale_factor``;
2. correlation features (1/8, :mod:`amt_encoder`) -> bidirectional all-pairs correlation
   (:mod:`amt_corr`); context pyramids of both frames at 1/2 .. 1/16;
3. decoder 4 (1/16 -> 1/8) predicts flows F_t->0, F_t->1 and the feature ft from the coarsest
   features and t; at 1/8, 1/4 and 1/2 the flows are converted to 0 -> 1 / 1 -> 0 flows under a
   linear-motion assumption (x ``1/t`` and ``1/(1-t)``), used to look up the correlation, and a
   residual update (:mod:`amt_update`) refines flows and ft; decoders 3 and 2 then warp, refine and
   upsample (:mod:`amt_decoder`);
4. decoder 1 predicts ``num_flows`` flow pairs, masks and residuals at full resolution; the
   candidates are synthesised and merged (:func:`~amt_decoder.multi_flow_combine`) and the result
   clamped to [0, 1].

The frame pipeline VBench wraps around the network (divide by 255, pad, quantise) is
:class:`kinema.eval.backbones.amt_interp.AmtInterpolator`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from kinema.errors import InputError
from kinema.eval.backbones.amt_corr import BidirCorrBlock
from kinema.eval.backbones.amt_decoder import (
    InitDecoder,
    IntermediateDecoder,
    MultiFlowDecoder,
    multi_flow_combine,
)
from kinema.eval.backbones.amt_encoder import PyramidEncoder, SmallEncoder
from kinema.eval.backbones.amt_ops import resize
from kinema.eval.backbones.amt_update import SmallUpdateBlock
from kinema.eval.backbones.raft_corr import coords_grid

WEIGHT_ID = "amt-s"  # MCG-NKU/AMT amt-s.pth (Vimeo90K), as VBench downloads it


@dataclass(frozen=True)
class AMTConfig:
    corr_radius: int = 3  # lookup window radius r: (2r+1)^2 samples per level
    corr_levels: int = 4  # correlation pyramid levels
    num_flows: int = 3  # flow fields per direction at full resolution
    channels: tuple[int, ...] = (20, 32, 44, 56)  # context pyramid widths at 1/2, 1/4, 1/8, 1/16
    skip_channels: int = 20  # side channels of the decoders' ResBlocks
    feat_dim: int = 84  # correlation feature width
    hidden_dim: int = 76  # update block hidden width
    flow_dim: int = 20  # update block motion-encoder flow width
    corr_dim: int = 64  # update block correlation width
    fc_dim: int = 68  # update block fused motion-feature width


AMT_S = AMTConfig()  # the released AMT-S (cfgs/AMT-S.yaml: radius 3, 4 levels, 3 flows)


class AMT(nn.Module):
    """AMT network. ``forward(img0, img1, embt, scale_factor=1.0)`` takes two (B, 3, H, W) frames in
    [0, 1] (H, W multiples of 16 after rescaling, at least 128) and the time embt (B or 1, 1, 1, 1),
    and returns the interpolated frame (B, 3, H, W) clamped to [0, 1]."""

    def __init__(self, cfg: AMTConfig = AMT_S):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.feat_encoder = SmallEncoder(output_dim=cfg.feat_dim)
        self.encoder = PyramidEncoder(c)
        self.decoder4 = InitDecoder(c[3], c[2], cfg.skip_channels)
        self.decoder3 = IntermediateDecoder(c[2], c[1], cfg.skip_channels)
        self.decoder2 = IntermediateDecoder(c[1], c[0], cfg.skip_channels)
        self.decoder1 = MultiFlowDecoder(c[0], cfg.skip_channels, cfg.num_flows)
        self.update4 = self._update_block(c[2])  # at 1/8: same resolution as the correlation
        self.update3 = self._update_block(c[1], 2)  # at 1/4
        self.update2 = self._update_block(c[0], 4)  # at 1/2
        n = cfg.num_flows
        self.comb_block = nn.Sequential(nn.Conv2d(3 * n, 6 * n, 3, 1, 1), nn.PReLU(6 * n), nn.Conv2d(6 * n, 3, 3, 1, 1))

    @property
    def min_size(self) -> int:
        """Smallest frame side: the coarsest correlation level (1/8 / 2^(levels-1)) must keep 2 px."""
        return min_size(self.cfg.corr_levels)

    def _update_block(self, cdim: int, scale_factor: int | None = None) -> SmallUpdateBlock:
        cfg = self.cfg
        return SmallUpdateBlock(cdim, cfg.hidden_dim, cfg.flow_dim, cfg.corr_dim, cfg.fc_dim,
                                cfg.corr_levels, cfg.corr_radius, scale_factor)

    @staticmethod
    def _corr_lookup(corr_fn, coord, flow0, flow1, embt, downsample: int = 1):
        """Correlation along the flows at 1/8: t->1 flow / t ~ 0->1 flow; t->0 flow / (1 - t) ~ 1->0 flow."""
        if downsample != 1:
            inv = 1 / downsample
            flow0, flow1 = inv * resize(flow0, scale_factor=inv), inv * resize(flow1, scale_factor=inv)
        corr0, corr1 = corr_fn(coord + flow1 * (1.0 / embt), coord + flow0 * (1.0 / (1.0 - embt)))
        return torch.cat([corr0, corr1], dim=1), torch.cat([flow0, flow1], dim=1)

    def _refine(self, update, corr_fn, coord, flow0, flow1, ft, embt, downsample):
        """One correlation-guided residual update of (flow0, flow1, ft)."""
        corr, flow = self._corr_lookup(corr_fn, coord, flow0, flow1, embt, downsample)
        delta_ft, delta_flow = update(ft, flow, corr)
        delta_flow0, delta_flow1 = torch.chunk(delta_flow, 2, 1)
        return flow0 + delta_flow0, flow1 + delta_flow1, ft + delta_ft

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, embt: torch.Tensor,
                scale_factor: float = 1.0) -> torch.Tensor:
        check_frames(img0, img1, scale_factor, self.min_size)
        embt = embt.expand(img0.shape[0], 1, 1, 1)
        mean_ = torch.cat([img0, img1], 2).mean(1, keepdim=True).mean(2, keepdim=True).mean(3, keepdim=True)
        img0, img1 = img0 - mean_, img1 - mean_  # mean_: (B, 1, 1, 1)
        img0_ = resize(img0, scale_factor) if scale_factor != 1.0 else img0
        img1_ = resize(img1, scale_factor) if scale_factor != 1.0 else img1
        b, _, h, w = img0_.shape
        coord = coords_grid(b, h // 8, w // 8, img0.device)  # (B, 2, h/8, w/8)

        fmap0, fmap1 = self.feat_encoder([img0_, img1_])  # (B, feat_dim, h/8, w/8) each
        corr_fn = BidirCorrBlock(fmap0, fmap1, levels=self.cfg.corr_levels, radius=self.cfg.corr_radius)
        f0_1, f0_2, f0_3, f0_4 = self.encoder(img0_)  # 1/2, 1/4, 1/8, 1/16
        f1_1, f1_2, f1_3, f1_4 = self.encoder(img1_)

        flow0, flow1, ft = self.decoder4(f0_4, f1_4, embt)  # 1/8
        flow0, flow1, ft = self._refine(self.update4, corr_fn, coord, flow0, flow1, ft, embt, 1)
        flow0, flow1, ft = self.decoder3(ft, f0_3, f1_3, flow0, flow1)  # 1/4
        flow0, flow1, ft = self._refine(self.update3, corr_fn, coord, flow0, flow1, ft, embt, 2)
        flow0, flow1, ft = self.decoder2(ft, f0_2, f1_2, flow0, flow1)  # 1/2
        flow0, flow1, ft = self._refine(self.update2, corr_fn, coord, flow0, flow1, ft, embt, 4)
        flow0, flow1, mask, img_res = self.decoder1(ft, f0_1, f1_1, flow0, flow1)  # full (rescaled) size

        if scale_factor != 1.0:
            inv = 1.0 / scale_factor
            flow0, flow1 = resize(flow0, scale_factor=inv) * inv, resize(flow1, scale_factor=inv) * inv
            mask, img_res = resize(mask, scale_factor=inv), resize(img_res, scale_factor=inv)
        imgt_pred = multi_flow_combine(self.comb_block, img0, img1, flow0, flow1, mask, img_res, mean_)
        return torch.clamp(imgt_pred, 0, 1)


def min_size(corr_levels: int) -> int:
    """8 * 2^levels: the 1/8 correlation's last level (pooled ``levels - 1`` times) keeps 2 px."""
    return 8 * 2**corr_levels


MIN_SIZE = min_size(AMT_S.corr_levels)  # 128 for AMT-S


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


def load_amt_state_dict(model: AMT, sd: dict[str, torch.Tensor], source: str = "state dict") -> None:
    """Load an AMT state dict (the released file's keys) strictly; InputError names bad keys."""
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise InputError(f"{source} is not an AMT-S state dict: {len(missing)} missing keys {missing[:5]}, "
                         f"{len(unexpected)} unexpected keys {unexpected[:5]}")


def load_amt(path=None, device: str | torch.device = "cpu") -> AMT:
    """AMT-S with the ``amt-s`` weights (explicit path > environment > cache dir), in eval mode. The
    released file nests the weights under ``state_dict``; the loader unwraps it."""
    from kinema.eval.weights import load_state_dict, resolve_weights

    resolved = resolve_weights(WEIGHT_ID, path=path)
    model = AMT(AMT_S)
    load_amt_state_dict(model, load_state_dict(resolved), source=str(resolved))
    return model.to(device).eval()
