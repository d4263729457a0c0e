"""The two LPIPS trunks (AlexNet, VGG-16 conv stacks) and LPIPS's learned linear heads.

Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric" (CVPR 2018),
Wang et al. 2026, I2V survey Eq. 10. LPIPS taps five ReLU outputs of an ImageNet classifier's convolutional part:

* AlexNet (Krizhevsky 2014 "one weird trick" variant, as torchvision builds it): relu1..relu5, the
  outputs of ``features`` layers 1, 4, 7, 9, 11 with 64, 192, 384, 256, 256 channels;
* VGG-16 (Simonyan & Zisserman 2015): relu1_2, relu2_2, relu3_3, relu4_3, relu5_3, the outputs of
  ``features`` layers 3, 8, 15, 22, 29 with 64, 128, 256, 512, 512 channels.

The trunks keep torchvision's layer indices, so the ``features.*`` entries of
``alexnet-owt-7be5be79.pth`` (weight id ``alexnet-torchvision``) and ``vgg16-397923af.pth``
(``vgg16-torchvision``) load as saved; ``classifier.*`` entries are ignored. Layers after the last
tap (AlexNet's final max-pool, VGG's pool5) are not built: LPIPS never reads them.

The heads are the v0.1 1x1 convolutions (no bias) that weight each channel of a squared feature
difference; their keys are ``lin{k}.model.1.weight`` as in the lpips package's
``weights/v0.1/alex.pth`` (weight id ``lpips-alex-v0.1``) and ``vgg.pth`` (``lpips-vgg-v0.1``).
Slot 0 of each ``model`` held a training-time dropout, an identity at evaluation; kinema keeps an
``nn.Identity`` there so the keys line up. When the registry has no copy of a head file, the one
inside an installed lpips package is used if its sha256 is the registry's.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import torch
from torch import nn

from kinema.config import check_choice
from kinema.errors import InputError

NETS = ("alex", "vgg")
TRUNK_WEIGHT_IDS = {"alex": "alexnet-torchvision", "vgg": "vgg16-torchvision"}
HEAD_WEIGHT_IDS = {"alex": "lpips-alex-v0.1", "vgg": "lpips-vgg-v0.1"}
HEAD_FILES = {"alex": "alex.pth", "vgg": "vgg.pth"}  # inside the lpips package: weights/v0.1/<file>

TAPS = {"alex": (1, 4, 7, 9, 11), "vgg": (3, 8, 15, 22, 29)}  # `features` index of each tapped ReLU
CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}
MIN_SIDE = {"alex": 31, "vgg": 16}  # smallest H, W for which every pooling layer has an output

# VGG-16 configuration "D": conv widths, "M" = 2x2 max-pool (pool5 omitted, see module docstring).
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)


def alexnet_features() -> nn.Sequential:
    """torchvision AlexNet ``features[0:12]``: five convs with ReLUs and two 3x3/2 max-pools."""
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),  # 0, 1
        nn.MaxPool2d(kernel_size=3, stride=2),  # 2
        nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),  # 3, 4
        nn.MaxPool2d(kernel_size=3, stride=2),  # 5
        nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),  # 6, 7
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),  # 8, 9
        nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),  # 10, 11
    )


def vgg16_features() -> nn.Sequential:
    """torchvision VGG-16 ``features[0:30]``: 3x3 convs (padding 1) with ReLUs, 2x2/2 max-pools."""
    layers: list[nn.Module] = []
    in_ch = 3
    for item in VGG16_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_ch, item, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_ch = item
    return nn.Sequential(*layers)


class LPIPSTrunk(nn.Module):
    """(N, 3, H, W) scaled image -> the five tapped ReLU activations, shallow to deep."""

    def __init__(self, net: str = "alex"):
        super().__init__()
        check_choice("LPIPS net", net, NETS)
        self.net = net
        self.taps = TAPS[net]
        self.features = alexnet_features() if net == "alex" else vgg16_features()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                outs.append(x)  # (N, C_k, H_k, W_k)
        return outs


class NetLin(nn.Module):
    """One v0.1 head: a bias-free 1x1 conv C -> 1 (slot 0 is the evaluation-time dropout)."""

    def __init__(self, channels: int):
        super().__init__()
        self.model = nn.Sequential(nn.Identity(), nn.Conv2d(channels, 1, kernel_size=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)  # (N, C, h, w) -> (N, 1, h, w)


class LinearHeads(nn.Module):
    """The five heads ``lin0``..``lin4`` of one trunk."""

    def __init__(self, net: str = "alex"):
        super().__init__()
        check_choice("LPIPS net", net, NETS)
        self.net = net
        for k, ch in enumerate(CHANNELS[net]):
            self.add_module(f"lin{k}", NetLin(ch))

    def __getitem__(self, k: int) -> NetLin:
        return getattr(self, f"lin{k}")

    def __len__(self) -> int:
        return len(CHANNELS[self.net])


# ---- loading ---------------------------------------------------------------------------------

def load_strict(module: nn.Module, state: dict[str, torch.Tensor], expected: str) -> None:
    """``module.load_state_dict(state)`` with an InputError naming missing/unexpected keys."""
    own = set(module.state_dict())
    missing, unexpected = sorted(own - set(state)), sorted(set(state) - own)
    if missing or unexpected:
        raise InputError(f"not {expected}: missing keys {missing[:5]} ({len(missing)}), "
                         f"unexpected keys {unexpected[:5]} ({len(unexpected)})")
    module.load_state_dict(state)


def load_trunk_state(trunk: LPIPSTrunk, state: dict[str, torch.Tensor]) -> LPIPSTrunk:
    """Load the ``features.*`` entries of a torchvision classifier file (others are dropped)."""
    feats = {k: v for k, v in state.items() if k.startswith("features.")}
    load_strict(trunk, feats, f"a torchvision {'AlexNet' if trunk.net == 'alex' else 'VGG-16'} state dict "
                f"(expected {TRUNK_WEIGHT_IDS[trunk.net]})")
    return trunk


def load_lpips_trunk(net: str = "alex", path: str | os.PathLike | None = None) -> LPIPSTrunk:
    """The AlexNet / VGG-16 trunk, weights from ``path`` or the registry (``TRUNK_WEIGHT_IDS``)."""
    from kinema.eval.weights import load_state_dict, resolve_weights, sha256_file

    check_choice("LPIPS net", net, NETS)
    resolved = resolve_weights(TRUNK_WEIGHT_IDS[net], path=path)
    trunk = load_trunk_state(LPIPSTrunk(net), load_state_dict(resolved))
    trunk.weights_sha256 = sha256_file(resolved)
    return trunk.eval().requires_grad_(False)


def lpips_package_head_file(net: str) -> Path | None:
    """``weights/v0.1/<net>.pth`` inside an installed lpips package (located, never imported)."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        candidate = Path(root) / "weights" / "v0.1" / HEAD_FILES[net]
        if candidate.is_file():
            return candidate
    return None


