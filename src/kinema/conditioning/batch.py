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
from dataclasses import dataclass, field

import torch
from torch import Tensor

# Order of the scalar controls in ``ConditionBatch.vector``; a backbone's vector_dim must match.
VECTOR_FIELDS: tuple[str, ...] = ("fps", "motion", "noise_aug")


# The route each guidance name's parts lie on (ConditionBatch.drop zeroes it); a name with a null
# form in ``nulls`` swaps that in instead.
ROUTES: dict[str, str] = {"image": "concat", "text": "tokens", "vector": "vector"}


@dataclass
class ConditionBatch:
    concat: Tensor | None = None  # (B, C_lat + 1 [+ k C_lat], T, h, w): mask * known latents, mask, references
    tokens: Tensor | None = None  # (B, L, D_text) text token embeddings
    token_mask: Tensor | None = None  # (B, L) bool, True = a real token
    vector: Tensor | None = None  # (B, V) raw scalar controls in VECTOR_FIELDS order
    nulls: dict[str, Tensor] = field(default_factory=dict)  # name -> concat with that part's null form
    # (sampling only, for guidance: "plan" -> the concat of a zero motion plan)

    def _map(self, fn) -> "ConditionBatch":
        return ConditionBatch(**{f.name: (None if (v := getattr(self, f.name)) is None else fn(v))
                                 for f in dataclasses.fields(self) if f.name != "nulls"},
                              nulls={k: fn(v) for k, v in self.nulls.items()})

    @property
    def batch_size(self) -> int | None:
        for v in (self.concat, self.tokens, self.token_mask, self.vector, *self.nulls.values()):
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
        rows = [{**{f.name: getattr(b, f.name) for f in dataclasses.fields(b) if f.name != "nulls"},
                 **{f"null:{k}": v for k, v in b.nulls.items()}} for b in batches]
        out = {}
        for name in dict.fromkeys(k for r in rows for k in r):
            vals = [r.get(name) for r in rows]
            if any(v is None for v in vals) and not all(v is None for v in vals):
                raise ValueError(f"cannot concatenate ConditionBatch: route {name!r} is missing in some")
            out[name] = None if vals[0] is None else torch.cat(vals, dim=0)
        nulls = {k[5:]: out.pop(k) for k in list(out) if k.startswith("null:")}
        return ConditionBatch(**out, nulls=nulls)

    def drop(self, name: str, drop: Tensor | None = None) -> "ConditionBatch":
        """The null form of condition ``name`` where ``drop`` (B,) is True (all if None): zeros on its
        route (:data:`ROUTES`; "image" zeroes the whole concat route, references and nulls included),
        or for a name in ``nulls`` (all samples) the route that holds its null form."""
        if name in self.nulls:
            return dataclasses.replace(self, concat=self.nulls[name])
        route = ROUTES.get(name)
        if route is None or getattr(self, route) is None:
            return self
        keep = _keep(drop, getattr(self, route))
        nulls = {k: v * keep for k, v in self.nulls.items()} if route == "concat" else self.nulls
        return dataclasses.replace(self, **{route: getattr(self, route) * keep}, nulls=nulls)

    def drop_image(self, drop: Tensor | None = None) -> "ConditionBatch":
        """Zero the known-frame route (latents, mask, references) where ``drop`` (B,) is True (all if None)."""
        return self.drop("image", drop)

    def drop_text(self, drop: Tensor | None = None) -> "ConditionBatch":
        """Replace text tokens by zeros (the null prompt) where ``drop`` (B,) is True (all if None)."""
        return self.drop("text", drop)

    def drop_vector(self, drop: Tensor | None = None) -> "ConditionBatch":
        """Zero the scalar controls where ``drop`` (B,) is True (all if None)."""
        return self.drop("vector", drop)


def part_of(concat: Tensor, layout: tuple[tuple[str, int], ...], name: str) -> Tensor:
    """The channels of part ``name`` of a concat route laid out as ``layout`` ((name, channels) in order)."""
    start = 0
    for part, n in layout:
        if part == name:
            return concat[:, start:start + n]
        start += n
    raise KeyError(f"no concat part {name!r} in {[p for p, _ in layout]}")


def _keep(drop: Tensor | None, like: Tensor) -> Tensor:
    """(B,) bool drop flags -> float keep factor broadcastable to ``like``."""
    if drop is None:
        return torch.zeros((), dtype=like.dtype, device=like.device)
    keep = (~drop.bool()).to(like.dtype).to(like.device)
    return keep.view(-1, *([1] * (like.dim() - 1)))
