"""What ``kinema bench world`` evaluates: a model and two baselines, one callable shape.

A generator is ``gen(clip, seed) -> uint8 (T, H, W, 3)`` at the clip's size and length, given the
conditions an I2V model gets from a world clip: the first frame, the caption and the motion amount.

* ``static``: the first frame repeated (a perfect-fidelity, zero-motion lower bound);
* ``gt``: the real clip itself (the upper bound and the floor of every distance);
* :class:`ModelGenerator`: an :class:`~kinema.sampling.pipeline.I2VPipeline` called with
  ``image=first frame, prompt=caption, motion=clip.motion_amount, seed=seed`` at the clip's size
  and frame count. With ``exact_plan`` it also gets the clip's exact motion plan
  (:func:`~kinema.data.world.plan.clip_plan`) in place of the one its planner reads from the
  caption: an oracle ablation that measures the video model apart from its planner. With
  ``exact_mask`` an object-mask model gets the main object's exact frame-0 mask as its motion
  brush (``object_mask=``) in place of its segmenter's (clips with no object keep the segmenter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

BASELINES = ("static", "gt")


def static_baseline(clip, seed: int = 0) -> np.ndarray:
    """The first frame repeated T times."""
    return np.repeat(clip.frames[:1], clip.frames.shape[0], axis=0)


def gt_baseline(clip, seed: int = 0) -> np.ndarray:
    """The ground-truth clip."""
    return clip.frames.copy()


def first_frame_tensor(clip) -> torch.Tensor:
    """Frame 0 of a clip as (3, H, W) float32 in [-1, 1] (the pipeline's image contract)."""
    return torch.from_numpy(clip.frames[0]).permute(2, 0, 1).float() / 127.5 - 1.0  # (H, W, 3) -> (3, H, W)


@dataclass
class ModelGenerator:
    """An I2V pipeline conditioned on a world clip's first frame, caption and motion amount."""

    pipeline: Any  # kinema.sampling.pipeline.I2VPipeline
    options: dict = field(default_factory=dict)  # steps, sampler, guidance, ... passed to the pipeline
    exact_plan: bool = False  # oracle: the clip's exact motion plan instead of the planner's
    exact_mask: bool = False  # oracle: the main object's exact frame-0 mask instead of the segmenter's

    def __call__(self, clip, seed: int = 0) -> np.ndarray:
        t, h, w = clip.frames.shape[:3]
        extra = {}
        if self.exact_plan:
            from kinema.data.world.plan import clip_plan

            extra["plan"] = tuple(float(v) for v in clip_plan(clip))
        if self.exact_mask and clip.objects and clip.objects[0].mask[0].any():
            extra["object_mask"] = np.asarray(clip.objects[0].mask[0])
        result = self.pipeline(first_frame_tensor(clip), prompt=clip.caption, motion=float(clip.motion_amount),
                               frames=t, size=(w, h), seed=int(seed), **self.options, **extra)
        return result.frames

    @property
    def model_id(self) -> str:
        return getattr(self.pipeline, "model_id", "unknown")

    @property
    def device(self) -> torch.device:
        return getattr(self.pipeline, "device", torch.device("cpu"))


def model_video_defaults(pipeline) -> tuple[tuple[int, int], int, float]:
    """(size (W, H), frames, fps) the model was trained at (from its embedded config)."""
    v = pipeline.model_config["video"]
    return (int(v["size"][0]), int(v["size"][1])), int(v["frames"]), float(v["fps"])
