"""Conditions as data: known frames + mask, text tokens, scalar controls (Wang et al. 2026, I2V survey Sec. IV-A)."""

from kinema.conditioning.batch import VECTOR_FIELDS, ConditionBatch
from kinema.conditioning.conditioner import Conditioner, ConditionerConfig
from kinema.conditioning.spec import Conditions, KnownFrame
from kinema.conditioning.tasks import TASK_MODES, TaskMix, sample_tasks, task_mask

__all__ = [
    "VECTOR_FIELDS", "ConditionBatch", "Conditioner", "ConditionerConfig", "Conditions",
    "KnownFrame", "TASK_MODES", "TaskMix", "sample_tasks", "task_mask",
]
