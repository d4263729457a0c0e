"""Sparse point tracks (KLT), global camera motion, camera-move labels and object trajectories.

Tracks: Shi-Tomasi corners (``cv2.goodFeaturesToTrack``) followed by pyramidal Lucas-Kanade
(``cv2.calcOpticalFlowPyrLK``); a track is kept while tracking it back lands within
``FB_MAX_PX`` of where it started (forward-backward check, Kalal et al. 2010).

Global motion: for every consecutive pair a similarity transform (``cv2.estimateAffinePartial2D``,
RANSAC) maps the points of frame t to frame t+1 in coordinates **centred on the image centre**, so
a zoom about the centre has no translation. Its parameters describe how the *content* moves on
screen (y down): ``tx, ty`` px per frame, ``scale`` per frame, ``rotation`` radians per frame
(> 0 = clockwise on screen).

Camera moves use the camera's point of view and the units of the procedural world
(:mod:`kinema.data.world.camera`: speeds in image sizes per frame, image size = sqrt(W H)):

    pan  = -tx / size   (> 0: pan_right;  the camera pans left => content moves right, tx > 0)
    tilt = -ty / size   (> 0: tilt_down;  the camera tilts up  => content moves down,  ty > 0)
    zoom = ln(scale) / 2 (> 0: zoom_in;   content grows)
    roll = -rotation / 2 (> 0: roll_cw;   the camera rolls clockwise => content turns counter-clockwise)

each the median over the *reliable* frame pairs: those whose RANSAC inliers number at least
``MIN_INLIERS`` and spread over at least ``MIN_SPAN`` of the frame's width and height (otherwise the
fit likely describes one object over a featureless background; with no reliable pair the camera is
reported static). A move is reported when its |speed| >= ``min_speed`` (default
0.001, half the world's slowest camera); ``classify_camera_motion`` names the fastest one, or
"static" when none passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from kinema.errors import InputError
from kinema.eval.frames import as_uint8_video, gray_frames, require_frames

FB_MAX_PX = 1.0  # largest forward-backward error of a kept track, px
RANSAC_PX = 0.5  # RANSAC inlier threshold, px: tight, so slow objects do not join a still background
MIN_INLIERS = 6  # fewer RANSAC inliers: the pair says nothing about the camera
MIN_SPAN = 0.25  # inliers must spread over this fraction of the width and of the height, else they
#                 likely sit on one moving object (e.g. over a featureless background)
_LK = dict(winSize=(15, 15), maxLevel=3,
           criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
CAMERA_LABELS = ("static", "pan_left", "pan_right", "tilt_up", "tilt_down",
                 "zoom_in", "zoom_out", "roll_cw", "roll_ccw")
_WORDS = {"pan": ("pan_right", "pan_left"), "tilt": ("tilt_down", "tilt_up"),
          "zoom": ("zoom_in", "zoom_out"), "roll": ("roll_cw", "roll_ccw")}  # (speed > 0, speed < 0)


@dataclass(frozen=True)
class Tracks:
    points: np.ndarray  # (T, N, 2) float32 (x, y) pixel positions
    valid: np.ndarray  # (T, N) bool; False from the frame a track is lost onwards


def detect_corners(gray: np.ndarray, mask: np.ndarray | None = None, max_corners: int = 300,
                   min_distance: int = 3) -> np.ndarray:
    """(N, 2) float32 Shi-Tomasi corners of one uint8 gray frame (inside ``mask`` if given)."""
    m = None if mask is None else mask.astype(np.uint8)
    pts = cv2.goodFeaturesToTrack(gray, max_corners, 0.01, min_distance, mask=m, blockSize=3)
    return np.zeros((0, 2), np.float32) if pts is None else pts.reshape(-1, 2)


def lk_step(a: np.ndarray, b: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Track (N, 2) points from gray a to b -> (new points (N, 2), ok (N,) after the FB check)."""
    if len(pts) == 0:
        return pts, np.zeros(0, bool)
    p0 = pts.reshape(-1, 1, 2).astype(np.float32)
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(a, b, p0, None, **_LK)
    back, st2, _ = cv2.calcOpticalFlowPyrLK(b, a, p1, None, **_LK)
    fb = np.linalg.norm((back - p0).reshape(-1, 2), axis=1)
    ok = (st1.ravel() == 1) & (st2.ravel() == 1) & (fb < FB_MAX_PX)
    return p1.reshape(-1, 2), ok


