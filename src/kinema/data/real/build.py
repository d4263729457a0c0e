"""The dataset a training stage asks for, from its data spec (``source`` + ``path``)."""

from __future__ import annotations

import os

from torch.utils.data import Dataset

from kinema.config import check_choice
from kinema.data.real.clip_dataset import VideoClipDataset
from kinema.data.real.image_dataset import ImageFolderDataset
from kinema.data.real.sources import load_records, records_from_folder
from kinema.errors import InputError

REAL_SOURCES = ("manifest", "folder", "images")


def build_real_dataset(source: str, path: str | os.PathLike, size: tuple[int, int], frames: int,
                       fps: float | None = None, seed: int = 0, split: str | None = None,
                       crop: str = "random", temporal: str = "random", buckets=None) -> Dataset:
    """``manifest`` (.jsonl / .csv) or ``folder`` of videos -> :class:`VideoClipDataset` at ``fps``;
    ``images`` -> :class:`ImageFolderDataset` (one-frame clips). ``split`` keeps only the
    manifest rows of that split (None: all). ``temporal`` places the clip window (random, start,
    center); ``buckets`` (a list of :class:`~kinema.data.buckets.Bucket`) gives each video its
    aspect bucket's size and frame count instead of ``size`` / ``frames``."""
    check_choice("data.source", source, REAL_SOURCES)
    if source == "images":
        return ImageFolderDataset(path, size=size, crop=crop, seed=seed)
    records = load_records(path) if source == "manifest" else records_from_folder(path)
    if split is not None:
        records = [r for r in records if r.split == split]
        if not records:
            raise InputError(f"{path} has no records of split {split!r}")
    return VideoClipDataset(records, frames=frames, size=size, fps=fps if frames > 1 else None,
                            crop=crop, temporal=temporal, seed=seed, buckets=buckets)
