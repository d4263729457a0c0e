"""Device policy: CPU and float32 unless asked otherwise, as in diffusers.

Inference (``kinema.load``, ``kinema animate``) defaults to ``"cpu"``: the shipped model is small, and a
CPU default means one command gives one video whether or not the machine has a GPU. ``"auto"`` picks
the GPU when one is present, ``"cuda"`` / ``"cuda:N"`` insist on it. Training takes its device from its
config (``device: auto`` there, with bf16 autocast on a GPU).
"""

from __future__ import annotations

import torch

from kinema.errors import ConfigError, DeviceError


def resolve_device(name: str = "cpu", local_rank: int = 0) -> torch.device:
    """``cpu``; ``auto`` -> cuda:local_rank when a GPU exists, else cpu. A CUDA request without a GPU is an error."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device={name!r} requested but this machine has no CUDA GPU (use --device cpu)")
        return torch.device(name if ":" in name else f"cuda:{local_rank}")
    if name == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"device={name!r} is not one of ['auto', 'cpu', 'cuda', 'cuda:N']")
