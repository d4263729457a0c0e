"""The LAION aesthetic predictor v1: a linear head on CLIP ViT-L/14 image embeddings
(Schuhmann et al., LAION-AI/aesthetic-predictor, ``sa_0_4_vit_l_14_linear.pth``).

``score = w . (e / ||e||_2) + b`` with ``e`` the 768-d projected CLIP ViT-L/14 image embedding,
taken in float32 and L2-normalised before the head; scores lie roughly on a 1-10 scale. VBench's
aesthetic-quality dimension divides them by 10 (:mod:`kinema.eval.vbench.dimensions.quality`).

The weight file is a plain ``nn.Linear(768, 1)`` state dict with keys ``weight`` (1, 768) and
``bias`` (1,), which :class:`AestheticHead` reproduces.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kinema.errors import InputError

WEIGHT_ID = "laion-aesthetic-vit-l-14-linear"  # sa_0_4_vit_l_14_linear.pth (LAION-AI/aesthetic-predictor)
EMBED_DIM = 768  # CLIP ViT-L/14 projection width


class AestheticHead(nn.Linear):
    """``(N, 768)`` CLIP image embeddings -> ``(N,)`` LAION aesthetic scores."""

    def __init__(self, embed_dim: int = EMBED_DIM):
        super().__init__(embed_dim, 1)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        if embeddings.ndim != 2 or embeddings.shape[1] != self.in_features:
            raise InputError(f"aesthetic head expects (N, {self.in_features}) CLIP embeddings, "
                             f"got shape {tuple(embeddings.shape)}")
        e = F.normalize(embeddings.float(), dim=-1, p=2)
        return super().forward(e).squeeze(-1)


def load_aesthetic_head(path=None) -> AestheticHead:
    """The LAION linear head with weights from a local file (``resolve_weights(WEIGHT_ID, path)``)."""
    from kinema.eval.weights import load_state_dict, resolve_weights

    head = AestheticHead()
    head.load_state_dict(load_state_dict(resolve_weights(WEIGHT_ID, path=path)), strict=True)
    return head.eval()
