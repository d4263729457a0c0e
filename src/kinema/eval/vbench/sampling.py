"""Which frames each VBench-I2V dimension looks at (Vchitect/VBench, ``vbench/*.py``).

* subject / background consistency, the two video-image consistencies, aesthetic and imaging
  quality: every frame of the video (``load_video`` without ``num_frames``);
* camera motion: every frame goes to the tracker; the rule compares the first and last frames;
* motion smoothness: frames 0, 2, 4, ... are kept, the model interpolates the middle of each
  consecutive pair, and the predictions are compared with frames 1, 3, 5, ...
  (``MotionSmoothness.extract_frame``, start 0 and 1, step 2);
* dynamic degree: every ``max(1, round(fps / 8))``-th frame (``DynamicDegree.get_frames``), i.e.
  about 8 frames per second; Python's round, so ties go to the even integer (fps 20 -> 2).
"""

from __future__ import annotations

from kinema.errors import ConfigError

ALL_FRAMES = "all frames"
CAMERA_FRAMES = "all frames tracked (10x10 grid); first vs last frame compared"
MOTION_SMOOTHNESS_FRAMES = "frames 0,2,4,... interpolated pairwise; predictions vs frames 1,3,5,..."
DYNAMIC_DEGREE_FRAMES = "every max(1, round(fps/8))-th frame; flow between consecutive sampled frames"


def dynamic_degree_interval(fps: float | None) -> int:
    """Frame step of dynamic degree; ``fps=None`` means the frames are already sampled (step 1)."""
    if fps is None:
        return 1
    if not fps > 0:
        raise ConfigError(f"fps={fps!r} must be positive (or None for already-sampled frames)")
    return max(1, round(fps / 8))


def dynamic_degree_indices(n_frames: int, fps: float | None) -> list[int]:
    """Indices of the frames dynamic degree runs optical flow on."""
    return list(range(0, n_frames, dynamic_degree_interval(fps)))


def motion_smoothness_split(n_frames: int) -> tuple[list[int], list[int]]:
    """(kept frames 0,2,4,..., held-out frames 1,3,5,...) of motion smoothness."""
    return list(range(0, n_frames, 2)), list(range(1, n_frames, 2))
