"""Assemble the modules of a model from its config: backbone, parameterization, autoencoder,
conditioner. Training and inference both call these, so a checkpoint's embedded config rebuilds
exactly what trained (ARCHITECTURE rule 5).

The *model config* is the inference-relevant part of a training config::

    {"backbone": {"kind": ..., "config": {...full backbone config...}},
     "diffusion": {...DiffusionSpec...},
     "autoencoder": {"kind": ..., "config": {...}},
     "conditioner": {...ConditionerConfig...},
     "video": {"size": [W, H], "frames": T, "fps": f}}
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from kinema.conditioning.batch import VECTOR_FIELDS
from kinema.conditioning.conditioner import Conditioner, ConditionerConfig
from kinema.config import from_dict, to_dict
from kinema.errors import ConfigError, InputError


def resolve_backbone_config(kind: str, preset: str, overrides: dict[str, Any], *, latent_channels: int,
                            text_dim: int, concat_channels: int | None = None) -> dict[str, Any]:
    """Preset + overrides + the channel counts the other modules impose -> full config dict."""
    from kinema.models import PRESETS, backbone_config_class

    if kind not in PRESETS:
        raise ConfigError(f"model.kind={kind!r} is not one of {sorted(PRESETS)}")
    if preset not in PRESETS[kind]:
        raise ConfigError(f"model.preset={preset!r} is not one of {sorted(PRESETS[kind])} for {kind}")
    base = PRESETS[kind][preset]
    base = base() if callable(base) else base
    data = to_dict(base) if dataclasses.is_dataclass(base) else dict(base)
    data.update(in_channels=latent_channels, out_channels=latent_channels,
                concat_channels=latent_channels + 1 if concat_channels is None else concat_channels, vector_dim=len(VECTOR_FIELDS), text_dim=text_dim)
    data.update(overrides)
    from_dict(backbone_config_class(kind), data)  # validate now, with key names in the error
    return data


def build_backbone(spec: dict[str, Any]) -> nn.Module:
    from kinema.models import backbone_config_class
    from kinema.models import build_backbone as _build

    kind = spec["kind"]
    return _build(kind, from_dict(backbone_config_class(kind), spec["config"]))


def build_parameterization(diffusion: dict[str, Any]):
    from kinema.diffusion import get_parameterization

    opts = dict(diffusion.get("options", {}))
    name = diffusion["parameterization"]
    if name in ("eps", "v", "x0"):
        opts.setdefault("schedule", diffusion.get("schedule", "cosine"))
    return get_parameterization(name, **opts)


def build_autoencoder(spec: dict[str, Any]) -> nn.Module:
    from kinema.vae import build_autoencoder as _build

    return _build(spec["kind"], spec.get("config") or {})


def build_conditioner(config: dict[str, Any], text_encoder=None) -> Conditioner:
    return Conditioner(from_dict(ConditionerConfig, config), text_encoder=text_encoder)


PARTS = ("backbone", "autoencoder", "planner")  # a model file's tensors are named "<part>.<name>"


def checkpoint_parts(path, allow_unsafe: bool = False) -> tuple[dict[str, dict[str, torch.Tensor]], dict, dict]:
    """(state dict of each of :data:`PARTS`, embedded config, info) of a kinema checkpoint; a part it
    lacks is an empty dict. Training (fine-tuning, a frozen autoencoder) and inference both read files here."""
    from kinema.checkpoint import load_checkpoint, subdict

    tensors, config, info = load_checkpoint(path, allow_unsafe=allow_unsafe)
    return {part: subdict(tensors, part) for part in PARTS}, config, info


@dataclasses.dataclass
class Components:
    """The modules a model file rebuilds, with the config and info it embeds."""

    backbone: nn.Module
    param: Any  # kinema.diffusion Parameterization
    autoencoder: nn.Module
    conditioner: Conditioner
    config: dict[str, Any]
    info: dict[str, Any]


def load_components(path, text_encoder=None, allow_unsafe: bool = False) -> Components:
    """Rebuild every module of a kinema model file from its embedded config and load its weights."""
    parts, config, info = checkpoint_parts(path, allow_unsafe)
    if "backbone" not in config:
        raise ConfigError(f"{path}: checkpoint config has no 'backbone' entry; is it a kinema model file?")
    backbone, autoencoder = build_backbone(config["backbone"]), build_autoencoder(config["autoencoder"])
    conditioner = build_conditioner(config["conditioner"], text_encoder)
    load_weights(backbone, parts["backbone"], str(path), "backbone")
    load_weights(autoencoder, parts["autoencoder"], str(path), "autoencoder")
    for name, module in conditioner.modules(autoencoder.latent_channels).items():  # e.g. the planner
        load_weights(module, parts[name], str(path), name)
    return Components(backbone, build_parameterization(config["diffusion"]), autoencoder, conditioner, config, info)


def load_weights(module: nn.Module, state: dict[str, torch.Tensor], source: str, what: str) -> None:
    """``module.load_state_dict(state)``, refusing in one line a file whose weights disagree with
    the config that rebuilt ``module`` (torch's own error lists every tensor: hundreds of lines)
    or hold NaN / inf (a diverged run, which would sample all-black videos without a word)."""
    mismatch = weights_mismatch(module.state_dict(), state)
    if mismatch:
        raise InputError(f"{source}: {what} weights do not match its config ({mismatch})")
    check_finite(state, source, what)
    module.load_state_dict(state)


def weights_mismatch(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> str | None:
    """None when ``found`` has exactly the keys and shapes of ``expected``; else a one-line summary
    (counts, then the first two names of each kind with their shapes)."""
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    reshaped = [k for k in expected if k in found and found[k].shape != expected[k].shape]
    parts = []
    if reshaped:
        shown = ", ".join(f"{k} {_shape(found[k])} in the file, {_shape(expected[k])} in the model"
                          for k in reshaped[:2])
        parts.append(f"{len(reshaped)} of another shape: {shown}")
    if missing:
        parts.append(f"{len(missing)} missing: " + ", ".join(f"{k} {_shape(expected[k])}" for k in missing[:2]))
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected: " + ", ".join(f"{k} {_shape(found[k])}" for k in unexpected[:2]))
    return "; ".join(parts) or None


def check_finite(state: dict[str, torch.Tensor], source: str, what: str) -> None:
    """InputError when a floating tensor of ``state`` holds NaN or inf (one pass over the weights:
    milliseconds for kinema-sized models, far less than the sampling it saves)."""
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise InputError(f"{source}: {what} weights hold NaN or inf in {len(bad)} of {len(state)} tensors "
                         f"(first: {bad[0]}): did its training diverge? Use an earlier checkpoint")


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(n) for n in t.shape) + ")"
