"""Build an autoencoder from (kind, config) and describe one as a JSON-able spec."""

from __future__ import annotations

import dataclasses
from typing import Any

from kinema.config import from_dict, to_dict
from kinema.errors import ConfigError
from kinema.vae.config import CONFIG_CLASSES, preset
from kinema.vae.identity import IdentityAutoencoder
from kinema.vae.kl import KLAutoencoder

AUTOENCODERS = {"kl": KLAutoencoder, "identity": IdentityAutoencoder}
DEFAULT_PRESET = {"kl": "f4c4", "identity": "default"}


def build_autoencoder(kind: str = "kl", config: Any = None):
    """``config``: None (the kind's default preset), a preset name, a dict, or a config dataclass."""
    if kind not in AUTOENCODERS:
        raise ConfigError(f"autoencoder kind {kind!r} is not one of {sorted(AUTOENCODERS)}")
    cls = CONFIG_CLASSES[kind]
    if config is None or isinstance(config, str):
        config = preset(kind, config or DEFAULT_PRESET[kind])
    elif isinstance(config, dict):
        config = from_dict(cls, config, prefix="autoencoder.")
    elif not isinstance(config, cls):
        raise ConfigError(f"autoencoder config for kind {kind!r} must be {cls.__name__}, a dict or a preset "
                          f"name, got {type(config).__name__}")
    return AUTOENCODERS[kind](dataclasses.replace(config))


def autoencoder_spec(model) -> dict[str, Any]:
    """``{"kind": ..., "config": {...}}``: everything needed to rebuild ``model`` (weights aside)."""
    return {"kind": model.kind, "config": to_dict(model.config)}


def autoencoder_from_spec(spec: dict[str, Any]):
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ConfigError(f"autoencoder spec must be a mapping with 'kind' and 'config', got {spec!r}")
    return build_autoencoder(spec["kind"], spec.get("config") or None)
