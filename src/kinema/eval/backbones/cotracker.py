"""CoTracker2 point tracks as VBench-I2V's camera motion gets them (Karaev et al. 2023, "CoTracker: It
is Better to Track Together").

VBench (``vbench2_beta_i2v/camera_motion.py``) takes co-tracker's hub entry ``cotracker2`` (kinema
reads the same weights from a local file): the offline ``CoTrackerPredictor`` around CoTracker2 with
``window_len=8``, stride 4, ``cotracker2.pth``. Each video goes in whole as float32 on the 0..255 scale, (1, T, 3, H, W), with
``grid_size=10`` (no backward tracking, no support grid). The predictor then (its
``_compute_sparse_tracks``):

1. resizes every frame to the model resolution (384, 512) (bilinear, align_corners=True, no
   antialias);
2. queries a 10x10 grid (:func:`~kinema.eval.backbones.cotracker_sampling.points_on_a_grid`,
   row-major (x, y)) on frame 0;
3. runs the model with 6 updates per window (:mod:`kinema.eval.backbones.cotracker_model`);
4. overwrites each track on its query frame with the query point, thresholds visibility at 0.9;
5. scales (x, y) by ((W - 1) / (512 - 1), (H - 1) / (384 - 1)) back to the input video's pixels.

:class:`CoTrackerGridTracks` is the ``tracks`` callable of
:func:`kinema.eval.vbench.dimensions.camera.camera_motion`.

Videos of T <= window_len / 2 frames are refused: the original runs no window for them and returns
zero tracks after the first frame.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from kinema.errors import InputError
from kinema.eval.backbones.cotracker_config import COTRACKER2, CoTracker2Config
from kinema.eval.backbones.cotracker_model import CoTracker2
from kinema.eval.backbones.cotracker_sampling import points_on_a_grid

WEIGHT_ID = "cotracker2"  # facebookresearch/co-tracker cotracker2.pth (HuggingFace facebook/cotracker)
VBENCH_GRID_SIZE = 10  # VBench's CameraPredict.grid_size
PREDICTOR_ITERS = 6  # updates per window in CoTrackerPredictor
SUPPORT_GRID_SIZE = 6  # extra frame-0 grid tracked alongside explicit queries, then dropped
VISIBILITY_THRESHOLD = 0.9


def resize_video(video: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, T, 3, H, W) float -> (B, T, 3, *size), bilinear with align_corners=True (no antialias)."""
    B, T, C, H, W = video.shape
    out = F.interpolate(video.reshape(B * T, C, H, W), tuple(size), mode="bilinear", align_corners=True)
    return out.reshape(B, T, C, *size)


def _check_video(model: CoTracker2, video: torch.Tensor) -> None:
    if video.ndim != 5 or video.shape[2] != 3 or not video.is_floating_point():
        raise InputError(f"CoTracker expects float videos (B, T, 3, H, W) on the 0..255 scale, got "
                         f"{tuple(video.shape)} {video.dtype}")
    T, H, W = video.shape[1], video.shape[3], video.shape[4]
    if T <= model.window_len // 2:
        raise InputError(f"CoTracker2 needs more than {model.window_len // 2} frames (half its window of "
                         f"{model.window_len}); got T={T}, for which the original returns no tracks")
    if min(H, W) < 2:
        raise InputError(f"CoTracker needs frames of at least 2x2 pixels, got {H}x{W}")


