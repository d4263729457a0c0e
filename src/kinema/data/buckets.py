"""Aspect-ratio buckets over (resolution x frame count), each with its own batch size.

Training on mixed footage (portrait phone clips, cinemascope, square GIFs, stills) without
cropping away half of each frame: every clip goes to the bucket whose aspect ratio is nearest
(in log space, so 2:1 and 1:2 are equally far from 1:1) among those it is long enough for,
preferring the most frames, then the most pixels (a still image only fits ``frames == 1``
buckets; a video lands in one only when it is too short for every longer bucket). A batch
only ever holds one bucket, and a bucket's batch size is chosen so every batch costs about the
same memory (``batch ~ budget / (W * H * T)``, see :func:`make_buckets`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import Sampler

from kinema.data.real.records import VideoRecord
from kinema.data.real.sampling import frame_step, frames_available
from kinema.errors import ConfigError


@dataclass(frozen=True)
class Bucket:
    width: int
    height: int
    frames: int  # clip length T (1 = an image bucket)
    batch_size: int

    def __post_init__(self) -> None:
        for key in ("width", "height", "frames", "batch_size"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"bucket {key}={getattr(self, key)!r} must be >= 1")

    @property
    def log_aspect(self) -> float:
        return math.log(self.width / self.height)


def make_buckets(area: int, aspects: Sequence[float], frame_counts: Sequence[int], budget: int,
                 multiple: int = 16) -> list[Bucket]:
    """One bucket per (aspect W/H, frame count) of about ``area`` pixels, sides a multiple of
    ``multiple``, and ``batch_size = max(1, budget // (W * H * T))`` (``budget`` in pixel-frames)."""
    if area < multiple * multiple:
        raise ConfigError(f"area={area} must be at least multiple**2={multiple * multiple}")
    out = []
    for aspect in aspects:
        if not aspect > 0:
            raise ConfigError(f"aspect ratio {aspect!r} must be > 0 (width / height)")
        w = max(multiple, round(math.sqrt(area * aspect) / multiple) * multiple)
        h = max(multiple, round(math.sqrt(area / aspect) / multiple) * multiple)
        for t in frame_counts:
            out.append(Bucket(w, h, int(t), max(1, budget // (w * h * int(t)))))
    return out


# The aspect ratios (W / H) of most footage: square, 4:3 / 3:4 (photos, old TV), 16:9 / 9:16
# (landscape and portrait phone video), as in SDXL's and Open-Sora's bucket lists.
DEFAULT_ASPECTS: tuple[float, ...] = (1.0, 4 / 3, 3 / 4, 16 / 9, 9 / 16)

# Named presets: a tiny one for tests / CPU, and a 256-px video + image set.
BUCKET_PRESETS: dict[str, list[Bucket]] = {
    "tiny": make_buckets(32 * 32, (1.0, 16 / 9, 9 / 16), (1, 8), budget=32 * 32 * 8 * 4, multiple=8),
    "256": make_buckets(256 * 256, DEFAULT_ASPECTS, (1, 16), budget=256 * 256 * 16 * 4),
}


def buckets_for_size(size: tuple[int, int], frames: int, batch_size: int, multiple: int,
                     aspects: Sequence[float] = DEFAULT_ASPECTS) -> list[Bucket]:
    """Buckets of about the pixel area of ``size=(W, H)``, one per aspect ratio, all with
    ``frames`` frames and ``batch_size`` clips (equal area, so every batch costs about the same).

    ``size`` itself is always the bucket of its own aspect ratio, so footage shaped like the
    configured size trains at exactly that size; the other sides are multiples of ``multiple``
    (what the autoencoder and backbone can divide) nearest to the same area.
    """
    W, H = int(size[0]), int(size[1])
    if W % multiple or H % multiple:
        raise ConfigError(f"size {W}x{H} must be a multiple of {multiple} for this model's buckets")
    out = [Bucket(W, H, int(frames), int(batch_size))]
    for b in make_buckets(max(W * H, multiple * multiple), aspects, (int(frames),), budget=1, multiple=multiple):
        if all(abs(b.log_aspect - o.log_aspect) > 1e-6 for o in out):  # rounding can repeat a shape
            out.append(Bucket(b.width, b.height, int(frames), int(batch_size)))
    return out


def assign_bucket(record: VideoRecord, buckets: Sequence[Bucket], fps: float | None = None,
                  stride: int | None = None) -> int | None:
    """Index of ``record``'s bucket, or None when it is too short for every bucket."""
    if not record.width or not record.height:
        raise ConfigError(f"{record.path}: width/height unknown; run `kinema data scan` on the manifest first")
    if record.is_image:
        available = 1
    else:
        available = frames_available(record.window_frames(), frame_step(record.fps, fps, stride))
    log_aspect = math.log(record.width / record.height)
    best, best_key = None, None
    for i, b in enumerate(buckets):
        if b.frames > available:
            continue
        key = (round(abs(b.log_aspect - log_aspect), 6), -b.frames, -b.width * b.height)
        if best_key is None or key < best_key:
            best, best_key = i, key
    return best


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of dataset indices, each from one bucket and of that bucket's batch size.

    Per epoch (``set_epoch``): indices are shuffled within each bucket, cut into batches
    (an incomplete last batch is dropped when ``drop_last``), and the batches are shuffled
    across buckets, all from ``torch.Generator().manual_seed(seed + epoch)``. With
    ``world_size > 1`` rank ``r`` takes every ``world_size``-th batch (equal counts per rank).
    """

    def __init__(self, bucket_ids: Sequence[int | None], batch_sizes: Sequence[int], seed: int = 0,
                 shuffle: bool = True, drop_last: bool = True, rank: int = 0, world_size: int = 1):
        if not 0 <= rank < world_size:
            raise ConfigError(f"rank={rank} must be in [0, world_size={world_size})")
        self.bucket_ids, self.batch_sizes = list(bucket_ids), [int(b) for b in batch_sizes]
        for b in set(self.bucket_ids) - {None}:
            if not 0 <= b < len(self.batch_sizes):
                raise ConfigError(f"bucket id {b} has no batch size (got {len(self.batch_sizes)} buckets)")
        self.seed, self.shuffle, self.drop_last = seed, shuffle, drop_last
        self.rank, self.world_size, self.epoch = rank, world_size, 0

    @classmethod
    def from_dataset(cls, dataset, **kwargs) -> "BucketBatchSampler":
        """For a dataset built with buckets (``dataset.bucket_ids``, ``dataset.buckets``)."""
        return cls(dataset.bucket_ids, [b.batch_size for b in dataset.buckets], **kwargs)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _batches(self) -> list[list[int]]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        batches: list[list[int]] = []
        for b, size in enumerate(self.batch_sizes):
            members = [i for i, bid in enumerate(self.bucket_ids) if bid == b]
            if self.shuffle:
                members = [members[j] for j in torch.randperm(len(members), generator=g).tolist()]
            for k in range(0, len(members), size):
                chunk = members[k:k + size]
                if len(chunk) == size or (chunk and not self.drop_last):
                    batches.append(chunk)
        if self.shuffle:
            batches = [batches[j] for j in torch.randperm(len(batches), generator=g).tolist()]
        per_rank = len(batches) // self.world_size
        return batches[self.rank::self.world_size][:per_rank] if self.world_size > 1 else batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())

    def __len__(self) -> int:
        return len(self._batches())
