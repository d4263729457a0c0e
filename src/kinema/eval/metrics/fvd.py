"""Fréchet Video Distance (Unterthiner et al. 2018; Wang et al. 2026, I2V survey Eq. 6) under three feature backbones,
kept as three metrics whose numbers are never compared with one another:

* ``fvd-styleganv`` — StyleGAN-V's TorchScript TF-hub I3D (``i3d_torchscript.pt``), 400-d;
* ``fvd-tats`` — the TATS / cd-fvd PyTorch I3D (``i3d_pretrained_400.pt``), 400-d logits;
* ``fvd-videomae`` — cd-fvd's content-debiased FVD on VideoMAE-v2 ViT-g features, 1408-d.

    FVD = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))

Statistics follow the references (StyleGAN-V ``FeatureStats.get_mean_cov``, copied by cd-fvd): the
covariance is the population one (``ddof=0``, divide by n) and the square root is
``scipy.linalg.sqrtm(S_real @ S_gen)`` in float64 (:mod:`kinema.eval.frechet`). TATS's original
``frechet_distance`` divides by n - 1 instead; pass ``ddof=1`` for that. The choice is recorded in the
protocol. Reference statistics saved by kinema (:class:`~kinema.eval.frechet.FeatureStats`, which
stores the ``ddof=1`` covariance) are rescaled exactly to the protocol's ``ddof``.

Every video contributes its first ``frames`` frames (16); shorter videos are refused
(``InputError``), not padded or dropped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import numpy as np
import torch

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.i3d import TATSI3DFeatures, load_i3d
from kinema.eval.backbones.i3d_torchscript import (
    StyleGANVI3DFeatures,
    load_i3d_torchscript,
)
from kinema.eval.backbones.videomae import VideoMAEFeatures, load_videomae
from kinema.eval.frechet import FeatureStats, frechet_distance
from kinema.eval.protocol import MetricResult, make_protocol

FVD_METRICS = ("fvd-styleganv", "fvd-tats", "fvd-videomae")
_METRIC_OF = {StyleGANVI3DFeatures: "fvd-styleganv", TATSI3DFeatures: "fvd-tats", VideoMAEFeatures: "fvd-videomae"}
_LOADERS = {"fvd-styleganv": load_i3d_torchscript, "fvd-tats": load_i3d, "fvd-videomae": load_videomae}
REFERENCE_DDOF = 0  # StyleGAN-V / cd-fvd covariance normalisation (divide by n)


def load_fvd_extractor(metric: str, path=None, device: str | torch.device = "cpu"):
    """The feature extractor of ``metric`` with its pretrained weights from a local file."""
    if metric not in _LOADERS:
        raise ConfigError(f"unknown FVD metric {metric!r}; choose one of {list(FVD_METRICS)}")
    return _LOADERS[metric](path=path, device=device)


def metric_of(extractor, metric: str | None = None) -> str:
    """The FVD metric id an extractor produces (``metric`` names it for a custom extractor)."""
    known = next((m for cls, m in _METRIC_OF.items() if isinstance(extractor, cls)), None)
    if metric is None and known is None:
        raise ConfigError(f"cannot tell which FVD {type(extractor).__name__} computes; pass metric=<id> "
                          f"(kinema's own: {list(FVD_METRICS)})")
    if metric is not None and known is not None and metric != known:
        raise ConfigError(f"metric={metric!r} does not match the {type(extractor).__name__} backbone ({known!r})")
    return metric or known


def _as_video(video, frames: int) -> torch.Tensor:
    x = video if isinstance(video, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(video))
    return x[:frames] if x.ndim == 4 else x  # long videos cut here so clips of any length stack


def video_batches(videos, batch_size: int, frames: int) -> Iterator[torch.Tensor]:
    """(N, T, H, W, 3) arrays in slices, or a sequence of (T, H, W, 3) videos stacked by equal shape."""
    if batch_size < 1:
        raise ConfigError(f"batch_size={batch_size} must be >= 1")
    if getattr(videos, "ndim", None) == 5:
        for i in range(0, len(videos), batch_size):
            yield _as_video(videos[i:i + batch_size], frames)
        return
    group: list[torch.Tensor] = []
    for video in videos:
        x = _as_video(video, frames)
        if group and (x.shape != group[0].shape or len(group) == batch_size):
            yield torch.stack(group)
            group = []
        group.append(x)
    if group:
        yield torch.stack(group)


def video_features(extractor, videos, batch_size: int = 8) -> np.ndarray:
    """float64 (N, dim) features of uint8 videos, in order (see :func:`video_batches` for layouts)."""
    feats = [extractor(batch).numpy() for batch in video_batches(videos, batch_size, extractor.frames)]
    if not feats:
        raise InputError("no videos given: FVD needs at least 2 videos per set")
    return np.concatenate(feats).astype(np.float64)


def stats_meta(extractor, metric: str | None = None) -> dict:
    """Provenance stored with reference statistics; checked again when they are used."""
    return {"metric": metric_of(extractor, metric), "backbone": extractor.backbone_id, "frames": extractor.frames,
            "resolution": list(extractor.resolution), "preprocessing": extractor.preprocessing, "ddof": 1}


def fvd_reference_stats(extractor, videos, batch_size: int = 8, metric: str | None = None) -> FeatureStats:
    """Mean and (ddof=1) covariance of the reference videos' features, to save and reuse."""
    return FeatureStats.from_features(video_features(extractor, videos, batch_size), stats_meta(extractor, metric))


