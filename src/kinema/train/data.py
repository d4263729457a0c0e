"""Training data: build the dataset a stage asks for, and draw batches indexed by step.

Batches are a pure function of (seed, step, rank): a resumed run sees exactly the batches it
would have seen, so its loss curve continues the original one (tested). Videos of a scanned
manifest are batched by aspect-ratio bucket (a batch never mixes shapes); a latent cache gives
latents instead of pixels, and the trainer skips its encode.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from kinema.data.workers import worker_context
from kinema.errors import ConfigError
from kinema.train.config import DataSpec, StageSpec

log = logging.getLogger("kinema.train")

PIXEL_TARGETS = ("autoencoder", "decoder", "planner")  # stage targets that need decoded pixels


def build_dataset(spec: DataSpec, size: tuple[int, int], frames: int, seed: int, split: str = "train",
                  world: dict[str, Any] | None = None, buckets=None) -> Dataset:
    """The map-style dataset for a stage. Items: dict(video (3,T,H,W) in [-1,1], caption, fps,
    motion[, plan, plan_mask]), or for a latent cache dict(latents (C,T',h,w), caption, fps, motion).

    ``world``: a stage's kinema-world overrides, merged over ``spec.world``. ``buckets``: aspect
    buckets (:func:`stage_buckets`) for manifest/folder videos; None crops every clip to ``size``.
    """
    if world and spec.source != "world":
        raise ConfigError(f"a stage's world overrides need data.source='world', not {spec.source!r}")
    if world:
        spec = replace(spec, world={**spec.world, **world})
    if spec.source == "world":
        from kinema.data.world import WorldConfig, WorldDataset
        from kinema.config import from_dict

        base = from_dict(WorldConfig, dict(spec.world)) if spec.world else WorldConfig()
        cfg = replace(base, size=tuple(size), frames=frames, fps=spec.fps)
        return WorldDataset(cfg, split=split, base_seed=seed)
    if spec.source in ("manifest", "folder", "images"):
        from kinema.data.real import build_real_dataset

        return build_real_dataset(spec.source, spec.path, size=tuple(size), frames=frames, fps=spec.fps, seed=seed,
                                  crop=spec.crop, temporal=spec.temporal, buckets=buckets)
    if spec.source == "latent_cache":
        from kinema.data.latent_cache import LatentCacheDataset

        dataset = LatentCacheDataset(spec.path, seed=seed)
        dataset.check_clip(size, frames)
        return dataset
    raise ConfigError(f"data.source={spec.source!r} is not one of ['world', 'manifest', 'folder', 'images', "
                      "'latent_cache']")


def build_stage_dataset(spec: DataSpec, stage: StageSpec, size: tuple[int, int], frames: int, batch_size: int,
                        seed: int, autoencoder, model_config: dict[str, Any]) -> Dataset:
    """The training dataset of ``stage``: bucketed videos, a latent cache checked against the
    run's ``autoencoder``, or rendered world clips."""
    if spec.source == "latent_cache" and stage.target in PIXEL_TARGETS:
        raise ConfigError(f"stage {stage.name!r}: target {stage.target!r} needs pixels, and data.source="
                          f"'latent_cache' holds latents only; train it on the videos the cache was made from")
    if isinstance(spec.buckets, list) and stage.size is not None:
        raise ConfigError(f"stage {stage.name!r}: its own size {list(stage.size)} conflicts with the data.buckets "
                          f"list; use data.buckets='auto' (buckets at each stage's size) or drop stages.size")
    multiple = autoencoder.downsample * backbone_multiple(model_config["backbone"])
    buckets = stage_buckets(spec, size, frames, batch_size, multiple)
    dataset = build_dataset(spec, size, frames, seed, world=stage.world, buckets=buckets)
    if spec.source == "latent_cache":
        dataset.check_autoencoder(autoencoder)
    return dataset


def backbone_multiple(backbone: dict[str, Any]) -> int:
    """What latent height and width must be a multiple of for this backbone spec ({kind, config})."""
    from kinema.models import backbone_config

    return backbone_config(backbone["kind"], backbone["config"]).size_multiple


def stage_buckets(spec: DataSpec, size: tuple[int, int], frames: int, batch_size: int, multiple: int):
    """The aspect buckets of a stage (list of :class:`~kinema.data.buckets.Bucket`), or None.

    ``data.buckets="auto"`` buckets manifest/folder videos at the stage's pixel area when every
    record knows its width and height (a ``kinema data scan`` manifest); other records, the world
    and images train at ``size`` as before. A listed bucket without a batch size uses the stage's.
    """
    if spec.source not in ("manifest", "folder") or spec.buckets == "none":
        return None
    from kinema.data.buckets import Bucket, buckets_for_size

    if isinstance(spec.buckets, list):
        return [Bucket(int(b[0]), int(b[1]), frames, int(b[2]) if len(b) > 2 else batch_size) for b in spec.buckets]
    if not _shapes_known(spec):
        log.warning("data.buckets=auto: %s has videos of unknown size, so every clip is cropped to %dx%d; "
                    "run `kinema data scan` on it to train by aspect-ratio buckets", spec.path, *size)
        return None
    return buckets_for_size(size, frames, batch_size, multiple)


def _shapes_known(spec: DataSpec) -> bool:
    from kinema.data.real import load_records

    return all(r.width and r.height for r in load_records(spec.path))


class StepBatchSampler(Sampler[list[int]]):
    """Index batches for steps ``start_step, start_step+1, ...`` of one rank, forever.

    Finite datasets are walked in a fresh permutation per epoch (seeded by ``seed`` and the
    epoch number); the global sample counter is step * world * batch + rank * batch + i.
    """

    def __init__(self, length: int, batch_size: int, seed: int, start_step: int = 0, rank: int = 0, world: int = 1):
        if length <= 0:
            raise ConfigError("the training dataset is empty")
        self.length, self.batch_size, self.seed = length, batch_size, seed
        self.start_step, self.rank, self.world = start_step, rank, world
        self._perm_epoch, self._perm = -1, None

    def _index(self, k: int) -> int:
        epoch, pos = divmod(k, self.length)
        if epoch != self._perm_epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm, self._perm_epoch = torch.randperm(self.length, generator=g), epoch
        return int(self._perm[pos])

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start_step
        while True:
            base = (step * self.world + self.rank) * self.batch_size
            yield [self._index(base + i) for i in range(self.batch_size)]
            step += 1

    def __len__(self) -> int:  # infinite; DataLoader only needs this for progress bars
        return 2**62


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """One batch: ``video`` (B, 3, T, H, W) in [-1, 1], or ``latents`` (B, C, T', h, w) from a cache."""
    motion = [float(it.get("motion", float("nan"))) for it in items]
    has_motion = all(m == m for m in motion)  # NaN != NaN
    key = "latents" if "latents" in items[0] else "video"
    return {
        key: torch.stack([it[key] for it in items]),
        "caption": [str(it.get("caption", "")) for it in items],
        "fps": torch.tensor([float(it.get("fps", 8.0)) for it in items]),
        "motion": torch.tensor(motion) if has_motion else None,
        "plan": _stacked(items, "plan"),  # (B, 6)
        "plan_mask": _stacked(items, "plan_mask"),  # (B, T, H, W) bool
    }


def _stacked(items: list[dict[str, Any]], key: str) -> torch.Tensor | None:
    """The items' ``key`` tensors stacked, or None when some item lacks it."""
    return torch.stack([it[key] for it in items]) if all(key in it for it in items) else None


class StepBucketBatchSampler(Sampler[list[int]]):
    """Index batches of one aspect bucket each, for steps ``start_step, ...`` of one rank, forever.

    Epoch ``e`` is :class:`~kinema.data.buckets.BucketBatchSampler`'s epoch ``e`` (shuffled within
    each bucket, cut into the bucket's batch size, shuffled across buckets; a bucket's last batch
    may be short, so every clip is seen once per epoch); global batch ``step * world + rank`` is
    taken from that sequence, so a batch is a pure function of (seed, step, rank) as with
    :class:`StepBatchSampler` and a resumed run sees the batches it would have seen.
    """

    def __init__(self, bucket_ids: list[int | None], batch_sizes: list[int], seed: int, start_step: int = 0,
                 rank: int = 0, world: int = 1):
        from kinema.data.buckets import BucketBatchSampler

        self.epochs = BucketBatchSampler(bucket_ids, batch_sizes, seed=seed * 1_000_003, drop_last=False)
        self.per_epoch = len(self.epochs)  # the same every epoch: only the order changes
        if self.per_epoch == 0:
            raise ConfigError("the training dataset is empty (no clip fits any bucket)")
        self.start_step, self.rank, self.world = start_step, rank, world
        self._epoch, self._batches = -1, []

    def _batch(self, k: int) -> list[int]:
        epoch, pos = divmod(k, self.per_epoch)
        if epoch != self._epoch:
            self.epochs.set_epoch(epoch)
            self._epoch, self._batches = epoch, list(self.epochs)
        return self._batches[pos]

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start_step
        while True:
            yield self._batch(step * self.world + self.rank)
            step += 1

    def __len__(self) -> int:  # infinite, as StepBatchSampler
        return 2**62


def batch_iterator(dataset: Dataset, batch_size: int, seed: int, start_step: int, rank: int = 0, world: int = 1,
                   num_workers: int = 0) -> Iterator[dict[str, Any]]:
    """Batches for steps ``start_step, ...``: by aspect bucket when ``dataset`` has buckets (then
    each bucket's own batch size applies), else ``batch_size`` clips of one shape."""
    if getattr(dataset, "buckets", None):
        sampler = StepBucketBatchSampler(dataset.bucket_ids, [b.batch_size for b in dataset.buckets], seed,
                                         start_step, rank, world)
    else:
        sampler = StepBatchSampler(len(dataset), batch_size, seed, start_step, rank, world)
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=num_workers,
                        persistent_workers=num_workers > 0, multiprocessing_context=worker_context(num_workers))
    return iter(loader)