def resolve_head_file(net: str, path: str | os.PathLike | None = None) -> Path:
    """Head file: explicit ``path`` > registry (env / cache) > the installed lpips package's copy."""
    from kinema.eval.weights import get_spec, resolve_weights, sha256_file

    if path is not None:
        return Path(resolve_weights(HEAD_WEIGHT_IDS[net], path=path))
    try:
        return Path(resolve_weights(HEAD_WEIGHT_IDS[net], path=None))
    except InputError:
        packaged = lpips_package_head_file(net)
        pinned = get_spec(HEAD_WEIGHT_IDS[net]).sha256
        if packaged is None or (pinned is not None and sha256_file(packaged) != pinned):
            raise
        return packaged


def load_lpips_heads(net: str = "alex", path: str | os.PathLike | None = None) -> LinearHeads:
    """The v0.1 linear heads for ``net`` (``HEAD_WEIGHT_IDS``), see :func:`resolve_head_file`."""
    from kinema.eval.weights import load_state_dict, sha256_file

    check_choice("LPIPS net", net, NETS)
    resolved = resolve_head_file(net, path)
    heads = LinearHeads(net)
    state = {k: v for k, v in load_state_dict(resolved).items() if re.fullmatch(r"lin\d\..*", k)}
    load_strict(heads, state, f"an LPIPS v0.1 {net} head file (expected {HEAD_FILES[net]})")
    heads.weights_sha256 = sha256_file(resolved)
    return heads.eval().requires_grad_(False)
