"""Inflated Inception-v1 (I3D; Carreira & Zisserman 2017, "Quo Vadis, Action Recognition?"), the
feature network of FVD (Unterthiner et al. 2018; Wang et al. 2026, I2V survey Eq. 6) as TATS and cd-fvd run it.

The network is the PyTorch port of the Kinetics-400 I3D used by TATS (Ge et al. 2022) and
content-debiased FVD (cd-fvd, Ge et al. 2024), with weights ``i3d_pretrained_400.pt``. Details the
checkpoint and the reference numbers depend on:

* TensorFlow "SAME" padding, computed from the input size at run time (zeros, also before max
  pooling), never the convolutions' own padding;
* BatchNorm eps 1e-5; the 1x1x1 logits convolution has a bias and no BatchNorm;
* the FVD feature is the 400-way logit vector: ``avg_pool(2, 7, 7)`` over ``Mixed_5c``, the logits
  convolution, then the mean over the remaining time steps (one step for 16 frames at 224x224).

Preprocessing (TATS ``tats/fvd/fvd.py: preprocess`` = cd-fvd ``preprocess_i3d``): uint8 frames cast
to float on the 0..255 scale, resized to 224x224 by ``F.interpolate(mode="bilinear",
align_corners=False)`` without antialiasing and without keeping the aspect ratio, then mapped to
[-1, 1] by ``2 x / 255 - 1``. kinema feeds the first ``frames`` (16) frames of each video and
refuses shorter ones (TATS crops ``video[:sequence_length]`` and asserts the length; cd-fvd's own
array entry point would feed all frames, which changes the features).

State-dict keys equal those of ``i3d_pretrained_400.pt``: ``{Conv3d_1a_7x7, Conv3d_2b_1x1,
Conv3d_2c_3x3}.{conv3d,bn}.*``, ``Mixed_{3b..5c}.{b0,b1a,b1b,b2a,b2b,b3b}.{conv3d,bn}.*`` and
``logits.conv3d.{weight,bias}``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kinema.errors import ConfigError, InputError

WEIGHT_ID = "i3d-tats-400"  # i3d_pretrained_400.pt (github.com/songweige/TATS, tats/fvd/)
RESOLUTION = 224  # every frame is resized to RESOLUTION x RESOLUTION
FRAMES = 16  # FVD-16: the first 16 frames of each video
MIN_FRAMES = 9  # fewer leave one time step after the three stride-2 stages, too few for the (2, 7, 7) pool

# (name, out channels of branches b0, b1a, b1b, b2a, b2b, b3b); input channels follow from the previous
MIXED = {
    "3b": (64, 96, 128, 16, 32, 32), "3c": (128, 128, 192, 32, 96, 64),
    "4b": (192, 96, 208, 16, 48, 64), "4c": (160, 112, 224, 24, 64, 64), "4d": (128, 128, 256, 24, 64, 64),
    "4e": (112, 144, 288, 32, 64, 64), "4f": (256, 160, 320, 32, 128, 128),
    "5b": (256, 160, 320, 32, 128, 128), "5c": (384, 192, 384, 48, 128, 128),
}


def same_pad(x: torch.Tensor, kernel: tuple, stride: tuple) -> torch.Tensor:
    """Zero-pad (B, C, T, H, W) as TensorFlow's "SAME" would for this kernel and stride."""
    pads = []
    for size, k, s in zip(x.shape[2:], kernel, stride):
        total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
        pads.append((total // 2, total - total // 2))
    (t0, t1), (h0, h1), (w0, w1) = pads
    return F.pad(x, (w0, w1, h0, h1, t0, t1))


class Unit3D(nn.Module):
    """SAME-padded Conv3d, then BatchNorm and ReLU (the logits unit has neither, but a bias)."""

    def __init__(self, c_in: int, c_out: int, kernel=(1, 1, 1), stride=(1, 1, 1), logits: bool = False):
        super().__init__()
        self.kernel, self.stride, self.logits = tuple(kernel), tuple(stride), logits
        self.conv3d = nn.Conv3d(c_in, c_out, self.kernel, self.stride, padding=0, bias=logits)
        if not logits:
            self.bn = nn.BatchNorm3d(c_out, eps=1e-5, momentum=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(same_pad(x, self.kernel, self.stride))
        return x if self.logits else F.relu(self.bn(x))


class MaxPoolSame(nn.Module):
    """Max pooling after zero "SAME" padding (inputs are post-ReLU, so zeros never win wrongly)."""

    def __init__(self, kernel, stride):
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(same_pad(x, self.kernel, self.stride), self.kernel, self.stride)


class InceptionModule(nn.Module):
    """Four parallel branches (1x1; 1x1 -> 3x3x3; 1x1 -> 3x3x3; 3x3x3 max -> 1x1), concatenated."""

    def __init__(self, c_in: int, widths: tuple):
        super().__init__()
        w0, w1a, w1b, w2a, w2b, w3b = widths
        self.b0 = Unit3D(c_in, w0)
        self.b1a, self.b1b = Unit3D(c_in, w1a), Unit3D(w1a, w1b, (3, 3, 3))
        self.b2a, self.b2b = Unit3D(c_in, w2a), Unit3D(w2a, w2b, (3, 3, 3))
        self.b3a, self.b3b = MaxPoolSame((3, 3, 3), (1, 1, 1)), Unit3D(c_in, w3b)
        self.out_channels = w0 + w1b + w2b + w3b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], 1)


class InceptionI3d(nn.Module):
    """I3D up to the 400-way (``num_classes``) logits, averaged over time: (B, 3, T, 224, 224) -> (B, C)."""

    def __init__(self, num_classes: int = 400, in_channels: int = 3):
        super().__init__()
        layers: list[tuple[str, nn.Module]] = [
            ("Conv3d_1a_7x7", Unit3D(in_channels, 64, (7, 7, 7), (2, 2, 2))),
            ("MaxPool3d_2a_3x3", MaxPoolSame((1, 3, 3), (1, 2, 2))),
            ("Conv3d_2b_1x1", Unit3D(64, 64)),
            ("Conv3d_2c_3x3", Unit3D(64, 192, (3, 3, 3))),
            ("MaxPool3d_3a_3x3", MaxPoolSame((1, 3, 3), (1, 2, 2))),
        ]
        pools = {"4b": ("MaxPool3d_4a_3x3", (3, 3, 3)), "5b": ("MaxPool3d_5a_2x2", (2, 2, 2))}
        channels = 192
        for name, widths in MIXED.items():
            if name in pools:
                pool_name, kernel = pools[name]
                layers.append((pool_name, MaxPoolSame(kernel, (2, 2, 2))))
            block = InceptionModule(channels, widths)
            layers.append((f"Mixed_{name}", block))
            channels = block.out_channels
        self.order = [name for name, _ in layers]
        for name, layer in layers:
            self.add_module(name, layer)
        self.logits = Unit3D(channels, num_classes, logits=True)
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.order:
            x = getattr(self, name)(x)  # ... -> (B, 1024, T/8, 7, 7) at 224x224
        x = self.logits(F.avg_pool3d(x, (2, 7, 7), stride=1))  # (B, C, T/8 - 1, 1, 1)
        return x.squeeze(3).squeeze(3).mean(2)  # (B, C): logits averaged over time


def uint8_videos(videos, frames: int, who: str) -> torch.Tensor:
    """Check uint8 (N, T, H, W, 3) videos and keep the first ``frames`` frames of each.

    Videos shorter than ``frames`` are refused: the protocol's number is defined on exactly that
    many frames, and padding or looping would invent motion.
    """
    x = torch.from_numpy(np.asarray(videos)) if not isinstance(videos, torch.Tensor) else videos
    if x.ndim != 5 or x.shape[-1] != 3:
        raise InputError(f"{who} takes uint8 videos (N, T, H, W, 3), got shape {tuple(x.shape)}")
    if x.dtype != torch.uint8:
        raise InputError(f"{who} takes uint8 videos (values 0..255), got dtype {x.dtype}; "
                         "convert with kinema.eval.as_uint8_video")
    if x.shape[1] < frames:
        raise InputError(f"{who} needs at least {frames} frames per video (its protocol uses the first "
                         f"{frames}), got T={x.shape[1]}; generate longer videos or use a protocol with fewer frames")
    return x[:, :frames]


def tats_preprocess(videos: torch.Tensor, size: int = RESOLUTION) -> torch.Tensor:
    """uint8 (N, T, H, W, 3) -> float (N, 3, T, size, size) in [-1, 1], as TATS / cd-fvd."""
    n, t, _, _, c = videos.shape
    x = videos.float().flatten(0, 1).permute(0, 3, 1, 2)  # (N, T, H, W, 3) -> (N*T, 3, H, W), 0..255
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = x.reshape(n, t, c, size, size).transpose(1, 2)  # (N*T, 3, S, S) -> (N, 3, T, S, S)
    return 2.0 * x / 255.0 - 1.0


class TATSI3DFeatures:
    """FVD features of the TATS / cd-fvd protocol: uint8 (N, T, H, W, 3) -> float64 (N, 400) logits."""

    def __init__(self, model: InceptionI3d, frames: int = FRAMES, device: str | torch.device = "cpu",
                 backbone_id: str = WEIGHT_ID):
        if frames < MIN_FRAMES:
            raise ConfigError(f"frames={frames}: the I3D's final (2, 7, 7) pooling needs at least {MIN_FRAMES}")
        self.model = model.eval().to(device)
        self.device, self.frames, self.backbone_id = torch.device(device), frames, backbone_id
        self.dim = model.num_classes
        self.resolution = (RESOLUTION, RESOLUTION)
        self.preprocessing = (f"first {frames} frames; each frame resized to {RESOLUTION}x{RESOLUTION} "
                              "(bilinear, align_corners=False, no antialias, aspect ratio not kept) on the "
                              "0..255 float scale, then 2x/255-1 to [-1, 1] (TATS / cd-fvd preprocess_i3d); "
                              "feature: 400-way I3D logits averaged over time")

    @torch.no_grad()
    def __call__(self, videos) -> torch.Tensor:
        x = uint8_videos(videos, self.frames, "fvd-tats (I3D)").to(self.device)
        return self.model(tats_preprocess(x)).double().cpu()


def load_i3d(path=None, device: str | torch.device = "cpu", frames: int = FRAMES) -> TATSI3DFeatures:
    """The TATS / cd-fvd I3D feature extractor with ``i3d_pretrained_400.pt`` from a local file."""
    from kinema.eval.weights import load_state_dict, resolve_weights

    state = load_state_dict(resolve_weights(WEIGHT_ID, path=path))  # fails fast if the file is missing
    model = InceptionI3d(400)
    model.load_state_dict(state)
    return TATSI3DFeatures(model, frames=frames, device=device)
