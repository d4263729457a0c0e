"""Map-style datasets of training clips decoded from real files (runs inside DataLoader workers).

Item ``i`` is a dict::

    video     float32 (3, T, H, W) in [-1, 1]
    caption   str
    fps       float32 ()  effective frame rate of the clip (native fps / step); NaN for a still
    motion    float32 ()  the record's motion_score (0 for a still, NaN when not computed)
    cond_mask float32 (T,) frames given as the condition (default: the first frame, I2V)
    path      str         the file the clip came from
    index     int         the dataset index actually used (differs from i after a fallback)
    retries   int         bad files skipped to produce this item

Every random choice (clip start, crop position, condition mask) comes from a
``torch.Generator`` seeded by ``(seed, epoch, index)``, so an item is reproducible in any
worker and any order. A file that fails to decode is logged, counted in ``failures`` (per
process) and replaced by the next index of the same bucket: a long run never dies on one bad
file, but ``max_retries`` bad files in a row raise (that is a broken dataset, not a bad file).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from kinema.config import check_choice
from kinema.data.real.decode import decode_frames, grid_rate
from kinema.data.real.geometry import CROPS, POLICIES, fit_frames, to_tensor
from kinema.data.real.records import VideoRecord
from kinema.data.real.sampling import TEMPORAL_POLICIES, ClipTooShort, clip_indices, frame_step
from kinema.errors import ConfigError, InputError
from kinema.video import load_image, probe_video

log = logging.getLogger("kinema.data")

CondMaskFn = Callable[[int, torch.Generator], torch.Tensor]  # (T, generator) -> (T,) mask


def first_frame_mask(frames: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(T,) mask with only frame 0 known: the image-to-video task."""
    mask = torch.zeros(frames)
    mask[0] = 1.0
    return mask


def item_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """A generator unique to (seed, epoch, index), independent of worker and visiting order."""
    return torch.Generator().manual_seed((seed * 0x9E3779B1 + epoch * 0x85EBCA77 + index) % (2**63 - 1))


