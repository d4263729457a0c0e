"""Reference statistics of several distribution metrics in one ``.npz`` (``kinema eval stats``).

Layout (no pickle): for each metric ``m``, arrays ``m/mu``, ``m/sigma``, ``m/n`` and ``m/meta``
(JSON: backbone id, preprocessing, frame protocol, source folder), plus ``m/features`` when the
metric needs the raw features (KID). A stats file is only used under the protocol it was made
with; :func:`check_meta` refuses a mismatch unless forced.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinema.errors import ConfigError, InputError
from kinema.eval.frechet import FeatureStats
from kinema.video._atomic import atomic_file

MATCH_KEYS = ("backbone", "preprocessing", "frames", "fps")  # must agree between stats and a run


@dataclass
class ReferenceEntry:
    stats: FeatureStats
    features: np.ndarray | None  # (n, dim), kept for KID


def save_reference(path: str | os.PathLike, entries: dict[str, ReferenceEntry]) -> Path:
    arrays = {}
    for name, e in entries.items():
        arrays[f"{name}/mu"], arrays[f"{name}/sigma"] = e.stats.mu, e.stats.sigma
        arrays[f"{name}/n"] = np.int64(e.stats.n)
        arrays[f"{name}/meta"] = np.array(json.dumps(e.stats.meta, sort_keys=True))
        if e.features is not None:
            arrays[f"{name}/features"] = np.asarray(e.features, np.float32)
    path = Path(path)
    with atomic_file(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return path


def load_reference(path: str | os.PathLike) -> dict[str, ReferenceEntry]:
    try:
        with np.load(path, allow_pickle=False) as z:
            names = sorted({k.rsplit("/", 1)[0] for k in z.files})
            out = {}
            for name in names:
                mu, sigma = z[f"{name}/mu"].astype(np.float64), z[f"{name}/sigma"].astype(np.float64)
                meta = json.loads(str(z[f"{name}/meta"]))
                feats = z[f"{name}/features"].astype(np.float64) if f"{name}/features" in z.files else None
                out[name] = ReferenceEntry(FeatureStats(mu, sigma, int(z[f"{name}/n"]), mu.size, meta), feats)
            return out
    except (OSError, KeyError, ValueError) as e:
        raise InputError(f"cannot read reference statistics {os.fspath(path)!r}: {e}") from None


def check_meta(metric: str, stats_meta: dict, run_meta: dict, force: bool) -> None:
    """ConfigError when the stats were made under another protocol (a warning when forced)."""
    diff = {k: (stats_meta.get(k), run_meta.get(k)) for k in MATCH_KEYS if stats_meta.get(k) != run_meta.get(k)}
    if not diff:
        return
    text = "; ".join(f"{k}: stats {a!r} vs run {b!r}" for k, (a, b) in diff.items())
    if not force:
        raise ConfigError(f"reference statistics for {metric} were made under another protocol ({text}); "
                          "recompute them with `kinema eval stats` or pass --force")
    warnings.warn(f"{metric}: using reference statistics from another protocol ({text})", UserWarning, stacklevel=2)
