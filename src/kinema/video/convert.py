"""Pixel-format conversion with a swscale context of our own: one thread, one per process.

Why not PyAV's defaults (``frame.to_ndarray(format=...)``, or letting ``stream.encode`` convert):
PyAV (>= 17) keeps one swscale context per thread for the life of the process, and with its default
``threads=0`` FFmpeg 8 gives that context a pool of slice threads.

``fork`` (DataLoader workers on Linux) copies the context but not its threads; the child's first
conversion of another size or format rebuilds the context, and freeing the old pool
(``avpriv_slicethread_free``) waits forever for threads that do not exist in the child. Writing
(:mod:`kinema.video.write`) converts with the same helper, so a forked worker that writes videos is
safe too.

One thread per conversion leaves no pool to inherit, and a context
made per process id means a child never reuses its parent's. Parallelism comes from DataLoader
workers instead.
"""

from __future__ import annotations

import os
import threading

import av
import numpy as np
from av.video.reformatter import VideoReformatter

_local = threading.local()  # this thread's own swscale context, tagged with the process that made it
_inherited: list[VideoReformatter] = []  # a parent's contexts after fork: kept alive, never freed in the child


def reformat(frame: av.VideoFrame, format: str) -> av.VideoFrame:
    """``frame`` converted to pixel ``format`` by this thread's single-threaded context."""
    if getattr(_local, "pid", None) != os.getpid():
        if hasattr(_local, "reformatter"):
            _inherited.append(_local.reformatter)  # a child must not free the parent's FFmpeg state
        _local.reformatter, _local.pid = VideoReformatter(), os.getpid()
    return _local.reformatter.reformat(frame, format=format, threads=1)


def frame_to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """uint8 (H, W, 3) of a decoded frame."""
    return reformat(frame, "rgb24").to_ndarray()
