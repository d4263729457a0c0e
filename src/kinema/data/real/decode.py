"""Decode chosen frames of a video with PyAV on a constant-rate grid of timestamps.

Frames are addressed by their *grid index*: index ``i`` is the instant ``t0 + i / fps``, where
``t0`` is the presentation time of the first frame the decoder outputs and ``fps`` the record's
rate. ``t0`` is read from that frame, not from the container's ``start_time``: an MPEG-4 AVI with
B-frames starts its stream at dts 0 but shows its first frame at pts 1 (or later), and an MPEG-TS
file can start anywhere. Each index gets the frame on screen at its instant, as ffmpeg's ``fps``
filter picks it (``round=near``): the latest frame whose timestamp rounds to that index or an
earlier one. For a constant-frame-rate file that is presentation order; a variable-frame-rate
file (phone videos, AVIs with dropped frames) comes out resampled to a constant rate, holding a
frame across a gap and dropping the earlier of two frames that land on one tick. GIF and PNG
sequences go through :func:`kinema.video.read_video`.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from kinema.errors import InputError
from kinema.video import VideoInfo, read_video
from kinema.video.convert import frame_to_rgb
from kinema.video.inputs import _one_line

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
        raise _fail(path, _one_line(e)) from None
    if not container.streams.video:
        container.close()
        raise _fail(path, "it has no video stream")
    return container


def _rate(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def grid_rate(info: VideoInfo) -> float:
    """The rate of a file's index grid: its nominal rate, or for a variable-frame-rate file its
    mean rate (frames / duration), since a VFR stream's nominal rate can be a guess (Matroska
    says 24). Resampling at the mean rate keeps about one grid tick per decoded frame."""
    return info.frames / info.duration if (info.vfr and info.duration > 0) else info.fps


def _near(x: float) -> int:
    """Round half up, as ffmpeg's AV_ROUND_NEAR_INF does for times after the first frame
    (Python's round() would send 2.5 to 2)."""
    return int(math.floor(x + 0.5))


class _NoFrame(Exception):
    """The stream decodes no frame at all."""


@dataclass(frozen=True)
class _Grid:
    """Where grid index ``i`` lies on the stream's clock: ``t0 + i / fps`` seconds."""

    fps: float  # grid ticks per second (0: the stream states no rate)
    tb: float  # seconds per timestamp unit (0: no time base)
    t0: float | None  # presentation time of the first frame, seconds (None: frames carry no pts)

    @property
    def timed(self) -> bool:
        return self.fps > 0 and self.tb > 0 and self.t0 is not None

    def index(self, pts: int) -> int:
        return _near((pts * self.tb - self.t0) * self.fps)

    def pts_at(self, index: int) -> int:
        return int(round((self.t0 + index / self.fps) / self.tb))


def _start(container, stream, fps: float | None) -> tuple[_Grid, Iterator[Any]]:
    """Decode the first frame to learn ``t0``; return the grid and every frame from the start."""
    frames = container.decode(stream)
    first = next(frames, None)
    if first is None:
        raise _NoFrame
    tb = float(stream.time_base) if stream.time_base else 0.0
    t0 = first.pts * tb if first.pts is not None else None
    return _Grid(fps or _rate(stream), tb, t0), itertools.chain([first], frames)


class _NoTimestamp(Exception):
    """A frame after a seek has no timestamp, so its index is unknown."""


def _indexed(frames: Iterator[Any], grid: _Grid, counting: bool) -> Iterator[tuple[int, Any]]:
    """(grid index, frame) in decode order; frames without a timestamp are counted when
    ``counting`` (decoding from the start), an error after a seek."""
    for count, frame in enumerate(frames):
        if grid.timed and frame.pts is not None:
            yield grid.index(frame.pts), frame
        elif counting:
            yield count, frame
        else:
            raise _NoTimestamp


def _end_index(frame, interval: float | None, grid: _Grid) -> int:
    """First grid index past the last frame: it stays on screen for its duration (else the last
    interval between frames, else one tick)."""
    if not grid.timed or frame.pts is None:
        return 0
    hold = frame.duration * grid.tb if frame.duration else (interval or 1.0 / grid.fps)
    return _near((frame.pts * grid.tb + hold - grid.t0) * grid.fps)


def _on_screen(indexed: Iterator[tuple[int, Any]], grid: _Grid) -> Iterator[tuple[int, Any]]:
    """(tick, frame on screen at that tick) for every grid tick from the first frame to the end
    of the last: ffmpeg's fps filter. A tick is yielded once the next frame shows it is over."""
    prev, tick, interval = None, 0, None
    for idx, frame in indexed:
        if prev is None:
            tick = idx
        else:
            yield from ((t, prev) for t in range(tick, idx))
            tick = max(tick, idx)
            if grid.timed and frame.pts is not None and prev.pts is not None and frame.pts > prev.pts:
                interval = (frame.pts - prev.pts) * grid.tb
        prev = frame
    if prev is not None:
        yield from ((t, prev) for t in range(tick, max(tick + 1, _end_index(prev, interval, grid))))


def _take(ticks: Iterator[tuple[int, Any]], wanted: set[int]) -> tuple[dict[int, Any], int | None] | None:
    """The frames at ``wanted`` ticks and the last tick seen; None when the first tick is already
    past the first wanted one (a seek landed too late)."""
    out: dict[int, Any] = {}
    last, first = None, min(wanted)
    for tick, frame in ticks:
        if last is None and tick > first:
            return None
        last = tick
        if tick in wanted:
            out[tick] = frame
            if len(out) == len(wanted):
                break
    return out, last


def _find(container, stream, indices: list[int], fps: float | None) -> tuple[dict[int, Any], int | None, _Grid]:
    """Decode just enough of the stream to find the frames at ``indices``."""
    grid, frames = _start(container, stream, fps)
    wanted = set(indices)
    seek_to = min(indices)
    if seek_to > 0 and grid.timed:
        container.seek(grid.pts_at(seek_to), stream=stream, backward=True, any_frame=False)
        try:
            got = _take(_on_screen(_indexed(container.decode(stream), grid, False), grid), wanted)
        except _NoTimestamp:
            got = None
        if got is not None:
            return (*got, grid)
        container.seek(0, stream=stream)  # imprecise seek: decode from the start instead
        grid, frames = _start(container, stream, fps)
    got = _take(_on_screen(_indexed(frames, grid, True), grid), wanted)
    return (*got, grid)


def decode_frames(path: str | os.PathLike, indices: list[int], fps: float | None = None) -> np.ndarray:
    """uint8 (len(indices), H, W, 3): the frames on screen at grid ``indices`` (repeats allowed)
    of the ``fps`` grid (default: the stream's nominal rate), counted from the first frame."""
    path = Path(path)
    if not indices:
        raise ValueError("indices must not be empty")
    if min(indices) < 0:
        raise ValueError(f"indices must be >= 0, got {min(indices)}")
    if path.is_dir() or path.suffix.lower() in _PILLOW_SUFFIXES:
        frames, _ = read_video(path, max_frames=max(indices) + 1)
        if max(indices) >= len(frames):
            raise _fail(path, f"has {len(frames)} frames, clip needs frame {max(indices)}")
        return frames[np.asarray(indices)]
    try:
        with _open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            got, last, grid = _find(container, stream, indices, fps)
    except _NoFrame:
        raise _fail(path, "no frame decodes (empty or undecodable video stream)") from None
    except av.FFmpegError as e:
        raise _fail(path, f"decoding failed: {_one_line(e)}") from None
    missing = sorted(set(indices) - set(got))
    if missing:
        rate = f" of the {grid.fps:g} fps grid" if grid.timed else ""
        raise _fail(path, f"frame {missing[0]}{rate} is past the end of the video, which ends at frame {last} "
                          f"(the file is shorter than its record says: truncated, or the record is stale)")
    cache = {i: frame_to_rgb(got[i]) for i in set(indices)}
    return np.stack([cache[i] for i in indices])


@dataclass
class DecodePass:
    """What a full decode of a file found (used by ``kinema data scan``)."""

    decoded: int = 0  # frames that decoded
    declared: int = 0  # frames the container header promises after the first one's time (0: unknown)
    ticks: int = 0  # grid ticks from the first frame to the end of the last
    error: str | None = None  # decoder error that stopped the pass, if any
    kept: dict[int, np.ndarray] = field(default_factory=dict)  # transform(frame) for wanted ticks


def _declared_frames(container, stream, grid: _Grid) -> int:
    """Frame count the header promises from the first frame on: the stream's count, else its
    duration, else the file's, less the ticks between the stream's start and its first frame.
    An AVI counts a slot for every tick from 0, so one whose first frame shows at pts 5 (a
    B-frame delay or a start offset) promises 5 slots no frame fills: a delay, not lost frames."""
    fps = grid.fps
    if stream.frames:
        count = int(stream.frames)
    elif stream.duration and stream.time_base and fps:
        count = int(round(float(stream.duration * stream.time_base) * fps))
    elif container.duration and fps:
        count = int(round(container.duration / 1e6 * fps))
    else:
        return 0
    start = float(stream.start_time * stream.time_base) if (stream.start_time is not None and grid.tb) else 0.0
    delay = int(round((grid.t0 - start) * fps)) if grid.timed else 0
    return max(0, count - max(0, delay))


def _counted(indexed: Iterator[tuple[int, Any]], result: DecodePass) -> Iterator[tuple[int, Any]]:
    for item in indexed:
        result.decoded += 1
        yield item


def decode_pass(path: str | os.PathLike, wanted: set[int], transform: Callable[[np.ndarray], np.ndarray],
                fps: float | None = None) -> DecodePass:
    """Decode every frame of ``path`` on the ``fps`` grid; keep ``transform(rgb)`` of the frames
    on screen at the ``wanted`` ticks."""
    path = Path(path)
    result = DecodePass()
    if path.is_dir() or path.suffix.lower() in _PILLOW_SUFFIXES:
        frames, _ = read_video(path)
        result.decoded = result.declared = result.ticks = len(frames)
        result.kept = {i: transform(frames[i]) for i in wanted if i < len(frames)}
        return result
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            grid, frames = _start(container, stream, fps)
            result.declared = _declared_frames(container, stream, grid)
            for tick, frame in _on_screen(_counted(_indexed(frames, grid, True), result), grid):
                result.ticks = tick + 1
                if tick in wanted:
                    result.kept[tick] = transform(frame_to_rgb(frame))
        except _NoFrame:
            result.error = "no frame decodes"
        except av.FFmpegError as e:
            result.error = _one_line(e)
    return result
