"""The one interface every text encoder implements (Wang et al. 2026 Eq. 13: e_tau of cross-attention)."""

from __future__ import annotations

import abc

import torch
from torch import Tensor

from kinema.errors import ConfigError


class TextEncoder(abc.ABC):
    """Prompts -> per-token embeddings for cross-attention.

    ``encode(prompts)`` returns ``tokens`` float32 (B, L, D) with ``L == max_length`` and
    ``D == dim``, and ``mask`` bool (B, L), True for real tokens. Padded positions hold zeros.
    """

    dim: int
    max_length: int
    device: torch.device = torch.device("cpu")

    @abc.abstractmethod
    def encode(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        """(B,) prompts -> (tokens (B, L, D) float32, mask (B, L) bool)."""

    def __call__(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        return self.encode(prompts)

    def empty_batch(self) -> tuple[Tensor, Tensor]:
        """(tokens, mask) for zero prompts: (0, L, D) and (0, L)."""
        return (torch.zeros(0, self.max_length, self.dim, device=self.device),
                torch.zeros(0, self.max_length, dtype=torch.bool, device=self.device))

    def null_tokens(self, batch: int) -> tuple[Tensor, Tensor]:
        """The "no text" condition for classifier-free guidance: all-zero tokens.

        Zeros match ``ConditionBatch.drop_text`` (which zeroes the tokens of dropped samples in
        training), so the unconditional branch at sampling time is the one the model learnt.
        The mask keeps the first position True so attention always has one key to attend to.
        """
        tokens = torch.zeros(batch, self.max_length, self.dim, device=self.device)
        mask = torch.zeros(batch, self.max_length, dtype=torch.bool, device=self.device)
        mask[:, 0] = True
        return tokens, mask


def as_prompt_list(prompts) -> list[str]:
    """Accept one string or a sequence of strings; None entries become empty prompts."""
    if isinstance(prompts, str):
        return [prompts]
    out = []
    for i, p in enumerate(prompts):
        if p is None:
            p = ""
        if not isinstance(p, str):
            raise ConfigError(f"prompt {i} must be a string, got {type(p).__name__}: {p!r}")
        out.append(p)
    return out
