"""FID, KID and IS on Inception-v3 frame features, computed as pytorch-fid / torch-fidelity /
torchmetrics compute them (the extractor in :mod:`kinema.eval.backbones.inception` fixes which).

* FID (Heusel et al. 2017): the Fréchet distance (Wang et al. 2026, I2V survey Eq. 6) between Gaussians fitted to pool3
  features (or the references' smaller 64 / 192 / 768-d options), in float64 (:mod:`kinema.eval.frechet`, pytorch-fid's ``sqrtm`` route; torch-fidelity and
  torchmetrics take the trace of the square root from eigenvalues, equal up to rounding).
* KID (Bińkowski et al. 2018): unbiased MMD^2 with the kernel ``(x.y / d + 1)^3`` averaged over
  ``n_subsets`` subsets of ``subset_size`` vectors, drawn as torch-fidelity draws them
  (``np.random.RandomState(seed)``, without replacement, per subset first from its ``input1`` = the
  generated set, then from ``input2`` = the real set; defaults 100 x 1000, seed 2020). Like torch-fidelity and torchmetrics, a set smaller than ``subset_size`` is refused.
* IS (Salimans et al. 2016; I2V survey Eq. 7): ``exp(E_x KL(p(y|x) || p(y)))`` per split, mean and
  (population) std over ``splits`` = 10 splits, on torch-fidelity's ``logits_unbiased`` (softmax
  in float64), after its seeded shuffle (``RandomState(2020).permutation``). Split ``i`` holds
  rows ``i N // s`` to ``(i + 1) N // s``. (torchmetrics' IS uses ``torch.chunk`` splits, an
  unseeded shuffle and Bessel's std, so its values differ unless ``splits=1``.)

Videos ``(N, T, H, W, 3)`` are pooled into frames: every ``stride``-th frame from the first, at most
``frames_per_video`` of them (all when ``None``), from every video; images ``(N, H, W, 3)`` are
used as they are. Each metric returns :class:`~kinema.eval.protocol.MetricResult`s whose protocol
names the backbone (with its weights' sha256), the preprocessing, the sample and frame counts.
"""

from __future__ import annotations

import numpy as np
import torch

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.inception import POOLED_FEATURES
from kinema.eval.frechet import FeatureStats, frechet_distance_stats
from kinema.eval.kid import TORCH_FIDELITY_SEED, KIDResult, kernel_distance
from kinema.eval.protocol import MetricResult, make_protocol



# ---- frame pooling ---------------------------------------------------------------------------

def pool_frames(videos, frames_per_video: int | None = None, stride: int = 1) -> tuple[torch.Tensor, dict]:
    """uint8 videos (N, T, H, W, 3) or images (N, H, W, 3) -> frames (M, H, W, 3) and their layout.

    The layout dict holds ``n`` (videos or images), ``frames`` (per video), ``stride`` and
    ``resolution`` [H, W], ready for :func:`make_protocol`.
    """
    x = videos if isinstance(videos, torch.Tensor) else torch.as_tensor(np.asarray(videos))
    if x.dtype != torch.uint8 or x.ndim not in (4, 5) or x.shape[-1] != 3:
        raise InputError(f"expected uint8 images (N, H, W, 3) or videos (N, T, H, W, 3), got {x.dtype} "
                         f"{tuple(x.shape)}; convert float videos with kinema.eval.frames.as_uint8_video")
    if stride < 1 or (frames_per_video is not None and frames_per_video < 1):
        raise InputError(f"stride={stride} and frames_per_video={frames_per_video} must be >= 1")
    if x.ndim == 4:
        return x, {"n": x.shape[0], "frames": 1, "stride": 1, "resolution": list(x.shape[1:3])}
    picked = x[:, ::stride]  # (N, ceil(T / stride), H, W, 3)
    if frames_per_video is not None:
        if frames_per_video > picked.shape[1]:
            raise InputError(f"frames_per_video={frames_per_video} with stride={stride} needs "
                             f"T >= {(frames_per_video - 1) * stride + 1}, got T={x.shape[1]}")
        picked = picked[:, :frames_per_video]
    frames = picked.reshape(-1, *x.shape[2:])  # (N, F, H, W, 3) -> (N*F, H, W, 3)
    return frames, {"n": x.shape[0], "frames": picked.shape[1], "stride": stride, "resolution": list(x.shape[2:4])}


def _protocol(metric: str, extractor, generated: dict, real: dict | None = None, **extra) -> dict:
    return make_protocol(metric, backbone=extractor.backbone_id, preprocessing=extractor.preprocessing,
                         n_generated=generated["n"], n_real=real["n"] if real else 0,
                         frames=generated["frames"], stride=generated["stride"], resolution=generated["resolution"],
                         **extra)


def _require_pooled(extractor, metric: str) -> None:
    if getattr(extractor, "features", "2048") not in POOLED_FEATURES:
        raise ConfigError(f"{metric} uses pooled Inception features {list(POOLED_FEATURES)} (pool3 = '2048' by "
                          f"convention); this extractor gives {extractor.features!r}")


# ---- FID -------------------------------------------------------------------------------------

def reference_stats(real, extractor, frames_per_video: int | None = None, stride: int = 1) -> FeatureStats:
    """FID statistics of real frames, with the backbone, preprocessing and frame layout in ``meta``."""
    frames, layout = pool_frames(real, frames_per_video, stride)
    meta = dict(backbone=extractor.backbone_id, preprocessing=extractor.preprocessing, **layout)
    return FeatureStats.from_features(np.asarray(extractor(frames)), meta)


