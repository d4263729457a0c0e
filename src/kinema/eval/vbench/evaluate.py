"""Run the VBench-I2V dimensions on a set of videos and report the Quality, I2V and Total scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kinema.config import check_choice
from kinema.errors import ConfigError
from kinema.eval.protocol import MetricResult, make_protocol
from kinema.eval.vbench import dimensions as dims
from kinema.eval.vbench.backbones import VBenchBackbones
from kinema.eval.vbench.constants import DIMENSIONS, I2V_DIMENSIONS, QUALITY_DIMENSIONS
from kinema.eval.vbench.result import METRIC_PREFIX, DimensionScore
from kinema.eval.vbench.scores import vbench_i2v_scores

_ROLES = {  # VBenchBackbones fields each dimension needs
    "subject_consistency": ("subject",), "background_consistency": ("background",),
    "i2v_subject": ("i2v_subject_frames",), "i2v_background": ("i2v_background_frames",),
    "camera_motion": ("tracks",), "motion_smoothness": ("interpolate",), "dynamic_degree": ("flow",),
    "aesthetic_quality": ("aesthetic",), "imaging_quality": ("quality",),
}


def evaluate_dimension(name: str, videos, b: VBenchBackbones, images: Sequence | None = None,
                       camera_types: Sequence[str] | None = None, fps: float | None = None,
                       imaging_mode: str = "longer") -> DimensionScore:
    """One dimension with the backbones in ``b`` (a missing backbone raises a one-line ConfigError)."""
    check_choice("VBench-I2V dimension", name, DIMENSIONS)
    if name in ("i2v_subject", "i2v_background") and images is None:
        raise ConfigError(f"{name} needs the input images (images=[one uint8 (H, W, 3) per video])")
    if name == "camera_motion" and camera_types is None:
        raise ConfigError("camera_motion needs camera_types (one prompt or motion type per video)")
    for role in _ROLES[name]:
        if getattr(b, role) is None and role in b.missing:
            raise ConfigError(f"{name} has no `{role}` backbone: {b.missing[role]}")
    run = {
        "subject_consistency": lambda: dims.subject_consistency(videos, b.subject),
        "background_consistency": lambda: dims.background_consistency(videos, b.background),
        "i2v_subject": lambda: dims.i2v_subject(videos, images, b.i2v_subject_frames, b.i2v_subject_image),
        "i2v_background": lambda: dims.i2v_background(videos, images, b.i2v_background_frames,
                                                      b.i2v_background_image),
        "camera_motion": lambda: dims.camera_motion(videos, camera_types, b.tracks),
        "motion_smoothness": lambda: dims.motion_smoothness(videos, b.interpolate),
        "dynamic_degree": lambda: dims.dynamic_degree(videos, b.flow, fps=fps),
        "aesthetic_quality": lambda: dims.aesthetic_quality(videos, b.aesthetic),
        "imaging_quality": lambda: dims.imaging_quality(videos, b.quality, mode=imaging_mode),
    }
    return run[name]()


def final_scores(scores: Mapping[str, DimensionScore]) -> list[MetricResult]:
    """Quality, I2V and Total scores (``scripts/cal_i2v_final_score.py``) from all nine dimensions."""
    s = vbench_i2v_scores({d: r.value for d, r in scores.items()})
    ref = next(iter(scores.values())).protocol
    backbones = "; ".join(f"{d}={scores[d].protocol['backbone']}" for d in DIMENSIONS)
    results = []
    for name, value, group in (("quality_score", s.quality, QUALITY_DIMENSIONS),
                               ("i2v_score", s.i2v, I2V_DIMENSIONS),
                               ("total_score", s.total, DIMENSIONS)):
        proto = make_protocol(METRIC_PREFIX + name, n_generated=ref["n_generated"], frames=ref["frames"],
                              resolution=ref["resolution"], backbone=backbones,
                              preprocessing="per dimension (see the dimension results)",
                              dimensions=list(group), fps=scores["dynamic_degree"].protocol["fps"])
        results.append(MetricResult(METRIC_PREFIX + name, value, proto))
    return results
