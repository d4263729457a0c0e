"""The planner objective: the motion planner of ``conditioner.reference="planned"`` learns the
world's motion plans from captions (LVD's text -> layout, Lian et al. 2023), and with
``object_mask`` its segmenter learns frame 0's main object."""

from __future__ import annotations

import torch

from kinema.errors import ConfigError
from kinema.train.objectives.base import Objective


class PlannerObjective(Objective):
    target = "planner"

    @property
    def module(self):
        return self.c.conditioner.planner

    def prepare(self, stage) -> None:
        if self.module is None:
            raise ConfigError(f"stage {stage.name!r}: target 'planner' needs conditioner.reference='planned'")

    def loss(self, stage, model, batch, gen, bins):
        plan, planner = self.on_device(batch, "plan"), self.module
        if plan is None:
            raise ConfigError(f"stage {stage.name!r}: target 'planner' needs data with motion plans "
                              f"(data.source='world')")
        tokens, mask = self.c.conditioner.encode_text(batch["caption"])
        objects = self.on_device(batch, "plan_mask")  # (B, T, H, W) the main object's masks
        latent = target = None
        if planner.segmenter is not None and objects is not None:
            with torch.no_grad():
                latent = self.c.autoencoder.encode(self.on_device(batch, "video")[:, :, :1])[:, :, 0]  # (B, C, h, w)
            target = objects[:, 0]
        return planner.loss(tokens.to(self.device), mask.to(self.device), self.on_device(batch, "motion"), plan,
                            latent, target)
