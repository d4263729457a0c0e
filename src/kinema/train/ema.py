"""Exponential moving average of weights (Polyak averaging), with the usual warm-up.

decay_t = min(decay, (1 + t) / (10 + t)) so early averages are not dominated by the random
initialisation.
"""

from __future__ import annotations

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items()}

    def decay_at(self, step: int) -> float:
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, model: nn.Module | dict[str, torch.Tensor], step: int) -> None:
        """Move the average toward ``model`` (a module or an already-gathered full state dict)."""
        d = self.decay_at(step)
        state = model if isinstance(model, dict) else model.state_dict()
        for k, v in state.items():
            s = self.shadow[k]
            if v.is_floating_point():
                s.lerp_(v.detach().float(), 1.0 - d)
            else:
                s.copy_(v)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow

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
