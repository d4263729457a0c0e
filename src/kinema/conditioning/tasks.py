"""Task masks: which frames are known. One model serves every mode through its inputs.

A task is a per-frame mask over T frames (1 = the frame is given as a condition):

=============  =====================================  ==============================
mode           known frames                           application (Wang 2026 Sec. V)
=============  =====================================  ==============================
``first``      frame 0                                image-to-video
``first_last`` frames 0 and T-1                       transitions / interpolation
``loop``       frames 0 and T-1, both the same image  seamless loops
``prefix``     frames 0..k-1 (k drawn in [1, T/2])    video extension
``none``       no frame                               text-to-video
=============  =====================================  ==============================
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from kinema.config import check_range
from kinema.errors import ConfigError

TASK_MODES: tuple[str, ...] = ("first", "first_last", "loop", "prefix", "none")


@dataclass
class TaskMix:
    """Relative weights of each task mode drawn during training (normalised at use)."""

    first: float = 0.6
    first_last: float = 0.15
    loop: float = 0.05
    prefix: float = 0.1
    none: float = 0.1

    def __post_init__(self) -> None:
        for mode in TASK_MODES:
            check_range(f"task_mix.{mode}", getattr(self, mode), 0.0, None)
        if self.total() <= 0:
            raise ConfigError("task_mix: at least one weight must be positive")

    def total(self) -> float:
        return sum(getattr(self, m) for m in TASK_MODES)

    def probabilities(self) -> Tensor:
        w = torch.tensor([getattr(self, m) for m in TASK_MODES], dtype=torch.float64)
        return w / w.sum()


def task_mask(mode: str, num_frames: int, prefix_len: int = 1) -> Tensor:
    """(T,) float mask of the known frames for ``mode``."""
    if mode not in TASK_MODES:
        raise ConfigError(f"task mode {mode!r} is not one of {list(TASK_MODES)}")
    mask = torch.zeros(num_frames)
    if mode == "first":
        mask[0] = 1
    elif mode in ("first_last", "loop"):
        mask[0] = 1
        mask[-1] = 1
    elif mode == "prefix":
        mask[: max(1, min(prefix_len, num_frames))] = 1
    return mask


def sample_tasks(batch: int, num_frames: int, mix: TaskMix, generator: torch.Generator) -> tuple[list[str], Tensor]:
    """Draw a task per sample. Returns (modes, mask (B, T))."""
    idx = torch.multinomial(mix.probabilities(), batch, replacement=True, generator=generator)
    modes = [TASK_MODES[i] for i in idx.tolist()]
    max_prefix = max(1, num_frames // 2)
    prefix = torch.randint(1, max_prefix + 1, (batch,), generator=generator).tolist()
    mask = torch.stack([task_mask(m, num_frames, k) for m, k in zip(modes, prefix)])
    return modes, mask
