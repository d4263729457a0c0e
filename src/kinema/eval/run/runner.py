"""``kinema eval``: score a folder of generated videos against a reference folder or statistics.

Numbered steps: (1) read both sets under one frame protocol, (2) compute each metric by its kind,
(3) attach the full protocol to every number. Reports are written by :mod:`kinema.eval.run.report`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kinema.errors import InputError
from kinema.eval.frechet import FeatureStats, frechet_distance_stats
from kinema.eval.protocol import MetricResult, make_protocol
from kinema.eval.run.features import FeatureCache, default_cache_dir, video_features
from kinema.eval.run.reference_stats import ReferenceEntry, check_meta, load_reference
from kinema.eval.run.registry import MetricSpec, get_metric
from kinema.eval.run.context import set_context
from kinema.eval.run.videos import FrameProtocol, VideoSet, load_video_set, pair_videos


@dataclass
class EvalRequest:
    generated: Path
    reference: Path | None  # a folder of videos, or a .npz from `kinema eval stats`
    metrics: list[str]
    protocol: FrameProtocol = field(default_factory=FrameProtocol)
    cache_dir: Path | None = field(default_factory=default_cache_dir)  # None: no feature cache
    seed: int | None = None  # KID subsets / IS shuffle; None = each reference's default (torch-fidelity: 2020)
    force: bool = False  # use reference statistics made under another protocol
    kid_subset_size: int = 1000
    kid_subsets: int = 100
    is_splits: int = 10
    prompts: Path | None = None  # JSON {video name: prompt}; default: each video's kinema metadata
    images: Path | None = None  # folder of input images named like the videos; default: reference frame 0


@dataclass
class MetricOutput:
    result: MetricResult
    per_video: dict[str, float] = field(default_factory=dict)  # video name -> value
    curve: list[float] | None = None  # mean per-frame curve over videos
    extra: dict = field(default_factory=dict)  # e.g. KID std
    seconds: float = 0.0


@dataclass
class EvalReport:
    request: dict
    outputs: list[MetricOutput]
    skipped: dict[str, list[tuple[str, str]]]
    generated: VideoSet
    reference: VideoSet | None

    def to_dict(self) -> dict:
        return {"request": self.request, "skipped": self.skipped,
                "metrics": [dict(o.result.to_dict(), per_video=o.per_video, curve=o.curve, extra=o.extra,
                                 seconds=round(o.seconds, 3)) for o in self.outputs]}


def evaluate(req: EvalRequest, progress=None) -> EvalReport:
    """Run every metric of ``req``; see the module docstring for the steps."""
    specs = [get_metric(m) for m in req.metrics]  # 0. unknown names fail before any work
    # 1. both sets under the same frame protocol
    gen = load_video_set(req.generated, req.protocol, progress)
    ref_set, ref_stats = _load_reference(req, specs, progress)
    cache = FeatureCache(req.cache_dir)
    # 2. each metric by its kind
    outputs = [_run_metric(spec, req, gen, ref_set, ref_stats, cache, progress) for spec in specs]
    skipped = {"generated": gen.skipped, "reference": ref_set.skipped if ref_set else []}
    request = {"generated": str(req.generated), "reference": str(req.reference) if req.reference else None,
               "metrics": req.metrics, "protocol": req.protocol.to_dict(), "seed": req.seed,
               "cache": {"dir": str(req.cache_dir) if req.cache_dir else None, "hits": cache.hits,
                         "misses": cache.misses}}
    return EvalReport(request, outputs, skipped, gen, ref_set)


def _load_reference(req: EvalRequest, specs: list[MetricSpec], progress):
    needs_ref = [s.name for s in specs if s.kind == "paired" or (s.kind == "distribution" and s.score != "is")]
    if req.reference is None:
        if needs_ref:
            raise InputError(f"metrics {needs_ref} need --reference (a folder of videos or a stats .npz)")
        return None, None
    path = Path(req.reference)
    if path.suffix == ".npz":
        paired = [s.name for s in specs if s.kind == "paired"]
        if paired:
            raise InputError(f"paired metrics {paired} need a reference folder of videos, not statistics {path}")
        return None, load_reference(path)
    return load_video_set(path, req.protocol, progress), None


def _run_metric(spec, req, gen, ref_set, ref_stats, cache, progress) -> MetricOutput:
    t0 = time.perf_counter()
    if spec.kind == "video":
        out = _video_metric(spec, gen, progress)
    elif spec.kind == "paired":
        out = _paired_metric(spec, req, gen, ref_set, progress)
    elif spec.kind == "set":
        out = _set_metric(spec, req, gen, ref_set)
    else:
        out = _distribution_metric(spec, req, gen, ref_set, ref_stats, cache, progress)
    out.seconds = time.perf_counter() - t0
    return out


def _resolution(videos) -> list[int]:
    sizes = sorted({tuple(v.frames.shape[1:3]) for v in videos})
    return list(sizes[0]) if len(sizes) == 1 else [list(s) for s in sizes]


def _frames(videos) -> int:
    return int(min(len(v.frames) for v in videos))


def _mean_curve(curves: list) -> list[float] | None:
    curves = [np.asarray(c, np.float64) for c in curves if c is not None]
    if not curves:
        return None
    t = min(len(c) for c in curves)
    return [float(x) for x in np.mean([c[:t] for c in curves], axis=0)]


def _each(items: list, progress, desc: str):
    """``items``, through the progress callback when there is one (a bar per metric on stderr)."""
    return progress(items, desc=desc) if progress else items


def _video_metric(spec, gen, progress=None) -> MetricOutput:
    values, curves = {}, []
    for v in _each(gen.videos, progress, spec.name):
        value, curve = spec.compute(v.frames)
        values[v.name] = float(value)
        curves.append(curve)
    proto = make_protocol(spec.name, n_generated=len(values), frames=_frames(gen.videos),
                          resolution=_resolution(gen.videos), fps=gen.videos[0].fps,
                          preprocessing="uint8 frames as read; no resize", seed=None, backbone=spec.backbone)
    return MetricOutput(MetricResult(spec.name, float(np.mean(list(values.values()))), proto),
                        values, _mean_curve(curves))


def _set_metric(spec, req, gen, ref_set) -> MetricOutput:
    result, per_video = spec.compute([v.frames for v in gen.videos], set_context(req, gen, ref_set))
    return MetricOutput(result, {n: float(x) for n, x in zip(gen.names, per_video)})


def _paired_metric(spec, req, gen, ref_set, progress=None) -> MetricOutput:
    values, curves = {}, []
    for g, r in _each(pair_videos(gen, ref_set), progress, spec.name):
        if g.frames.shape[1:3] != r.frames.shape[1:3]:
            raise InputError(f"{spec.name}: {g.name} is {g.frames.shape[1:3]} but its reference is "
                             f"{r.frames.shape[1:3]}; paired metrics need equal sizes")
        value, curve = spec.compute(g.frames, r.frames)
        values[g.name] = float(value)
        curves.append(curve)
    proto = make_protocol(spec.name, n_generated=len(values), n_real=len(values),
                          frames=_frames(gen.videos), resolution=_resolution(gen.videos), fps=gen.videos[0].fps,
                          preprocessing="uint8 frames as read; pairs matched by relative path; no resize",
                          backbone=spec.backbone, seed=None)
    return MetricOutput(MetricResult(spec.name, float(np.mean(list(values.values()))), proto),
                        values, _mean_curve(curves))


def _distribution_metric(spec, req, gen, ref_set, ref_stats, cache, progress) -> MetricOutput:
    extractor = spec.extractor(None)
    feats_g = video_features(gen.videos, extractor, req.protocol, cache, progress)
    meta = {"backbone": extractor.backbone_id, "preprocessing": extractor.preprocessing,
            "frames": req.protocol.frames, "fps": req.protocol.fps}
    ref = _reference_entry(spec, req, ref_set, ref_stats, extractor, meta, cache, progress)
    value, extra = _score(spec, req, feats_g, ref)
    n_real = 0 if ref is None else len(ref_set.videos) if ref_set else ref.stats.meta.get("n_videos", ref.stats.n)
    proto = make_protocol(spec.name, n_generated=len(gen.videos), n_real=n_real,
                          frames=_frames(gen.videos), resolution=_resolution(gen.videos), fps=gen.videos[0].fps,
                          backbone=extractor.backbone_id, preprocessing=extractor.preprocessing,
                          reference_stats=str(req.reference) if ref_stats else None,
                          seed=extra.get("seed") if spec.score in ("kid", "is") else None,
                          n_features_generated=int(feats_g.shape[0]), feature_dim=int(feats_g.shape[1]))
    return MetricOutput(MetricResult(spec.name, value, proto), extra=extra)


def _reference_entry(spec, req, ref_set, ref_stats, extractor, meta, cache, progress) -> ReferenceEntry | None:
    if spec.score == "is":
        return None
    if ref_stats is not None:
        if spec.name not in ref_stats:
            raise InputError(f"{req.reference} has no statistics for {spec.name} (it has {sorted(ref_stats)}); "
                             f"run `kinema eval stats DIR --metrics {spec.name}`")
        entry = ref_stats[spec.name]
        check_meta(spec.name, entry.stats.meta, meta, req.force)
        if spec.score == "kid" and entry.features is None:
            raise InputError(f"{req.reference} holds no raw features for {spec.name}; KID needs them")
        return entry
    feats = video_features(ref_set.videos, extractor, req.protocol, cache, progress)
    return ReferenceEntry(FeatureStats.from_features(feats, meta), feats)


def _score(spec, req, feats_g: np.ndarray, ref: ReferenceEntry | None) -> tuple[float, dict]:
    if spec.score == "fd":
        ddof = spec.options.get("ddof", 1)  # FVD references divide the covariance by n (ddof 0)
        gen = _with_ddof(FeatureStats.from_features(feats_g), ddof)
        return frechet_distance_stats(gen, _with_ddof(ref.stats, ddof)), {"covariance_ddof": ddof}
    if "score_fn" in spec.options:  # KID, IS: the reference's own draws and splits
        return spec.options["score_fn"](feats_g, ref, req)
    raise InputError(f"metric {spec.name}: no scoring rule for score={spec.score!r}")


def _with_ddof(stats: FeatureStats, ddof: int) -> FeatureStats:
    """Stats (covariance / (n - 1)) rescaled to covariance / (n - ddof)."""
    if ddof == 1:
        return stats
    return FeatureStats(stats.mu, stats.sigma * (stats.n - 1) / (stats.n - ddof), stats.n, stats.dim, stats.meta)


def reference_statistics(root: Path, metrics: list[str], protocol: FrameProtocol,
                         cache_dir: Path | None = None, progress=None) -> dict[str, ReferenceEntry]:
    """``kinema eval stats``: features of a reference folder for each distribution metric."""
    specs = [get_metric(m) for m in metrics]
    bad = [s.name for s in specs if s.kind != "distribution" or s.score == "is"]
    if bad:
        raise InputError(f"{bad} take no reference statistics; stats are for FD/KID metrics")
    videos = load_video_set(root, protocol, progress)
    cache, out = FeatureCache(cache_dir), {}
    for spec in specs:
        extractor = spec.extractor(None)
        feats = video_features(videos.videos, extractor, protocol, cache, progress)
        meta = {"backbone": extractor.backbone_id, "preprocessing": extractor.preprocessing,
                "frames": protocol.frames, "fps": protocol.fps, "source": str(root), "n_videos": len(videos.videos),
                "skipped": len(videos.skipped)}
        out[spec.name] = ReferenceEntry(FeatureStats.from_features(feats, meta),
                                        feats if spec.score == "kid" else None)
    return out
