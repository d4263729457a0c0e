"""CoTracker2's update transformer (Karaev et al. 2023, Sec. 3.2 "Transformer architecture").

Tokens are (track, frame) pairs. Each layer applies attention along time within a track, then
attention across tracks within a frame through ``num_virtual_tracks`` learned virtual tracks:
virtual <- tracks (cross), virtual <- virtual (self), tracks <- virtual (cross). The output head
gives per token a displacement update (2) and a feature update (latent_dim).

Names follow facebookresearch/co-tracker's ``EfficientUpdateFormer`` (including the parameter
spelled ``virual_tracks``) so ``cotracker2.pth`` loads as it is.
"""

from __future__ import annotations

import torch
from torch import nn

from kinema.eval.backbones.cotracker_attention import AttnBlock, CrossAttnBlock


class EfficientUpdateFormer(nn.Module):
    """(B, N, T, input_dim) tokens, mask (B*T, N) -> (B, N, T, output_dim) updates."""

    def __init__(self, input_dim: int, hidden_size: int, output_dim: int, num_heads: int, time_depth: int,
                 space_depth: int, num_virtual_tracks: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.num_virtual_tracks = num_virtual_tracks
        self.input_transform = nn.Linear(input_dim, hidden_size)
        self.flow_head = nn.Linear(hidden_size, output_dim)
        self.virual_tracks = nn.Parameter(torch.randn(1, num_virtual_tracks, 1, hidden_size))

        def blocks(cls, depth):
            return nn.ModuleList([cls(hidden_size, num_heads, mlp_ratio) for _ in range(depth)])

        self.time_blocks = blocks(AttnBlock, time_depth)
        self.space_virtual_blocks = blocks(AttnBlock, space_depth)
        self.space_point2virtual_blocks = blocks(CrossAttnBlock, space_depth)
        self.space_virtual2point_blocks = blocks(CrossAttnBlock, space_depth)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        tokens = self.input_transform(x)  # (B, N, T, C)
        B, _, T, _ = tokens.shape
        tokens = torch.cat([tokens, self.virual_tracks.repeat(B, 1, T, 1)], dim=1)  # (B, N + V, T, C)
        _, NV, _, C = tokens.shape
        every = len(self.time_blocks) // len(self.space_virtual_blocks)  # space attention after these time layers
        j = 0
        for i, time_block in enumerate(self.time_blocks):
            tokens = time_block(tokens.reshape(B * NV, T, C)).view(B, NV, T, C)
            if i % every == 0:
                tokens = self._space_attention(tokens, j, mask)
                j += 1
        return self.flow_head(tokens[:, :NV - self.num_virtual_tracks])

    def _space_attention(self, tokens: torch.Tensor, j: int, mask: torch.Tensor | None) -> torch.Tensor:
        B, NV, T, C = tokens.shape
        space = tokens.permute(0, 2, 1, 3).reshape(B * T, NV, C)  # B N T C -> (B T) N C
        points, virtual = space[:, :NV - self.num_virtual_tracks], space[:, NV - self.num_virtual_tracks:]
        virtual = self.space_virtual2point_blocks[j](virtual, points, mask=mask)
        virtual = self.space_virtual_blocks[j](virtual)
        points = self.space_point2virtual_blocks[j](points, virtual, mask=mask)
        return torch.cat([points, virtual], dim=1).view(B, T, NV, C).permute(0, 2, 1, 3)  # -> B N T C