@torch.no_grad()
def track(model: CoTracker2, video: torch.Tensor, queries: torch.Tensor | None = None, grid_size: int = 0,
          grid_query_frame: int = 0, iters: int = PREDICTOR_ITERS) -> tuple[torch.Tensor, torch.Tensor]:
    """``CoTrackerPredictor(video, queries=..., grid_size=...)`` without backward tracking.

    video (B, T, 3, H, W) float 0..255; either ``queries`` (B, N, 3) as (t, x, y) in its pixels (a
    6x6 support grid on frame 0 is tracked with them, as the original does) or ``grid_size`` > 0 for a
    grid queried on ``grid_query_frame``. Returns tracks (B, T, N, 2) as (x, y) in the input's
    pixels and visibility (B, T, N) bool.
    """
    _check_video(model, video)
    (B, _, _, H, W), (h, w) = video.shape, model.model_resolution
    if (queries is None) == (grid_size <= 0):
        raise InputError(f"give either queries or grid_size > 0 (got queries={'set' if queries is not None else None},"
                         f" grid_size={grid_size})")
    if queries is not None:
        if queries.ndim != 3 or queries.shape[0] != B or queries.shape[2] != 3:
            raise InputError(f"queries must be (B={B}, N, 3) as (t, x, y), got {tuple(queries.shape)}")
        queries = queries.to(video.device, torch.float32) * video.new_tensor([1, (w - 1) / (W - 1), (h - 1) / (H - 1)])
    else:
        grid = points_on_a_grid(grid_size, (h, w), device=video.device)  # (1, g*g, 2) in model pixels
        queries = torch.cat([torch.ones_like(grid[:, :, :1]) * grid_query_frame, grid], dim=2).repeat(B, 1, 1)
    n_support = 0 if grid_size > 0 else SUPPORT_GRID_SIZE ** 2
    if n_support:
        support = points_on_a_grid(SUPPORT_GRID_SIZE, (h, w), device=video.device)
        support = torch.cat([torch.zeros_like(support[:, :, :1]), support], dim=2).repeat(B, 1, 1)
        queries = torch.cat([queries, support], dim=1)

    tracks, vis = model(resize_video(video, (h, w)), queries, iters=iters)  # model pixels
    N = tracks.shape[2] - n_support
    tracks, visible, queries = tracks[:, :, :N], vis[:, :, :N] > VISIBILITY_THRESHOLD, queries[:, :N]
    frames, points = queries[..., 0].long(), torch.arange(N, device=video.device)  # (B, N)
    for b in range(B):  # on its query frame a track is the query point, and visible
        tracks[b, frames[b], points] = queries[b, :, 1:]
        visible[b, frames[b], points] = True
    return tracks * tracks.new_tensor([(W - 1) / (w - 1), (H - 1) / (h - 1)]), visible


class CoTrackerGridTracks:
    """VBench camera motion's ``tracks``: uint8 video (T, H, W, 3) -> float32 (T, g*g, 2) (x, y) pixel
    positions of a g x g grid (g = 10) queried on frame 0, row-major, on the CPU."""

    backbone_id = WEIGHT_ID

    def __init__(self, model: CoTracker2, grid_size: int = VBENCH_GRID_SIZE):
        self.model, self.grid_size = model.eval(), grid_size
        h, w = model.model_resolution
        self.preprocessing = (f"float 0..255 (1, T, 3, H, W), bilinear resize to {h}x{w} (align_corners=True, "
                              f"no antialias), {grid_size}x{grid_size} grid on frame 0, windows of "
                              f"{model.window_len} frames, {PREDICTOR_ITERS} updates, tracks scaled back to H x W")

    def __call__(self, video) -> torch.Tensor:
        v = torch.as_tensor(np.asarray(video)) if not isinstance(video, torch.Tensor) else video
        if v.ndim != 4 or v.shape[-1] != 3 or v.dtype != torch.uint8:
            raise InputError(f"CoTrackerGridTracks expects a uint8 video (T, H, W, 3), got "
                             f"{tuple(v.shape)} {v.dtype}")
        device = next(self.model.parameters()).device
        x = v.permute(0, 3, 1, 2)[None].to(device=device, dtype=torch.float32)  # (1, T, 3, H, W)
        tracks, _ = track(self.model, x, grid_size=self.grid_size)
        return tracks[0].float().cpu()


def load_cotracker(path=None, device: str | torch.device = "cpu", config: CoTracker2Config = COTRACKER2) -> CoTracker2:
    """CoTracker2 with the ``cotracker2`` weights (explicit path > environment > cache dir), in eval mode.
    Every key of the file must match (a ``model`` wrapper entry is unwrapped by the loader)."""
    from kinema.eval.weights import load_state_dict, resolve_weights

    resolved = resolve_weights(WEIGHT_ID, path=path)
    model = CoTracker2(config)
    load_strict(model, load_state_dict(resolved), source=str(resolved))
    return model.to(device).eval()


def load_strict(model: CoTracker2, sd: dict[str, torch.Tensor], source: str = "state dict") -> None:
    """Load sd into model; InputError naming the missing, unexpected and mis-shaped keys otherwise."""
    own = model.state_dict()
    shapes = [f"{k} {tuple(v.shape)} != {tuple(own[k].shape)}" for k, v in sd.items()
              if k in own and own[k].shape != v.shape]
    missing, unexpected = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    if missing or unexpected or shapes:
        raise InputError(f"{source} is not a CoTracker2 state dict for this config: {len(missing)} missing keys "
                         f"{missing[:5]}, {len(unexpected)} unexpected {unexpected[:5]}, mis-shaped {shapes[:3]}")
    model.load_state_dict(sd)
