"""Write uint8 frames to mp4 / webm / gif / a PNG sequence, atomically, with provenance.

Odd frame sizes: H.264/VP9 in yuv420p need even width and height, so mp4 and webm pad the
last row and/or column by repeating it (edge replication); reading such a file back yields the
padded (even) size. gif and png keep the exact size.

Same frames, same bytes: the rgb -> yuv conversion and the encoders run on one thread (x264 and
libvpx decide differently with another thread count, so an "auto" count would tie the bytes to the
machine's cores), x264's mbtree is off (see ``_CODECS``) and the muxers are bitexact (no random
Matroska UIDs, no library version strings). Anything that changes from run to run, such as
timings, goes to the sidecar JSON only (``sidecar_extra``), never into the file.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, PngImagePlugin

from kinema.errors import ConfigError
from kinema.video._atomic import atomic_dir, atomic_file
from kinema.video.convert import reformat
from kinema.video.formats import PNG_PATTERN, detect_format
from kinema.video.metadata import PNG_FPS_KEY, PNG_KEY, dumps, write_sidecar

# Codec preference per container and the options that give good quality at modest speed;
# "threads": "1" makes the bytes a function of the frames alone (see the module docstring).
# x264's macroblock-tree rate control (mbtree) gave different bytes for the same frames from one
# process to the next once torch was imported (2-3 outcomes in 6 runs; decoded frames up to 27/255
# apart), and always the same bytes with mbtree=0: a little compression is traded for reproducibility.
_CODECS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "mp4": [
        ("libx264", {"crf": "18", "preset": "medium", "threads": "1", "x264-params": "mbtree=0"}),
        ("mpeg4", {"qscale": "2", "threads": "1"}),
    ],
    "webm": [
        ("libvpx-vp9", {"crf": "24", "b": "0", "deadline": "good", "cpu-used": "4", "threads": "1"}),
        ("libvpx", {"crf": "10", "b": "4M", "threads": "1"}),
    ],
}
_MUXER_OPTIONS = {"fflags": "+bitexact"}  # no random UIDs or version tags in the container


def _check_frames(frames: np.ndarray, fps: float) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ConfigError(f"frames must have shape (T, H, W, 3) with T >= 1, got {frames.shape}")
    if frames.dtype != np.uint8:
        raise ConfigError(f"frames must be uint8 in [0, 255], got dtype {frames.dtype}")
    if not (fps > 0 and np.isfinite(fps)):
        raise ConfigError(f"fps={fps!r} must be a positive finite number")
    return np.ascontiguousarray(frames)


def pad_to_even(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) -> (T, H + H%2, W + W%2, 3), repeating the last row / column."""
    t, h, w, _ = frames.shape
    return np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _pick_codec(fmt: str) -> tuple[str, dict[str, str]]:
    for name, options in _CODECS[fmt]:
        if name in av.codecs_available:
            return name, options
    raise ConfigError(f"no {fmt} encoder in this FFmpeg build; tried {[n for n, _ in _CODECS[fmt]]}")


def _write_av(tmp: Path, frames: np.ndarray, fps: float, fmt: str, comment: str | None) -> None:
    frames = pad_to_even(frames)
    codec, options = _pick_codec(fmt)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(tmp), mode="w", format=fmt, options=dict(_MUXER_OPTIONS)) as container:
        if comment is not None:
            container.metadata["comment"] = comment
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = dict(options)
        for frame in frames:  # converted here, single-threaded: see kinema.video.convert
            yuv = reformat(av.VideoFrame.from_ndarray(frame, format="rgb24"), stream.pix_fmt)
            for packet in stream.encode(yuv):
                container.mux(packet)
        for packet in stream.encode():  # flush delayed frames
            container.mux(packet)


def _write_gif(tmp: Path, frames: np.ndarray, fps: float, comment: str | None) -> None:
    """GIF stores delays in 1/100 s, so the rate becomes 100 / round(100 / fps) (12 fps -> 12.5)."""
    images = [Image.fromarray(f) for f in frames]
    extra = {"comment": comment.encode("utf-8")} if comment is not None else {}
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                   duration=10 * max(1, round(100.0 / fps)), loop=0, optimize=False, disposal=1, **extra)


def _png_info(fps: float, comment: str | None) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text(PNG_FPS_KEY, repr(float(fps)))
    if comment is not None:
        info.add_itxt(PNG_KEY, comment)
    return info


def _write_png_dir(tmp: Path, frames: np.ndarray, fps: float, comment: str | None) -> None:
    info = _png_info(fps, comment)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(tmp / PNG_PATTERN.format(i), format="PNG", pnginfo=info)


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float, fmt: str | None = None,
                metadata: dict[str, Any] | None = None, sidecar_extra: dict[str, Any] | None = None) -> Path:
    """Write ``frames`` uint8 (T, H, W, 3) at ``fps`` and return the output path.

    ``fmt`` is one of mp4 / webm / gif / png; when None it comes from the suffix (no suffix: a
    folder of ``frame_0000.png`` ...; ``.png``: a single still, T must be 1). The output appears
    atomically (temp file + rename) and, when ``metadata`` is given, it is stored in the container
    and in ``<output>.json`` (see :mod:`kinema.video.metadata`). ``sidecar_extra`` (e.g. timings) goes
    into ``<output>.json`` only, so that the same frames and metadata always give the same file bytes.
    """
    path = Path(path)
    frames = _check_frames(frames, fps)
    fmt = detect_format(path, fmt)
    comment = dumps(metadata) if metadata is not None else None
    if fmt == "png" and path.suffix.lower() == ".png":
        if frames.shape[0] != 1:
            raise ConfigError(f"{path} names one PNG file but {frames.shape[0]} frames were given; "
                              "pass a folder path (no suffix) for a PNG sequence")
        with atomic_file(path) as tmp:
            Image.fromarray(frames[0]).save(tmp, format="PNG", pnginfo=_png_info(fps, comment))
    elif fmt == "png":
        with atomic_dir(path) as tmp:
            _write_png_dir(tmp, frames, fps, comment)
    elif fmt == "gif":
        with atomic_file(path) as tmp:
            _write_gif(tmp, frames, fps, comment)
    else:
        with atomic_file(path) as tmp:
            _write_av(tmp, frames, fps, fmt, comment)
    if metadata is not None:
        write_sidecar(path, {**metadata, **(sidecar_extra or {})})
    return path
