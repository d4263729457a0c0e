"""Training data: build the dataset a stage asks for, and draw batches indexed by step.

Batches are a pure function of (seed, step, rank): a resumed run sees exactly the batches it
would have seen, so its loss curve continues the original one (tested).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from kinema.errors import ConfigError
from kinema.train.config import DataSpec


def build_dataset(spec: DataSpec, size: tuple[int, int], frames: int, seed: int, split: str = "train",
                  world: dict[str, Any] | None = None) -> Dataset:
    """The map-style dataset for a stage. Items: dict(video (3,T,H,W) in [-1,1], caption, fps, motion[, plan, plan_mask]).

    ``world``: a stage's kinema-world overrides, merged over ``spec.world``.
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

        if not spec.path:
            raise ConfigError(f"data.path is required for data.source={spec.source!r}")
        return build_real_dataset(spec.source, spec.path, size=tuple(size), frames=frames, fps=spec.fps, seed=seed)
    raise ConfigError(f"data.source={spec.source!r} is not one of ['world', 'manifest', 'folder', 'images']")


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
    motion = [float(it.get("motion", float("nan"))) for it in items]
    has_motion = all(m == m for m in motion)  # NaN != NaN
    return {
        "video": torch.stack([it["video"] for it in items]),  # (B, 3, T, H, W)
        "caption": [str(it.get("caption", "")) for it in items],
        "fps": torch.tensor([float(it.get("fps", 8.0)) for it in items]),
        "motion": torch.tensor(motion) if has_motion else None,
        "plan": _stacked(items, "plan"),  # (B, 6)
        "plan_mask": _stacked(items, "plan_mask"),  # (B, T, H, W) bool
    }


def _stacked(items: list[dict[str, Any]], key: str) -> torch.Tensor | None:
    """The items' ``key`` tensors stacked, or None when some item lacks it."""
    return torch.stack([it[key] for it in items]) if all(key in it for it in items) else None


def batch_iterator(dataset: Dataset, batch_size: int, seed: int, start_step: int, rank: int = 0, world: int = 1,
                   num_workers: int = 0) -> Iterator[dict[str, Any]]:
    sampler = StepBatchSampler(len(dataset), batch_size, seed, start_step, rank, world)
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=num_workers,
                        persistent_workers=num_workers > 0)
    return iter(loader)
