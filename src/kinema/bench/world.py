"""``kinema bench world``: an I2V model and two baselines on a fixed held-out split of kinema world.

``bench_world(model, ...)`` runs numbered steps, each a helper:

1. resolve the generators (the model, if any, and the ``static`` / ``gt`` baselines) and the world
   grid: the model's own size, frame count and fps (64x64x16 @ 8 fps without a model);
2. render the evaluated clips ``clip_seed(split, i)`` for ``i < n_clips`` and the Fréchet
   reference clips ``n_clips <= i < n_clips + n_reference`` (disjoint, so the ground truth's FD is
   the sampling floor);
3. generate: ``seeds_per_clip`` videos per clip for a model (seeds 0..S-1), one for a baseline,
   conditioned on the first frame, the caption and the motion amount; time and memory measured
   around each call (:mod:`kinema.bench.resources`);
4. per-video metrics (:mod:`kinema.bench.clip_metrics`) and their summary per generator, with
   warping error and flicker as ratios to the ground truth (:mod:`kinema.bench.summary`);
5. Fréchet distance (Wang et al. 2026, I2V survey Eq. 6) on ``kinema-world-encoder-v1`` features
   (:mod:`kinema.bench.world_encoder`) to the reference set, raw and extrapolated to infinitely
   many clips (FD_inf, :mod:`kinema.eval.frechet_inf`: the raw value at a few hundred clips is
   mostly small-sample bias; a clip's seeds are resampled together, since they share the clip's
   content), and the encoder's real-vs-corrupted check
   (:mod:`kinema.bench.corruptions`);
6. write report.json, report.md and grid.png (:mod:`kinema.bench.report`) when ``out_dir`` is given.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from kinema.bench.clip_metrics import MOVING_MIN, STILL_BELOW, clip_metrics
from kinema.bench.generators import BASELINES, ModelGenerator, gt_baseline, model_video_defaults, static_baseline
from kinema.bench.resources import ResourceMeter
from kinema.bench.summary import summarize
from kinema.config import check_choice, check_range
from kinema.errors import ConfigError
from kinema.sampling.request import GenerationRequest

BENCH_ID = "kinema-bench-world-v1"
FD_METRIC = "kinema-world-fd-v1"
DEFAULT_GRID = ((64, 64), 16, 8.0)  # (W, H), frames, fps without a model


def _resolve_model(model, device: str) -> tuple[Any, list[str]]:
    """(pipeline or None, baseline names implied by a string model)."""
    if model is None:
        return None, []
    if isinstance(model, str) and model in BASELINES:
        return None, [model]
    if isinstance(model, (str, Path)):
        from kinema.sampling.pipeline import load_pipeline

        return load_pipeline(model, device=device), []
    if not hasattr(model, "model_config"):
        raise ConfigError(f"model={model!r} must be a model file, an I2VPipeline, None or one of {list(BASELINES)}")
    return model, []


SAMPLING_FIELDS = ("steps", "sampler", "guidance", "image_guidance", "plan_guidance", "strength", "noise_prior")


def _generators(pipeline, baselines: list[str], options: dict, exact_plan: bool = False,
                exact_mask: bool = False) -> dict[str, Callable]:
    gens: dict[str, Callable] = {}
    if pipeline is not None:
        gens["model"] = ModelGenerator(pipeline, options, exact_plan=exact_plan, exact_mask=exact_mask)
    for name in baselines:
        check_choice("baseline", name, BASELINES)
        gens[name] = {"static": static_baseline, "gt": gt_baseline}[name]
    if not gens:
        raise ConfigError(f"nothing to evaluate: give a model or at least one baseline of {list(BASELINES)}")
    return gens


def _world_config(pipeline, size, frames, fps, preset: str):
    from kinema.data.world import world_preset

    d_size, d_frames, d_fps = model_video_defaults(pipeline) if pipeline is not None else DEFAULT_GRID
    size = tuple(int(v) for v in (size or d_size))
    return world_preset(preset, size=size, frames=int(frames or d_frames), fps=float(fps or d_fps))


def _render(cfg, split: str, start: int, n: int, base_seed: int, desc: str, quiet: bool | None) -> list:
    from kinema.data.world import clip_seed, generate_clip
    from kinema.progress import progress

    indices = progress(range(start, start + n), desc=desc, unit="clip", quiet=quiet)
    return [generate_clip(cfg, clip_seed(split, i, base_seed), split) for i in indices]


def _generate(name: str, gen: Callable, clips: list, seeds: int, device, quiet) -> tuple[list, list, dict]:
    """(videos, metric rows, resources) of one generator over every clip and seed."""
    from kinema.progress import progress

    meter = ResourceMeter(device)
    videos, rows = [], []
    for i, clip in enumerate(progress(clips, desc=name, unit="clip", quiet=quiet)):
        for seed in range(seeds):
            with meter.measure():
                video = np.asarray(gen(clip, seed))
            videos.append(video)
            rows.append({"clip": i, "seed": seed, **clip_metrics(video, clip)})
    return videos, rows, meter.summary()


def _column(name, gen, clips, seeds, gt, ref_features, features, quiet) -> tuple[dict, list]:
    """(summary, videos) of one generator; ``gt`` = (videos, rows, resources) of the real clips."""
    from kinema.eval import frechet_distance_features, frechet_distance_inf

    if name == "gt":
        videos, rows, resources = gt
    else:
        videos, rows, resources = _generate(name, gen, clips, seeds, getattr(gen, "device", "cpu"), quiet)
    summary = {**summarize(rows, gt[1]), **resources, "seeds_per_clip": seeds}
    feats = features(videos)
    summary["fd_world"] = frechet_distance_features(ref_features, feats)
    clip_of = np.repeat(np.arange(len(clips)), seeds)  # a clip's seeds are one condition, not independent draws
    summary["fd_world_inf"] = frechet_distance_inf(ref_features, feats, groups=clip_of)  # FD extrapolated to N -> inf
    return summary, videos


def _encoder_features(encoder):
    from kinema.bench.world_encoder import world_features

    return lambda videos: world_features(encoder, videos)


def _protocol(cfg, clips, run: dict, results: dict, backbone_id: str, options: dict) -> dict:
    """Everything the numbers depend on (kinema.eval.make_protocol for the Fréchet distance)."""
    from kinema.eval import make_protocol

    t, h, w = clips[0].frames.shape[:3]
    n_gen = {k: v["n_videos"] for k, v in results.items()}
    world = {"preset": run["world"], "split": run["split"], "base_seed": run["base_seed"], "first_index": 0,
             "clips": len(clips), "seeds_per_clip": run["seeds_per_clip"], "size": [w, h], "frames": t,
             "fps": cfg.fps, "moving_min": MOVING_MIN, "still_below": STILL_BELOW,
             "conditions": ["first_frame", "caption", "motion_amount"]}
    fd = make_protocol(FD_METRIC, n_generated=max(n_gen.values()), frames=t, resolution=[h, w], backbone=backbone_id,
                       n_real=run["n_reference"], fps=cfg.fps,
                       preprocessing="resample to 16x64x64 (antialiased bilinear, linear in time)",
                       n_generated_per_column=n_gen,
                       reference_indices=[len(clips), len(clips) + run["n_reference"]])
    fd_inf = {"estimator": "kinema.eval.frechet_inf (Chong & Forsyth 2020)", "resampled_by": "clip",
              "draws_per_size": _default("draws"), "points": _default("points"), "min_fraction": _default("min_fraction")}
    return {"world": world, "fd": fd, "fd_inf": fd_inf, "sampling": options}


def _default(name: str):
    """A keyword default of frechet_distance_inf, recorded so FD_inf figures say how they were made."""
    import inspect

    from kinema.eval import frechet_distance_inf

    return inspect.signature(frechet_distance_inf).parameters[name].default


def bench_world(model=None, request: GenerationRequest | None = None, *, baselines=BASELINES, n_clips: int = 128,
                seeds_per_clip: int = 2, n_reference: int = 2048, split: str = "test", base_seed: int = 0,
                world: str = "default", exact_plan: bool = False, exact_mask: bool = False, device: str = "auto",
                out_dir=None, grid_clips: int = 4, encoder=None, quiet: bool | None = None, **options) -> dict:
    """Benchmark ``model`` (a model file, an I2VPipeline, None, or "static"/"gt") on kinema world.

    ``request``'s size, frames and fps set the world grid (None: the model's), its sampling fields
    (:data:`SAMPLING_FIELDS`) the model's calls; ``options`` are request fields over it (``steps=2``).
    Returns the report dict (also written to ``out_dir`` as report.json / report.md / grid.png).
    Columns: "model" (when a model is given), then each of ``baselines``. ``exact_plan``: the model
    gets each clip's exact motion plan (an oracle ablation of its planner; recorded in the report),
    ``exact_mask`` its main object's exact frame-0 mask (an oracle ablation of the segmenter).
    Progress bars go to stderr (:mod:`kinema.progress`); ``quiet`` True hides them, None follows ``--quiet``.
    """
    from kinema.bench.corruptions import separation
    from kinema.bench.world_encoder import encoder_backbone_id, load_world_encoder

    check_range("n_clips", n_clips, 2, 100_000)
    check_range("seeds_per_clip", seeds_per_clip, 1, 100)
    check_range("n_reference", n_reference, 2, 100_000)
    pipeline, implied = _resolve_model(model, device)  # 1
    names = implied or list(baselines)
    request = replace(request or GenerationRequest(), **options)
    options = {k: getattr(request, k) for k in SAMPLING_FIELDS if getattr(request, k) is not None}
    gens = _generators(pipeline, names, options, exact_plan, exact_mask)
    if exact_plan:
        options = {**options, "plan": "exact (oracle)"}  # recorded with the sampling options (a copy)
    if exact_mask:
        options = {**options, "object_mask": "exact (oracle)"}
    cfg = _world_config(pipeline, request.size, request.frames, request.fps, world)
    clips = _render(cfg, split, 0, n_clips, base_seed, "test clips", quiet)  # 2
    reference = _render(cfg, split, n_clips, n_reference, base_seed, "reference clips", quiet)
    backbone_id = encoder_backbone_id() if encoder is None else "custom-world-encoder"
    encoder = encoder or load_world_encoder()
    features = _encoder_features(encoder)
    ref_features = features([c.frames for c in reference])
    del reference
    gt_videos, gt_rows, gt_resources = _generate("gt", gt_baseline, clips, 1, "cpu", quiet)
    gt = (gt_videos, gt_rows, gt_resources)
    results, grid_videos = {}, {}
    for name, gen in gens.items():  # 3-5
        seeds = seeds_per_clip if name == "model" else 1
        results[name], videos = _column(name, gen, clips, seeds, gt, ref_features, features, quiet)
        grid_videos[name] = videos[::seeds][:grid_clips]
    report = {"bench": BENCH_ID, "model": getattr(pipeline, "model_id", None), "generators": results,
              "encoder_check": separation(ref_features, gt_videos, features),
              "protocol": _protocol(cfg, clips, dict(world=world, split=split, base_seed=base_seed,
                                                     seeds_per_clip=seeds_per_clip, n_reference=n_reference),
                                    results, backbone_id, options)}
    if pipeline is not None:  # what the model ran with: the options given, the rest from its config
        run = pipeline.resolved(**{k: v for k, v in options.items() if k in SAMPLING_FIELDS})
        report["protocol"]["sampling_resolved"] = {k: getattr(run, k) for k in SAMPLING_FIELDS}
    if out_dir is not None:  # 6
        from kinema.bench.report import write_report

        rows = [v for c in range(min(grid_clips, n_clips))
                for v in [gt_videos[c]] + [grid_videos[k][c] for k in results if k != "gt"]]
        report["files"] = {k: str(v) for k, v in write_report(report, rows, out_dir).items()}
    return report
