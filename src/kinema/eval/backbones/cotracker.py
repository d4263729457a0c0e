"""CoTracker2 point tracks as VBench-I2V's camera motion gets them (Karaev et al. 2023, "CoTracker: It
is Better to Track Together").

VBench (``vbench2_beta_i2v/camera_motion.py``) takes co-tracker's hub entry ``cotracker2``: the
offline ``CoTrackerPredictor(checkpoint=None, window_len=8, v2=True)`` with the ``cotracker2.pth``
weights, each video whole as float32 on the 0..255 scale (1, T, 3, H, W), ``grid_size=10`` (no
backward tracking, no support grid). kinema makes exactly that call on co-tracker's own code, which
is CC-BY-NC-4.0 and so not shipped: ``$KINEMA_COTRACKER_SRC`` names a local checkout (the directory
holding the ``cotracker`` package; commit 82e02e8 is the one tested), the weights come from kinema's
catalog (weight id ``cotracker2``).

:class:`CoTrackerGridTracks` is the ``tracks`` callable of
:func:`kinema.eval.vbench.dimensions.camera.camera_motion`. Videos of T <= window_len / 2 frames are
refused: the original runs no window for them and returns zero tracks after the first frame.
"""

from __future__ import annotations

import numpy as np
import torch

from kinema.errors import InputError
from kinema.eval.backbones.upstream import import_upstream

SRC_ENV = "KINEMA_COTRACKER_SRC"  # a facebookresearch/co-tracker checkout
WEIGHT_ID = "cotracker2"  # facebookresearch/co-tracker cotracker2.pth (HuggingFace facebook/cotracker)
WINDOW_LEN = 8  # the hub entry's sliding window
VBENCH_GRID_SIZE = 10  # VBench's CameraPredict.grid_size


def cotracker_predictor(src=None) -> torch.nn.Module:
    """co-tracker's ``CoTrackerPredictor`` as the hub entry ``cotracker2`` builds it (random weights)."""
    predictor = import_upstream("cotracker.predictor", SRC_ENV, "facebookresearch/co-tracker",
                                "cotracker/predictor.py", src)
    return predictor.CoTrackerPredictor(checkpoint=None, window_len=WINDOW_LEN, v2=True).eval()


@torch.no_grad()
def track(predictor: torch.nn.Module, video: torch.Tensor, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """``predictor(video, **kwargs)`` (``queries=`` or ``grid_size=``) on float videos (B, T, 3, H, W)
    0..255 -> tracks (B, T, N, 2) as (x, y) in the input's pixels, visibility (B, T, N) bool."""
    if video.ndim != 5 or video.shape[2] != 3 or not video.is_floating_point():
        raise InputError(f"CoTracker expects float videos (B, T, 3, H, W) on the 0..255 scale, got "
                         f"{tuple(video.shape)} {video.dtype}")
    T, half = video.shape[1], predictor.model.window_len // 2
    if T <= half or min(video.shape[3:]) < 2:
        raise InputError(f"CoTracker2 needs more than {half} frames (half its window) of at least 2x2 pixels; "
                         f"got T={T}, {video.shape[3]}x{video.shape[4]}, for which the original returns no tracks")
    return predictor(video, **kwargs)


class CoTrackerGridTracks:
    """VBench camera motion's ``tracks``: uint8 video (T, H, W, 3) -> float32 (T, g*g, 2) (x, y) pixel
    positions of a g x g grid (g = 10) queried on frame 0, row-major, on the CPU."""

    backbone_id = WEIGHT_ID

    def __init__(self, predictor: torch.nn.Module, grid_size: int = VBENCH_GRID_SIZE):
        self.predictor, self.grid_size = predictor.eval(), grid_size
        h, w = predictor.interp_shape
        self.preprocessing = (f"float 0..255 (1, T, 3, H, W), bilinear resize to {h}x{w} (align_corners=True, "
                              f"no antialias), {grid_size}x{grid_size} grid on frame 0, windows of "
                              f"{predictor.model.window_len} frames, 6 updates, tracks scaled back to H x W")

    def __call__(self, video) -> torch.Tensor:
        v = torch.as_tensor(np.asarray(video)) if not isinstance(video, torch.Tensor) else video
        if v.ndim != 4 or v.shape[-1] != 3 or v.dtype != torch.uint8:
            raise InputError(f"CoTrackerGridTracks expects a uint8 video (T, H, W, 3), got "
                             f"{tuple(v.shape)} {v.dtype}")
        device = next(self.predictor.parameters()).device
        x = v.permute(0, 3, 1, 2)[None].to(device=device, dtype=torch.float32)  # (1, T, 3, H, W)
        tracks, _ = track(self.predictor, x, grid_size=self.grid_size)
        return tracks[0].float().cpu()


def load_cotracker(path=None, device: str | torch.device = "cpu", src=None) -> torch.nn.Module:
    """The ``cotracker2`` predictor with its weights (explicit path > environment > cache dir), in eval
    mode; every key of the file must match (a ``model`` wrapper entry is unwrapped by the loader)."""
    from kinema.eval.weights import load_state_dict, resolve_weights

    resolved = resolve_weights(WEIGHT_ID, path=path)
    predictor = cotracker_predictor(src)
    load_strict(predictor.model, load_state_dict(resolved), source=str(resolved))
    return predictor.to(device).eval()


def load_strict(model: torch.nn.Module, sd: dict[str, torch.Tensor], source: str = "state dict") -> None:
    """Load sd into model; InputError naming the missing, unexpected and mis-shaped keys otherwise."""
    own = model.state_dict()
    shapes = [f"{k} {tuple(v.shape)} != {tuple(own[k].shape)}" for k, v in sd.items()
              if k in own and own[k].shape != v.shape]
    missing, unexpected = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    if missing or unexpected or shapes:
        raise InputError(f"{source} is not a CoTracker2 state dict: {len(missing)} missing keys "
                         f"{missing[:5]}, {len(unexpected)} unexpected {unexpected[:5]}, mis-shaped {shapes[:3]}")
    model.load_state_dict(sd)
