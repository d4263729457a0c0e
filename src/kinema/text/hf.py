"""Any Hugging Face text encoder from a local folder (BERT-like, T5 encoder, CLIP text tower).

Runs offline (``local_files_only=True``, ``HF_HUB_OFFLINE=1``), frozen, in eval mode, float32.
Loaded models are cached per process by (path, device), so building several encoders for the
same folder costs one load.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
from torch import Tensor, nn

from kinema.errors import ConfigError, InputError
from kinema.text.base import TextEncoder, as_prompt_list


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _text_tower(model: nn.Module) -> nn.Module:
    """Pick the part that maps token ids to per-token states."""
    if getattr(model.config, "is_encoder_decoder", False) and hasattr(model, "get_encoder"):
        return model.get_encoder()  # T5, BART, ...: the encoder stack only
    if hasattr(model, "text_model"):
        return model.text_model  # CLIP, SigLIP: the text transformer
    return model


def _hidden_size(config) -> int:
    for cfg in (config, getattr(config, "text_config", None)):
        for key in ("hidden_size", "d_model", "dim"):
            if cfg is not None and isinstance(getattr(cfg, key, None), int):
                return getattr(cfg, key)
    raise InputError(f"cannot tell the hidden size of text model config {type(config).__name__}")


@functools.lru_cache(maxsize=4)
def _load(path: str, device: str):
    """Load tokenizer + text tower once per process (frozen, eval, float32)."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    _offline()
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar on every CLI call
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True, dtype=torch.float32)
    except (OSError, ValueError, KeyError) as e:
        raise InputError(f"cannot load a text encoder from {path}: {' '.join(str(e).split())[:300]}") from None
    finally:
        if bar:
            hf_logging.enable_progress_bar()
    tower = _text_tower(model).to(device).eval().requires_grad_(False)
    return tokenizer, tower, _hidden_size(model.config)


def _model_max_length(tokenizer, tower) -> int:
    limits = [getattr(tower.config, "max_position_embeddings", None), tokenizer.model_max_length]
    limits = [v for v in limits if isinstance(v, int) and 0 < v < 100_000]
    return min(limits) if limits else 512


class HFTextEncoder(TextEncoder):
    """Per-token last hidden states of a local Hugging Face encoder, padded to ``max_length``.

    Long prompts are truncated to ``max_length`` tokens (special tokens included; default
    ``min(77, model limit)``); padded positions are zeroed and masked out.
    """

    def __init__(self, path: str | os.PathLike, max_length: int | None = None,
                 device: str | torch.device = "cpu"):
        path = Path(path).expanduser()
        if not path.is_dir():
            raise InputError(f"text encoder path {path} is not a folder (expected config.json, "
                             "tokenizer and weights saved by Hugging Face)")
        if not (path / "config.json").exists():
            raise InputError(f"text encoder folder {path} has no config.json")
        self.path, self.device = path.resolve(), torch.device(device)
        self.tokenizer, self.model, self.dim = _load(str(self.path), str(self.device))
        limit = _model_max_length(self.tokenizer, self.model)
        max_length = min(77, limit) if max_length is None else max_length  # 77: CLIP's usual length
        if not 2 <= max_length <= limit:
            raise ConfigError(f"max_length={max_length} is outside [2, {limit}] for the model at {path}")
        self.max_length = int(max_length)

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        prompts = as_prompt_list(prompts)
        if not prompts:
            return self.empty_batch()
        batch = self.tokenizer(prompts, padding="max_length", truncation=True,
                               max_length=self.max_length, return_tensors="pt").to(self.device)
        out = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        mask = batch["attention_mask"].bool()  # (B, L)
        tokens = out.last_hidden_state.float() * mask[..., None]  # (B, L, D), zero at padding
        return tokens, mask

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r}, dim={self.dim}, max_length={self.max_length})"
