"""A lean BERT encoder (Devlin et al. 2019) for the packaged MiniLM: tokenizers + torch only.

Why not ``transformers.AutoModel``: importing transformers' BERT costs about 3 s of the 10 s a cold
``kinema animate`` may take on 2 CPU cores (it pulls in torch._dynamo and torch.distributed.tensor).
This module reads the same Hugging Face folder (config.json, tokenizer.json, model.safetensors)
and computes the same last hidden states; tests/test_text_encoders.py checks it against transformers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kinema.errors import InputError


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        cfg = json.loads(path.read_text())
        if cfg.get("model_type") != "bert" or cfg.get("hidden_act", "gelu") != "gelu":
            raise InputError(f"{path}: not a BERT config with GELU activations")
        if cfg["hidden_size"] % cfg["num_attention_heads"]:
            raise InputError(f"{path}: hidden_size is not a multiple of num_attention_heads")
        return cls(**{k: cfg[k] for k in cls.__dataclass_fields__})


class BertLayer(nn.Module):
    """Post-norm transformer layer; submodule names follow the Hugging Face checkpoint keys."""

    def __init__(self, c: BertConfig):
        super().__init__()
        d, eps = c.hidden_size, c.layer_norm_eps
        self.heads = c.num_attention_heads
        self.attention = nn.ModuleDict({
            "self": nn.ModuleDict({k: nn.Linear(d, d) for k in ("query", "key", "value")}),
            "output": nn.ModuleDict({"dense": nn.Linear(d, d), "LayerNorm": nn.LayerNorm(d, eps=eps)}),
        })
        self.intermediate = nn.ModuleDict({"dense": nn.Linear(d, c.intermediate_size)})
        self.output = nn.ModuleDict({"dense": nn.Linear(c.intermediate_size, d), "LayerNorm": nn.LayerNorm(d, eps=eps)})

    def forward(self, x: Tensor, keep: Tensor) -> Tensor:
        """x (B, L, D); keep (B, 1, 1, L) bool: keys a query may attend to."""
        B, L, D = x.shape
        q, k, v = (self.attention["self"][n](x).view(B, L, self.heads, D // self.heads).transpose(1, 2)
                   for n in ("query", "key", "value"))  # (B, heads, L, D / heads)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=keep).transpose(1, 2).reshape(B, L, D)
        out = self.attention["output"]
        x = out["LayerNorm"](x + out["dense"](a))
        h = self.output["dense"](F.gelu(self.intermediate["dense"](x)))  # exact (erf) GELU, as BERT
        return self.output["LayerNorm"](x + h)


class BertEncoder(nn.Module):
    """Token ids -> last hidden states (B, L, D); token type 0 throughout (single sentences)."""

    def __init__(self, c: BertConfig):
        super().__init__()
        self.config = c
        self.embeddings = nn.ModuleDict({
            "word_embeddings": nn.Embedding(c.vocab_size, c.hidden_size),
            "position_embeddings": nn.Embedding(c.max_position_embeddings, c.hidden_size),
            "token_type_embeddings": nn.Embedding(c.type_vocab_size, c.hidden_size),
            "LayerNorm": nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps),
        })
        self.encoder = nn.ModuleDict({"layer": nn.ModuleList(BertLayer(c) for _ in range(c.num_hidden_layers))})

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        e = self.embeddings
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = e["word_embeddings"](input_ids) + e["position_embeddings"](pos) + e["token_type_embeddings"].weight[0]
        x = e["LayerNorm"](x)
        keep = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, L)
        for layer in self.encoder["layer"]:
            x = layer(x, keep)
        return x


def load_bert(folder: Path, device: str = "cpu") -> BertEncoder:
    """The encoder of a Hugging Face BERT folder, frozen, eval, float32 (the pooler is not used)."""
    from safetensors.torch import load_file

    model = BertEncoder(BertConfig.from_file(folder / "config.json"))
    state = {k.removeprefix("bert."): v for k, v in load_file(str(folder / "model.safetensors")).items()}
    state = {k: v for k, v in state.items() if not k.startswith("pooler.") and k != "embeddings.position_ids"}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise InputError(f"{folder}: weights do not fit a BERT encoder ({len(missing)} missing, "
                         f"{len(unexpected)} unexpected, e.g. {(missing or unexpected)[0]})")
    return model.to(device).float().eval().requires_grad_(False)


def load_tokenizer(folder: Path, max_length: int):
    """The folder's fast tokenizer (tokenizer.json), truncating and padding to ``max_length``."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.enable_truncation(max_length=max_length)
    pad_id = tok.token_to_id("[PAD]")
    tok.enable_padding(length=max_length, pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
    return tok

