"""``kinema data scan``: validate and probe every file, compute motion scores, write a manifest.

Each file is checked in this order; the first failing check names the skip reason:

==========================  ====================================================================
reason                      meaning
==========================  ====================================================================
``missing``                 the path does not exist
``zero_length``             the file is empty (0 bytes)
``unreadable``              not a video/image FFmpeg or Pillow can open (wrong format, garbage,
                            or a truncated MP4 whose index was never written)
``unsupported_codec``       the stream's codec has no decoder here, or is not in ``codecs=``
``variable_frame_rate``     frame intervals vary by > 2 % (skipped only with ``allow_vfr=False``,
                            CLI ``--skip-vfr``; by default such a file is kept and read
                            resampled to its mean rate, see :mod:`kinema.data.real.decode`)
``undecodable``             the container opens but no frame decodes
``truncated``               decoding stops early (decoder error, or < 90 % of the frames the
                            header promises)
``too_short``               fewer than ``min_frames`` frames in the record's window
==========================  ====================================================================

Kept records get ``fps`` (for a variable-frame-rate file its mean rate, the rate it is resampled
to), ``frames``, ``width``, ``height`` and ``motion_score``
(:mod:`kinema.data.motion`) filled in. A scan never stops on a bad file: every unexpected
exception while inspecting one file becomes an ``unreadable`` skip with its message.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import av

from kinema.data.motion import analysis_pairs, motion_from_gray, to_analysis_gray
from kinema.data.real.clip_dataset import read_image_uint8
from kinema.data.real.decode import decode_pass, grid_rate
from kinema.data.real.manifest import write_manifest
from kinema.data.real.records import VideoRecord
from kinema.data.real.sources import load_records
from kinema.errors import ConfigError, InputError
from kinema.video import probe_video

log = logging.getLogger("kinema.data")

SKIP_REASONS = ("missing", "zero_length", "unreadable", "unsupported_codec", "variable_frame_rate",
                "undecodable", "truncated", "too_short")
TRUNCATION_RATIO = 0.9  # fewer decoded frames than this fraction of the header's count = truncated


@dataclass
class ScanOptions:
    min_frames: int = 8  # native frames a video (window) needs to be kept
    compute_motion: bool = True
    allow_vfr: bool = True  # keep variable-frame-rate files (read resampled to a constant rate)
    codecs: tuple[str, ...] | None = None  # accepted codec names (None: any this FFmpeg decodes)


@dataclass
class ScanSummary:
    kept: list[VideoRecord] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> paths
    details: dict[str, str] = field(default_factory=dict)  # path -> what went wrong

    @property
    def num_skipped(self) -> int:
        return sum(len(v) for v in self.skipped.values())

    def report(self) -> str:
        """Human-readable summary: counts per reason, then one line per skipped file."""
        lines = [f"kept {len(self.kept)}, skipped {self.num_skipped}"]
        for reason in SKIP_REASONS:
            for path in self.skipped.get(reason, []):
                lines.append(f"  {reason}: {path} ({self.details.get(path, '')})")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"kept": len(self.kept), "skipped": {k: list(v) for k, v in self.skipped.items()},
                "details": dict(self.details)}


class _Skip(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _inspect_image(rec: VideoRecord) -> VideoRecord:
    try:
        img = read_image_uint8(rec.path)
    except InputError as e:
        raise _Skip("unreadable", str(e)) from None
    return rec.replace(frames=1, fps=None, width=img.shape[2], height=img.shape[1], motion_score=0.0)


def _check_codec(codec: str, opts: ScanOptions) -> None:
    if opts.codecs is not None and codec not in opts.codecs:
        raise _Skip("unsupported_codec", f"codec {codec!r} is not one of {list(opts.codecs)}")
    try:
        av.Codec(codec, "r")
    except Exception:  # noqa: BLE001 - PyAV raises several types for unknown codecs
        raise _Skip("unsupported_codec", f"no decoder for codec {codec!r} in this FFmpeg build") from None


def _inspect_video(rec: VideoRecord, opts: ScanOptions) -> VideoRecord:
    try:
        info = probe_video(rec.path)
    except InputError as e:
        raise _Skip("unreadable", str(e)) from None
    _check_codec(info.codec, opts)
    fps = grid_rate(info)
    if info.vfr and not opts.allow_vfr:
        raise _Skip("variable_frame_rate", f"frame intervals vary (mean {fps:.3g} fps); "
                                           "scan without --skip-vfr (allow_vfr=True) keeps it, resampled")
    rec = rec.replace(fps=fps, frames=info.frames, width=info.width, height=info.height)
    pairs = analysis_pairs(rec.window(), rec.fps) if opts.compute_motion else []
    try:
        dp = decode_pass(rec.path, {i for p in pairs for i in p}, to_analysis_gray, fps=fps)
    except InputError as e:
        raise _Skip("unreadable", str(e)) from None
    promised = info.frames if info.vfr else max(dp.declared, info.frames)
    if dp.decoded == 0:
        raise _Skip("undecodable", dp.error or "no frame decodes")
    if dp.error or dp.decoded < TRUNCATION_RATIO * promised:
        raise _Skip("truncated", f"decoded {dp.decoded} of {promised} frames" + (f": {dp.error}" if dp.error else ""))
    # the grid never runs past a decoded frame's end (a VFR file's ticks can be fewer than its frames)
    rec = rec.replace(frames=min(info.frames or dp.decoded, dp.decoded, dp.ticks or dp.decoded))
    if rec.window_frames() < opts.min_frames:
        raise _Skip("too_short", f"{rec.window_frames()} frames, fewer than min_frames={opts.min_frames}")
    if opts.compute_motion:
        rec.motion_score = motion_from_gray(dp.kept, pairs)
    return rec


def inspect_record(rec: VideoRecord, opts: ScanOptions) -> tuple[VideoRecord | None, str | None, str]:
    """(probed record, None, "") if the file is usable, else (None, reason, detail)."""
    path = Path(rec.path)
    try:
        if not path.exists():
            raise _Skip("missing", "no such file")
        if path.is_file() and path.stat().st_size == 0:
            raise _Skip("zero_length", "the file is empty (0 bytes)")
        return (_inspect_image(rec) if rec.is_image else _inspect_video(rec, opts)), None, ""
    except _Skip as s:
        return None, s.reason, str(s)
    except Exception as e:  # noqa: BLE001 - a scan never dies on one file
        return None, "unreadable", f"{type(e).__name__}: {' '.join(str(e).split())}"


def _inspect_star(args):
    return inspect_record(*args)


def scan(source: str | os.PathLike, out: str | os.PathLike | None = None, *, min_frames: int = 8,
         compute_motion: bool = True, workers: int = 0, allow_vfr: bool = True,
         codecs: tuple[str, ...] | None = None) -> ScanSummary:
    """Scan a folder or manifest; write the kept records to ``out`` (.jsonl / .csv) if given.

    ``min_frames``: native frames a video (window) needs; ``compute_motion``: fill in motion
    scores; ``workers``: processes (0: this one); ``allow_vfr``: keep variable-frame-rate files,
    resampled to their mean rate (False: skip them); ``codecs``: accepted codec names (None: any
    this FFmpeg decodes). Each has a ``kinema data scan`` flag.
    """
    if min_frames < 1 or workers < 0:
        raise ConfigError(f"min_frames={min_frames} must be >= 1 and workers={workers} >= 0")
    opts = ScanOptions(min_frames, compute_motion, allow_vfr, tuple(codecs) if codecs else None)
    records = load_records(source)
    jobs = [(r, opts) for r in records]
    if workers > 0:
        # spawn, not fork: a forked child of a process whose OpenMP pool already ran can crash
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_inspect_star, jobs, chunksize=4))
    else:
        results = [_inspect_star(j) for j in jobs]
    summary, skipped = ScanSummary(), defaultdict(list)
    for rec, (kept, reason, detail) in zip(records, results):
        if kept is not None:
            summary.kept.append(kept)
        else:
            skipped[reason].append(str(rec.path))
            summary.details[str(rec.path)] = detail
            log.warning("scan: skipping %s: %s (%s)", rec.path, reason, detail)
    summary.skipped = dict(skipped)
    if out is not None:
        write_manifest(summary.kept, out)
    return summary
