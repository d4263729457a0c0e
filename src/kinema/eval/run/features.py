"""Per-video features of a distribution metric, cached on disk so a second run is fast.

A cache entry is keyed by everything that changes the features: the backbone id and its
preprocessing, the frame protocol, and the video file itself (absolute path, size, mtime).
Entries are ``.npy`` arrays written atomically; a damaged entry is recomputed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from kinema.eval.run.videos import FrameProtocol, Video
from kinema.video._atomic import atomic_file


def default_cache_dir() -> Path:
    """Cached features: ``features/`` in kinema's cache folder (beside ``weights/``)."""
    from kinema.eval.weights.resolve import cache_root

    return cache_root() / "features"


def cache_key(video: Video, extractor, protocol: FrameProtocol) -> str:
    st = video.path.stat()
    ident = {"file": str(video.path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
             "backbone": extractor.backbone_id, "preprocessing": extractor.preprocessing,
             "protocol": protocol.to_dict(), "frames": list(video.frames.shape)}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]


class FeatureCache:
    """Directory of cached feature arrays; ``None`` root disables caching."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root is not None else None
        self.hits = self.misses = 0

    def _path(self, key: str, backbone_id: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in backbone_id)
        return self.root / safe / f"{key}.npy"

    def get(self, key: str, backbone_id: str) -> np.ndarray | None:
        if self.root is None:
            return None
        path = self._path(key, backbone_id)
        try:
            value = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, backbone_id: str, value: np.ndarray) -> None:
        if self.root is None:
            return
        path = self._path(key, backbone_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, np.asarray(value, np.float64), allow_pickle=False)


def video_features(videos: list[Video], extractor, protocol: FrameProtocol, cache: FeatureCache,
                   progress=None, batch: int = 8) -> np.ndarray:
    """Features of every video, (N, dim) float64 (frame extractors: (N * frames, dim)).

    Cached per video; the misses are computed in batches of ``batch`` videos of equal shape.
    """
    keys = [cache_key(v, extractor, protocol) for v in videos]
    found = {i: cache.get(k, extractor.backbone_id) for i, k in enumerate(keys)}
    todo = [i for i, f in found.items() if f is None]
    steps = range(0, len(todo), batch)
    for s in progress(steps, desc=extractor.backbone_id) if progress else steps:
        chunk = todo[s:s + batch]
        for i, feats in zip(chunk, _extract(extractor, [videos[i].frames for i in chunk])):
            cache.put(keys[i], extractor.backbone_id, feats)
            found[i] = feats
    return np.concatenate([np.atleast_2d(found[i]) for i in range(len(videos))])


def _extract(extractor, frames: list[np.ndarray]) -> list[np.ndarray]:
    """Run the extractor on a list of uint8 (T, H, W, 3) videos; one (k, dim) array per video.

    Frame extractors (``extractor.level == "frame"``) get the frames flattened, (N * T, H, W, 3),
    and each video keeps its T rows.
    """
    import torch

    shapes = {f.shape for f in frames}
    groups = [frames] if len(shapes) == 1 else [[f] for f in frames]  # mixed sizes: one at a time
    out = []
    for group in groups:
        x = torch.from_numpy(np.stack(group))  # uint8 (n, T, H, W, 3)
        if getattr(extractor, "level", "video") == "frame":
            x = x.flatten(0, 1)  # (n * T, H, W, 3)
        with torch.inference_mode():
            feats = extractor(x)
        feats = feats.double().numpy() if hasattr(feats, "numpy") else np.asarray(feats, np.float64)
        out.extend(np.split(feats, len(group)))  # (n * k, dim) -> n arrays of (k, dim)
    return out
