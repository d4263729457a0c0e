"""CLIPScore (Hessel et al. 2021, as torchmetrics computes it) and CLIP-SIM, per frame and per video.

The I2V survey (Wang et al. 2026, Sec. II) lists CLIP-based text and image alignment among the I2V metrics; its numbered
equations stop at Eq. 11 (the VBench-I2V aggregate), of which CLIP similarities are components.

CLIPScore of a frame I and caption C is ``max(100 * cos(E_I, E_C), 0)`` with E the projected CLIP
embeddings (:mod:`kinema.eval.backbones.clip`): both are divided by their L2 norm in float32 and
``100 * sum(e_I * e_C)`` is taken, as ``torchmetrics.functional.multimodal.clip_score``. A frame's
score equals torchmetrics' ``clip_score(frame, caption)``; a video's score is the mean of its
per-frame scores, and :func:`clip_score` reports the mean over videos. (torchmetrics given all frames
in one call clamps the mean instead of each frame: the two agree whenever no frame has a negative
cosine, which is the normal case for real CLIP models.)

CLIP-SIM is an image-image cosine between CLIP image embeddings, reported as the plain cosine
(range [-1, 1], not scaled by 100, not clamped). Two variants, as used in I2V papers:

* ``"first"`` (fidelity to the conditioning image): cos(E_{frame t}, E_{frame 0}) for t = 1..T-1;
  when a separate conditioning image is given, cos(E_{frame t}, E_image) for t = 0..T-1;
* ``"consecutive"`` (temporal consistency): cos(E_{frame t}, E_{frame t-1}) for t = 1..T-1.

The per-video value is the mean over those t; :func:`clip_sim` reports the mean over videos.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from kinema.config import check_choice
from kinema.errors import InputError
from kinema.eval.backbones.clip import CLIPBackbone
from kinema.eval.frames import as_float_image, as_uint8_video, require_frames
from kinema.eval.protocol import MetricResult, make_protocol

CLIP_SIM_MODES = ("first", "consecutive")
CLIPSCORE_ID = "clipscore"


def unit(features: torch.Tensor) -> torch.Tensor:
    """(N, D) -> rows divided by their L2 norm (float32, torchmetrics' order of operations)."""
    return features / features.norm(p=2, dim=-1, keepdim=True)


def clip_score_frames(clip: CLIPBackbone, video, caption: str) -> np.ndarray:
    """(T,) float64 CLIPScore of each frame against ``caption``: max(100 cos, 0)."""
    frames = unit(clip.image_features(video))  # (T, D)
    text = unit(clip.text_features([caption]))  # (1, D)
    score = 100 * (frames * text).sum(dim=-1)  # (T,)
    return torch.clamp(score, min=0).double().numpy()


def clip_score_video(clip: CLIPBackbone, video, caption: str) -> float:
    """Per-video CLIPScore: the mean over frames of :func:`clip_score_frames`."""
    return float(clip_score_frames(clip, video, caption).mean())


def _video_shape(video) -> tuple[int, int, int]:
    t, h, w, _ = as_uint8_video(video).shape
    return t, h, w


def _protocol(metric: str, clip: CLIPBackbone, videos: Sequence, **extra) -> dict:
    shapes = {_video_shape(v) for v in videos}
    if len(shapes) != 1:
        raise InputError(f"{metric} over a set needs one video shape (T, H, W); got {sorted(shapes)}")
    t, h, w = shapes.pop()
    return make_protocol(metric, backbone=clip.backbone_id, n_generated=len(videos), frames=t,
                         resolution=(h, w), preprocessing=clip.preprocessing, **extra)


def clip_score(clip: CLIPBackbone, videos: Sequence, captions: Sequence[str]) -> MetricResult:
    """Mean per-video CLIPScore of ``videos[i]`` against ``captions[i]``, with its protocol."""
    if len(videos) != len(captions) or len(videos) == 0:
        raise InputError(f"CLIPScore needs one caption per video (at least one video); got {len(videos)} "
                         f"videos and {len(captions)} captions")
    values = [clip_score_video(clip, v, c) for v, c in zip(videos, captions)]
    proto = _protocol(CLIPSCORE_ID, clip, videos, aggregation="per frame max(100 cos, 0); mean over frames, "
                      "then over videos")
    return MetricResult(CLIPSCORE_ID, float(np.mean(values)), proto)


def clip_sim_frames(clip: CLIPBackbone, video, mode: str = "first", image=None) -> np.ndarray:
    """Cosines of CLIP image embeddings per frame (module docstring: (T-1,), or (T,) with ``image``)."""
    check_choice("CLIP-SIM mode", mode, CLIP_SIM_MODES)
    frames = unit(clip.image_features(video))  # (T, D)
    if mode == "consecutive" or image is None:
        require_frames(frames, 2, f"CLIP-SIM ({mode})")
    if mode == "consecutive":
        cos = (frames[1:] * frames[:-1]).sum(dim=-1)  # (T-1,)
    elif image is None:
        cos = (frames[1:] * frames[:1]).sum(dim=-1)  # (T-1,)
    else:
        image_u8 = as_uint8_video(as_float_image(image)[None], value_range=(0.0, 255.0))  # (1, H, W, 3)
        ref = unit(clip.image_features(image_u8))  # (1, D)
        cos = (frames * ref).sum(dim=-1)  # (T,)
    return cos.double().numpy()


def clip_sim_video(clip: CLIPBackbone, video, mode: str = "first", image=None) -> float:
    """Per-video CLIP-SIM: the mean over frames of :func:`clip_sim_frames`."""
    return float(clip_sim_frames(clip, video, mode, image).mean())


def clip_sim(clip: CLIPBackbone, videos: Sequence, mode: str = "first", images: Sequence | None = None
             ) -> MetricResult:
    """Mean per-video CLIP-SIM (``"first"`` or ``"consecutive"``), with its protocol."""
    if len(videos) == 0 or (images is not None and len(images) != len(videos)):
        raise InputError(f"CLIP-SIM needs at least one video and, if given, one image per video; got "
                         f"{len(videos)} videos and {None if images is None else len(images)} images")
    if images is not None and mode != "first":
        raise InputError(f"CLIP-SIM mode={mode!r} compares frames with each other; conditioning images "
                         "apply to mode='first' only")
    refs = images if images is not None else [None] * len(videos)
    values = [clip_sim_video(clip, v, mode, im) for v, im in zip(videos, refs)]
    metric = f"clip-sim-{mode}"
    ref = "conditioning image, frames 0..T-1" if images is not None else "frame 0, frames 1..T-1"
    pairs = ref if mode == "first" else "frame t vs t-1, t = 1..T-1"
    proto = _protocol(metric, clip, videos, aggregation=f"plain cosine ({pairs}); mean over frames, then videos")
    return MetricResult(metric, float(np.mean(values)), proto)
