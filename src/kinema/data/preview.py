"""``kinema data preview``: a contact sheet (image grid) of sample clips from a folder or manifest.

One row per clip: ``frames_per_clip`` frames spread evenly over the clip (or its window),
each letterboxed into a ``thumb`` x ``thumb`` cell, under a label with the file name, caption
and motion score. A file that cannot be decoded gets a grey row naming the error, so the sheet
also shows what a scan would skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from kinema.config import check_range
from kinema.data.real.clip_dataset import read_image_uint8
from kinema.data.real.decode import decode_frames, grid_rate
from kinema.data.real.geometry import fit_frames
from kinema.data.real.records import VideoRecord
from kinema.data.real.sources import load_records
from kinema.video import probe_video
from kinema.video._atomic import atomic_file

LABEL_HEIGHT = 14  # pixels of text above each row
_GAP = 2


def _pick(records: list[VideoRecord], n: int) -> list[VideoRecord]:
    """``n`` records spread evenly over the list (all of them when there are fewer)."""
    if len(records) <= n:
        return records
    return [records[i] for i in np.linspace(0, len(records) - 1, n).round().astype(int)]


def _clip_frames(rec: VideoRecord, count: int) -> np.ndarray:
    """uint8 (k, H, W, 3): ``count`` frames spread over the record (1 for a still)."""
    if rec.is_image:
        return read_image_uint8(rec.path)
    if not (rec.fps and rec.frames):
        info = probe_video(rec.path)
        rec = rec.replace(fps=grid_rate(info), frames=info.frames)
    first, stop = rec.window()
    indices = np.linspace(first, max(first, stop - 1), count).round().astype(int).tolist()
    return decode_frames(rec.path, indices, rec.fps)


def _label(rec: VideoRecord, error: str | None) -> str:
    if error:
        return f"{Path(rec.path).name}: {error}"
    motion = "" if rec.motion_score is None else f"  motion={rec.motion_score:.4f}"
    return f"{Path(rec.path).name}{motion}  {rec.caption}"


def contact_sheet(source: str | os.PathLike, out_png: str | os.PathLike, n: int = 8, frames_per_clip: int = 8,
                  thumb: int = 96) -> Path:
    """Write a PNG grid of ``n`` clips x ``frames_per_clip`` frames from ``source``; return its path."""
    check_range("n", n, 1)
    check_range("frames_per_clip", frames_per_clip, 1)
    check_range("thumb", thumb, 8)
    records = _pick(load_records(source), n)
    row_h = LABEL_HEIGHT + thumb + _GAP
    sheet = Image.new("RGB", (frames_per_clip * (thumb + _GAP) + _GAP, max(1, len(records)) * row_h + _GAP),
                      (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for r, rec in enumerate(records):
        y = _GAP + r * row_h
        try:
            cells, error = fit_frames(_clip_frames(rec, frames_per_clip), (thumb, thumb), policy="pad"), None
        except Exception as e:  # noqa: BLE001 - the sheet shows bad files instead of failing
            cells, error = np.full((1, thumb, thumb, 3), 90, np.uint8), " ".join(str(e).split())[:120]
        draw.text((_GAP, y), _label(rec, error)[:200], fill=(230, 230, 230))
        for c, cell in enumerate(cells):
            sheet.paste(Image.fromarray(cell), (_GAP + c * (thumb + _GAP), y + LABEL_HEIGHT))
    out_png = Path(out_png)
    with atomic_file(out_png) as tmp:
        sheet.save(tmp, format="PNG")
    return out_png
