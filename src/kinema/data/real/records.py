"""One manifest row: where a clip lives, what it shows, and the facts a loader needs.

A record describes a whole file or a window of it (``start`` / ``end`` in seconds, WebVid
style). Facts unknown until ``kinema data scan`` probes the file (``fps``, ``frames``,
``width``, ``height``, ``motion_score``) are ``None``; a still image is a one-frame video
(``frames == 1``, ``fps is None``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".mkv", ".mov", ".avi", ".m4v", ".gif", ".mpg", ".mpeg",
                            ".ogv", ".flv", ".ts", ".wmv", ".3gp"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass
class VideoRecord:
    path: Path  # absolute path of the video or image file
    caption: str = ""
    fps: float | None = None  # native frame rate (None: unknown, or a still image)
    start: float | None = None  # window start in seconds (None: from the first frame)
    end: float | None = None  # window end in seconds, exclusive (None: to the last frame)
    frames: int | None = None  # native frames in the whole file (1 for an image)
    width: int | None = None
    height: int | None = None
    motion_score: float | None = None  # see kinema.data.motion (None: not computed)
    split: str = "train"
    seed: int | None = None  # generator seed for procedural clips; None for real footage
    extra: dict[str, Any] = field(default_factory=dict)  # any other manifest keys, kept verbatim

    @property
    def is_image(self) -> bool:
        """A still image file (by suffix); a one-frame *video* file is still a video."""
        return is_image(self.path)

    def window(self) -> tuple[int, int]:
        """Native frame range ``[first, stop)`` covered by ``start`` / ``end``."""
        total = self.frames if self.frames is not None else 0
        fps = self.fps or 0.0
        first = int(math.ceil(self.start * fps - 1e-6)) if (self.start and fps) else 0
        stop = int(math.ceil(self.end * fps - 1e-6)) if (self.end is not None and fps) else total
        return max(0, first), min(total, stop) if total else stop

    def window_frames(self) -> int:
        first, stop = self.window()
        return max(0, stop - first)

    def replace(self, **changes: Any) -> "VideoRecord":
        return dataclasses.replace(self, **changes)
