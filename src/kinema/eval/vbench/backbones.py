"""The real backbone callables of VBench-I2V, built from local weights and kinema's own networks, or
for AMT-S and CoTracker2 (CC-BY-NC-4.0 code) their upstream code from a local checkout.

:func:`default_backbones` loads what it can (DINO ViT-B/16, CLIP ViT-B/32 and ViT-L/14 image towers,
the LAION aesthetic head, RAFT-things, AMT-S, MUSIQ-SPAQ, the DreamSim ensemble, CoTracker2) and
records why the rest is missing (usually: the weight file is not on this machine). A dimension
whose backbone is missing raises a one-line ConfigError naming it; any callable can be passed in
instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from kinema.errors import KinemaError
from kinema.eval.vbench import preprocess as pp


class FrameFeatures:
    """uint8 frames (N, H, W, 3) -> float32 (N, D): VBench's transform, then the network, in batches."""

    def __init__(self, model: Callable, transform: Callable, backbone_id: str, preprocessing: str,
                 batch_size: int = 32, device: str | torch.device = "cpu"):
        self.model, self.transform = model, transform
        self.backbone_id, self.preprocessing = backbone_id, preprocessing
        self.batch_size, self.device = batch_size, torch.device(device)

    @torch.no_grad()
    def __call__(self, frames) -> torch.Tensor:
        out = [self.model(self.transform(frames[i:i + self.batch_size]).to(self.device)).float().cpu()
               for i in range(0, len(frames), self.batch_size)]
        return torch.cat(out)


def per_image(transform: Callable) -> Callable:
    """Apply a single-image transform (uint8 (H, W, 3) -> (1, 3, h, w)) to each of N images."""
    return lambda images: torch.cat([transform(im) for im in images])


class RaftPairFlow:
    """uint8 frames (n, H, W, 3) -> (n-1, 2, H8, W8) RAFT flow of consecutive frames, on the frames
    replicate-padded to a multiple of 8 and *not* cropped back (as VBench's dynamic degree scores it)."""

    backbone_id = "raft-things"
    preprocessing = "0..255 float, replicate pad to multiple of 8 ('sintel'), 20 iterations, padded flow"

    def __init__(self, model, batch_size: int = 4):
        self.model, self.batch_size = model, batch_size

    def __call__(self, frames) -> torch.Tensor:
        from kinema.eval.backbones.raft import raft_flow

        x = pp.frames_to_float(frames)  # (n, 3, H, W), 0..255
        first, second = x[:-1], x[1:]  # (n-1, 3, H, W) each
        out = [raft_flow(self.model, first[i:i + self.batch_size], second[i:i + self.batch_size], unpad=False)
               for i in range(0, len(first), self.batch_size)]
        return torch.cat(out)


@dataclass
class VBenchBackbones:
    subject: Callable | None = None  # subject_consistency: DINO ViT-B/16
    i2v_subject_frames: Callable | None = None  # i2v_subject frames: DINO ViT-B/16
    i2v_subject_image: Callable | None = None  # i2v_subject input image: DINO ViT-B/16 (PIL path)
    background: Callable | None = None  # background_consistency: CLIP ViT-B/32
    aesthetic: Callable | None = None  # aesthetic_quality: CLIP ViT-L/14 + LAION head
    flow: Callable | None = None  # dynamic_degree: RAFT-things
    i2v_background_frames: Callable | None = None  # i2v_background frames: DreamSim ensemble
    i2v_background_image: Callable | None = None  # i2v_background input image: DreamSim (PIL path)
    interpolate: Callable | None = None  # motion_smoothness: AMT-S
    quality: Callable | None = None  # imaging_quality: MUSIQ-SPAQ
    tracks: Callable | None = None  # camera_motion: CoTracker2
    missing: dict = field(default_factory=dict)  # {field: why it is None}


def dino_callables(model, device="cpu") -> dict[str, FrameFeatures]:
    """The three DINO feature callables (subject consistency, i2v_subject frames and image)."""
    wid = "dino-vitb16"
    return {
        "subject": FrameFeatures(model, pp.dino_frames, wid, "bilinear 224 short side (no antialias), no crop, "
                                 "/255, ImageNet mean/std", device=device),
        "i2v_subject_frames": FrameFeatures(model, pp.dino_i2v_frames, wid, "bicubic 256 short side (antialias), "
                                            "centre crop 224, /255, ImageNet mean/std", device=device),
        "i2v_subject_image": FrameFeatures(model, per_image(pp.dino_i2v_image), wid, "PIL bicubic 256 short side, "
                                           "centre crop 224, /255, ImageNet mean/std", device=device),
    }


class ClipImageEmbedder:
    """CLIP-normalised images (N, 3, 224, 224) -> (N, D) projected image embeddings, from kinema's
    HuggingFace CLIP (:mod:`kinema.eval.backbones.clip`) but with VBench's own preprocessing
    (:func:`~kinema.eval.vbench.preprocess.clip_frames`) instead of the HF processor."""

    def __init__(self, weight_id: str, path=None, device="cpu"):
        from kinema.eval.backbones.clip import load_clip

        self.clip = load_clip(weight_id, path=path, device=device)
        self.backbone_id = self.clip.backbone_id

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        from kinema.eval.backbones.clip import projected

        return projected(self.clip.model.get_image_features(pixel_values=x.to(self.clip.device)))


