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

from torch import nn

from kinema.conditioning.batch import VECTOR_FIELDS
from kinema.conditioning.conditioner import Conditioner, ConditionerConfig
from kinema.config import from_dict, to_dict
from kinema.errors import ConfigError


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
