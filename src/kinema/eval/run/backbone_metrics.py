"""Metrics on pretrained backbones, registered for ``kinema eval``.

Weights come from local files (:mod:`kinema.eval.weights`: explicit path, environment variable or
cache folder) and are loaded once per process, at the first use; a missing file is a one-line error
naming it and where to obtain it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from kinema.eval.run.registry import MetricSpec, register

# ---- LPIPS (Wang et al. 2026 Eq. 10): paired ---------------------------------------------------


@lru_cache(maxsize=None)
def _lpips(net: str):
    from kinema.eval.metrics.lpips import load_lpips

    return load_lpips(net)


def _lpips_metric(net: str):
    def compute(gen: np.ndarray, ref: np.ndarray):
        from kinema.eval.metrics.lpips import lpips_frames

        t = min(len(gen), len(ref))
        curve = lpips_frames(_lpips(net), gen[:t], ref[:t])
        return float(curve.mean()), curve

    return compute


for _net, _trunk in (("alex", "alexnet-torchvision"), ("vgg", "vgg16-torchvision")):
    register(MetricSpec(f"lpips-{_net}", "paired", f"LPIPS v0.1, {_net} trunk (lpips package protocol), per frame",
                        backbone=f"{_trunk}+lpips-{_net}-v0.1", higher_is_better=False,
                        compute=_lpips_metric(_net)))


# ---- CLIPScore / CLIP-SIM (parts of Wang et al. 2026 Eq. 11) -----------------------------------

@lru_cache(maxsize=None)
def _clip(weight_id: str):
    from kinema.eval.backbones.clip import load_clip

    return load_clip(weight_id)


def _clipscore(videos, ctx):
    from kinema.eval.metrics.clip_score import clip_score, clip_score_video

    clip, prompts = _clip("clip-vit-large-patch14"), ctx.require_prompts("clipscore")
    return clip_score(clip, videos, prompts), [clip_score_video(clip, v, p) for v, p in zip(videos, prompts)]


def _clip_sim(mode: str):
    def compute(videos, ctx):
        from kinema.eval.metrics.clip_score import clip_sim, clip_sim_video

        clip = _clip("clip-vit-large-patch14")
        images = ctx.images if mode == "first" else None
        refs = images if images is not None else [None] * len(videos)
        return clip_sim(clip, videos, mode, images), [clip_sim_video(clip, v, mode, im) for v, im in zip(videos, refs)]

    return compute


register(MetricSpec("clipscore", "set", "CLIPScore: max(100 cos(frame, prompt), 0), mean over frames (torchmetrics)",
                    backbone="clip-vit-large-patch14", compute=_clipscore))
for _mode in ("first", "consecutive"):
    register(MetricSpec(f"clip-sim-{_mode}", "set", f"CLIP-SIM: image-embedding cosine, {_mode} frame pairs",
                        backbone="clip-vit-large-patch14", compute=_clip_sim(_mode)))


# ---- VBench-I2V: set-level dimensions -------------------------------------------------------

@lru_cache(maxsize=1)
def _vbench_backbones():
    from kinema.eval.vbench.backbones import default_backbones

    return default_backbones()


def _vbench_dimension(name: str):
    def compute(videos, ctx):
        from kinema.eval.vbench.evaluate import evaluate_dimension

        images = ctx.require_images(f"vbench-i2v/{name}") if name.startswith("i2v_") else None
        cameras = ctx.require_prompts(f"vbench-i2v/{name}") if name == "camera_motion" else None
        score = evaluate_dimension(name, videos, _vbench_backbones(), images=images, camera_types=cameras,
                                   fps=ctx.fps)
        return score.result(), [float(x) for x in score.per_video]

    return compute


def _register_vbench() -> None:
    from kinema.eval.vbench.constants import DIMENSIONS

    for dim in DIMENSIONS:
        register(MetricSpec(f"vbench-i2v/{dim}", "set", f"VBench-I2V {dim.replace('_', ' ')} (reference rules)",
                            backbone="see protocol", compute=_vbench_dimension(dim)))


_register_vbench()


# ---- FVD (Wang et al. 2026 Eq. 6): three backbones kept as distinct metrics --------------------

def _fvd_extractor(metric: str):
    def build(weights=None):
        from kinema.eval.metrics.fvd import load_fvd_extractor

        return load_fvd_extractor(metric, weights)

    return build


for _metric, _backbone, _what in (("fvd-styleganv", "i3d-stylegan-v", "StyleGAN-V I3D TorchScript protocol"),
                                  ("fvd-tats", "i3d-tats-400", "TATS / cd-fvd PyTorch I3D"),
                                  ("fvd-videomae", "videomae-v2-g-ssv2", "cd-fvd VideoMAE-v2 ViT-g (content-debiased)")):
    register(MetricSpec(_metric, "distribution", f"FVD, {_what}; first 16 frames; covariance / n as cd-fvd",
                        backbone=_backbone, higher_is_better=False, extractor=_fvd_extractor(_metric), score="fd",
                        options={"ddof": 0}))


# ---- FID / KID / IS on Inception-v3 (Wang et al. 2026 Eq. 6-7), frame level --------------------

@lru_cache(maxsize=None)
def _inception(protocol: str, features: str):
    from kinema.eval.backbones.inception import inception_features

    return inception_features(protocol, features)


def _inception_extractor(protocol: str, features: str = "2048"):
    return lambda weights=None: _inception(protocol, features)


def _kid_score(feats_g, ref, req):
    from kinema.eval.metrics.inception_metrics import TORCH_FIDELITY_SEED, kid_from_features

    seed = TORCH_FIDELITY_SEED if req.seed is None else req.seed
    r = kid_from_features(ref.features, feats_g, req.kid_subset_size, req.kid_subsets, seed)
    return r.mean, {"std": r.std, "subset_size": r.subset_size, "n_subsets": r.n_subsets, "seed": seed}


def _is_score(feats_g, ref, req):
    from kinema.eval.metrics.inception_metrics import TORCH_FIDELITY_SEED, inception_score_from_logits

    seed = TORCH_FIDELITY_SEED if req.seed is None else req.seed
    mean, std = inception_score_from_logits(feats_g, splits=req.is_splits, shuffle=True, seed=seed)
    return mean, {"std": std, "splits": req.is_splits, "seed": seed}


for _name, _proto in (("fid", "pytorch-fid"), ("fid-torch-fidelity", "torch-fidelity"),
                      ("fid-torchmetrics", "torchmetrics")):
    register(MetricSpec(_name, "distribution", f"FID on Inception-v3 pool3 (2048-d), {_proto} preprocessing, "
                        "every frame of every video", backbone="inception-fid", higher_is_better=False,
                        extractor=_inception_extractor(_proto), score="fd"))
register(MetricSpec("kid", "distribution", "KID on Inception-v3 pool3, torch-fidelity protocol and subset draws",
                    backbone="inception-fid", higher_is_better=False, extractor=_inception_extractor("torch-fidelity"),
                    score="kid", options={"score_fn": _kid_score}))
register(MetricSpec("is", "distribution", "Inception Score (Eq. 7), torch-fidelity protocol (logits_unbiased, "
                    "10 splits)", backbone="inception-fid", extractor=_inception_extractor("torch-fidelity",
                                                                                            "logits_unbiased"),
                    score="is", options={"score_fn": _is_score}))
