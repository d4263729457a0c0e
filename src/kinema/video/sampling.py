"""Which source frames make a clip: resample to a target frame rate, or take every k-th frame.

Output frame k sits at time ``k / fps_out`` after the start; it takes the latest source frame
shown at that time, ``floor(k * fps_in / fps_out)`` (so fps_out == fps_in is the identity and
halving the rate takes every other frame). With ``stride`` the indices are ``start + k * stride``.
"""

from __future__ import annotations

import math

from kinema.errors import ConfigError, InputError

_EPS = 1e-6  # absorbs float error so that k * fps_in / fps_out = 3.0 does not floor to 2


def _step(fps_in: float, fps_out: float | None, stride: int | None) -> float:
    if fps_out is not None and stride is not None:
        raise ConfigError("give fps_out or stride, not both")
    if stride is not None:
        if int(stride) != stride or stride < 1:
            raise ConfigError(f"stride={stride!r} must be an integer >= 1")
        return float(stride)
    if fps_out is None:
        return 1.0
    if not (fps_in > 0 and fps_out > 0):
        raise ConfigError(f"fps_in={fps_in!r} and fps_out={fps_out!r} must be positive")
    return fps_in / fps_out


def frames_needed(num_out: int, fps_in: float, fps_out: float | None = None,
                  stride: int | None = None) -> int:
    """How many consecutive source frames a clip of ``num_out`` output frames spans."""
    if num_out < 1:
        raise ConfigError(f"num_out={num_out!r} must be >= 1")
    return math.floor((num_out - 1) * _step(fps_in, fps_out, stride) + _EPS) + 1


def sample_frame_indices(num_frames_in: int, fps_in: float, num_out: int, fps_out: float | None = None,
                         *, stride: int | None = None, start: int = 0, clamp: bool = False) -> list[int]:
    """Source frame indices for a clip of ``num_out`` frames beginning at source frame ``start``.

    Give ``fps_out`` (resample in time) or ``stride`` (every k-th frame); neither = stride 1.
    A clip running past the last source frame raises InputError, or with ``clamp=True``
    repeats the last frame.
    """
    step = _step(fps_in, fps_out, stride)
    if num_out < 1:
        raise ConfigError(f"num_out={num_out!r} must be >= 1")
    if num_frames_in < 1 or not 0 <= start < num_frames_in:
        raise InputError(f"start={start} is outside a video of {num_frames_in} frames")
    idx = [start + math.floor(k * step + _EPS) for k in range(num_out)]
    if idx[-1] >= num_frames_in:
        if not clamp:
            raise InputError(f"a clip of {num_out} frames at step {step:g} from frame {start} needs "
                             f"{idx[-1] + 1} source frames, the video has {num_frames_in} "
                             "(pass clamp=True to repeat the last frame)")
        idx = [min(i, num_frames_in - 1) for i in idx]
    return idx
