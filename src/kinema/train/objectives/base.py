"""The interface the training loop calls (EDM's ``loss_fn(net, images, labels)``, Karras et al. 2022):
an objective owns what a stage trains and how its loss is computed; the loop keeps the optimiser,
accumulation, EMA, checkpoints and logs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from kinema.diffusion import LossBins
from kinema.train.components import Components
from kinema.train.config import StageSpec, TrainConfig


class Objective:
    target = ""  # the ``stage.target`` it serves
    keeps_ema = False  # the backbone's EMA follows its steps (and validation samples are drawn)

    def __init__(self, c: Components, config: TrainConfig, device: torch.device, log: Callable[[str], None] = print):
        self.c, self.config, self.device, self.log = c, config, device, log

    @property
    def module(self) -> nn.Module | None:
        """The module whose parameters the stage trains (and whose optimiser state is checkpointed)."""
        raise NotImplementedError

    def prepare(self, stage: StageSpec) -> None:
        """Checks and changes before the stage freezes, wraps and optimises ``module``."""

    def trainable(self, stage: StageSpec) -> str:
        """The :func:`~kinema.train.components.select_trainable` rule of ``stage``."""
        return stage.trainable

    def find_unused(self, stage: StageSpec) -> bool:
        """May a step leave a trainable parameter without a gradient? (DDP then searches for them.)"""
        return True

    def loss(self, stage: StageSpec, model: nn.Module, batch: dict, gen: torch.Generator, bins: LossBins) -> Tensor:
        """One micro-batch's scalar loss; ``model`` is ``module`` as wrapped for DDP/FSDP."""
        raise NotImplementedError

    def finish(self, stage: StageSpec, out: Path | None) -> None:
        """The end-of-stage step; ``out`` is the run directory on the main rank, else None."""

    def on_device(self, batch: dict, key: str) -> Tensor | None:
        value = batch.get(key)
        return value.to(self.device) if value is not None else None
