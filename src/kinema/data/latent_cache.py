"""Latent cache: encode every clip once with an autoencoder, train from safetensors shards.

Decoding video and running the encoder dominate the cost of a latent-diffusion training step
on small backbones; caching moves both out of the loop. Layout of ``out_dir``::

    index.json               {"version", "num_items", "shards": [{"file", "count"}], "frames",
                              "size", "fps", "stride", "latent_shape", "autoencoder" ({kind,
                              config}), "autoencoder_sha256", "skipped"}
    shard-00000.safetensors  tensor "latents" (N, C, T', h, w) float32; header metadata
                             "kinema_latent_cache" = JSON list of N {caption, fps, motion, path}

Clips are taken deterministically (the window's first frames, centre crop), encoded with the
posterior mean (``autoencoder.encode(video)``, what the trainer's own encode uses, so a run from
the cache sees the latents a run from the videos would), and a file that fails to decode is
skipped and listed under ``skipped`` in the index, not duplicated. ``autoencoder_sha256``
fingerprints the encoder (kind, config with its latent scale/shift, weights): a trainer refuses
a cache made by another autoencoder than its own. The folder appears atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch.utils.data import DataLoader, Dataset

from kinema.config import check_range, to_dict
from kinema.data.real.clip_dataset import CondMaskFn, VideoClipDataset, first_frame_mask, item_generator
from kinema.data.real.records import VideoRecord
from kinema.data.real.sources import load_records
from kinema.data.workers import worker_context
from kinema.errors import ConfigError, InputError
from kinema.video._atomic import atomic_dir

log = logging.getLogger("kinema.data")

INDEX_FILE = "index.json"
META_KEY = "kinema_latent_cache"
CACHE_VERSION = 2  # 2: the autoencoder's spec and fingerprint
READABLE_VERSIONS = (1, 2)


class _SkipBad(Dataset):
    """Items of ``dataset`` without fallback: a bad file gives None (and its reason)."""

    def __init__(self, dataset: VideoClipDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        try:
            return self.dataset._item(i, 0)
        except Exception as e:  # noqa: BLE001 - one bad file must not end the caching run
            return {"failed": str(self.dataset.records[i].path), "reason": " ".join(str(e).split())}


def _collate(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return items


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def autoencoder_spec_of(autoencoder) -> dict[str, Any]:
    """``{"kind", "config"}`` of an autoencoder module (config None when it has no dataclass config)."""
    config = getattr(autoencoder, "config", None)
    return {"kind": getattr(autoencoder, "kind", type(autoencoder).__name__),
            "config": to_dict(config) if dataclasses.is_dataclass(config) else None}


def autoencoder_fingerprint(autoencoder) -> str:
    """sha256 of the autoencoder's spec (latent scale/shift included) and weights.

    Two encoders with equal fingerprints give the same latents for the same pixels, so the trainer
    can tell a cache made with its own autoencoder from one made with another (or with the same
    one before an autoencoder stage recalibrated it).
    """
    h = hashlib.sha256(json.dumps(autoencoder_spec_of(autoencoder), sort_keys=True).encode())
    for name, t in sorted(autoencoder.state_dict().items()):
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class _ShardWriter:
    def __init__(self, folder: Path, shard_size: int):
        self.folder, self.shard_size = folder, shard_size
        self.latents: list[torch.Tensor] = []
        self.meta: list[dict[str, Any]] = []
        self.shards: list[dict[str, Any]] = []

    def add(self, latent: torch.Tensor, meta: dict[str, Any]) -> None:
        self.latents.append(latent)
        self.meta.append(meta)
        if len(self.latents) == self.shard_size:
            self.flush()

    def flush(self) -> None:
        if not self.latents:
            return
        name = f"shard-{len(self.shards):05d}.safetensors"
        save_file({"latents": torch.stack(self.latents).contiguous()}, str(self.folder / name),
                  metadata={META_KEY: json.dumps(self.meta, ensure_ascii=False)})
        self.shards.append({"file": name, "count": len(self.latents)})
        self.latents, self.meta = [], []


@torch.no_grad()
def cache_latents(source: str | os.PathLike | list[VideoRecord], autoencoder, out_dir: str | os.PathLike,
                  frames: int = 16, size: tuple[int, int] = (256, 256), *, fps: float | None = None,
                  stride: int | None = None, policy: str = "resize_crop", shard_size: int = 256,
                  batch_size: int = 4, num_workers: int = 0, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Encode every clip of ``source`` (folder, manifest or records) into shards under ``out_dir``.

    ``autoencoder`` is any module with ``encode(video (B,3,T,H,W) in [-1,1]) -> (B,C,T',h,w)``
    (load it with ``kinema.vae.load_autoencoder``). Returns the index written to ``index.json``.
    """
    check_range("shard_size", shard_size, 1)
    check_range("batch_size", batch_size, 1)
    check_range("num_workers", num_workers, 0)
    records = list(source) if isinstance(source, list) else load_records(source)
    dataset = VideoClipDataset(records, frames, size, fps=fps, stride=stride, policy=policy,
                               crop="center", temporal="start")
    loader = DataLoader(_SkipBad(dataset), batch_size=batch_size, num_workers=num_workers, collate_fn=_collate,
                        multiprocessing_context=worker_context(num_workers))
    skipped: dict[str, str] = {}
    with atomic_dir(out_dir) as tmp:
        writer = _ShardWriter(tmp, shard_size)
        latent_shape = None
        for items in loader:
            good = [it for it in items if "failed" not in it]
            skipped.update({it["failed"]: it["reason"] for it in items if "failed" in it})
            if not good:
                continue
            video = torch.stack([it["video"] for it in good]).to(device)  # (B, 3, T, H, W)
            z = autoencoder.encode(video).float().cpu()  # (B, C, T', h, w)
            latent_shape = list(z.shape[1:])
            for it, zi in zip(good, z):
                writer.add(zi, {"caption": it["caption"], "fps": _finite(float(it["fps"])),
                                "motion": _finite(float(it["motion"])), "path": it["path"]})
        writer.flush()
        for path, reason in skipped.items():
            log.warning("cache-latents: skipped %s (%s)", path, reason)
        index = {"version": CACHE_VERSION, "num_items": sum(s["count"] for s in writer.shards),
                 "shards": writer.shards, "frames": frames, "size": list(size), "fps": fps, "stride": stride,
                 "latent_shape": latent_shape, "autoencoder": autoencoder_spec_of(autoencoder),
                 "autoencoder_sha256": autoencoder_fingerprint(autoencoder), "skipped": skipped}
        (tmp / INDEX_FILE).write_text(json.dumps(index, indent=1), encoding="utf-8")
    return index


