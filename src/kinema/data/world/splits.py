"""Disjoint, reproducible seeds for the train / val / test splits.

``clip_seed(split, index, base_seed)`` packs a split tag, the base seed and the clip index into
disjoint bit fields of a 53-bit integer (so it survives any JSON reader, which may parse numbers
as doubles). The tag occupies bits the index and base seed never touch, so two splits with
different tags never share a seed. The standard splits have fixed tags (train 1, val 2, test 3);
any other split name is hashed into [4, 4096) (two custom names could collide; they never
collide with the standard splits).

Layout: ``tag (12 bits) | base_seed (16 bits) | index (25 bits)``.
"""

from __future__ import annotations

import hashlib

from kinema.errors import ConfigError

INDEX_BITS = 25  # up to 33.5 M clips per split
BASE_BITS = 16  # up to 65536 independent worlds
TAG_BITS = 12
STANDARD_TAGS = {"train": 1, "val": 2, "test": 3}


def split_tag(split: str) -> int:
    """The split's tag: fixed for train/val/test, hashed from the name otherwise."""
    if not split or not isinstance(split, str):
        raise ConfigError(f"split={split!r} must be a non-empty name such as 'train', 'val', 'test'")
    if split in STANDARD_TAGS:
        return STANDARD_TAGS[split]
    digest = int.from_bytes(hashlib.sha256(f"kinema-world/{split}".encode()).digest()[:8], "big")
    return 4 + digest % ((1 << TAG_BITS) - 4)


def clip_seed(split: str, index: int, base_seed: int = 0) -> int:
    """The seed of clip ``index`` of ``split`` in world ``base_seed`` (< 2**53)."""
    if not 0 <= index < (1 << INDEX_BITS):
        raise ConfigError(f"index={index} is outside the accepted range [0, {(1 << INDEX_BITS) - 1}]")
    if not 0 <= base_seed < (1 << BASE_BITS):
        raise ConfigError(f"base_seed={base_seed} is outside the accepted range [0, {(1 << BASE_BITS) - 1}]")
    return (split_tag(split) << (BASE_BITS + INDEX_BITS)) | (base_seed << INDEX_BITS) | index


def seed_split(seed: int) -> tuple[int, int, int]:
    """Inverse of clip_seed: (tag, base_seed, index)."""
    index = seed & ((1 << INDEX_BITS) - 1)
    base = (seed >> INDEX_BITS) & ((1 << BASE_BITS) - 1)
    return seed >> (BASE_BITS + INDEX_BITS), base, index
