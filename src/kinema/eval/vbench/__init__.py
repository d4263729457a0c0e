"""VBench-I2V (Huang et al., VBench++ 2025): the nine dimensions and the final scores.

Each dimension is a rule over uint8 videos ``(T, H, W, 3)`` (plus input images or camera prompts
where it needs them) and an injected backbone callable, so the rule is testable without weights;
:func:`default_backbones` builds the real callables from local weight files. Rules, frame sampling,
resize sizes, thresholds, normalisation ranges and weights follow Vchitect/VBench
(``vbench/``, ``vbench2_beta_i2v/``, ``scripts/constant.py``, ``scripts/cal_i2v_final_score.py``).

===========================  ==========================  ==========================================
dimension                    backbone callable           kinema status
===========================  ==========================  ==========================================
subject_consistency          DINO ViT-B/16 features      :mod:`kinema.eval.backbones.vit`
background_consistency       CLIP ViT-B/32 embeddings    :mod:`kinema.eval.backbones.clip`
i2v_subject                  DINO ViT-B/16 features      :mod:`kinema.eval.backbones.vit`
i2v_background               DreamSim embeddings         :mod:`kinema.eval.backbones.dreamsim`
camera_motion                CoTracker2 grid tracks      :mod:`kinema.eval.backbones.cotracker`
motion_smoothness            AMT-S interpolation         :mod:`kinema.eval.backbones.amt`
dynamic_degree               RAFT-things flow            :mod:`kinema.eval.backbones.raft`
aesthetic_quality            CLIP ViT-L/14 + LAION head  :mod:`kinema.eval.backbones.aesthetic`
imaging_quality              MUSIQ-SPAQ                  :mod:`kinema.eval.backbones.musiq`
===========================  ==========================  ==========================================
"""

from kinema.eval.vbench.backbones import (
    FrameFeatures,
    RaftPairFlow,
    VBenchBackbones,
    default_backbones,
)
from kinema.eval.vbench.constants import (
    DIM_WEIGHT,
    DIMENSIONS,
    DISPLAY_NAMES,
    I2V_DIMENSIONS,
    NORMALIZE_RANGE,
    QUALITY_DIMENSIONS,
)
from kinema.eval.vbench.dimensions import (
    aesthetic_quality,
    background_consistency,
    camera_motion,
    classify_camera_motion,
    dynamic_degree,
    i2v_background,
    i2v_subject,
    imaging_quality,
    motion_smoothness,
    subject_consistency,
)
from kinema.eval.vbench.evaluate import evaluate_dimension, final_scores
from kinema.eval.vbench.result import DimensionScore
from kinema.eval.vbench.scores import VBenchI2VScores, normalise, vbench_i2v_scores

__all__ = [
    "DIMENSIONS",
    "DIM_WEIGHT",
    "DISPLAY_NAMES",
    "I2V_DIMENSIONS",
    "NORMALIZE_RANGE",
    "QUALITY_DIMENSIONS",
    "DimensionScore",
    "FrameFeatures",
    "RaftPairFlow",
    "VBenchBackbones",
    "VBenchI2VScores",
    "aesthetic_quality",
    "background_consistency",
    "camera_motion",
    "classify_camera_motion",
    "default_backbones",
    "dynamic_degree",
    "evaluate_dimension",
    "final_scores",
    "i2v_background",
    "i2v_subject",
    "imaging_quality",
    "motion_smoothness",
    "normalise",
    "subject_consistency",
    "vbench_i2v_scores",
]
