"""A clip's exact motion plan: six rates per frame, the layout of ``kinema.conditioning.plan``.

``(pan_x, pan_y, zoom, roll, object_x, object_y)``: the camera's parameters (camera.py) change
linearly in time — offset in image sizes sqrt(W H), log zoom, roll in radians — so their rates are
exact. The object rate is the main object's net screen displacement per frame (image sizes), for a
linear mover (the one motion whose caption states a direction) visible in frame 0; zero otherwise.
"""

from __future__ import annotations

import numpy as np


def clip_plan(clip) -> np.ndarray:
    """(6,) float32 plan of a :class:`~kinema.data.world.clip.Clip`."""
    t, h, w = clip.frames.shape[:3]
    size, steps = float(np.sqrt(w * h)), max(t - 1, 1)
    cam = clip.camera.astype(np.float64)
    plan = np.zeros(6)
    plan[:2] = (cam[-1, :2] - cam[0, :2]) / size / steps
    plan[2] = np.log(cam[-1, 2] / cam[0, 2]) / steps
    plan[3] = (cam[-1, 3] - cam[0, 3]) / steps
    if clip.objects:
        main = clip.objects[0]
        if main.attributes.get("motion") == "linear" and bool(main.visible[0]):
            ends = [clip.camera_matrix[i] @ np.append(main.center_world[i], 1.0) for i in (0, -1)]
            plan[4:] = (ends[1][:2] / ends[1][2] - ends[0][:2] / ends[0][2]) / size / steps
    return plan.astype(np.float32)
