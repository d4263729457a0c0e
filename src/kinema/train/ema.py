"""Exponential moving average of weights (Polyak averaging), with the usual warm-up.

decay_t = min(decay, (1 + t) / (10 + t)) so early averages are not dominated by the random
initialisation.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributed.tensor import DTensor, distribute_tensor


class EMA:
    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
        self._pairs: list[tuple[torch.Tensor, torch.Tensor]] | None = None  # (average, live tensor), see bind()

    def decay_at(self, step: int) -> float:
        return min(self.decay, (1 + step) / (10 + step))

    def bind(self, model: nn.Module) -> None:
        """Follow ``model``'s own tensors (the optimiser updates them in place), so an update reads no
        state dict; under FSDP each average is sharded like its parameter and an update stays local."""
        live = model.state_dict(keep_vars=True)
        for k, v in live.items():
            if isinstance(v, DTensor) and not isinstance(self.shadow[k], DTensor):
                self.shadow[k] = distribute_tensor(self.shadow[k].to(v.device), v.device_mesh, v.placements,
                                                   src_data_rank=None)  # each rank keeps its own shard
        self._pairs = [(self.shadow[k], v.detach()) for k, v in live.items()]

    def unbind(self) -> None:
        """Stop following the bound tensors; the averages become whole again (every rank calls it)."""
        self.shadow, self._pairs = self.state_dict(), None

    @torch.no_grad()
    def update(self, model: nn.Module | dict[str, torch.Tensor] | None = None, step: int = 0) -> None:
        """Move the average toward the bound tensors, or ``model`` (a module or a full state dict)."""
        d, pairs = self.decay_at(step), self._pairs
        if model is not None:  # a module or a full state dict, read now
            pairs = [(self.shadow[k], v) for k, v in (model if isinstance(model, dict) else model.state_dict()).items()]
        for s, v in pairs:
            if v.is_floating_point():
                s.lerp_(v.detach().float(), 1.0 - d)
            else:
                s.copy_(v)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The whole averages (sharded ones are gathered: under FSDP every rank calls it)."""
        if not any(isinstance(v, DTensor) for v in self.shadow.values()):
            return self.shadow
        return {k: v.full_tensor() if isinstance(v, DTensor) else v for k, v in self.shadow.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.shadow) - set(state)
        if missing:
            raise KeyError(f"EMA state misses {sorted(missing)[:3]}...")
        self.shadow = {k: state[k].clone().float() for k in self.shadow}

    def reset_keys(self, model: nn.Module) -> None:
        """Track keys a model gained (e.g. LoRA injected at a new stage)."""
        for k, v in model.state_dict().items():
            if k not in self.shadow:
                self.shadow[k] = v.detach().clone().float()
        for k in list(self.shadow):
            if k not in model.state_dict():
                del self.shadow[k]
