"""The metrics ``kinema eval`` knows, by kind, each with the function that computes it.

Kinds decide what a metric needs:

* ``video``        one generated video -> a value (and maybe a per-frame curve); no reference.
* ``paired``       a generated video and the reference of the same name -> a value and a curve.
* ``distribution`` features of every generated and every reference video -> one number
                   (Fréchet distance, KID, IS); the reference may be precomputed statistics.
* ``set``          the whole generated set at once, with its context (input images, prompts,
                   fps) -> a MetricResult and per-video values (VBench-I2V, CLIPScore).

Backbone metrics (FID, FVD, LPIPS, CLIPScore, VBench-I2V) register in
:mod:`kinema.eval.run.backbone_metrics`; the weight-free ones are here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from kinema.errors import ConfigError
from kinema.eval import frame_metrics, temporal
from kinema.eval.motion_distance import METRIC_ID as FMD_ID
from kinema.eval.motion_distance import MOTION_FEATURE_DIM, motion_features

KINDS = ("video", "paired", "distribution", "set")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str  # one of KINDS
    description: str
    backbone: str = "none"  # weight id(s) of the backbone, "none" for weight-free metrics
    higher_is_better: bool = True
    # video: f(frames) -> (value, curve|None); paired: f(gen, ref) -> (value, curve|None);
    # set: f(videos, SetContext) -> (MetricResult, {name: value})
    compute: Callable | None = None
    # distribution: builds the feature extractor (weights path or None) -> extractor
    extractor: Callable | None = None
    score: str = "fd"  # distribution: "fd" | "kid" | "is"
    options: dict = field(default_factory=dict)


METRICS: dict[str, MetricSpec] = {}


def register(spec: MetricSpec) -> MetricSpec:
    if spec.kind not in KINDS:
        raise ConfigError(f"metric {spec.name!r}: kind {spec.kind!r} is not one of {KINDS}")
    METRICS[spec.name] = spec
    return spec


def get_metric(name: str) -> MetricSpec:
    _load_backbone_metrics()
    if name not in METRICS:
        raise ConfigError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}")
    return METRICS[name]


def all_metrics() -> dict[str, MetricSpec]:
    _load_backbone_metrics()
    return dict(METRICS)


def _load_backbone_metrics() -> None:
    from kinema.eval.run import backbone_metrics  # noqa: F401  (registers on import)


# --- weight-free metrics -------------------------------------------------------------------------

def _psnr(gen, ref):
    curve = frame_metrics.psnr_frames(*_same_length(gen, ref), (0.0, 255.0))
    return float(np.mean(curve)), curve


def _ssim(gen, ref):
    curve = frame_metrics.ssim_frames(*_same_length(gen, ref), (0.0, 255.0))
    return float(np.mean(curve)), curve


def _ms_ssim(gen, ref):
    curve = frame_metrics.ms_ssim_frames(*_same_length(gen, ref), (0.0, 255.0))
    return float(np.mean(curve)), curve


def _first_frame_psnr(gen, ref):
    return temporal.first_frame_fidelity(gen, ref[0], (0.0, 255.0))["psnr"], None


def _first_frame_ssim(gen, ref):
    return temporal.first_frame_fidelity(gen, ref[0], (0.0, 255.0))["ssim"], None


def _same_length(gen: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Paired frame metrics compare frame t with frame t; the shorter video sets the length."""
    t = min(len(gen), len(ref))
    return gen[:t].astype(np.float64), ref[:t].astype(np.float64)


def _flicker(video):
    return temporal.temporal_flicker(video, (0.0, 255.0)), temporal.flicker_frames(video, (0.0, 255.0))


def _colour_drift(video):
    curve = temporal.colour_drift_curve(video, "lab", (0.0, 255.0))
    return float(curve[1:].mean()), curve


def _warping(video):
    return temporal.warping_error(video, "dis", (0.0, 255.0)), None


def _smoothness(video):
    return temporal.motion_smoothness(video, "dis", (0.0, 255.0)), None


def _dynamic(video):
    d = temporal.dynamic_degree(video, "dis", (0.0, 255.0))
    return float(d.dynamic), d.magnitudes


class MotionFeatureExtractor:
    """kinema-fmd-v1 motion descriptors (weight-free, OpenCV DIS flow) as a feature extractor."""

    backbone_id = "kinema-motion-histogram-v1"
    dim = MOTION_FEATURE_DIM
    preprocessing = "uint8 frames -> OpenCV DIS flow on BT.601 luma; no resize"
    level = "video"  # one feature vector per video

    def __call__(self, videos) -> np.ndarray:
        return np.stack([motion_features(np.asarray(v), "dis", (0.0, 255.0)) for v in videos])


def _weight_free() -> None:
    paired = [("psnr", _psnr, "PSNR per frame in dB (8-bit peak 255), mean over frames (Wang et al. 2026 Eq. 8)", True),
              ("ssim", _ssim, "SSIM per frame, Gaussian 11x11 window (Eq. 9)", True),
              ("ms_ssim", _ms_ssim, "MS-SSIM per frame, 5 scales", True),
              ("first_frame_psnr", _first_frame_psnr, "PSNR of generated frame 0 vs the reference's frame 0", True),
              ("first_frame_ssim", _first_frame_ssim, "SSIM of generated frame 0 vs the reference's frame 0", True)]
    for name, fn, desc, hib in paired:
        register(MetricSpec(name, "paired", desc, compute=fn, higher_is_better=hib))
    video = [("flicker", _flicker, "kinema temporal flicker: mean |frame_t - frame_t-1| in 8-bit levels "
              "(0..255; 0 = still)", False),
             ("colour_drift", _colour_drift, "kinema colour drift: CIE76 delta E (Lab) of the mean colour to "
              "frame 0", False),
             ("warping_error", _warping, "kinema flow warping error: MSE of RGB in 0..1 (OpenCV DIS, "
              "occlusion-masked)", False),
             ("motion_smoothness_kinema", _smoothness, "kinema motion smoothness: 1 - mean |frame - linear-motion "
              "prediction| / 255 (0..1)", True),
             ("dynamic_degree_kinema", _dynamic, "kinema dynamic degree: share of videos judged dynamic (0..1; "
              "OpenCV DIS flow)", True)]
    for name, fn, desc, hib in video:
        register(MetricSpec(name, "video", desc, compute=fn, higher_is_better=hib))
    register(MetricSpec(FMD_ID, "distribution",
                        "kinema motion-distribution distance (FVMD-like, weight-free)",
                        backbone="none", higher_is_better=False,
                        extractor=lambda weights=None: MotionFeatureExtractor(), score="fd"))


_weight_free()
