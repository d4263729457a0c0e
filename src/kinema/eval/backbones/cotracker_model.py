"""CoTracker2 (Karaev et al. 2023, "CoTracker: It is Better to Track Together"), offline mode.

Pipeline (paper Sec. 3; facebookresearch/co-tracker ``cotracker/models/core/cotracker/cotracker.py``):

1. frames on the 0..255 scale -> ``2 (x / 255) - 1``; the video is padded with copies of its last
   frame to a multiple of ``window_len``; ``fnet`` features at 1/stride;
2. each query (t, x, y) takes the feature of frame t at (x, y) / stride (trilinear look-up);
3. sliding windows of ``S = window_len`` frames start at 0, S/2, S, ... (``ceil((T - S) / (S/2)) + 1``
   windows, none when T <= S/2). A window starts from the queries' positions, or, for tracks queried
   before its overlap ends, from the previous window's estimates of the overlapping S/2 frames (the
   last one repeated), with visibility logits likewise (initially 10);
4. ``iters`` updates per window: correlation features around the current estimates, displacement
   and position/time embeddings, track features and the mask/visibility channels form the tokens of
   the update transformer, whose output moves the estimates and refines the track features;
5. visibility = sigmoid of a linear head on the final track features.

Outputs are in pixels of the model-resolution video. State-dict keys equal those of
``cotracker2.pth`` (``time_emb`` and ``pos_emb`` are saved buffers there).
"""

from __future__ import annotations

import torch
from torch import nn

from kinema.eval.backbones.cotracker_config import (
    COTRACKER2,
    FLOW_EMBED,
    CoTracker2Config,
)
from kinema.eval.backbones.cotracker_corr import CorrPyramid
from kinema.eval.backbones.cotracker_embeddings import (
    displacement_embedding,
    sincos_2d,
    time_embedding,
)
from kinema.eval.backbones.cotracker_encoder import BasicEncoder
from kinema.eval.backbones.cotracker_sampling import (
    sample_features4d,
    sample_features5d,
)
from kinema.eval.backbones.cotracker_updateformer import EfficientUpdateFormer

VIS_INIT = 10.0  # initial visibility logit of every track
ENCODER_CHUNK = 32  # frames per fnet call (bounds memory; frames are independent)


