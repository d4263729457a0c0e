"""Per-video metric rows -> one column of the ``kinema bench world`` table.

Means are over the generated videos that a metric applies to (``n_*`` says how many):
direction and trajectory error over moving main objects, camera accuracy over moving cameras
(headline: textured and photo backgrounds; also per background), static-camera accuracy over
static cameras. Warping error and flicker are also given as ratios to the ground-truth clips'
means over the same clips (1 = as temporally consistent as the real world; the static baseline
scores 0, which is not better: the ideal is near 1).
"""

from __future__ import annotations

import numpy as np

from kinema.bench.clip_metrics import TEXTURED
from kinema.data.world.config import BACKGROUNDS


def _mean(rows: list[dict], key: str, where=lambda r: True) -> tuple[float | None, int]:
    vals = [r[key] for r in rows if key in r and where(r)]
    vals = [v for v in vals if v == v]  # drop NaN (e.g. warping error without trusted pixels)
    if not vals:
        return None, 0
    return float(np.mean(vals)), len(vals)


def summarize(rows: list[dict], gt_rows: list[dict]) -> dict:
    """Aggregate one generator's rows; ``gt_rows`` (the real clips) set the temporal ratios."""
    out: dict = {"n_videos": len(rows)}
    out["first_frame_psnr"], _ = _mean(rows, "psnr")
    out["first_frame_ssim"], _ = _mean(rows, "ssim")
    out["direction_accuracy"], out["n_moving"] = _mean(rows, "direction_correct")
    out["direction_accuracy_exact"], _ = _mean(rows, "direction_exact")
    out["trajectory_epe"], _ = _mean(rows, "epe")
    out["trajectory_epe_final"], _ = _mean(rows, "epe_final")
    out["camera_accuracy"], out["n_camera"] = _mean(rows, "camera_correct", lambda r: r["background"] in TEXTURED)
    out["camera_accuracy_all"], out["n_camera_all"] = _mean(rows, "camera_correct")
    out["static_camera_accuracy"], out["n_static_camera"] = _mean(rows, "static_correct")
    out["camera_accuracy_by_background"] = {
        bg: dict(zip(("accuracy", "n"), _mean(rows, "camera_correct", lambda r, bg=bg: r["background"] == bg)))
        for bg in BACKGROUNDS}
    for key in ("warping_error", "flicker"):
        value, _ = _mean(rows, key)
        ref, _ = _mean(gt_rows, key)
        out[key] = value
        out[f"{key}_ratio"] = None if value is None or not ref else value / ref
    return out
