"""Load a folder of videos under one frame protocol: same frame count, same frame rate.

Distribution metrics are only comparable when every video contributes the same frames (Wang et al. 2026,
I2V survey Sec. II-D: FVD moves with clip length and frame rate). A set is therefore brought to the protocol's
``fps`` (resampled in time) and cut to its first ``frames`` frames; a set of mixed native frame
rates with no ``fps`` given is refused rather than silently mixed, and a video too short or
unreadable is skipped and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kinema.errors import InputError
from kinema.video.read import read_video
from kinema.video.sampling import sample_frame_indices

VIDEO_SUFFIXES = (".mp4", ".webm", ".avi", ".mov", ".mkv", ".m4v", ".gif")
FPS_TOLERANCE = 0.01  # native rates within 1 % count as equal (29.97 vs 30 do not)


@dataclass(frozen=True)
class FrameProtocol:
    """Which frames of each video the metrics see."""

    frames: int | None = None  # frames per video (the first ones, after resampling); None = all
    fps: float | None = None  # resample every video to this rate; None = keep native (must agree)

    def to_dict(self) -> dict:
        return {"frames": self.frames, "fps": self.fps}


@dataclass
class Video:
    name: str  # path relative to the set's root, without suffix: pairs generated with reference
    path: Path
    frames: np.ndarray  # uint8 (T, H, W, 3)
    fps: float  # rate of ``frames`` (after resampling)


@dataclass
class VideoSet:
    root: Path
    videos: list[Video] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.videos]


def discover(root: str | Path) -> list[Path]:
    """Video files under ``root`` (recursive, sorted); a single file is a set of one."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InputError(f"{root} is not a video file or a folder of videos")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not files:
        raise InputError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) under {root}")
    return files


def _name(path: Path, root: Path) -> str:
    rel = path.relative_to(root) if root.is_dir() else Path(path.name)
    return rel.with_suffix("").as_posix()


def _resample(frames: np.ndarray, fps_in: float, protocol: FrameProtocol) -> tuple[np.ndarray, float]:
    """Bring (T, H, W, 3) frames to the protocol's rate and length; InputError when too short."""
    if protocol.fps is None or fps_in <= 0 or abs(fps_in - protocol.fps) <= FPS_TOLERANCE * protocol.fps:
        fps_out = fps_in if protocol.fps is None or fps_in <= 0 else protocol.fps
        out = frames
    else:
        n_out = int(np.floor((len(frames) - 1) * protocol.fps / fps_in + 1e-6)) + 1
        out = frames[sample_frame_indices(len(frames), fps_in, n_out, protocol.fps)]
        fps_out = protocol.fps
    if protocol.frames is not None:
        if len(out) < protocol.frames:
            raise InputError(f"has {len(out)} frames at {fps_out:g} fps, the protocol needs {protocol.frames}")
        out = out[: protocol.frames]
    return out, fps_out


def _check_rates(videos: list[Video], protocol: FrameProtocol, root: Path) -> None:
    if protocol.fps is not None or not videos:
        return
    rates = sorted({round(v.fps, 3) for v in videos})
    if rates[-1] - rates[0] > FPS_TOLERANCE * rates[-1]:
        raise InputError(f"videos under {root} have mixed frame rates {rates}; pass --fps to resample "
                         "them to one rate (they are never mixed silently)")


def load_video_set(root: str | Path, protocol: FrameProtocol, progress=None) -> VideoSet:
    """Read every video under ``root`` per ``protocol``; unreadable or short files are skipped."""
    root = Path(root)
    out = VideoSet(root)
    files = discover(root)
    for path in progress(files, desc=f"reading {root.name or root}") if progress else files:
        try:
            frames, fps = read_video(path)
            frames, fps = _resample(frames, fps, protocol)
        except InputError as e:
            out.skipped.append((str(path), str(e)))
            continue
        out.videos.append(Video(_name(path, root), path, frames, fps))
    _check_rates(out.videos, protocol, root)
    if not out.videos:
        raise InputError(f"no usable video under {root}: " + "; ".join(f"{p}: {r}" for p, r in out.skipped[:3]))
    return out


def pair_videos(generated: VideoSet, reference: VideoSet) -> list[tuple[Video, Video]]:
    """Pairs with the same relative name; InputError when none match."""
    ref = {v.name: v for v in reference.videos}
    pairs = [(g, ref[g.name]) for g in generated.videos if g.name in ref]
    if not pairs:
        raise InputError(f"no generated video has a reference of the same name (e.g. {generated.names[:2]} vs "
                         f"{reference.names[:2]}); paired metrics match files by relative path")
    return pairs
