"""Save / load an autoencoder alone: a kinema safetensors checkpoint (``kinema.checkpoint``)
whose embedded config is ``{"autoencoder": spec}`` (never pickle: loading cannot run code).
``load_autoencoder`` also takes a full model file and returns the autoencoder inside it."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from kinema.checkpoint import load_checkpoint, save_checkpoint, subdict
from kinema.errors import ConfigError, InputError
from kinema.vae.build import autoencoder_from_spec, autoencoder_spec


def save_autoencoder(model, path: str | os.PathLike) -> Path:
    """Write ``model`` to ``path`` atomically (temp file in the same folder, then rename)."""
    return save_checkpoint(path, model.state_dict(), {"autoencoder": autoencoder_spec(model)},
                           {"format": "kinema-autoencoder"})


def load_autoencoder(path: str | os.PathLike, device: str | torch.device = "cpu"):
    """Rebuild the autoencoder saved at ``path`` (by save_autoencoder, or inside a full model
    checkpoint under ``autoencoder.*``) from its embedded config and load its weights."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"autoencoder file {path} does not exist")
    state, config, _ = load_checkpoint(path)
    if not isinstance(config.get("autoencoder"), dict):
        raise InputError(f"{path}: embedded config does not hold an autoencoder spec")
    try:
        model = autoencoder_from_spec(config["autoencoder"])
    except ConfigError as e:
        raise InputError(f"{path}: bad embedded config: {e}") from None
    if any(k.startswith(("autoencoder.", "backbone.")) for k in state):  # a full model file: its autoencoder
        state = subdict(state, "autoencoder")
    missing, unexpected = set(model.state_dict()) - set(state), set(state) - set(model.state_dict())
    if missing or unexpected:
        raise InputError(f"{path}: weights do not match the config (missing {sorted(missing)[:3]}, "
                         f"unexpected {sorted(unexpected)[:3]})")
    model.load_state_dict(state)
    return model.to(device).eval()
