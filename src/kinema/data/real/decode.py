"""Decode chosen frames of a video with PyAV: seek near the first one, stop after the last.

Frames are addressed by their *native index* on the nominal frame grid,
``index = round((pts_time - start_time) * fps)``. For a constant-frame-rate file that is the
decode order; for a variable-frame-rate file it picks, for each wanted index, the latest frame
shown at or before that instant (what a player would display). GIF and PNG sequences go
through :func:`kinema.video.read_video`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from kinema.errors import InputError
from kinema.video import read_video

_PILLOW_SUFFIXES = (".gif", ".png")


def _fail(path: Path, why: str) -> InputError:
    return InputError(f"cannot read video {path}: {why}")


def _open(path: Path):
    if not path.exists():
        raise _fail(path, "no such file")
    if path.is_file() and path.stat().st_size == 0:
        raise _fail(path, "the file is empty (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise _fail(path, " ".join(str(e).split())) from None
    if not container.streams.video:
        container.close()
        raise _fail(path, "it has no video stream")
    return container


def _rate(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _indexed_frames(container, stream, seek_to: int, fps: float | None = None) -> Iterator[tuple[int, Any]]:
    """Yield (native index, av.VideoFrame), starting near ``seek_to`` when it is > 0.

    ``fps`` sets the index grid (default: the stream's nominal rate; a scan passes the mean
    rate frames / duration for a variable-frame-rate file).
    """
    fps = fps or _rate(stream)
    tb = float(stream.time_base) if stream.time_base else 0.0
    t0 = float(stream.start_time * stream.time_base) if stream.start_time is not None and tb else 0.0
    if seek_to > 0 and fps > 0 and tb > 0:
        container.seek(int(round((t0 + seek_to / fps) / tb)), stream=stream, backward=True, any_frame=False)
        count = None  # decode order no longer tells the index
    else:
        count = 0
    for frame in container.decode(stream):
        if frame.pts is not None and fps > 0 and tb > 0:
            idx = int(round((float(frame.pts) * tb - t0) * fps))
        elif count is not None:
            idx = count
        else:
            raise RuntimeError("frame without timestamp after a seek")
        if count is not None:
            count += 1
        yield idx, frame


def _collect(frames_iter: Iterator[tuple[int, Any]], wanted: list[int]) -> dict[int, Any] | None:
    """Map each wanted index to the latest frame at or before it; None if a seek overshot."""
    out: dict[int, Any] = {}
    pending = sorted(set(wanted))
    k, prev = 0, None
    for idx, frame in frames_iter:
        if prev is None and idx > pending[0]:
            return None  # the seek landed after the first wanted frame
        while k < len(pending) and pending[k] < idx:
            out[pending[k]] = prev
            k += 1
        if k < len(pending) and pending[k] == idx:
            out[pending[k]] = frame
            k += 1
        prev = frame
        if k == len(pending):
            break
    return out


def decode_frames(path: str | os.PathLike, indices: list[int], fps: float | None = None) -> np.ndarray:
    """uint8 (len(indices), H, W, 3): the frames at native ``indices`` (repeats allowed) on the
    grid of ``fps`` (default: the stream's nominal rate)."""
    path = Path(path)
    if not indices:
        raise ValueError("indices must not be empty")
    if path.is_dir() or path.suffix.lower() in _PILLOW_SUFFIXES:
        frames, _ = read_video(path, max_frames=max(indices) + 1)
        if max(indices) >= len(frames):
            raise _fail(path, f"has {len(frames)} frames, clip needs frame {max(indices)}")
        return frames[np.asarray(indices)]
    try:
        with _open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            got = _collect(_indexed_frames(container, stream, min(indices), fps), indices)
            if got is None:  # imprecise seek: decode from the start instead
                container.seek(0, stream=stream)
                got = _collect(_indexed_frames(container, stream, 0, fps), indices)
    except av.FFmpegError as e:
        raise _fail(path, " ".join(str(e).split())) from None
    missing = [i for i in indices if got is None or got.get(i) is None]
    if missing:
        raise _fail(path, f"frame {missing[0]} could not be decoded (truncated, or shorter than its header says)")
    cache = {i: got[i].to_ndarray(format="rgb24") for i in set(indices)}
    return np.stack([cache[i] for i in indices])


@dataclass
class DecodePass:
    """What a full decode of a file found (used by ``kinema data scan``)."""

    decoded: int = 0  # frames that decoded
    declared: int = 0  # frames the container header promises (0 if it says nothing)
    error: str | None = None  # decoder error that stopped the pass, if any
    kept: dict[int, np.ndarray] = field(default_factory=dict)  # transform(frame) for wanted indices


def _declared_frames(container, stream, fps: float) -> int:
    """Frame count the header promises: the stream's count, else its duration, else the file's."""
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base and fps:
        return int(round(float(stream.duration * stream.time_base) * fps))
    if container.duration and fps:
        return int(round(container.duration / 1e6 * fps))
    return 0


def decode_pass(path: str | os.PathLike, wanted: set[int], transform: Callable[[np.ndarray], np.ndarray],
                fps: float | None = None) -> DecodePass:
    """Decode every frame of ``path``; keep ``transform(rgb)`` of the frames at ``wanted`` indices."""
    path = Path(path)
    result = DecodePass()
    if path.is_dir() or path.suffix.lower() in _PILLOW_SUFFIXES:
        frames, _ = read_video(path)
        result.decoded = result.declared = len(frames)
        result.kept = {i: transform(frames[i]) for i in wanted if i < len(frames)}
        return result
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = fps or _rate(stream)
        result.declared = _declared_frames(container, stream, fps)
        try:
            for idx, frame in _indexed_frames(container, stream, 0, fps):
                result.decoded += 1
                if idx in wanted and idx not in result.kept:
                    result.kept[idx] = transform(frame.to_ndarray(format="rgb24"))
        except av.FFmpegError as e:
            result.error = " ".join(str(e).split())
    return result