class CoTracker2(nn.Module):
    def __init__(self, config: CoTracker2Config = COTRACKER2):
        super().__init__()
        c = self.config = config
        self.window_len, self.stride, self.latent_dim = c.window_len, c.stride, c.latent_dim
        self.model_resolution = tuple(c.model_resolution)
        self.fnet = BasicEncoder(output_dim=c.latent_dim, stride=c.stride)
        self.updateformer = EfficientUpdateFormer(c.input_dim, c.hidden_size, c.latent_dim + 2, c.num_heads,
                                                  c.time_depth, c.space_depth, c.num_virtual_tracks, c.mlp_ratio)
        self.register_buffer("time_emb", time_embedding(c.input_dim, c.window_len))  # (1, S, D)
        self.register_buffer("pos_emb", sincos_2d(c.input_dim, *c.feature_size))  # (1, D, H/s, W/s)
        self.norm = nn.GroupNorm(1, c.latent_dim)
        self.track_feat_updater = nn.Sequential(nn.Linear(c.latent_dim, c.latent_dim), nn.GELU())
        self.vis_predictor = nn.Sequential(nn.Linear(c.latent_dim, 1))

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """video (B, T, 3, H, W) in [-1, 1] -> fmaps (B, T, latent, H/s, W/s)."""
        B, T, C, H, W = video.shape
        frames = video.reshape(B * T, C, H, W)
        fmaps = torch.cat([self.fnet(frames[i:i + ENCODER_CHUNK]) for i in range(0, B * T, ENCODER_CHUNK)])
        return fmaps.reshape(B, T, self.latent_dim, H // self.stride, W // self.stride)

    def forward(self, video: torch.Tensor, queries: torch.Tensor, iters: int = 4):
        """video (B, T, 3, H, W) float 0..255 at ``model_resolution``; queries (B, N, 3) as (t, x, y) in
        its pixels -> tracks (B, T, N, 2) in the same pixels and visibilities (B, T, N) in (0, 1)."""
        B, T = video.shape[:2]
        N = queries.shape[1]
        S, step = self.window_len, self.window_len // 2
        video = 2 * (video / 255.0) - 1.0
        queried_frames = queries[:, :, 0].long()  # (B, N)
        queried_coords = queries[..., 1:] / self.stride  # (B, N, 2) at feature resolution

        pad = (S - T % S) % S
        video = torch.cat([video, video[:, -1:].expand(-1, pad, -1, -1, -1)], dim=1)  # repeat the last frame
        fmaps = self.encode(video)  # (B, T + pad, latent, h, w)
        track_feat = self.query_features(fmaps, queried_frames, queried_coords).repeat(1, S, 1, 1)  # (B, S, N, C)

        coords_predicted = video.new_zeros((B, T, N, 2))
        vis_predicted = video.new_zeros((B, T, N))  # logits until the end
        coords_init = queried_coords.reshape(B, 1, N, 2).expand(B, S, N, 2).float()
        vis_init = video.new_ones((B, S, N, 1)) * VIS_INIT
        num_windows = (T - S + step - 1) // step + 1
        for ind in range(0, step * num_windows, step):
            if ind > 0:  # continue tracks queried before the overlap ends from the previous window
                copy_over = (queried_frames < ind + step)[:, None, :, None]  # (B, 1, N, 1)
                coords_prev = _extend(coords_predicted[:, ind:ind + step] / self.stride, step)
                vis_prev = _extend(vis_predicted[:, ind:ind + step, :, None], step)
                coords_init = torch.where(copy_over.expand_as(coords_init), coords_prev, coords_init)
                vis_init = torch.where(copy_over.expand_as(vis_init), vis_prev, vis_init)
            track_mask, attention_mask = window_masks(queried_frames, ind, S)
            window_feat = attention_mask[..., None] * track_feat  # tracks not yet queried carry no feature
            coords, vis = self.forward_window(fmaps[:, ind:ind + S], coords_init, window_feat, vis_init, track_mask,
                                              attention_mask, iters)
            kept = min(T - ind, S)  # the last window may run into the padding
            coords_predicted[:, ind:ind + S] = coords[:, :kept]
            vis_predicted[:, ind:ind + S] = vis[:, :kept]
        return coords_predicted, torch.sigmoid(vis_predicted)

    def query_features(self, fmaps: torch.Tensor, frames: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
        """fmaps (B, T, C, h, w), query frames (B, N), coords (B, N, 2) -> (B, 1, N, C)."""
        points = torch.cat([frames[:, None, :, None], coords[:, None]], dim=-1)  # (B, 1, N, 3) as (t, x, y)
        return sample_features5d(fmaps, points)

    def forward_window(self, fmaps, coords, track_feat, vis, track_mask, attention_mask, iters):
        """One window: fmaps (B, S, C, h, w), coords (B, S, N, 2) at feature resolution, track_feat
        (B, S, N, C), vis logits (B, S, N, 1), track_mask (B, S, N, 1), attention_mask (B, S, N)
        -> final coords (B, S, N, 2) in model pixels and visibility logits (B, S, N)."""
        B, S, N, _ = track_mask.shape
        mask_vis = torch.cat([track_mask.float(), vis], dim=-1).permute(0, 2, 1, 3).reshape(B * N, S, 2)
        corr = CorrPyramid(fmaps, self.config.corr_levels, self.config.corr_radius)
        pos = sample_features4d(self.pos_emb.repeat(B, 1, 1, 1), coords[:, 0])  # (B, N, D) at the first frame
        pos = pos.reshape(B * N, -1).unsqueeze(1)  # (B*N, 1, D)
        for _ in range(iters):
            coords = coords.detach()
            fcorrs = corr.sample(track_feat, coords)  # (B*N, S, L*(2r+1)^2)
            flows = (coords - coords[:, 0:1]).permute(0, 2, 1, 3).reshape(B * N, S, 2)
            feat = track_feat.permute(0, 2, 1, 3).reshape(B * N, S, self.latent_dim)
            x = torch.cat([displacement_embedding(flows, FLOW_EMBED), fcorrs, feat, mask_vis], dim=2)
            x = (x + pos + self.time_emb).view(B, N, S, -1)  # (B*N, S, D) -> (B, N, S, D)
            delta = self.updateformer(x, attention_mask.reshape(B * S, N))  # (B, N, S, 2 + C)
            coords = coords + delta[..., :2].permute(0, 2, 1, 3)
            track_feat = self._update_features(track_feat, delta[..., 2:])
        vis_logits = self.vis_predictor(track_feat).reshape(B, S, N)
        return coords * self.stride, vis_logits

    def _update_features(self, track_feat: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        """track_feat (B, S, N, C) + MLP(GroupNorm(delta (B, N, S, C))) -> (B, S, N, C)."""
        B, S, N, C = track_feat.shape
        feat = track_feat.permute(0, 2, 1, 3).reshape(B * N * S, C)
        feat = self.track_feat_updater(self.norm(delta.reshape(B * N * S, C))) + feat
        return feat.reshape(B, N, S, C).permute(0, 2, 1, 3)


def window_masks(queried_frames: torch.Tensor, ind: int, S: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks of the window starting at frame ind, from the query frames (B, N):

    * track_mask (B, S, N, 1): the (frame, track) estimates this window may change - frames at or
      after the query frame, and not in the first S/2 frames of a later window (the previous window
      estimated those);
    * attention_mask (B, S, N): tracks queried before the window ends take part in it.
    """
    B, N = queried_frames.shape
    frame_ids = torch.arange(ind, ind + S, device=queried_frames.device)
    track_mask = queried_frames[:, None, :, None] <= frame_ids[None, :, None, None]
    if ind > 0:
        track_mask[:, :S // 2] = False
    attention_mask = (queried_frames < ind + S).reshape(B, 1, N).repeat(1, S, 1)
    return track_mask, attention_mask


def _extend(x: torch.Tensor, extra: int) -> torch.Tensor:
    """(B, k, ...) -> (B, k + extra, ...) by repeating the last frame (replicate padding in time)."""
    return torch.cat([x, x[:, -1:].expand(-1, extra, *x.shape[2:])], dim=1)