def stats_with_ddof(stats: FeatureStats, ddof: int) -> FeatureStats:
    """The same statistics with the covariance divided by n - ddof (stats record theirs in meta)."""
    source = int(stats.meta.get("ddof", 1))
    if ddof == source:
        return stats
    if stats.n <= max(ddof, source):
        raise InputError(f"cannot rescale a covariance of n={stats.n} vectors from ddof={source} to ddof={ddof}")
    sigma = stats.sigma * ((stats.n - source) / (stats.n - ddof))
    return FeatureStats(stats.mu, sigma, stats.n, stats.dim, {**stats.meta, "ddof": ddof})


def _check_reference(stats: FeatureStats, meta: dict) -> None:
    """Refuse reference statistics computed under another metric, backbone, frame count or resolution."""
    for key in ("metric", "backbone", "frames", "resolution"):
        if key in stats.meta and stats.meta[key] != meta[key]:
            raise ConfigError(f"reference statistics were computed with {key}={stats.meta[key]!r}, this FVD "
                              f"uses {key}={meta[key]!r}; recompute them with the same protocol")


def _reference(reference, extractor, meta: dict, batch_size: int) -> tuple[FeatureStats, str | None]:
    """Reference statistics (ddof=1) and the protocol's description of where they came from."""
    if isinstance(reference, FeatureStats):
        _check_reference(reference, meta)
        return reference, reference.meta.get("source", f"FeatureStats(n={reference.n}, dim={reference.dim})")
    if isinstance(reference, (str, os.PathLike)):
        stats = FeatureStats.load(reference)
        _check_reference(stats, meta)
        with open(reference, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        return stats, f"{os.path.basename(os.fspath(reference))} sha256:{digest}"
    return FeatureStats.from_features(video_features(extractor, reference, batch_size), meta), None


def fvd_from_features(generated_features, reference, extractor, *, ddof: int = REFERENCE_DDOF,
                      seed: int | None = None, metric: str | None = None, batch_size: int = 8) -> MetricResult:
    """FVD of (N, dim) generated features against reference videos, features' stats or a stats file."""
    if ddof not in (0, 1):
        raise ConfigError(f"ddof={ddof!r} must be 0 (StyleGAN-V / cd-fvd) or 1 (TATS)")
    meta = stats_meta(extractor, metric)
    gen = FeatureStats.from_features(generated_features, meta)
    if isinstance(reference, np.ndarray) and reference.ndim == 2:
        ref, source = FeatureStats.from_features(reference, meta), None
    else:
        ref, source = _reference(reference, extractor, meta, batch_size)
    ref, gen = stats_with_ddof(ref, ddof), stats_with_ddof(gen, ddof)
    if ref.dim != gen.dim:
        raise InputError(f"reference features have dim {ref.dim}, generated {gen.dim}; different backbones")
    value = frechet_distance(ref.mu, ref.sigma, gen.mu, gen.sigma)  # sqrtm(S_real @ S_gen), as the references
    protocol = make_protocol(meta["metric"], backbone=extractor.backbone_id, n_real=ref.n, n_generated=gen.n,
                             frames=extractor.frames, resolution=extractor.resolution,
                             preprocessing=extractor.preprocessing, reference_stats=source, seed=seed,
                             covariance=f"ddof={ddof}")
    return MetricResult(meta["metric"], value, protocol)


def fvd(generated, reference, extractor, *, ddof: int = REFERENCE_DDOF, batch_size: int = 8,
        seed: int | None = None, metric: str | None = None) -> MetricResult:
    """FVD (Wang et al. 2026 Eq. 6) between generated videos and reference videos or saved reference statistics.

    ``generated`` / ``reference``: uint8 (N, T, H, W, 3) arrays or tensors, or sequences of
    (T, H, W, 3) videos; ``reference`` may instead be a :class:`FeatureStats` or its ``.npz`` file.
    ``extractor``: one of kinema's FVD backbones (see :func:`load_fvd_extractor`).
    """
    features = video_features(extractor, generated, batch_size)
    return fvd_from_features(features, reference, extractor, ddof=ddof, seed=seed, metric=metric,
                             batch_size=batch_size)
