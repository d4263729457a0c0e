"""Checkpoint files: safetensors with the full config embedded; atomic writes; no pickles.

A kinema checkpoint is one ``.safetensors`` file. Its header metadata holds

* ``kinema_config``: the JSON config that rebuilds every module (rule 5 of ARCHITECTURE.md);
* ``kinema_info``:   JSON facts about how it was made (step, compute, data, version).

Tensors are namespaced by module: ``backbone.*``, ``autoencoder.*``. Pickle-based files
(``.pt``, ``.ckpt``, ``.bin``) execute code when loaded and are refused unless the caller
passes ``allow_unsafe=True``; even then they are read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from kinema.errors import InputError

CONFIG_KEY = "kinema_config"
INFO_KEY = "kinema_info"


def atomic_write(path: str | os.PathLike, write_fn) -> Path:
    """Call ``write_fn(tmp_path)`` then rename onto ``path``: readers never see a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write_fn(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a checkpoint is an ordinary readable file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_checkpoint(path, tensors: dict[str, torch.Tensor], config: dict[str, Any],
                    info: dict[str, Any] | None = None) -> Path:
    """Write ``tensors`` with ``config`` (and ``info``) embedded, atomically."""
    meta = {CONFIG_KEY: json.dumps(config), INFO_KEY: json.dumps(info or {})}
    flat = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    return atomic_write(path, lambda tmp: save_file(flat, tmp, metadata=meta))


def read_metadata(path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, info) from a checkpoint's header, without reading the tensors."""
    path = _check_path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise InputError(f"{path}: not a readable safetensors checkpoint ({_short(e)})") from None
    if CONFIG_KEY not in meta:
        raise InputError(f"{path}: safetensors file has no embedded kinema config (key {CONFIG_KEY!r})")
    return json.loads(meta[CONFIG_KEY]), json.loads(meta.get(INFO_KEY, "{}"))


def load_checkpoint(path, allow_unsafe: bool = False) -> tuple[dict[str, torch.Tensor], dict, dict]:
    """(tensors, config, info). Non-safetensors files are refused unless ``allow_unsafe``."""
    path = _check_path(path)
    if path.suffix != ".safetensors" and not _is_safetensors(path):
        if not allow_unsafe:
            raise InputError(f"{path}: not a safetensors file; pickle checkpoints can run code when "
                             "loaded and are refused (pass --allow-unsafe-checkpoint to load it anyway)")
        return _load_pickle(path)
    config, info = read_metadata(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise InputError(f"{path}: truncated or corrupt safetensors checkpoint ({_short(e)})") from None
    return tensors, config, info


def sha256_file(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def subdict(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Tensors under ``prefix.`` with the prefix stripped (a module's state dict)."""
    p = prefix + "."
    return {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}


def prefixed(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in state.items()}


def _check_path(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint {path} does not exist or is not a file")
    return path


def _is_safetensors(path: Path) -> bool:
    """safetensors starts with an 8-byte little-endian header length then '{'."""
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def _load_pickle(path: Path):
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure here is a bad input file
        raise InputError(f"{path}: could not read checkpoint ({_short(e)})") from None
    if not isinstance(obj, dict) or CONFIG_KEY not in obj:
        raise InputError(f"{path}: pickle checkpoint has no {CONFIG_KEY!r} entry")
    config = obj[CONFIG_KEY]
    config = json.loads(config) if isinstance(config, str) else config
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    return tensors, config, {}


def _short(e: Exception) -> str:
    return str(e).splitlines()[0][:200] if str(e) else type(e).__name__