def read_image_uint8(path) -> np.ndarray:
    """uint8 (1, H, W, 3) through kinema.video.load_image (EXIF, alpha, 16-bit handled there)."""
    x = load_image(path)  # (3, H, W) in [-1, 1]
    x = ((x + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return x.permute(1, 2, 0).unsqueeze(0).numpy()  # (3,H,W) -> (1,H,W,3)


class VideoClipDataset(Dataset):
    """Clips of ``frames`` frames at ``size=(W, H)`` (or per-bucket sizes) from ``records``."""

    def __init__(self, records: Sequence[VideoRecord], frames: int = 16, size: tuple[int, int] = (256, 256), *,
                 fps: float | None = None, stride: int | None = None, policy: str = "resize_crop",
                 crop: str = "center", temporal: str = "random", seed: int = 0, buckets=None,
                 cond_mask: CondMaskFn | None = None, max_retries: int = 16):
        check_choice("policy", policy, POLICIES)
        check_choice("crop", crop, CROPS)
        check_choice("temporal", temporal, TEMPORAL_POLICIES)
        frame_step(None, fps, stride)  # validates fps / stride
        if frames < 1 or min(size) < 1:
            raise ConfigError(f"frames={frames} and size={tuple(size)} must be >= 1")
        self.frames, self.size = int(frames), (int(size[0]), int(size[1]))
        self.fps, self.stride, self.policy, self.crop, self.temporal = fps, stride, policy, crop, temporal
        self.seed, self.epoch, self.max_retries = int(seed), 0, int(max_retries)
        self.cond_mask = cond_mask or first_frame_mask
        self.records = list(records)
        self.buckets = list(buckets) if buckets is not None else None
        self.bucket_ids: list[int | None] = [None] * len(self.records)
        if self.buckets is not None:
            self._assign_buckets()
        elif self.frames > 1:
            self._drop_stills()
        if not self.records:
            raise InputError("the dataset is empty (no records, or none fits any bucket)")
        self.failures: dict[str, str] = {}  # path -> reason, in this process
        self._facts: dict[int, VideoRecord] = {}

    def _assign_buckets(self) -> None:
        from kinema.data.buckets import assign_bucket  # buckets.py imports this package

        ids = [assign_bucket(r, self.buckets, self.fps, self.stride) for r in self.records]
        dropped = sum(b is None for b in ids)
        if dropped:
            log.warning("%d of %d records are too short for every bucket and are left out", dropped, len(ids))
        self.records = [r for r, b in zip(self.records, ids) if b is not None]
        self.bucket_ids = [b for b in ids if b is not None]

    def _drop_stills(self) -> None:
        stills = sum(r.is_image for r in self.records)
        if stills:
            log.warning("%d still images left out: clips need %d frames (use frames=1 or buckets)",
                        stills, self.frames)
            self.records = [r for r in self.records if not r.is_image]
            self.bucket_ids = [None] * len(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """New random clips / crops each epoch. Call it before iterating the DataLoader; workers
        created with ``persistent_workers=True`` keep the epoch they started with."""
        self.epoch = int(epoch)

    def shape_of(self, index: int) -> tuple[int, int, int]:
        """(T, W, H) of item ``index``: its bucket's, or the dataset's."""
        b = self.bucket_ids[index]
        if b is None:
            return self.frames, self.size[0], self.size[1]
        bucket = self.buckets[b]
        return bucket.frames, bucket.width, bucket.height

    def _with_facts(self, index: int) -> VideoRecord:
        """The record with fps / frames / size filled in (probed once per process if unknown)."""
        rec = self.records[index]
        if rec.is_image or (rec.fps and rec.frames):
            return rec
        if index not in self._facts:
            info = probe_video(rec.path)
            self._facts[index] = rec.replace(fps=grid_rate(info), frames=info.frames, width=info.width,
                                             height=info.height)
        return self._facts[index]

    def _load(self, index: int, generator: torch.Generator) -> tuple[np.ndarray, float]:
        """uint8 (T, H, W, 3) at the item's size and the clip's effective fps."""
        rec = self._with_facts(index)
        T, W, H = self.shape_of(index)
        if rec.is_image:
            if T != 1:
                raise ClipTooShort(f"{rec.path} is a still image but the clip needs {T} frames")
            raw, fps = read_image_uint8(rec.path), math.nan
        else:
            step = frame_step(rec.fps, self.fps, self.stride)
            indices = clip_indices(rec.window(), T, step, self.temporal, generator)
            raw, fps = decode_frames(rec.path, indices, rec.fps), rec.fps / step
        return fit_frames(raw, (W, H), self.policy, self.crop, generator), fps

    def _item(self, index: int, retries: int) -> dict[str, Any]:
        g = item_generator(self.seed, self.epoch, index)
        frames, fps = self._load(index, g)
        rec = self.records[index]
        motion = rec.motion_score if rec.motion_score is not None else (0.0 if rec.is_image else math.nan)
        return {"video": to_tensor(frames), "caption": rec.caption,
                "fps": torch.tensor(fps, dtype=torch.float32), "motion": torch.tensor(motion, dtype=torch.float32),
                "cond_mask": self.cond_mask(frames.shape[0], g).float(), "path": str(rec.path),
                "index": index, "retries": retries}

    def _fallbacks(self, index: int) -> list[int]:
        """Indices tried after ``index`` fails: the following items of the same bucket."""
        group = [i for i, b in enumerate(self.bucket_ids) if b == self.bucket_ids[index]]
        p = group.index(index)
        return [group[(p + k) % len(group)] for k in range(1, min(len(group), self.max_retries + 1))]

    def __getitem__(self, index: int) -> dict[str, Any]:
        tried = []
        for retries, j in enumerate([index] + self._fallbacks(index)):
            try:
                return self._item(j, retries)
            except Exception as e:  # noqa: BLE001 - one bad file must not end a long run
                reason = " ".join(str(e).split()) or type(e).__name__
                path = str(self.records[j].path)
                self.failures[path] = reason
                tried.append(f"{path}: {reason}")
                log.warning("skipping %s (%s); using another clip", path, reason)
        raise InputError(f"{len(tried)} files in a row failed to load, starting at index {index}; "
                         f"first: {tried[0]}")