CLIP_PREPROCESSING = "bicubic 224 short side (no antialias), centre crop 224, /255, CLIP mean/std"


def clip_callable(embedder: ClipImageEmbedder, device="cpu") -> FrameFeatures:
    """Background consistency's features: CLIP ViT-B/32 image embeddings of VBench-preprocessed frames."""
    return FrameFeatures(embedder, pp.clip_frames, embedder.backbone_id, CLIP_PREPROCESSING, device=device)


def aesthetic_callable(embedder: Callable, head, device="cpu") -> FrameFeatures:
    """Aesthetic quality's scores: LAION head on CLIP ViT-L/14 embeddings of VBench-preprocessed frames."""
    def score(x: torch.Tensor) -> torch.Tensor:
        return head(embedder(x).float())

    wid = f"{getattr(embedder, 'backbone_id', 'clip-vit-large-patch14')}+laion-aesthetic-vit-l-14-linear"
    return FrameFeatures(score, pp.clip_frames, wid, CLIP_PREPROCESSING, device=device)


def _try(missing: dict, names, build: Callable):
    try:
        return build()
    except (KinemaError, ImportError, FileNotFoundError) as e:
        for name in names:
            missing[name] = f"{type(e).__name__}: {e}"
        return None


def default_backbones(device: str | torch.device = "cpu", dino_path=None, clip_b32_path=None, clip_l14_path=None,
                      aesthetic_path=None, raft_path=None, amt_path=None, cotracker_path=None,
                      musiq_path=None, dreamsim_path=None) -> VBenchBackbones:
    """Every VBench-I2V backbone kinema can build from local weight files; the rest stay None, with
    the reason in ``missing``. Weight ids (explicit path > environment > cache dir, see
    :func:`kinema.eval.weights.resolve_weights`): ``dino-vitb16`` (dino_vitbase16_pretrain.pth),
    ``clip-vit-base-patch32`` and ``clip-vit-large-patch14`` (HuggingFace CLIP folders; VBench loads
    the same weights from OpenAI's ViT-B-32.pt / ViT-L-14.pt), ``laion-aesthetic-vit-l-14-linear``
    (sa_0_4_vit_l_14_linear.pth), ``raft-things`` (raft-things.pth), ``amt-s`` (amt-s.pth),
    ``musiq-spaq`` (musiq_spaq_ckpt-358bb6af.pth), ``dreamsim-ensemble`` (the unzipped DreamSim
    ensemble folder; its DINO trunk is ``dino-vitb16``) and ``cotracker2`` (cotracker2.pth). AMT-S and
    CoTracker2 also need their code: ``$KINEMA_AMT_SRC`` and ``$KINEMA_COTRACKER_SRC`` (checkouts);
    MUSIQ needs pyiqa's (an installed ``pyiqa`` or a checkout in ``$KINEMA_PYIQA_SRC``)."""
    b = VBenchBackbones()

    def dino():
        from kinema.eval.backbones.vit import load_dino_vit
        return dino_callables(load_dino_vit(dino_path).to(device), device)

    for name, fn in (_try(b.missing, ["subject", "i2v_subject_frames", "i2v_subject_image"], dino) or {}).items():
        setattr(b, name, fn)
    b.background = _try(b.missing, ["background"], lambda: clip_callable(
        ClipImageEmbedder("clip-vit-base-patch32", clip_b32_path, device), device))

    def aesthetic():
        from kinema.eval.backbones.aesthetic import load_aesthetic_head
        head = load_aesthetic_head(aesthetic_path).to(device)
        return aesthetic_callable(ClipImageEmbedder("clip-vit-large-patch14", clip_l14_path, device), head, device)

    b.aesthetic = _try(b.missing, ["aesthetic"], aesthetic)

    def flow():
        from kinema.eval.backbones.raft import load_raft
        return RaftPairFlow(load_raft(raft_path, device=device))

    b.flow = _try(b.missing, ["flow"], flow)

    def interpolate():  # weight id amt-s (amt-s.pth)
        from kinema.eval.backbones.amt import load_amt
        from kinema.eval.backbones.amt_interp import AmtInterpolator
        return AmtInterpolator(load_amt(amt_path, device=device))

    b.interpolate = _try(b.missing, ["interpolate"], interpolate)

    def tracks():  # weight id cotracker2 (cotracker2.pth)
        from kinema.eval.backbones.cotracker import CoTrackerGridTracks, load_cotracker
        return CoTrackerGridTracks(load_cotracker(cotracker_path, device=device))

    b.tracks = _try(b.missing, ["tracks"], tracks)

    def quality():  # weight id musiq-spaq (musiq_spaq_ckpt-358bb6af.pth)
        from kinema.eval.backbones.musiq import MusiqQuality, load_musiq
        return MusiqQuality(load_musiq(musiq_path, device=device))

    b.quality = _try(b.missing, ["quality"], quality)

    def dreamsim():  # weight id dreamsim-ensemble (unzipped dreamsim_ensemble_checkpoint.zip folder)
        from kinema.eval.backbones.dreamsim import dreamsim_callables, load_dreamsim
        return dreamsim_callables(load_dreamsim(dreamsim_path, device=device, dino_path=dino_path), device)

    names = ["i2v_background_frames", "i2v_background_image"]
    for name, fn in (_try(b.missing, names, dreamsim) or {}).items():
        setattr(b, name, fn)
    return b
