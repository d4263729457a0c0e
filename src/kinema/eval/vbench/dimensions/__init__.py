"""The nine VBench-I2V dimensions, each a rule over frames plus an injected backbone callable."""

from kinema.eval.vbench.dimensions.camera import (
    camera_motion,
    camera_motion_type,
    classify_camera_motion,
)
from kinema.eval.vbench.dimensions.consistency import (
    background_consistency,
    frame_consistency,
    subject_consistency,
)
from kinema.eval.vbench.dimensions.i2v import (
    i2v_background,
    i2v_similarity,
    i2v_subject,
)
from kinema.eval.vbench.dimensions.motion import (
    dynamic_degree,
    dynamic_degree_thresholds,
    is_moving,
    motion_smoothness,
    top5_flow_magnitude,
    vfi_score,
)
from kinema.eval.vbench.dimensions.quality import aesthetic_quality, imaging_quality

__all__ = [
    "aesthetic_quality", "background_consistency", "camera_motion", "camera_motion_type",
    "classify_camera_motion", "dynamic_degree", "dynamic_degree_thresholds", "frame_consistency",
    "i2v_background", "i2v_similarity", "i2v_subject", "imaging_quality", "is_moving", "motion_smoothness",
    "subject_consistency", "top5_flow_magnitude", "vfi_score",
]
