"""Backbones: ``f(x_in, c_noise, cond, *, image_mode=False) -> raw`` (see docs/contracts.md).

``build_backbone("stdit", {"preset": "tiny", "in_channels": 4})`` builds a model from a typed
config (a dict, optionally naming a preset whose keys the others override, or a config dataclass).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from kinema.config import from_dict
from kinema.errors import ConfigError
from kinema.models.lora import (LoRAConfig, inject_lora, load_lora, load_lora_state_dict, lora_parameters,
                                lora_state_dict, merge_lora, save_lora)
from kinema.models.presets import PRESETS
from kinema.models.stdit import STDiT, STDiTConfig
from kinema.models.unet3d import UNet3D, UNet3DConfig

BACKBONES: dict[str, tuple[type[nn.Module], type]] = {"unet3d": (UNet3D, UNet3DConfig), "stdit": (STDiT, STDiTConfig)}


def _entry(kind: str) -> tuple[type[nn.Module], type]:
    if kind not in BACKBONES:
        raise ConfigError(f"unknown backbone kind {kind!r}; accepted: {sorted(BACKBONES)}")
    return BACKBONES[kind]


def backbone_config_class(kind: str) -> type:
    """The config dataclass of backbone ``kind`` ("unet3d" -> UNet3DConfig, "stdit" -> STDiTConfig)."""
    return _entry(kind)[1]


def backbone_config(kind: str, config: Any = None):
    """A validated config dataclass from a dataclass, a dict (with optional "preset" key) or None."""
    cls = backbone_config_class(kind)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        if not isinstance(config, cls):
            raise ConfigError(f"backbone {kind!r} needs a {cls.__name__}, got {type(config).__name__}")
        return config
    data = dict(config or {})
    preset = data.pop("preset", None)
    if preset is not None:
        if preset not in PRESETS[kind]:
            raise ConfigError(f"unknown {kind} preset {preset!r}; accepted: {list(PRESETS[kind])}")
        data = {**PRESETS[kind][preset], **data}
    return from_dict(cls, data)


def build_backbone(kind: str, config: Any = None) -> nn.Module:
    """Build backbone ``kind`` ("unet3d" | "stdit") from its config (see :func:`backbone_config`)."""
    model_cls, _ = _entry(kind)
    return model_cls(backbone_config(kind, config))


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (works on the meta device: nothing is allocated)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


__all__ = [
    "BACKBONES", "LoRAConfig", "PRESETS", "STDiT", "STDiTConfig", "UNet3D", "UNet3DConfig", "backbone_config",
    "backbone_config_class", "build_backbone", "count_parameters", "inject_lora", "load_lora",
    "load_lora_state_dict", "lora_parameters", "lora_state_dict", "merge_lora", "save_lora",
]
