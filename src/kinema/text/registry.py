"""``get_text_encoder(spec)``: one string picks the text encoder (CLI flags, configs)."""

from __future__ import annotations

from pathlib import Path

import torch

from kinema.errors import ConfigError, InputError
from kinema.text.base import TextEncoder
from kinema.text.hf import HFTextEncoder
from kinema.text.minilm import MiniLMTextEncoder
from kinema.text.null import NullTextEncoder

SPECS = ("minilm", "minilm:<max_length>", "null", "null:<dim>", "null:<dim>:<max_length>", "<local HF folder>")


def _ints(spec: str, parts: list[str]) -> list[int]:
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise ConfigError(f"text encoder spec {spec!r}: expected integers after ':'; accepted: {list(SPECS)}") from None


def _looks_like_path(spec: str) -> bool:
    return any(c in spec for c in "/\\") or spec.startswith((".", "~")) or Path(spec).is_dir()


def get_text_encoder(spec: str = "minilm", device: str | torch.device = "cpu") -> TextEncoder:
    """Build a text encoder from ``spec`` (one of ``SPECS``); a folder path loads :class:`HFTextEncoder`.

    ``"null:<dim>"`` gives zeros of width ``dim`` (default 384, max_length 32, see NullTextEncoder).
    """
    if _looks_like_path(spec):
        if not Path(spec).expanduser().exists():
            raise InputError(f"text encoder folder {spec} does not exist; accepted specs: {list(SPECS)}")
        return HFTextEncoder(spec, device=device)
    name, *rest = spec.split(":")
    if name == "minilm" and len(rest) <= 1:
        return MiniLMTextEncoder(*_ints(spec, rest), device=device)
    if name == "null" and len(rest) <= 2:
        return NullTextEncoder(*_ints(spec, rest), device=device)
    raise ConfigError(f"unknown text encoder {spec!r}; accepted: {list(SPECS)}")
