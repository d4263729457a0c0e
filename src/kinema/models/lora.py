"""LoRA: low-rank adapters ``W + (alpha / r) B A`` on a frozen backbone (Hu et al. 2021).

``inject_lora`` wraps the matching ``nn.Linear`` (and optionally 1x1 ``nn.Conv2d``) layers in place;
``B`` starts at zero so the model is unchanged at injection. The wrapped layer keeps its own
``weight`` / ``bias`` names, so a base checkpoint still loads after injection. Adapters are saved
on their own (safetensors, config in the header) and can be merged into the weights for inference.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kinema.config import check_range, from_dict
from kinema.errors import ConfigError, InputError


@dataclass
class LoRAConfig:
    rank: int = 8  # r: width of the low-rank update
    alpha: float = 8.0  # the update is scaled by alpha / rank
    targets: tuple[str, ...] = ("to_q", "to_k", "to_v", "to_out")  # module-name substrings to wrap
    dropout: float = 0.0  # dropout on the adapter's input
    conv1x1: bool = False  # also wrap matching 1x1 convolutions

    def __post_init__(self):
        self.targets = tuple(self.targets)
        check_range("rank", self.rank, 1)
        check_range("dropout", self.dropout, 0.0, 0.99)
        if not self.targets:
            raise ConfigError("targets must name at least one module-name substring, e.g. ['to_q', 'to_v']")


class _LoRAMixin:
    """The adapter half shared by the linear and 1x1-conv wrappers."""

    def _init_lora(self, in_f: int, out_f: int, cfg: LoRAConfig, generator: torch.Generator | None) -> None:
        like = dict(device=self.weight.device, dtype=self.weight.dtype)
        self.lora_A = nn.Parameter(torch.empty(cfg.rank, in_f, **like))
        self.lora_B = nn.Parameter(torch.zeros(out_f, cfg.rank, **like))  # zero: identity at injection
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5), generator=generator)
        self.lora_dropout = nn.Dropout(cfg.dropout)
        self.scaling = cfg.alpha / cfg.rank

    def delta_weight(self) -> Tensor:
        """(out, in) weight update ``(alpha / r) B A``."""
        return (self.lora_B @ self.lora_A) * self.scaling


class LoRALinear(_LoRAMixin, nn.Linear):
    """``y = x W^T + b + (alpha / r) * dropout(x) A^T B^T``; shares W, b with the wrapped layer."""

    def __init__(self, base: nn.Linear, cfg: LoRAConfig, generator: torch.Generator | None = None):
        super().__init__(base.in_features, base.out_features, bias=base.bias is not None, device="meta")
        self.weight, self.bias = base.weight, base.bias
        self._init_lora(base.in_features, base.out_features, cfg, generator)

    def forward(self, x: Tensor) -> Tensor:
        update = F.linear(F.linear(self.lora_dropout(x), self.lora_A), self.lora_B)
        return F.linear(x, self.weight, self.bias) + update * self.scaling

    def merged(self) -> nn.Linear:
        out = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None, device="meta")
        out.weight = nn.Parameter((self.weight + self.delta_weight()).detach(), self.weight.requires_grad)
        out.bias = self.bias
        return out


class LoRAConv1x1(_LoRAMixin, nn.Conv2d):
    """A 1x1 convolution is a linear map over channels: the same update, applied per pixel."""

    def __init__(self, base: nn.Conv2d, cfg: LoRAConfig, generator: torch.Generator | None = None):
        super().__init__(base.in_channels, base.out_channels, 1, bias=base.bias is not None, device="meta")
        self.weight, self.bias = base.weight, base.bias
        self._init_lora(base.in_channels, base.out_channels, cfg, generator)

    def forward(self, x: Tensor) -> Tensor:
        update = F.conv2d(F.conv2d(self.lora_dropout(x), self.lora_A[:, :, None, None]), self.lora_B[:, :, None, None])
        return F.conv2d(x, self.weight, self.bias) + update * self.scaling

    def merged(self) -> nn.Conv2d:
        out = nn.Conv2d(self.in_channels, self.out_channels, 1, bias=self.bias is not None, device="meta")
        merged = self.weight + self.delta_weight()[:, :, None, None]
        out.weight = nn.Parameter(merged.detach(), self.weight.requires_grad)
        out.bias = self.bias
        return out


def _is_plain_1x1(m: nn.Module) -> bool:
    return (type(m) is nn.Conv2d and m.kernel_size == (1, 1) and m.stride == (1, 1) and m.groups == 1
            and m.padding in ((0, 0), "valid"))


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name), child, new)


def inject_lora(model: nn.Module, cfg: LoRAConfig, *, generator: torch.Generator | None = None,
                freeze_base: bool = True) -> list[str]:
    """Wrap every nn.Linear (and 1x1 conv if ``cfg.conv1x1``) whose name contains a target substring.

    Returns the wrapped module names. With ``freeze_base`` only the adapters keep requires_grad.
    """
    names = []
    for name, m in list(model.named_modules()):
        if not any(t in name for t in cfg.targets):
            continue
        if type(m) is nn.Linear:
            _replace(model, name, LoRALinear(m, cfg, generator))
        elif cfg.conv1x1 and _is_plain_1x1(m):
            _replace(model, name, LoRAConv1x1(m, cfg, generator))
        else:
            continue
        names.append(name)
    if not names:
        linears = [n for n, m in model.named_modules() if type(m) is nn.Linear][:5]
        raise ConfigError(f"LoRA targets {list(cfg.targets)} matched no layer; linear layers are named like {linears}")
    if freeze_base:
        for n, p in model.named_parameters():
            p.requires_grad_(n.rsplit(".", 1)[-1] in ("lora_A", "lora_B"))
    return names


def _lora_modules(model: nn.Module) -> list[tuple[str, _LoRAMixin]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _LoRAMixin)]


def lora_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The adapter parameters (A and B of every wrapped layer), e.g. for the optimiser."""
    return [p for _, m in _lora_modules(model) for p in (m.lora_A, m.lora_B)]


