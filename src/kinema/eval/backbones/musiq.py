"""MUSIQ, the Multi-scale Image Quality Transformer (Ke et al. 2021, ICCV), as VBench's imaging
quality runs it: pyiqa's PyTorch port (chaofengc/IQA-PyTorch ``pyiqa/archs/musiq_arch.py``) with the
SPAQ checkpoint ``musiq_spaq_ckpt-358bb6af.pth`` (weight id ``musiq-spaq``).

VBench (``vbench/imaging_quality.py``) builds ``MUSIQ(pretrained_model_path=...)`` with pyiqa's
defaults and sets ``model.training = False`` on the top module only (dropout is 0 everywhere, so
this equals eval mode), then scores one frame (1, 3, h, w) in [0, 1] at a time. pyiqa's code is
PolyForm-Noncommercial-1.0.0, so kinema does not ship it: the network comes from an importable
``pyiqa`` (0.1.16 is the one tested; ``pip install --no-deps pyiqa`` plus torchvision suffices) or
from the checkout named by ``$KINEMA_PYIQA_SRC`` (the directory holding ``pyiqa/``); the weights come
from kinema's catalog. :class:`MusiqQuality` is VBench imaging quality's ``quality`` callable.
"""

from __future__ import annotations

import importlib
import os

import torch
from torch import nn

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.upstream import import_upstream

SRC_ENV = "KINEMA_PYIQA_SRC"  # a chaofengc/IQA-PyTorch checkout (else an installed pyiqa)
REPO = "chaofengc/IQA-PyTorch"
LICENCE = "PolyForm-Noncommercial-1.0.0"
WEIGHT_ID = "musiq-spaq"  # pyiqa's musiq_spaq_ckpt-358bb6af.pth (chaofengc/IQA-PyTorch v0.1-weights)
MUSIQ_SPAQ: dict = {}  # pyiqa MUSIQ() keyword arguments: its defaults, as VBench builds it (one SPAQ score)


def musiq_arch(src=None):
    """pyiqa's ``musiq_arch`` module: from ``src`` / ``$KINEMA_PYIQA_SRC`` when given, else the installed pyiqa."""
    if src or os.environ.get(SRC_ENV, "").strip():
        return import_upstream("pyiqa.archs.musiq_arch", SRC_ENV, REPO, "pyiqa/archs/musiq_arch.py", src, LICENCE)
    try:
        return importlib.import_module("pyiqa.archs.musiq_arch")
    except ImportError as e:
        raise ConfigError(f"{REPO} (pyiqa) code is {LICENCE} and not shipped with kinema: install pyiqa "
                          f"(pip install --no-deps pyiqa==0.1.16; needs torchvision) or set {SRC_ENV} to a "
                          f"local checkout of https://github.com/{REPO} ({type(e).__name__}: {e})") from None


def musiq_network(src=None, **kwargs) -> nn.Module:
    """pyiqa's ``MUSIQ(pretrained=False, **kwargs)`` (random weights) in eval mode: (B, 3, H, W) -> (B, 1)."""
    return musiq_arch(src).MUSIQ(pretrained=False, **kwargs).eval()


def check_images(x) -> None:
    """InputError unless x is a floating tensor (B, 3, H, W) (MUSIQ's input is in [0, 1])."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim != 4 or x.shape[1] != 3:
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise InputError(f"MUSIQ expects float images (B, 3, H, W) in [0, 1], got {got}")


def load_musiq_state_dict(model: nn.Module, sd: dict[str, torch.Tensor], source: str = "state dict") -> None:
    """Load pyiqa's MUSIQ keys strictly (a DataParallel ``module.`` prefix is dropped, as pyiqa does)."""
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    resized = [f"{k} {tuple(sd[k].shape)} != {tuple(v.shape)}" for k, v in own.items()
               if k in sd and sd[k].shape != v.shape]
    if missing or unexpected or resized:
        raise InputError(f"{source} is not a MUSIQ state dict for this network: {len(missing)} missing keys "
                         f"{missing[:5]}, {len(unexpected)} unexpected keys {unexpected[:5]}, "
                         f"{len(resized)} of other shapes {resized[:3]}")
    model.load_state_dict(sd, strict=True)


def load_musiq(path=None, device: str | torch.device = "cpu", config: dict = MUSIQ_SPAQ, src=None) -> nn.Module:
    """pyiqa's MUSIQ (``config``: its keyword arguments) with the ``musiq-spaq`` weights (explicit path >
    environment > cache dir), in eval mode."""
    from kinema.eval.weights import load_state_dict, resolve_weights

    resolved = resolve_weights(WEIGHT_ID, path=path)
    model = musiq_network(src, **config)
    load_musiq_state_dict(model, load_state_dict(resolved), source=str(resolved))
    return model.to(device).eval()


class MusiqQuality:
    """VBench imaging quality's ``quality``: float frames (N, 3, h, w) in [0, 1], already shrunk by
    :func:`kinema.eval.vbench.preprocess.musiq_frames`, -> float32 (N,) MUSIQ-SPAQ scores (about
    0-100) on the CPU. VBench scores one frame at a time; ``batch_size > 1`` is faster and differs
    only by float rounding (~1e-6 relative)."""

    backbone_id = WEIGHT_ID

    def __init__(self, model: nn.Module, batch_size: int = 1):
        self.model, self.batch_size = model.eval(), batch_size
        o = model.data_preprocess_opts  # pyiqa's multi-scale patch options
        sides, p, g = " and ".join(str(s) for s in sorted(o["longer_side_lengths"])), o["patch_size"], o["hse_grid_size"]
        self.preprocessing = (f"float [0, 1] -> (x - 0.5) * 2; bicubic resize (align_corners=False, no antialias) "
                              f"to longer side {sides} (sides rounded) plus native resolution; {p}x{p} patches, "
                              f"TF-SAME zero padding; {g}x{g} hashed positions; padding tokens masked")

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x)
        device = next(self.model.parameters()).device
        out = [self.model(x[i:i + self.batch_size].to(device=device, dtype=torch.float32)).reshape(-1).float().cpu()
               for i in range(0, len(x), self.batch_size)]  # pyiqa returns (b, 1)
        return torch.cat(out)