def _check_stats(stats: FeatureStats, extractor, layout: dict) -> None:
    for key, want in (("backbone", extractor.backbone_id), ("preprocessing", extractor.preprocessing),
                      ("frames", layout["frames"]), ("stride", layout["stride"])):
        if stats.meta.get(key) != want:
            raise ConfigError(f"reference statistics were made with {key}={stats.meta.get(key)!r}, "
                              f"but this FID uses {key}={want!r}; recompute them with reference_stats()")


def fid(real, generated, extractor, frames_per_video: int | None = None, stride: int = 1,
        fps: float | None = None, reference_name: str | None = None, eps: float = 1e-6) -> MetricResult:
    """FID (Eq. 6) between real frames (or their :class:`FeatureStats`) and generated frames.

    ``extractor`` gives pooled features, pool3 (``"2048"``) for the standard FID;
    ``reference_name`` names a saved reference statistics file in the protocol.
    """
    _require_pooled(extractor, "FID")
    gen_frames, gen = pool_frames(generated, frames_per_video, stride)
    if isinstance(real, FeatureStats):
        _check_stats(real, extractor, gen)
        real_stats, real_layout = real, {"n": real.meta.get("n", real.n)}
    else:
        real_stats = reference_stats(real, extractor, frames_per_video, stride)
        real_layout = {"n": real_stats.meta["n"]}
    gen_stats = FeatureStats.from_features(np.asarray(extractor(gen_frames)))
    value = frechet_distance_stats(real_stats, gen_stats, eps)
    proto = _protocol("fid", extractor, gen, real_layout, fps=fps, reference_stats=reference_name,
                      feature_vectors=[real_stats.n, gen_stats.n])
    return MetricResult("fid", value, proto)


# ---- KID -------------------------------------------------------------------------------------

def kid_from_features(real_features, generated_features, subset_size: int = 1000, n_subsets: int = 100,
                      seed: int = TORCH_FIDELITY_SEED) -> KIDResult:
    """KID mean and std over subsets drawn exactly as torch-fidelity draws them (float64 maths):
    the generated set is its input1, drawn first."""
    return kernel_distance(generated_features, real_features, subset_size, n_subsets, seed)


def kid(real, generated, extractor, subset_size: int = 1000, n_subsets: int = 100, seed: int = TORCH_FIDELITY_SEED,
        frames_per_video: int | None = None, stride: int = 1,
        fps: float | None = None) -> tuple[MetricResult, MetricResult]:
    """KID between real and generated frames: (mean, std over subsets), both with the protocol."""
    _require_pooled(extractor, "KID")
    real_frames, real_layout = pool_frames(real, frames_per_video, stride)
    gen_frames, gen = pool_frames(generated, frames_per_video, stride)
    result = kid_from_features(np.asarray(extractor(real_frames)), np.asarray(extractor(gen_frames)),
                               subset_size, n_subsets, seed)
    proto = _protocol("kid", extractor, gen, real_layout, fps=fps, seed=seed, subset_size=subset_size,
                      n_subsets=n_subsets, kernel="poly degree 3, gamma 1/d, coef0 1")
    return MetricResult("kid", result.mean, proto), MetricResult("kid_std", result.std, proto)


# ---- IS --------------------------------------------------------------------------------------

def inception_score_from_logits(logits, splits: int = 10, shuffle: bool = True,
                                seed: int = TORCH_FIDELITY_SEED) -> tuple[float, float]:
    """IS (Eq. 7) of (N, C) logits: mean and population std of the per-split scores."""
    x = torch.as_tensor(np.asarray(logits) if not isinstance(logits, torch.Tensor) else logits)
    if x.ndim != 2 or not torch.is_floating_point(x):
        raise InputError(f"logits must be a float (N, classes) array, got {x.dtype} {tuple(x.shape)}")
    n = x.shape[0]
    if splits < 1 or n < splits:
        raise InputError(f"IS needs 1 <= splits <= N, got splits={splits} for N={n} samples")
    if shuffle:
        x = x[torch.as_tensor(np.random.RandomState(seed).permutation(n))]
    x = x.double()
    p, log_p = x.softmax(dim=1), x.log_softmax(dim=1)  # (N, C)
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        p_y = p[lo:hi].mean(dim=0, keepdim=True)  # (1, C) marginal of the split
        kl = (p[lo:hi] * (log_p[lo:hi] - p_y.log())).sum(dim=1)  # (n_split,)
        scores.append(kl.mean().exp().item())
    return float(np.mean(scores)), float(np.std(scores))


def inception_score(generated, extractor, splits: int = 10, shuffle: bool = True, seed: int = TORCH_FIDELITY_SEED,
                    frames_per_video: int | None = None, stride: int = 1,
                    fps: float | None = None) -> tuple[MetricResult, MetricResult]:
    """IS of generated frames: (mean, std over splits). ``extractor`` gives ``logits_unbiased``."""
    if extractor.features != "logits_unbiased":
        raise ConfigError(f"IS uses torch-fidelity's logits_unbiased; this extractor gives {extractor.features!r} "
                          "(build it with features='logits_unbiased' and protocol 'torch-fidelity' or 'torchmetrics')")
    frames, gen = pool_frames(generated, frames_per_video, stride)
    mean, std = inception_score_from_logits(extractor(frames), splits, shuffle, seed)
    proto = _protocol("is", extractor, gen, fps=fps, seed=seed if shuffle else None, splits=splits,
                      n_frames=int(frames.shape[0]))
    return MetricResult("is", mean, proto), MetricResult("is_std", std, proto)