def track_points(frames, mask: np.ndarray | None = None, max_corners: int = 300,
                 value_range=(-1.0, 1.0)) -> Tracks:
    """KLT tracks of corners detected in frame 0 (inside ``mask`` (H, W) if given) over the video."""
    return _track_gray(gray_frames(as_uint8_video(frames, value_range)), mask, max_corners)


def _track_gray(gray: np.ndarray, mask: np.ndarray | None, max_corners: int) -> Tracks:
    pts = detect_corners(gray[0], mask, max_corners)
    points = np.zeros((len(gray), len(pts), 2), np.float32)
    valid = np.zeros((len(gray), len(pts)), bool)
    points[0], valid[0] = pts, True
    for t in range(len(gray) - 1):
        points[t + 1], ok = lk_step(gray[t], gray[t + 1], points[t])
        valid[t + 1] = valid[t] & ok
    return Tracks(points, valid)


@dataclass(frozen=True)
class GlobalMotion:
    matrices: np.ndarray  # (T-1, 2, 3) similarity t -> t+1 in centred pixel coordinates
    params: np.ndarray  # (T-1, 4) per pair: tx, ty (px), scale, rotation (rad, > 0 clockwise)
    inlier_ratio: np.ndarray  # (T-1,) RANSAC inliers / tracked points (0 when the fit failed)
    reliable: np.ndarray  # (T-1,) bool: >= MIN_INLIERS inliers spanning >= MIN_SPAN of each side
    size: tuple[int, int]  # (W, H) of the frames


def _fit_similarity(p0: np.ndarray, p1: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float, bool]:
    """Similarity p0 -> p1, inlier ratio, and whether the inliers span enough of the frame."""
    if len(p0) < MIN_INLIERS:
        return np.eye(2, 3), 0.0, False
    m, inliers = cv2.estimateAffinePartial2D(p0, p1, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX)
    if m is None:
        return np.eye(2, 3), 0.0, False
    kept = p0[inliers.ravel() == 1]
    span = kept.max(0) - kept.min(0) if len(kept) else np.zeros(2)
    reliable = len(kept) >= MIN_INLIERS and bool(np.all(span >= MIN_SPAN * np.asarray(size)))
    return m, float(inliers.mean()), reliable


def estimate_global_motion(frames, value_range=(-1.0, 1.0)) -> GlobalMotion:
    """Per-pair similarity transforms of the dominant (background) motion; needs T >= 2."""
    u8 = as_uint8_video(frames, value_range)
    require_frames(u8, 2, "global motion")
    gray = gray_frames(u8)
    h, w = gray.shape[1:]
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0], np.float32)
    matrices, params, ratios, reliable = [], [], [], []
    for t in range(len(gray) - 1):
        p0 = detect_corners(gray[t])
        p1, ok = lk_step(gray[t], gray[t + 1], p0)
        m, ratio, ok_fit = _fit_similarity(p0[ok] - centre, p1[ok] - centre, (w, h))
        a, b = m[0, 0], m[1, 0]  # m = [[s cos, -s sin, tx], [s sin, s cos, ty]]
        matrices.append(m)
        params.append((m[0, 2], m[1, 2], np.hypot(a, b), np.arctan2(b, a)))
        ratios.append(ratio)
        reliable.append(ok_fit)
    return GlobalMotion(np.array(matrices), np.array(params, np.float64), np.array(ratios),
                        np.array(reliable), (w, h))


def camera_speeds(motion: GlobalMotion) -> dict[str, float]:
    """Signed camera speeds {pan, tilt, zoom, roll} in image sizes per frame (module docstring)."""
    size = float(np.sqrt(motion.size[0] * motion.size[1]))
    if not motion.reliable.any():  # nothing trustworthy to measure: report no camera motion
        return {"pan": 0.0, "tilt": 0.0, "zoom": 0.0, "roll": 0.0}
    tx, ty, scale, rot = np.median(motion.params[motion.reliable], axis=0)
    return {"pan": -tx / size, "tilt": -ty / size, "zoom": float(np.log(scale)) / 2.0, "roll": -rot / 2.0}


