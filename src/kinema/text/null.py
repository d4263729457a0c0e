"""A text encoder that carries no text: for unconditional or image-only models."""

from __future__ import annotations

import torch
from torch import Tensor

from kinema.errors import ConfigError
from kinema.text.base import TextEncoder, as_prompt_list


class NullTextEncoder(TextEncoder):
    """Every prompt -> zeros (B, max_length, dim); the mask is False except at position 0.

    The single True position keeps cross-attention well defined (a softmax over no keys is NaN);
    with zero keys and values that one token contributes nothing but the projections' biases.
    The output equals :meth:`null_tokens`, so with this encoder guidance on text is a no-op.
    """

    def __init__(self, dim: int = 384, max_length: int = 32, device: str | torch.device = "cpu"):
        if dim < 1 or max_length < 1:
            raise ConfigError(f"NullTextEncoder needs dim >= 1 and max_length >= 1, got {dim}, {max_length}")
        self.dim, self.max_length, self.device = int(dim), int(max_length), torch.device(device)

    def encode(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        return self.null_tokens(len(as_prompt_list(prompts)))

    def __repr__(self) -> str:
        return f"NullTextEncoder(dim={self.dim}, max_length={self.max_length})"
