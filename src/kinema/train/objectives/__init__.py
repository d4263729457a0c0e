"""What a stage trains, one objective per ``stage.target`` (see ``base.Objective``)."""

from kinema.train.objectives.autoencoder import AutoencoderObjective
from kinema.train.objectives.base import Objective
from kinema.train.objectives.decoder import DecoderObjective
from kinema.train.objectives.denoiser import DenoiserObjective, add_lora, training_eps  # noqa: F401
from kinema.train.objectives.planner import PlannerObjective

OBJECTIVES: dict[str, type[Objective]] = {
    o.target: o for o in (DenoiserObjective, AutoencoderObjective, DecoderObjective, PlannerObjective)}