def camera_motion_labels(frames, min_speed: float = 0.001, relative: float = 0.5,
                         value_range=(-1.0, 1.0)) -> tuple[str, ...]:
    """Camera primitives moving at >= max(min_speed, relative * fastest), fastest first; () if static."""
    if min_speed <= 0 or not 0 <= relative <= 1:
        raise InputError(f"min_speed={min_speed} must be > 0 and relative={relative} in [0, 1]")
    speeds = camera_speeds(estimate_global_motion(frames, value_range))
    fastest = max(abs(v) for v in speeds.values())
    bar = max(min_speed, relative * fastest)
    ranked = sorted(speeds.items(), key=lambda kv: -abs(kv[1]))
    return tuple(_WORDS[k][0 if v > 0 else 1] for k, v in ranked if abs(v) >= bar)


def classify_camera_motion(frames, min_speed: float = 0.001, value_range=(-1.0, 1.0)) -> str:
    """One label of :data:`CAMERA_LABELS`: the fastest camera move, or "static"."""
    labels = camera_motion_labels(frames, min_speed, 1.0, value_range)
    return labels[0] if labels else "static"


def region_mask(region, shape: tuple[int, int]) -> np.ndarray:
    """Bool (H, W) mask from a mask array or an (x0, y0, x1, y1) box (x1, y1 exclusive)."""
    h, w = shape
    r = np.asarray(region)
    if r.shape == (h, w):
        return r.astype(bool)
    if r.shape != (4,):
        raise InputError(f"region must be a ({h}, {w}) mask or an (x0, y0, x1, y1) box, got shape {r.shape}")
    x0, y0, x1, y1 = (int(round(v)) for v in r)
    mask = np.zeros((h, w), bool)
    mask[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = True
    if not mask.any():
        raise InputError(f"box {tuple(r)} does not overlap the {w}x{h} frame")
    return mask


def _template_centres(gray: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(T, 2) centres by matching frame 0's bounding-box patch in every frame (fallback)."""
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    patch = gray[0, y0:y1, x0:x1]
    offset = np.array([(x1 - x0 - 1) / 2.0, (y1 - y0 - 1) / 2.0])
    out = []
    for g in gray:
        _, _, best, _ = cv2.minMaxLoc(-cv2.matchTemplate(g, patch, cv2.TM_SQDIFF))
        out.append(np.array(best, np.float64) + offset)
    return np.stack(out)


def object_trajectory(frames, region, value_range=(-1.0, 1.0)) -> np.ndarray:
    """(T, 2) on-screen (x, y) centre of the object in ``region`` (frame-0 mask or box).

    Corners inside the region (dilated 2 px, so the object's own outline corners count) are KLT
    tracked; centre_t = centroid_0 + median displacement of the live tracks. Frames where every
    track is lost fall back to template matching of frame 0's patch.
    """
    gray = gray_frames(as_uint8_video(frames, value_range))
    mask = region_mask(region, gray.shape[1:])
    ys, xs = np.nonzero(mask)
    centroid = np.array([xs.mean(), ys.mean()])
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    tracks = _track_gray(gray, grown, 300)
    out = np.empty((len(gray), 2))
    fallback = None
    for t in range(len(gray)):
        live = tracks.valid[t]
        if live.any():
            out[t] = centroid + np.median(tracks.points[t, live] - tracks.points[0, live], axis=0)
        else:
            fallback = _template_centres(gray, mask) if fallback is None else fallback
            out[t] = fallback[t] - fallback[0] + centroid
    return out


def direction_of(trajectory, min_shift: float = 2.0, eight_way: bool = False) -> str:
    """Screen direction of the net displacement last - first (y down).

    "left" | "right" | "up" | "down" (or, with ``eight_way``, also "up_left", "up_right",
    "down_left", "down_right"); "still" when it is shorter than ``min_shift`` px.
    """
    traj = np.asarray(trajectory, np.float64)
    if traj.ndim != 2 or traj.shape[1] != 2 or len(traj) < 2:
        raise InputError(f"trajectory must be (T >= 2, 2) (x, y) centres, got shape {traj.shape}")
    dx, dy = traj[-1] - traj[0]
    if np.hypot(dx, dy) < min_shift:
        return "still"
    if eight_way:
        sector = int(np.round(np.arctan2(dy, dx) / (np.pi / 4))) % 8  # 0 = right, 2 = down
        return ("right", "down_right", "down", "down_left", "left", "up_left", "up", "up_right")[sector]
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"
