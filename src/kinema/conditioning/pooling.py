"""Multi-head attention pooling of text tokens with learned queries (the planner's and the segmenter's)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def attention_pool(keys: Tensor, query: Tensor, token_mask: Tensor) -> Tensor:
    """keys (B, L, D), one learned query per head (heads, D / heads), token_mask (B, L) -> (B, D).

    Scores are scaled by sqrt(d), not 1/sqrt(d): a 0.02-std query then sharpens the pooling within a
    few hundred steps; with 1/sqrt(d) it stayed near mean pooling (33% vs 100% direction accuracy
    after 500 planner steps). No real token -> nothing pooled.
    """
    B, L, D = keys.shape
    heads = query.shape[0]
    k = keys.view(B, L, heads, D // heads)
    score = torch.einsum("blhd,hd->bhl", k, query) * math.sqrt(D // heads)
    score = score.masked_fill(~token_mask[:, None, :], -1e9)
    pooled = torch.einsum("bhl,blhd->bhd", score.softmax(-1), k).reshape(B, D)
    return pooled * token_mask.any(dim=1, keepdim=True)
