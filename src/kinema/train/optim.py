"""Optimiser, learning-rate warm-up, and optimiser state <-> flat safetensors tensors."""

from __future__ import annotations

import json

import torch
from torch import nn

from kinema.train.config import OptimSpec


def build_optimizer(params: list[nn.Parameter], spec: OptimSpec, lr: float | None = None) -> torch.optim.AdamW:
    return torch.optim.AdamW(params, lr=lr or spec.lr, betas=tuple(spec.betas), weight_decay=spec.weight_decay)


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear warm-up from 1/warmup to 1 over ``warmup_steps`` (stage-local step)."""
    return 1.0 if warmup_steps <= 0 else min(1.0, (step + 1) / warmup_steps)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def optimizer_to_flat(optimizer: torch.optim.Optimizer, prefix: str = "optim") -> tuple[dict[str, torch.Tensor], str]:
    """(tensors, param_groups JSON): optimiser state without pickle."""
    sd = optimizer.state_dict()
    tensors = {}
    for idx, state in sd["state"].items():
        for name, value in state.items():
            t = value if isinstance(value, torch.Tensor) else torch.tensor(value)
            tensors[f"{prefix}.{idx}.{name}"] = t
    return tensors, json.dumps(sd["param_groups"])


def optimizer_from_flat(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups_json: str,
                        prefix: str = "optim") -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    p = prefix + "."
    for key, value in tensors.items():
        if key.startswith(p):
            idx, name = key[len(p):].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(groups_json)})


def optimizer_state_full(model, optimizer, sharded: bool) -> tuple[dict[str, torch.Tensor], str]:
    """Flat optimiser state; under FSDP gathered to full tensors keyed by parameter name."""
    if not sharded:
        return optimizer_to_flat(optimizer)
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    sd = get_optimizer_state_dict(model, optimizer, options=StateDictOptions(full_state_dict=True))
    tensors = {f"optim/{fqn}/{name}": (v if isinstance(v, torch.Tensor) else torch.tensor(v)).detach().cpu()
               for fqn, state in sd["state"].items() for name, v in state.items()}
    return tensors, json.dumps(sd["param_groups"])


def load_optimizer_state_full(model, optimizer, tensors: dict[str, torch.Tensor], groups_json: str,
                              sharded: bool) -> None:
    if not sharded:
        optimizer_from_flat(optimizer, tensors, groups_json)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    state: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim/"):
            fqn, name = key[len("optim/"):].rsplit("/", 1)
            state.setdefault(fqn, {})[name] = value
    set_optimizer_state_dict(model, optimizer, {"state": state, "param_groups": json.loads(groups_json)},
                             options=StateDictOptions(full_state_dict=True))
