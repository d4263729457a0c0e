"""Evaluation: distribution distances, frame fidelity, weight-free temporal and motion metrics.

Weight-free metrics (this package, no downloads):

* :mod:`~kinema.eval.frechet`, :mod:`~kinema.eval.kid` — Fréchet distance (Wang et al. 2026, I2V survey Eq. 6) and
  KID, the maths every feature-distribution metric shares; :class:`FeatureStats` is a saved reference.
* :mod:`~kinema.eval.frame_metrics` — PSNR (Eq. 8), SSIM (Eq. 9), MS-SSIM, per frame and per video.
* :mod:`~kinema.eval.temporal` — flicker, warping error, motion smoothness, dynamic degree, colour
  drift, first-frame fidelity (kinema variants of VBench / Lai et al.; see the module docstring).
* :mod:`~kinema.eval.tracking` — KLT tracks, global camera motion and its label, object
  trajectories and their direction.
* :mod:`~kinema.eval.motion_distance` — ``kinema-fmd-v1``, an FVMD-like motion distance.
* :mod:`~kinema.eval.protocol` — :class:`MetricResult` with its protocol; :func:`compare`.

Videos are uint8 ``(T, H, W, 3)`` or float ``(3, T, H, W)`` / ``(T, H, W, 3)`` in [-1, 1]
(:mod:`~kinema.eval.frames`).

Metrics on pretrained backbones (weights from local files only; imported on demand):

* :mod:`~kinema.eval.weights` — the registry of weight files (sha256, size, source, licence) and
  their resolution: explicit path, ``KINEMA_WEIGHT_<ID>``, ``KINEMA_WEIGHTS_DIR``, cache folder.
* :mod:`~kinema.eval.backbones` — kinema's own networks with the reference checkpoints' keys:
  FID Inception-v3, I3D (TATS and the StyleGAN-V TorchScript protocol), VideoMAE-v2, LPIPS trunks
  and heads, CLIP, DINO ViT, LAION aesthetic head, RAFT, AMT-S, MUSIQ, DreamSim, CoTracker2.
* :mod:`~kinema.eval.metrics` — FID / KID / IS, FVD (three protocols), LPIPS, CLIPScore / CLIP-SIM.
* :mod:`~kinema.eval.vbench` — the nine VBench-I2V dimensions and the Quality / I2V / Total scores.
* :mod:`~kinema.eval.run` — ``kinema eval``: folders in, every number with its protocol out.
"""

from kinema.eval.frame_metrics import (
    MS_SSIM_WEIGHTS, ms_ssim, ms_ssim_frames, psnr, psnr_frames, ssim, ssim_frames,
)
from kinema.eval.frames import as_float_video, as_uint8_video
from kinema.eval.frechet import FeatureStats, frechet_distance, frechet_distance_features, frechet_distance_stats
from kinema.eval.frechet_inf import frechet_distance_inf
from kinema.eval.kid import KIDResult, kernel_distance, mmd2_unbiased
from kinema.eval.motion_distance import METRIC_ID as MOTION_DISTANCE_ID
from kinema.eval.motion_distance import MOTION_FEATURE_DIM, motion_distance, motion_features, motion_stats
from kinema.eval.protocol import (
    PROTOCOL_KEYS, Comparison, MetricResult, compare, make_protocol, protocol_differences,
)
from kinema.eval.temporal import (
    DynamicDegree, colour_drift, colour_drift_curve, dynamic_degree, first_frame_fidelity, flicker_frames,
    flicker_score, motion_smoothness, temporal_flicker, warping_error,
)
from kinema.eval.tracking import (
    CAMERA_LABELS, GlobalMotion, Tracks, camera_motion_labels, camera_speeds, classify_camera_motion,
    direction_of, estimate_global_motion, object_trajectory, track_points,
)

__all__ = [
    "CAMERA_LABELS", "Comparison", "DynamicDegree", "FeatureStats", "GlobalMotion", "KIDResult",
    "MOTION_DISTANCE_ID", "MOTION_FEATURE_DIM", "MS_SSIM_WEIGHTS", "MetricResult", "PROTOCOL_KEYS",
    "Tracks", "as_float_video", "as_uint8_video", "camera_motion_labels", "camera_speeds",
    "classify_camera_motion", "colour_drift", "colour_drift_curve", "compare", "direction_of",
    "dynamic_degree", "estimate_global_motion", "first_frame_fidelity", "flicker_frames", "flicker_score",
    "frechet_distance", "frechet_distance_features", "frechet_distance_inf", "frechet_distance_stats", "kernel_distance",
    "make_protocol", "mmd2_unbiased", "motion_distance", "motion_features", "motion_smoothness",
    "motion_stats", "ms_ssim", "ms_ssim_frames", "object_trajectory", "protocol_differences", "psnr",
    "psnr_frames", "ssim", "ssim_frames", "temporal_flicker", "track_points", "warping_error",
]
