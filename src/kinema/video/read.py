"""Read frames and stream facts from mp4 / webm / gif / PNG sequences (and most FFmpeg inputs).

Every failure to read (missing, zero-length, truncated, not a video) raises
:class:`kinema.errors.InputError` with a one-line message naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageSequence

from kinema.errors import InputError
from kinema.video.convert import frame_to_rgb
from kinema.video.formats import png_frames
from kinema.video.inputs import _one_line
from kinema.video.metadata import PNG_FPS_KEY

DEFAULT_PNG_FPS = 24.0  # frame rate assumed for a PNG sequence that does not record one


@dataclass(frozen=True)
class VideoInfo:
    frames: int  # number of frames
    fps: float  # average frame rate
    width: int
    height: int
    duration: float  # seconds = frames / fps for constant frame rate
    codec: str  # e.g. "h264", "vp9", "gif", "png"
    vfr: bool  # True when frame intervals vary (variable frame rate)


def _check_path(path: Path) -> None:
    if not path.exists():
        raise InputError(f"cannot read video {path}: no such file or folder")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(f"cannot read video {path}: the file is empty (0 bytes)")


def _is_pillow_format(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() in (".gif", ".png")


# ---- Pillow formats: GIF and PNG (single file or sequence folder) ----

def _pillow_frames(path: Path, max_frames: int | None) -> tuple[list[np.ndarray], list[float]]:
    """Frames as uint8 (H, W, 3) and their durations in seconds."""
    files = png_frames(path) if path.is_dir() else [path]
    if not files:
        raise InputError(f"cannot read video {path}: the folder holds no .png frames")
    frames, durations = [], []
    try:
        for file in files:
            with Image.open(file) as im:
                for page in ImageSequence.Iterator(im):
                    if max_frames is not None and len(frames) >= max_frames:
                        return frames, durations
                    frames.append(np.asarray(page.convert("RGB")))
                    durations.append(_frame_duration(page))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise InputError(f"cannot read video {path}: {_one_line(e)}") from None
    return frames, durations


def _frame_duration(page: Image.Image) -> float:
    if "duration" in page.info and page.info["duration"]:
        return float(page.info["duration"]) / 1000.0
    fps = float(page.info.get(PNG_FPS_KEY, DEFAULT_PNG_FPS))
    return 1.0 / fps


def _fps_from_durations(durations: list[float]) -> float:
    """The typical (median) frame interval gives the rate; exact for constant-rate files."""
    step = float(np.median(durations))
    return 1.0 / step if step > 0 else DEFAULT_PNG_FPS


# ---- FFmpeg formats ----

def _open(path: Path) -> av.container.InputContainer:
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read video {path}: {_one_line(e)}") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"cannot read video {path}: it has no video stream")
    return container


def _stream_fps(stream) -> float:
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    return float(rate) if rate else 0.0


def read_video(path: str | os.PathLike, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Decode a video into ``(frames uint8 (T, H, W, 3), fps)``; at most ``max_frames`` frames."""
    path = Path(path)
    _check_path(path)
    if _is_pillow_format(path):
        frames, durations = _pillow_frames(path, max_frames)
        return np.stack(frames), _fps_from_durations(durations)
    frames = []
    with _open(path) as container:
        stream = container.streams.video[0]
        fps = _stream_fps(stream)
        try:
            for frame in container.decode(stream):
                frames.append(frame_to_rgb(frame))
                if max_frames is not None and len(frames) >= max_frames:
                    break
        except av.FFmpegError as e:
            if not frames:
                raise InputError(f"cannot read video {path}: {_one_line(e)}") from None
            # a damaged tail: keep the frames decoded so far (the file plays up to there too)
    if not frames:
        raise InputError(f"cannot read video {path}: no frame could be decoded (truncated or empty stream)")
    return np.stack(frames), fps


def _is_vfr(pts: list[int]) -> bool:
    """Frame intervals differing by more than one tick and 2 % -> variable frame rate."""
    if len(pts) < 3:
        return False
    steps = np.diff(np.sort(np.asarray(pts, dtype=np.int64)))
    return bool(steps.max() - steps.min() > max(1, 0.02 * float(np.median(steps))))


def _pts_duration(pts: list[int], time_base) -> float:
    """Span of the presentation times plus one typical frame interval, in seconds."""
    if time_base is None or len(pts) < 2:
        return 0.0
    pts = np.sort(np.asarray(pts, dtype=np.int64))
    step = float(np.median(np.diff(pts)))
    return (float(pts[-1] - pts[0]) + step) * float(time_base)


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Frame count, rate, size, duration, codec and VFR flag, from packet headers (no decoding
    except for GIF/PNG, which are read through Pillow)."""
    path = Path(path)
    _check_path(path)
    if _is_pillow_format(path):
        frames, durations = _pillow_frames(path, None)
        h, w = frames[0].shape[:2]
        codec = "gif" if path.suffix.lower() == ".gif" else "png"
        vfr = max(durations) - min(durations) > 0.011  # GIF delays are in 1/100 s
        return VideoInfo(len(frames), _fps_from_durations(durations), w, h, sum(durations), codec, vfr)
    with _open(path) as container:
        stream = container.streams.video[0]
        try:
            pts = [p.pts for p in container.demux(stream) if p.pts is not None and p.size > 0]
        except av.FFmpegError as e:
            raise InputError(f"cannot read video {path}: {_one_line(e)}") from None
        if not pts:
            raise InputError(f"cannot read video {path}: the video stream holds no frames")
        fps = _stream_fps(stream)
        ctx = stream.codec_context
        duration = _pts_duration(pts, stream.time_base) or len(pts) / max(fps, 1e-9)
        return VideoInfo(len(pts), fps, ctx.width, ctx.height, duration, ctx.name, _is_vfr(pts))