class LatentCacheDataset(Dataset):
    """Items of a latent cache: ``latents`` (C, T', h, w), ``caption``, ``fps``, ``motion``
    (float32 scalars, NaN when unknown), ``cond_mask`` (T',) over latent frames (default: the
    first latent frame, which a per-frame or causal autoencoder computes from frame 0 alone)
    and ``path``. Shards are opened lazily in each worker."""

    def __init__(self, out_dir: str | os.PathLike, cond_mask: CondMaskFn | None = None, seed: int = 0):
        self.folder = Path(out_dir)
        if self.folder.name == INDEX_FILE and self.folder.is_file():  # the index itself names its cache
            self.folder = self.folder.parent
        index_path = self.folder / INDEX_FILE
        if not index_path.is_file():
            raise InputError(f"{self.folder} is not a latent cache (no {INDEX_FILE}); build it with "
                             "`kinema data cache-latents`")
        try:
            self.index = json.loads(index_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{index_path}: unreadable latent-cache index ({e})") from None
        if self.index.get("version") not in READABLE_VERSIONS:
            raise InputError(f"{index_path}: cache version {self.index.get('version')!r}, expected one of "
                             f"{list(READABLE_VERSIONS)}; rebuild it with `kinema data cache-latents`")
        self.rows = [(k, r) for k, s in enumerate(self.index["shards"]) for r in range(s["count"])]
        self.cond_mask, self.seed, self.epoch = cond_mask or first_frame_mask, seed, 0
        self._meta: dict[int, list[dict[str, Any]]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def check_clip(self, size: tuple[int, int], frames: int) -> None:
        """Refuse a run that wants clips of another size or length than the cache holds."""
        have_size, have_frames = [int(v) for v in self.index["size"]], int(self.index["frames"])
        if [int(v) for v in size] != have_size or int(frames) != have_frames:
            raise ConfigError(f"the run trains on size={list(size)} frames={frames}, but the latent cache "
                              f"{self.folder} holds size={have_size} frames={have_frames}; set data.size and "
                              "data.frames to those (or rebuild the cache)")

    def check_autoencoder(self, autoencoder) -> None:
        """Refuse to serve latents to a model whose autoencoder did not make them: its decoder
        and its fresh encodes (validation, known frames at inference) would disagree with them."""
        made_by = self.index.get("autoencoder_sha256")
        if made_by is None:
            raise InputError(f"{self.folder}: this cache (version {self.index.get('version')}) records no "
                             "autoencoder fingerprint; rebuild it with `kinema data cache-latents`")
        ours = autoencoder_fingerprint(autoencoder)
        if made_by != ours:
            kind = (self.index.get("autoencoder") or {}).get("kind", "?")
            raise ConfigError(f"the latent cache {self.folder} was encoded by another autoencoder ({kind}, sha256 "
                              f"{made_by[:12]}) than this run's ({getattr(autoencoder, 'kind', '?')}, sha256 "
                              f"{ours[:12]}); set autoencoder.path to the file given to `cache-latents --vae`, "
                              "or rebuild the cache")

    def set_epoch(self, epoch: int) -> None:
        """New condition-mask draws each epoch (a custom ``cond_mask`` may be random)."""
        self.epoch = int(epoch)

    def _shard_meta(self, k: int) -> list[dict[str, Any]]:
        if k not in self._meta:
            with safe_open(str(self.folder / self.index["shards"][k]["file"]), framework="pt") as f:
                self._meta[k] = json.loads(f.metadata()[META_KEY])
        return self._meta[k]

    def __getitem__(self, i: int) -> dict[str, Any]:
        k, r = self.rows[i]
        with safe_open(str(self.folder / self.index["shards"][k]["file"]), framework="pt") as f:
            latents = f.get_slice("latents")[r:r + 1][0]  # (C, T', h, w)
        meta = self._shard_meta(k)[r]
        nan = float("nan")
        g = item_generator(self.seed, self.epoch, i)
        return {"latents": latents, "caption": meta["caption"],
                "fps": torch.tensor(nan if meta["fps"] is None else meta["fps"], dtype=torch.float32),
                "motion": torch.tensor(nan if meta["motion"] is None else meta["motion"], dtype=torch.float32),
                "cond_mask": self.cond_mask(latents.shape[1], g).float(), "path": meta["path"], "index": i}


def cache_latents_cli(manifest: str | os.PathLike, vae: str | os.PathLike, out_dir: str | os.PathLike,
                      size: tuple[int, int] | None = None, frames: int | None = None, **kwargs) -> dict[str, Any]:
    """``kinema data cache-latents``: load the autoencoder saved at ``vae`` and cache ``manifest``.

    Defaults: ``size=(256, 256)``, ``frames=16``; other keyword arguments go to :func:`cache_latents`.
    """
    from kinema.vae import load_autoencoder  # CLI glue: the data package itself never builds models

    autoencoder = load_autoencoder(vae).eval()
    index = cache_latents(manifest, autoencoder, out_dir, frames=frames or 16, size=tuple(size or (256, 256)),
                          **kwargs)
    print(f"cached {index['num_items']} clips in {len(index['shards'])} shards under {out_dir}; "
          f"skipped {len(index['skipped'])}")
    return index