def lora_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """``{"<module>.lora_A": (r, in), "<module>.lora_B": (out, r)}``, detached copies."""
    sd = {}
    for name, m in _lora_modules(model):
        sd[f"{name}.lora_A"] = m.lora_A.detach().clone().contiguous()
        sd[f"{name}.lora_B"] = m.lora_B.detach().clone().contiguous()
    return sd


def load_lora_state_dict(model: nn.Module, sd: dict[str, Tensor]) -> None:
    """Copy adapter weights into an injected model; missing, unexpected or mis-shaped keys raise InputError."""
    own = {f"{n}.{k}": getattr(m, k) for n, m in _lora_modules(model) for k in ("lora_A", "lora_B")}
    missing, unexpected = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
    if missing or unexpected:
        raise InputError(f"LoRA weights do not fit this model: missing {missing[:3]}, unexpected {unexpected[:3]} "
                         f"({len(missing)} missing, {len(unexpected)} unexpected); was it injected with the same targets?")
    with torch.no_grad():
        for k, p in own.items():
            if p.shape != sd[k].shape:
                raise InputError(f"LoRA weight {k}: shape {tuple(sd[k].shape)} does not fit {tuple(p.shape)} (rank?)")
            p.copy_(sd[k])


def merge_lora(model: nn.Module) -> list[str]:
    """Fold every adapter into its layer's weight (``W + (alpha / r) B A``) and remove the wrappers."""
    names = []
    for name, m in _lora_modules(model):
        _replace(model, name, m.merged())
        names.append(name)
    return names


def save_lora(path, model: nn.Module, cfg: LoRAConfig) -> None:
    """Adapters only, as safetensors with the LoRA config under ``"kinema_lora_config"`` in the header."""
    from safetensors.torch import save_file

    meta = {"kinema_lora_config": json.dumps(dataclasses.asdict(cfg))}
    save_file({k: v.cpu() for k, v in lora_state_dict(model).items()}, str(path), metadata=meta)


def load_lora(path, model: nn.Module, *, freeze_base: bool = True) -> LoRAConfig:
    """Inject adapters as recorded in ``path`` (unless already injected) and load their weights."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    if "kinema_lora_config" not in meta:
        raise InputError(f"{path}: not a kinema LoRA file (no 'kinema_lora_config' in the safetensors header)")
    cfg = from_dict(LoRAConfig, json.loads(meta["kinema_lora_config"]))
    if not _lora_modules(model):
        inject_lora(model, cfg, freeze_base=freeze_base)
    device = next(model.parameters()).device
    load_lora_state_dict(model, load_file(str(path), device=str(device)))
    return cfg
