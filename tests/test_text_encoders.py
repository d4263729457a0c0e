"""Text encoders: shapes, determinism, agreement with sentence-transformers, any local HF encoder."""

import shutil

import numpy as np
import pytest
import torch

from kinema.errors import ConfigError, InputError
from kinema.text import (HFTextEncoder, MiniLMTextEncoder, NullTextEncoder, TextEncoder,
                         get_text_encoder, minilm_path)


@pytest.fixture(scope="module")
def minilm():
    return MiniLMTextEncoder()


def test_minilm_shapes_dtype_mask(minilm):
    tokens, mask = minilm.encode(["a red ball rolls left", "", "猫がゆっくり歩く", "🚀🌕 to the moon 🎥",
                                  "long " * 300])
    assert isinstance(minilm, TextEncoder)
    assert (minilm.dim, minilm.max_length) == (384, 32)
    assert tokens.shape == (5, 32, 384) and tokens.dtype == torch.float32
    assert mask.shape == (5, 32) and mask.dtype == torch.bool
    assert torch.isfinite(tokens).all()
    assert mask[1].sum() == 2  # empty prompt: [CLS] [SEP]
    assert mask[4].all()  # a very long prompt is truncated to max_length
    assert (tokens[~mask] == 0).all() and (tokens[mask].abs().sum(-1) > 0).all()
    # masks are a prefix of True values
    assert (mask.int().diff(dim=1) <= 0).all()


def test_minilm_deterministic_and_discriminative(minilm):
    a1, m1 = minilm.encode(["a dog runs on the beach"])
    a2, m2 = minilm.encode(["a dog runs on the beach", "a city at night"])
    torch.testing.assert_close(a1[0], a2[0], atol=1e-5, rtol=1e-5)  # batch composition does not matter
    assert torch.equal(m1[0], m2[0])
    assert (a2[0] - a2[1]).abs().max() > 0.1


def test_minilm_agrees_with_sentence_transformers(minilm):
    """Mean-pooled, L2-normalised tokens = sentence-transformers' embedding of the same model."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(minilm_path()), device="cpu")
    prompts = ["a red ball rolls left", "two cats play", "", "un coche rojo 🚗"]
    ref = st.encode(prompts, normalize_embeddings=True, convert_to_numpy=True)
    tokens, mask = minilm.encode(prompts)
    pooled = (tokens * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    pooled = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    np.testing.assert_allclose(pooled, ref, atol=1e-4)


def test_minilm_equals_transformers_bert(minilm):
    """kinema's lean BERT = transformers' tokenizer + BertModel on the same folder (and truncation)."""
    ref = HFTextEncoder(minilm_path(), max_length=32)
    prompts = ["a red ball rolls left", "", "猫がゆっくり歩く", "🚀🌕 to the moon 🎥", "Camera PANS right, fast! " * 20]
    tokens, mask = minilm.encode(prompts)
    ref_tokens, ref_mask = ref.encode(prompts)
    assert torch.equal(mask, ref_mask)
    torch.testing.assert_close(tokens, ref_tokens, atol=1e-5, rtol=1e-5)


def test_model_is_frozen_and_cached(minilm):
    assert not minilm.model.training
    assert not any(p.requires_grad for p in minilm.model.parameters())
    assert MiniLMTextEncoder(max_length=16).model is minilm.model  # loaded once per process
    assert MiniLMTextEncoder(max_length=16).encode(["x"])[0].shape == (1, 16, 384)


def test_null_encoder_and_null_tokens(minilm):
    enc = NullTextEncoder(dim=8, max_length=5)
    tokens, mask = enc.encode(["anything", "at all"])
    assert tokens.shape == (2, 5, 8) and (tokens == 0).all()
    assert mask.tolist() == [[True, False, False, False, False]] * 2
    t0, m0 = minilm.null_tokens(3)
    assert t0.shape == (3, 32, 384) and (t0 == 0).all() and m0[:, 0].all() and not m0[:, 1:].any()


def test_get_text_encoder_specs(tmp_path):
    assert isinstance(get_text_encoder(), MiniLMTextEncoder)
    assert get_text_encoder("minilm:20").max_length == 20
    assert (get_text_encoder("null").dim, get_text_encoder("null:64").dim) == (384, 64)
    assert get_text_encoder("null:64:7").max_length == 7
    with pytest.raises(ConfigError, match="accepted"):
        get_text_encoder("bert-large")
    with pytest.raises(ConfigError):
        get_text_encoder("null:wide")
    with pytest.raises(InputError, match="does not exist"):
        get_text_encoder(str(tmp_path / "nope"))
    with pytest.raises(InputError):
        HFTextEncoder(tmp_path / "nope")
    with pytest.raises(InputError, match="config.json"):
        HFTextEncoder(tmp_path)
    with pytest.raises(ConfigError, match="max_length"):
        MiniLMTextEncoder(max_length=100_000)


def _tiny_model_dir(tmp_path, model):
    """Save a tiny random model next to the MiniLM tokenizer files (vocab 30522)."""
    folder = tmp_path / type(model).__name__
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(minilm_path() / name, folder / name)
    return folder


def test_t5_uses_the_encoder_stack(tmp_path):
    from transformers import T5Config, T5EncoderModel, T5Model

    torch.manual_seed(0)
    cfg = T5Config(vocab_size=30522, d_model=16, d_kv=4, d_ff=32, num_layers=1, num_decoder_layers=1,
                   num_heads=2, decoder_start_token_id=0)
    folder = _tiny_model_dir(tmp_path, T5Model(cfg))
    enc = get_text_encoder(str(folder))
    tokens, mask = enc.encode(["hello world", "a"])
    assert enc.dim == 16 and tokens.shape == (2, enc.max_length, 16)
    ids = enc.tokenizer(["hello world"], return_tensors="pt")["input_ids"]
    ref = T5EncoderModel.from_pretrained(folder).eval()(input_ids=ids).last_hidden_state[0]
    torch.testing.assert_close(tokens[0, : ids.shape[1]], ref, atol=1e-5, rtol=1e-5)


def test_clip_uses_the_text_tower(tmp_path):
    from transformers import CLIPConfig, CLIPModel, CLIPTextModel

    torch.manual_seed(0)
    cfg = CLIPConfig(text_config=dict(vocab_size=30522, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, max_position_embeddings=24),
                     vision_config=dict(hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                                        num_attention_heads=2, image_size=8, patch_size=4),
                     projection_dim=8)
    folder = _tiny_model_dir(tmp_path, CLIPModel(cfg))
    enc = HFTextEncoder(folder)
    assert enc.dim == 16 and enc.max_length == 24  # default min(77, model limit)
    tokens, mask = enc.encode(["hello world"])
    ids = enc.tokenizer(["hello world"], return_tensors="pt")["input_ids"]
    ref = CLIPTextModel.from_pretrained(folder).eval()(input_ids=ids).last_hidden_state[0]
    torch.testing.assert_close(tokens[0, : ids.shape[1]], ref, atol=1e-5, rtol=1e-5)
