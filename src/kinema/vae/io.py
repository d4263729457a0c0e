"""Save / load an autoencoder alone: safetensors weights, the config JSON in the header
metadata under ``"kinema_config"`` (never pickle: loading cannot run code)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from kinema.errors import ConfigError, InputError
from kinema.vae.build import autoencoder_from_spec, autoencoder_spec

CONFIG_KEY = "kinema_config"


def save_autoencoder(model, path: str | os.PathLike) -> Path:
    """Write ``model`` to ``path`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    meta = {CONFIG_KEY: json.dumps({"autoencoder": autoencoder_spec(model)}), "format": "kinema-autoencoder"}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read_spec(path: Path) -> dict:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise InputError(f"cannot read autoencoder {path}: {' '.join(str(e).split())}") from None
    if CONFIG_KEY not in meta:
        raise InputError(f"{path} has no '{CONFIG_KEY}' metadata; it was not written by save_autoencoder")
    try:
        spec = json.loads(meta[CONFIG_KEY])["autoencoder"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise InputError(f"{path}: '{CONFIG_KEY}' metadata does not hold an autoencoder spec") from None
    return spec


def load_autoencoder(path: str | os.PathLike, device: str | torch.device = "cpu"):
    """Rebuild the autoencoder saved at ``path`` (by save_autoencoder, or inside a full model
    checkpoint under ``autoencoder.*``) from its embedded config and load its weights."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"autoencoder file {path} does not exist")
    try:
        model = autoencoder_from_spec(_read_spec(path))
    except ConfigError as e:
        raise InputError(f"{path}: bad embedded config: {e}") from None
    state = load_file(str(path), device=str(device))
    if any(k.startswith(("autoencoder.", "backbone.")) for k in state):  # a full model file: its autoencoder
        state = {k[len("autoencoder."):]: v for k, v in state.items() if k.startswith("autoencoder.")}
    missing, unexpected = set(model.state_dict()) - set(state), set(state) - set(model.state_dict())
    if missing or unexpected:
        raise InputError(f"{path}: weights do not match the config (missing {sorted(missing)[:3]}, "
                         f"unexpected {sorted(unexpected)[:3]})")
    model.load_state_dict(state)
    return model.to(device).eval()
