"""Per-video metrics of ``kinema bench world``: one generated video against its world clip.

All are weight-free (:mod:`kinema.eval`) and computed at the clip's own resolution:

* **first-frame fidelity**: PSNR (Wang et al. 2026, I2V survey Eq. 8) and SSIM (Eq. 9) of generated frame 0 against
  the conditioning frame (inf dB when identical);
* **motion direction** (clips whose main object is a *linear* mover — the only motion whose
  caption states a screen direction — that is visible in frame 0 and whose ground-truth net
  displacement is at least ``MOVING_MIN`` of the image size sqrt(W H)): the object is tracked in
  the *generated* video from its ground-truth frame-0 mask (:func:`kinema.eval.object_trajectory`,
  KLT). Its net displacement is correct when it is at least ``STILL_BELOW`` of the image size long
  and within ``ANGLE_TOL`` = 45 degrees of the caption's direction (``attributes["direction_screen"]``,
  one of 8 sector centres): the tracker's small bias (background corners at the object's outline)
  then cannot flip a displacement near a sector border. The exact 8-way word match
  (:func:`kinema.eval.direction_of`) is reported too. The trajectory's endpoint error is reported against the
  ground-truth centroids, normalised by the image diagonal hypot(W, H): ``epe`` = mean over frames,
  ``epe_final`` = last frame;
* **camera move** (clips whose camera moves): :func:`kinema.eval.classify_camera_motion` on the
  generated video names the fastest move; it is correct when it is the requested move or, for a
  composite such as ``pan_left+zoom_in``, one of its parts. Static-camera clips score whether
  "static" is recovered. Over flat and gradient backgrounds the global motion is often
  unobservable (no corners), so the headline uses textured and photo backgrounds only;
* **temporal**: warping error and flicker (:mod:`kinema.eval.temporal`).
"""

from __future__ import annotations

import numpy as np

from kinema.data.world.caption import DIRECTIONS
from kinema.eval import (
    classify_camera_motion, direction_of, object_trajectory, psnr, ssim, temporal_flicker, warping_error,
)

MOVING_MIN = 0.05  # net ground-truth displacement, in image sizes sqrt(W H), for a clip to count as moving
STILL_BELOW = 0.025  # an estimated net shift shorter than this (image sizes) reads as "still"
ANGLE_TOL = 45.0  # degrees between the tracked net displacement and the caption's direction
MIN_MASK_PX = 4  # the main object must show at least this many pixels in frame 0
TEXTURED = ("texture", "photo")  # backgrounds on which the camera's global motion is observable
DIRECTION_WORDS = {  # caption words (kinema.data.world.caption.DIRECTIONS) -> direction_of words
    "to the right": "right", "down and to the right": "down_right", "downward": "down",
    "down and to the left": "down_left", "to the left": "left", "up and to the left": "up_left",
    "upward": "up", "up and to the right": "up_right",
}
CAPTION_ANGLES = {word: 45.0 * k for k, word in enumerate(DIRECTIONS)}  # degrees, y down: 90 = downward


def image_size(clip) -> float:
    h, w = clip.frames.shape[1:3]
    return float(np.sqrt(w * h))


def moving_main_object(clip) -> bool:
    """The caption states a screen direction for a main object that visibly travels far enough."""
    if not clip.objects:
        return False
    main = clip.objects[0]
    a = main.attributes
    shift = float(np.linalg.norm(main.center[-1] - main.center[0]))
    return (a.get("motion") == "linear" and a.get("direction_screen") in DIRECTION_WORDS
            and int(main.mask[0].sum()) >= MIN_MASK_PX and shift >= MOVING_MIN * image_size(clip))


def direction_metrics(video: np.ndarray, clip) -> dict:
    """{direction, direction_correct, direction_exact, angle_error, epe, epe_final} (moving clips only)."""
    main = clip.objects[0]
    traj = object_trajectory(video, main.mask[0])  # (T, 2)
    still = STILL_BELOW * image_size(clip)
    word = direction_of(traj, min_shift=still, eight_way=True)
    caption = CAPTION_ANGLES[main.attributes["direction_screen"]]
    dx, dy = traj[-1] - traj[0]
    angle = abs((np.degrees(np.arctan2(dy, dx)) - caption + 180.0) % 360.0 - 180.0)  # in [0, 180]
    moved = bool(np.hypot(dx, dy) >= still)
    h, w = clip.frames.shape[1:3]
    err = np.linalg.norm(traj - main.center.astype(np.float64), axis=1) / np.hypot(w, h)  # (T,)
    return {"direction": word, "direction_correct": float(moved and angle <= ANGLE_TOL),
            "direction_exact": float(word == DIRECTION_WORDS[main.attributes["direction_screen"]]),
            "angle_error": float(angle) if moved else 180.0, "epe": float(err.mean()), "epe_final": float(err[-1])}


def camera_metrics(video: np.ndarray, clip) -> dict:
    """{camera_label, camera_correct | static_correct, background}."""
    move, background = clip.attributes["camera"], clip.attributes["background"]
    label = classify_camera_motion(video)
    out = {"camera_label": label, "background": background, "camera_move": move}
    if move == "static":
        out["static_correct"] = float(label == "static")
    else:
        out["camera_correct"] = float(label in move.split("+"))
    return out


def clip_metrics(video: np.ndarray, clip) -> dict:
    """Every per-video metric of one uint8 (T, H, W, 3) video generated for ``clip`` (same shape)."""
    if video.shape != clip.frames.shape:
        raise ValueError(f"generated video {video.shape} and world clip {clip.frames.shape} differ in shape")
    out = {"psnr": psnr(video[:1], clip.frames[:1]), "ssim": ssim(video[:1], clip.frames[:1]),
           "warping_error": warping_error(video), "flicker": temporal_flicker(video)}
    if moving_main_object(clip):
        out.update(direction_metrics(video, clip))
    out.update(camera_metrics(video, clip))
    return out
