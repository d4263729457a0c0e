"""Training: stages as data, one loop, EMA, atomic checkpoints, exact resume, DDP/FSDP."""

from kinema.train.config import PRESETS, StageSpec, TrainConfig, load_config
from kinema.train.loop import Trainer

__all__ = ["PRESETS", "StageSpec", "TrainConfig", "Trainer", "load_config"]
