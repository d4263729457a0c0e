"""Temporal clip sampling: which native frames make a T-frame clip at a target fps or stride.

A clip of ``frames`` frames takes every ``step``-th native frame, where ``step = stride`` or
``step = native_fps / fps`` (a fractional step is rounded per frame, so 24 -> 10 fps picks
0, 2, 5, 7, ...). ``step`` is never below 1: a clip is never slowed down by repeating frames,
so asking for more fps than the file has gives the native rate. The effective frame rate of
the clip, ``native_fps / step``, is what the fps condition should be told.
"""

from __future__ import annotations

import math

import torch

from kinema.config import check_choice
from kinema.errors import ConfigError, InputError

TEMPORAL_POLICIES = ("random", "start", "center")


class ClipTooShort(InputError):
    """The file (or its window) holds fewer frames than the clip needs."""


def frame_step(native_fps: float | None, fps: float | None = None, stride: int | None = None) -> float:
    """Native frames between consecutive clip frames (>= 1)."""
    if fps is not None and stride is not None:
        raise ConfigError(f"give fps={fps} or stride={stride}, not both")
    if stride is not None:
        if int(stride) != stride or stride < 1:
            raise ConfigError(f"stride={stride!r} must be a whole number >= 1")
        return float(stride)
    if fps is not None:
        if not fps > 0:
            raise ConfigError(f"fps={fps!r} must be > 0")
        if not native_fps:
            return 1.0
        return max(1.0, float(native_fps) / float(fps))
    return 1.0


def frames_available(window_frames: int, step: float) -> int:
    """Longest clip (in clip frames) that fits in ``window_frames`` native frames at ``step``."""
    if window_frames <= 0:
        return 0
    return int(math.floor((window_frames - 1) / step + 1e-9)) + 1


def clip_indices(window: tuple[int, int], frames: int, step: float, temporal: str = "random",
                 generator: torch.Generator | None = None) -> list[int]:
    """Native frame indices of one clip inside ``window = [first, stop)``.

    ``temporal``: ``"start"`` (clip begins at ``first``), ``"center"``, or ``"random"`` (uniform
    start position drawn with ``generator``).
    """
    check_choice("temporal", temporal, TEMPORAL_POLICIES)
    if frames < 1:
        raise ConfigError(f"frames={frames!r} must be >= 1")
    first, stop = window
    span = (frames - 1) * step  # native frames between the first and the last clip frame
    room = (stop - 1 - first) - span  # slack for the start position
    if room < -1e-9:
        raise ClipTooShort(f"needs {frames} frames at step {step:g} ({math.floor(span) + 1} native frames) "
                           f"but the window holds {max(0, stop - first)}")
    slack = int(math.floor(room + 1e-9))
    if temporal == "start" or slack == 0:
        offset = 0
    elif temporal == "center":
        offset = slack // 2
    else:
        offset = int(torch.randint(0, slack + 1, (), generator=generator))
    return [first + offset + int(round(k * step)) for k in range(frames)]
