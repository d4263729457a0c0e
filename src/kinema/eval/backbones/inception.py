"""The FID Inception-v3: TensorFlow's 2015-12-05 ImageNet graph (Szegedy et al. 2016), as FID,
KID and IS use it (Heusel et al. 2017; Wang et al. 2026, I2V survey Eq. 6-7), and its three reference input pipelines.

The network differs from torchvision's Inception-v3 in the ways the TF graph does: 1008-way
logits, average pools in the A, C and first E blocks that exclude padding from the mean, and a max
pool (not an average pool) in the pool branch of the last E block (``Mixed_7c``). Sub-module names
follow torchvision / pytorch-fid, so ``pt_inception-2015-12-05-6726825d.pth`` (pytorch-fid) loads
as saved; torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth`` uses the same key names
(its module declares the same attributes), so no key map is needed for either file. Files saved
before BatchNorm had ``num_batches_tracked`` still load (the counter is filled in; it is unused in
eval mode).

Input pipelines (:data:`PROTOCOLS`), all fed uint8 RGB frames:

* ``pytorch-fid`` (v0.3): ``u8 / 255``, ``F.interpolate`` bilinear to 299 (``align_corners=False``,
  no antialias), ``2 x - 1``; features: the 2048-d pool3 vector (or its ``--dims`` 64 / 192 / 768).
* ``torch-fidelity`` (v0.4): float ``0..255``, bilinear resize to 299 as TensorFlow 1.x computes it
  (source coordinate ``dst * in / out`` without the half-pixel offset; :func:`resize_bilinear_tf1`),
  ``(x - 128) / 128``; FID/KID use pool3 (``"2048"``), IS uses ``logits_unbiased`` (the fc layer
  without its bias).
* ``torchmetrics`` (v1.x default, ``antialias=True``): as torch-fidelity but resized with
  ``F.interpolate(..., antialias=True)``. With ``antialias=False`` torchmetrics equals torch-fidelity.

Feature names follow torch-fidelity (:data:`FEATURE_DIMS`): ``"64"``, ``"192"``, ``"768"`` (spatial
means of earlier layers), ``"2048"`` (pool3), ``"logits_unbiased"``, ``"logits"``. The frames reach
the network as contiguous (N, 3, H, W) tensors, as in the references: with a channels-last layout
torch picks other kernels and the features move by about 1e-6.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kinema.config import check_choice
from kinema.errors import InputError

WEIGHT_ID = "inception-fid"  # weights: pt_inception-2015-12-05-6726825d.pth (pytorch-fid release fid_weights)
INPUT_SIZE = 299  # the graph's input resolution
N_CLASSES = 1008  # 1000 ImageNet classes + 8 unused outputs of the 2015 graph
# torch-fidelity's feature names: spatial means after the first and second max pool and before the
# auxiliary head (pytorch-fid's --dims 64 / 192 / 768), pool3, and the fc output without / with bias.
FEATURE_DIMS = {"64": 64, "192": 192, "768": 768, "2048": 2048, "logits_unbiased": N_CLASSES, "logits": N_CLASSES}
POOLED_FEATURES = ("64", "192", "768", "2048")  # the ones FID and KID may use


class BasicConv2d(nn.Module):
    """Convolution without bias, BatchNorm (eps 1e-3, TF's value), ReLU."""

    def __init__(self, c_in: int, c_out: int, **conv_kwargs):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, bias=False, **conv_kwargs)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


def tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """3x3 stride-1 average pool whose mean ignores the zero padding (TF 'SAME' average pool)."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    """35x35 block: 1x1, 5x5, double 3x3 and pool branches (Mixed_5b..5d)."""

    def __init__(self, c_in: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(c_in, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(c_in, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(tf_avg_pool(x))], 1)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17 (Mixed_6a)."""

    def __init__(self, c_in: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(c_in, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    """17x17 block with factorised 7x7 convolutions (Mixed_6b..6e)."""

    def __init__(self, c_in: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(c_in, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(c_in, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(c_in, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(c_in, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for i in range(1, 6):
            bd = getattr(self, f"branch7x7dbl_{i}")(bd)
        return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(tf_avg_pool(x))], 1)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8 (Mixed_7a)."""

    def __init__(self, c_in: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(c_in, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(c_in, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """8x8 block with split 1x3 / 3x1 outputs (Mixed_7b with ``pool="avg"``, Mixed_7c with "max")."""

    def __init__(self, c_in: int, pool: str):
        super().__init__()
        check_choice("InceptionE pool", pool, ("avg", "max"))
        self.pool = pool
        self.branch1x1 = BasicConv2d(c_in, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(c_in, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(c_in, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(c_in, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        # The 2015 graph max-pools in Mixed_7c's pool branch (a quirk of that graph, kept for FID).
        pooled = tf_avg_pool(x) if self.pool == "avg" else F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """The FID Inception-v3 trunk and its 1008-way fc; input (N, 3, 299, 299) in [-1, 1]."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool="avg")
        self.Mixed_7c = InceptionE(2048, pool="max")
        self.fc = nn.Linear(2048, N_CLASSES)
        self.weights_sha256: str | None = None  # set by load_inception; part of the backbone id

    def forward(self, x: torch.Tensor, layer: str = "2048") -> torch.Tensor:
        """(N, 3, 299, 299) in [-1, 1] -> spatial mean of ``layer`` (N, C); "2048" is pool3.

        Earlier layers stop early, as the references do (cheap FID/KID at 64 or 192 dims).
        """
        check_choice("Inception layer", layer, POOLED_FEATURES)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # (N, 64, 147, 147)
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # (N, 64, 73, 73)
        if layer != "64":
            x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))  # (N, 192, 71, 71)
            x = F.max_pool2d(x, kernel_size=3, stride=2)  # (N, 192, 35, 35)
        blocks = {"64": (), "192": (), "768": ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e")}.get(
            layer, ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"))
        for name in blocks:
            x = getattr(self, f"Mixed_{name}")(x)  # ... -> (N, 768, 17, 17) -> (N, 2048, 8, 8)
        return F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)  # (N, C)

    def logits_unbiased(self, pool3: torch.Tensor) -> torch.Tensor:
        """pool3 (N, 2048) -> fc without bias (N, 1008): torch-fidelity's input to IS."""
        return pool3.mm(self.fc.weight.T)

    def logits(self, pool3: torch.Tensor) -> torch.Tensor:
        """pool3 (N, 2048) -> class logits (N, 1008)."""
        return self.logits_unbiased(pool3) + self.fc.bias.unsqueeze(0)


# ---- loading ---------------------------------------------------------------------------------

def load_inception_state(net: FIDInceptionV3, state: dict[str, torch.Tensor]) -> FIDInceptionV3:
    """Load a pytorch-fid / torch-fidelity state dict strictly (InputError naming bad keys)."""
    state = dict(state)
    for key, value in net.state_dict().items():  # files older than BatchNorm's step counter
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(value)
    missing, unexpected = sorted(set(net.state_dict()) - set(state)), sorted(set(state) - set(net.state_dict()))
    if missing or unexpected:
        raise InputError(f"not an FID Inception-v3 state dict: missing {missing[:5]} ({len(missing)}), "
                         f"unexpected {unexpected[:5]} ({len(unexpected)}); expected "
                         "pt_inception-2015-12-05-6726825d.pth (pytorch-fid) or torch-fidelity's file")
    net.load_state_dict(state)
    return net


def load_inception(path: str | os.PathLike | None = None) -> FIDInceptionV3:
    """The FID Inception-v3 in eval mode, weights from ``path`` or the registry id ``inception-fid``."""
    from kinema.checkpoint import sha256_file
    from kinema.eval.weights import get_spec, load_state_dict, resolve_weights

    resolved = resolve_weights(WEIGHT_ID, path=path)
    net = load_inception_state(FIDInceptionV3(), load_state_dict(resolved))
    net.weights_sha256 = sha256_file(resolved)
    published = get_spec(WEIGHT_ID).sha256
    if published and net.weights_sha256 != published:
        warnings.warn(f"{resolved}: sha256 {net.weights_sha256[:16]}… is not the published file's "
                      f"({published[:16]}…); values made with it are not comparable with published FID/KID/IS "
                      "(the backbone id records the hash)", UserWarning, stacklevel=2)
    return net.eval().requires_grad_(False)


# ---- input pipelines -------------------------------------------------------------------------

def resize_bilinear_tf1(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) float -> (N, C, size, size), bilinear as TensorFlow 1.x ``resize_bilinear``.

    TF 1.x with ``align_corners=False`` maps output pixel ``i`` to source ``i * in / out`` (no
    half-pixel centres) and blends the two nearest rows/columns, the upper one clamped to the edge.
    The arithmetic order matches torch-fidelity's ``interpolate_bilinear_2d_like_tensorflow1x``
    (its "slow", bit-exact-on-CPU method), including the float32 scale.
    """
    def taps(n_in: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pos = torch.arange(size, dtype=x.dtype, device=x.device) * torch.tensor(n_in / size, dtype=torch.float32)
        lo = pos.long()
        return lo, (lo + 1).clamp_max(n_in - 1), pos - lo.float()

    y_lo, y_hi, dy = taps(x.shape[2])
    x_lo, x_hi, dx = taps(x.shape[3])
    rows_lo, rows_hi = x.index_select(2, y_lo), x.index_select(2, y_hi)  # (N, C, size, W)
    x00, x01 = rows_lo.index_select(3, x_lo), rows_lo.index_select(3, x_hi)  # (N, C, size, size)
    x10, x11 = rows_hi.index_select(3, x_lo), rows_hi.index_select(3, x_hi)
    dx = dx.view(1, 1, 1, size)
    top, bottom = x00 + (x01 - x00) * dx, x10 + (x11 - x10) * dx
    return top + (bottom - top) * dy.view(1, 1, size, 1)  # (N, C, size, size)


def _pytorch_fid_input(u8: torch.Tensor) -> torch.Tensor:
    x = u8.float() / 255  # torchvision ToTensor
    x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return 2 * x - 1


def _torch_fidelity_input(u8: torch.Tensor) -> torch.Tensor:
    return (resize_bilinear_tf1(u8.float(), INPUT_SIZE) - 128) / 128


def _torchmetrics_input(u8: torch.Tensor) -> torch.Tensor:
    x = F.interpolate(u8.float(), size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False,
                      antialias=True)
    return (x - 128) / 128


@dataclass(frozen=True)
class InceptionProtocol:
    name: str
    to_input: Callable[[torch.Tensor], torch.Tensor]  # uint8 (N, 3, H, W) -> float (N, 3, 299, 299) in [-1, 1]
    description: str  # the preprocessing in words
    features: tuple[str, ...]  # feature layers this reference offers


PROTOCOLS = {
    "pytorch-fid": InceptionProtocol(
        "pytorch-fid", _pytorch_fid_input,
        "pytorch-fid 0.3: uint8 RGB / 255 (float32), bilinear resize to 299x299 with torch interpolate "
        "(align_corners=False, no antialias), then 2x-1 to [-1, 1]; no re-quantisation", POOLED_FEATURES),
    "torch-fidelity": InceptionProtocol(
        "torch-fidelity", _torch_fidelity_input,
        "torch-fidelity 0.4: uint8 RGB as float32 0..255, bilinear resize to 299x299 as TensorFlow 1.x "
        "(align_corners=False, source = dst*in/out, no antialias), then (x-128)/128; no re-quantisation",
        POOLED_FEATURES + ("logits_unbiased", "logits")),
    "torchmetrics": InceptionProtocol(
        "torchmetrics", _torchmetrics_input,
        "torchmetrics 1.x default (antialias=True): uint8 RGB as float32 0..255, bilinear resize to 299x299 "
        "with torch interpolate (align_corners=False, antialias=True), then (x-128)/128; no re-quantisation",
        POOLED_FEATURES + ("logits_unbiased", "logits")),
}


def as_frames_u8(frames) -> torch.Tensor:
    """uint8 frames (N, H, W, 3) as a torch tensor; InputError for any other layout or dtype."""
    x = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames)
    if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[-1] != 3:
        raise InputError(f"Inception features take uint8 frames (N, H, W, 3), got {x.dtype} {tuple(x.shape)}; "
                         "convert float videos with kinema.eval.frames.as_uint8_video")
    return x


class InceptionFeatures:
    """Frame feature extractor: uint8 (N, H, W, 3) -> float64 (N, dim) under one reference protocol.

    ``features`` (:data:`FEATURE_DIMS`): ``"2048"`` = pool3 (FID, KID), ``"logits_unbiased"`` (IS), ...
    """

    level = "frame"  # kinema eval feeds it every frame of every video

    def __init__(self, network: FIDInceptionV3, protocol: str = "torch-fidelity", features: str = "2048",
                 batch_size: int = 32, device: str | torch.device = "cpu"):
        check_choice("Inception protocol", protocol, PROTOCOLS)
        self.protocol = PROTOCOLS[protocol]
        check_choice(f"Inception features for protocol {protocol!r}", features, self.protocol.features)
        if batch_size < 1:
            raise InputError(f"batch_size={batch_size} must be >= 1")
        self.network = network.to(device).eval().requires_grad_(False)
        self.features, self.batch_size, self.device = features, batch_size, torch.device(device)
        self.dim = FEATURE_DIMS[features]
        sha = getattr(network, "weights_sha256", None)
        self.backbone_id = f"{WEIGHT_ID}-2015-12-05@" + (f"sha256:{sha}" if sha else "unverified-weights")
        self.preprocessing = f"{self.protocol.description}; features {features} ({self.dim}-d)"

    @torch.no_grad()
    def _batch(self, u8: torch.Tensor) -> torch.Tensor:
        u8 = u8.to(self.device).permute(0, 3, 1, 2).contiguous()  # (B, H, W, 3) -> (B, 3, H, W), as the references
        x = self.protocol.to_input(u8)  # (B, 3, 299, 299) in [-1, 1]
        if self.features in POOLED_FEATURES:
            return self.network(x, self.features)  # (B, dim)
        return getattr(self.network, self.features)(self.network(x, "2048"))  # (B, 2048) -> (B, 1008)

    def __call__(self, frames) -> torch.Tensor:
        u8 = as_frames_u8(frames)
        out = [self._batch(u8[i:i + self.batch_size]).double().cpu() for i in range(0, u8.shape[0], self.batch_size)]
        return torch.cat(out) if out else torch.zeros(0, self.dim, dtype=torch.float64)


def inception_features(protocol: str = "torch-fidelity", features: str = "2048",
                       path: str | os.PathLike | None = None, **kwargs) -> InceptionFeatures:
    """The pretrained extractor: weights ``inception-fid`` from ``path`` / env / cache dir."""
    return InceptionFeatures(load_inception(path), protocol, features, **kwargs)
