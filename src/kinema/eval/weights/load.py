"""Read a weight file into tensors without running pickled code.

* ``.safetensors`` (detected by content, whatever the suffix): :func:`safetensors.torch.load_file`.
* pickle checkpoints (``.pth``, ``.pt``, ``.bin``, ``.tar``): ``torch.load(weights_only=True)``,
  which only rebuilds tensors and plain containers and refuses any other object. A top-level
  ``state_dict`` / ``model`` / ``module`` entry holding the weights is unwrapped (AMT, VideoMAE-v2).
* TorchScript archives (OpenAI CLIP ``ViT-B-32.pt``; StyleGAN-V ``i3d_torchscript.pt``):
  :func:`load_torchscript`; :func:`load_state_dict` on such a file returns the module's tensors.

Every failure is one :class:`~kinema.errors.InputError` line naming the file.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from kinema.errors import InputError

WRAPPER_KEYS = ("state_dict", "model", "module")  # checkpoint dicts that nest the weights


def load_state_dict(path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors, pickle (weights-only) or TorchScript file, on the CPU."""
    path = _check_file(path)
    if _is_safetensors(path):
        return _load_safetensors(path)
    if _is_torchscript(path):
        return {k: v.detach() for k, v in load_torchscript(path).state_dict().items()}
    return _tensors_of(path, _load_pickle(path))


def load_torchscript(path) -> torch.jit.ScriptModule:
    """A TorchScript archive loaded on the CPU, in eval mode."""
    path = _check_file(path)
    try:
        with warnings.catch_warnings():  # torch >= 2.10 deprecates jit.load; the reference files are jit
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as e:  # noqa: BLE001 - any failure here means a bad or foreign file
        raise InputError(f"{path}: not a loadable TorchScript archive ({_short(e)})") from None


def unwrap(obj):
    """The weights inside a checkpoint dict: follow ``state_dict``/``model``/``module`` when present."""
    while isinstance(obj, Mapping):
        inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            return obj
        obj = inner
    return obj


def _tensors_of(path: Path, obj) -> dict[str, torch.Tensor]:
    obj = unwrap(obj)
    if not isinstance(obj, Mapping):
        raise InputError(f"{path}: holds a {type(obj).__name__}, not a state dict of named tensors")
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise InputError(f"{path}: holds no tensors (keys: {', '.join(map(str, list(obj)[:8]))})")
    return tensors


def _load_pickle(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - unpickling errors, truncation, foreign formats
        raise InputError(f"{path}: unreadable or unsafe weight file ({_short(e)})") from None


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as e:  # noqa: BLE001 - SafetensorError, OSError, header errors
        raise InputError(f"{path}: truncated or corrupt safetensors file ({_short(e)})") from None


def _check_file(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"weight file {path} does not exist or is not a file")
    return path


def _is_safetensors(path: Path) -> bool:
    """safetensors starts with an 8-byte little-endian header length, then the JSON header '{'."""
    if path.suffix == ".safetensors":
        return True
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def _is_torchscript(path: Path) -> bool:
    """A TorchScript archive is a zip with a ``code/`` folder; ``torch.save`` zips have none."""
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            return any("/code/" in n or n.startswith("code/") for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _short(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else type(e).__name__
