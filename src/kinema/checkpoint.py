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
import re
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
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=_TEMP_SUFFIX, dir=path.parent)
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


_TEMP_SUFFIX = ".tmp"


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Delete the temp files that ``atomic_write(path)`` left behind when its process was killed
    (SIGKILL, power loss) mid-write; return them. Only names of our own pattern are touched
    (``.<name>.<8 mkstemp characters>.tmp`` beside ``path``), so call it when no write of ``path``
    is in flight: at the start of the run that owns the file."""
    path = Path(path)
    pattern = re.compile(re.escape(_temp_prefix(path)) + r"[a-z0-9_]{8}" + re.escape(_TEMP_SUFFIX))
    if not path.parent.is_dir():
        return []
    stale = [p for p in path.parent.iterdir() if pattern.fullmatch(p.name) and p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


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
    return _metadata_json(path, meta, CONFIG_KEY, "{}"), _metadata_json(path, meta, INFO_KEY, "{}")


def _metadata_json(path: Path, meta: dict[str, str], key: str, default: str) -> dict[str, Any]:
    """One header entry parsed as a JSON object; a damaged or hand-edited header is an InputError."""
    try:
        value = json.loads(meta.get(key, default))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: embedded {key!r} is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise InputError(f"{path}: embedded {key!r} must be a JSON object, got {type(value).__name__}")
    return value


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
    config = _metadata_json(path, obj, CONFIG_KEY, "{}") if isinstance(config, str) else config
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    return tensors, config, {}


def _short(e: Exception) -> str:
    return str(e).splitlines()[0][:200] if str(e) else type(e).__name__
