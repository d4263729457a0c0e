"""ConditionBatch: conditions as data, routed to the backbone by shape (Wang et al. 2026, Eq. 12-15).

The conditioner turns a user's conditions (known frames, prompt, scalar controls) into three
routes that every backbone understands:

* ``concat``  (B, C_lat + 1, T, h, w): known-frame latents times their mask, then the mask itself,
  concatenated with the noisy latents on channels (Eq. 12: concat on channels; new inputs zero-initialised).
* ``tokens``  (B, L, D_text) with ``token_mask`` (B, L): cross-attention keys/values (Eq. 13: text cross-attention).
* ``vector``  (B, V): raw scalar controls (fps, motion amount, noise-augmentation level) that the
  backbone embeds and adds to its timestep embedding (Eq. 14-15: strength x condition, fused).

A route left as ``None`` is absent; backbones treat it as "no condition" (zeros).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor

# Order of the scalar controls in ``ConditionBatch.vector``; a backbone's vector_dim must match.
VECTOR_FIELDS: tuple[str, ...] = ("fps", "motion", "noise_aug")


@dataclass
class ConditionBatch:
    concat: Tensor | None = None  # (B, C_lat + 1, T, h, w): mask * known latents, then mask
    tokens: Tensor | None = None  # (B, L, D_text) text token embeddings
    token_mask: Tensor | None = None  # (B, L) bool, True = a real token
    vector: Tensor | None = None  # (B, V) raw scalar controls in VECTOR_FIELDS order
    unplanned: Tensor | None = None  # like concat, with a zero motion plan (sampling only: plan guidance)

    def _map(self, fn) -> "ConditionBatch":
        return ConditionBatch(**{f.name: (None if (v := getattr(self, f.name)) is None else fn(v))
                                 for f in dataclasses.fields(self)})

    @property
    def batch_size(self) -> int | None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is not None:
                return v.shape[0]
        return None

    def to(self, device=None, dtype=None) -> "ConditionBatch":
        """Move every tensor; only floating tensors change dtype (the token mask stays bool)."""
        return self._map(lambda v: v.to(device=device, dtype=dtype if v.is_floating_point() else None))

    def repeat(self, n: int) -> "ConditionBatch":
        """Repeat every route ``n`` times along the batch (e.g. several seeds per input)."""
        return self._map(lambda v: v.repeat_interleave(n, dim=0))

    def index(self, idx) -> "ConditionBatch":
        return self._map(lambda v: v[idx])

    @staticmethod
    def cat(batches: list["ConditionBatch"]) -> "ConditionBatch":
        """Concatenate along the batch (used to run cond and uncond in one forward pass)."""
        out = {}
        for f in dataclasses.fields(ConditionBatch):
            vals = [getattr(b, f.name) for b in batches]
            if all(v is None for v in vals):
                out[f.name] = None
            elif any(v is None for v in vals):
                raise ValueError(f"cannot concatenate ConditionBatch: route {f.name!r} is missing in some")
            else:
                out[f.name] = torch.cat(vals, dim=0)
        return ConditionBatch(**out)

    def drop_image(self, drop: Tensor | None = None) -> "ConditionBatch":
        """Zero the known-frame route (latents and mask) where ``drop`` (B,) is True (all if None)."""
        if self.concat is None:
            return self
        keep = _keep(drop, self.concat)
        unplanned = None if self.unplanned is None else self.unplanned * keep
        return dataclasses.replace(self, concat=self.concat * keep, unplanned=unplanned)

    def drop_plan(self) -> "ConditionBatch":
        """The same conditions with a zero motion plan (the unconditional side of plan guidance)."""
        if self.unplanned is None:
            return self
        return dataclasses.replace(self, concat=self.unplanned)

    def drop_text(self, drop: Tensor | None = None) -> "ConditionBatch":
        """Replace text tokens by zeros (the null prompt) where ``drop`` (B,) is True (all if None)."""
        if self.tokens is None:
            return self
        keep = _keep(drop, self.tokens)
        return dataclasses.replace(self, tokens=self.tokens * keep)

    def drop_vector(self, drop: Tensor | None = None) -> "ConditionBatch":
        """Zero the scalar controls where ``drop`` (B,) is True (all if None)."""
        if self.vector is None:
            return self
        keep = _keep(drop, self.vector)
        return dataclasses.replace(self, vector=self.vector * keep)


def _keep(drop: Tensor | None, like: Tensor) -> Tensor:
    """(B,) bool drop flags -> float keep factor broadcastable to ``like``."""
    if drop is None:
        return torch.zeros((), dtype=like.dtype, device=like.device)
    keep = (~drop.bool()).to(like.dtype).to(like.device)
    return keep.view(-1, *([1] * (like.dim() - 1)))
