"""kinema's DreamSim ensemble on a tiny config: the embedding's closed form, the LoRA merge against
an explicit unmerged LoRA forward, loading a folder laid out like the released checkpoint, the
VBench feature callables and their wiring. Agreement with the dreamsim package itself is in
tests/reference/test_ref_dreamsim.py."""

import json

import numpy as np
import pytest
import torch

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.dreamsim import (
    DreamSim,
    DreamSimConfig,
    DreamSimFeatures,
    dreamsim_callables,
    load_dreamsim,
    load_dreamsim_folder,
)
from kinema.eval.backbones.dreamsim_lora import (
    LoraSpec,
    lora_pairs,
    merge_lora,
    read_adapter_config,
)
from kinema.eval.backbones.vit import ViTConfig
from kinema.eval.vbench import preprocess as pp

TINY = DreamSimConfig(ViTConfig(embed_dim=32, num_heads=2, depth=3), proj_dim=16)
PREFIX = "base_model.model.extractor_list"


def tiny_model(seed=0):
    torch.manual_seed(seed)
    m = DreamSim(TINY).eval()
    with torch.no_grad():  # non-trivial LayerNorms and token embeddings
        for name, p in m.named_parameters():
            if "norm" in name or "pos_drop" in name or name.endswith(("cls_token", "pos_embed")):
                p.add_(0.1 * torch.randn_like(p))
    return m


def random_adapter(model, r=4, seed=1, scale=0.05):
    g = torch.Generator().manual_seed(seed)
    out = {}
    for i, branch in enumerate(model.branches):
        for j, blk in enumerate(branch.blocks):
            d_out, d_in = blk.attn.qkv.weight.shape
            key = f"{PREFIX}.{i}.model.blocks.{j}.attn.qkv"
            out[f"{key}.lora_A.weight"] = torch.randn(r, d_in, generator=g) * d_in ** -0.5
            out[f"{key}.lora_B.weight"] = torch.randn(d_out, r, generator=g) * scale
    return out


def images(n=2, seed=0, size=224):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_embedding_is_centred_and_unit_norm():
    e = tiny_model()(images())
    assert e.shape == (2, TINY.dim) == (2, 32 + 16 + 16)
    torch.testing.assert_close(e.mean(-1), torch.zeros(2), atol=1e-6, rtol=0)
    torch.testing.assert_close(e.norm(dim=-1), torch.ones(2))


def test_embedding_concatenates_branches_then_centres():
    m, x = tiny_model(), images()
    with torch.no_grad():
        raw = torch.cat([m.dino(x), m.clip(x), m.open_clip(x)], -1)
        c = raw - raw.mean(-1, keepdim=True)
        torch.testing.assert_close(m(x), c / c.norm(dim=-1, keepdim=True))


def test_branches_normalise_their_own_inputs():
    m, x = tiny_model(), images(1)
    dino_in = (x - torch.tensor(pp.IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(pp.IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        t = torch.cat([m.dino.cls_token, m.dino.patch_embed(dino_in)], 1) + m.dino.pos_embed
        torch.testing.assert_close(m.dino.tokens(x), t)


def test_lora_merge_equals_unmerged_lora_forward():
    """W' = W + (alpha / r) B A must equal peft's W x + (alpha / r) B (A x) in every branch."""
    base, spec = tiny_model(), LoraSpec(r=4, lora_alpha=8.0, use_rslora=False, target_modules=("qkv",))
    adapter = random_adapter(base)
    pairs = lora_pairs(adapter)
    hooks = []
    for (i, name), (a, b) in pairs.items():
        def add_lora(mod, inp, out, a=a, b=b):
            return out + spec.scaling * (inp[0] @ a.T) @ b.T
        hooks.append(base.branches[i].get_submodule(name).register_forward_hook(add_lora))
    merged = tiny_model()
    assert merge_lora(merged.branches, adapter, spec) == 3 * 3
    x = images()
    with torch.no_grad():
        expected = base(x)
        for h in hooks:
            h.remove()
        plain = base(x)
        got = merged(x)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert (got - plain).abs().max() > 1e-3  # the adapter matters, so the check has power


def test_rslora_scaling():
    assert LoraSpec(16, 8.0, False, ("qkv",)).scaling == 0.5
    assert LoraSpec(16, 8.0, True, ("qkv",)).scaling == 2.0


def test_adapter_key_errors_teach():
    m = tiny_model()
    spec = LoraSpec(4, 8.0, False, ("qkv",))
    ad = random_adapter(m)
    with pytest.raises(InputError, match="not of the form"):
        merge_lora(m.branches, {"blocks.0.attn.qkv.lora_A.weight": torch.zeros(4, 32)}, spec)
    lone = {k: v for k, v in ad.items() if "lora_B" not in k}
    with pytest.raises(InputError, match="lacks the A or B"):
        merge_lora(m.branches, lone, spec)
    with pytest.raises(InputError, match="do not fit"):
        merge_lora(m.branches, ad, LoraSpec(8, 8.0, False, ("qkv",)))
    with pytest.raises(InputError, match="target_modules"):
        merge_lora(m.branches, ad, LoraSpec(4, 8.0, False, ("proj",)))
    far = {k.replace(f"{PREFIX}.2.", f"{PREFIX}.5."): v for k, v in ad.items() if f"{PREFIX}.2." in k}
    with pytest.raises(InputError, match="3 branches"):
        merge_lora(m.branches, far, spec)


def test_adapter_config(tmp_path):
    cfg = {"peft_type": "LORA", "r": 16, "lora_alpha": 8, "lora_dropout": 0.3, "bias": "none",
           "target_modules": ["qkv"], "use_rslora": False, "use_dora": False, "rank_pattern": {}}
    (tmp_path / "a.json").write_text(json.dumps(cfg))
    spec = read_adapter_config(tmp_path / "a.json")
    assert (spec.r, spec.scaling, spec.target_modules) == (16, 0.5, ("qkv",))
    (tmp_path / "b.json").write_text(json.dumps({**cfg, "use_dora": True}))
    with pytest.raises(ConfigError, match="use_dora"):
        read_adapter_config(tmp_path / "b.json")
    with pytest.raises(InputError, match="unreadable"):
        read_adapter_config(tmp_path / "missing.json")


def write_release(folder, model, adapter, r=4, alpha=8):
    """A folder laid out like the unzipped dreamsim_ensemble_checkpoint.zip (+ torch.hub's DINO cache)."""
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "ensemble_lora").mkdir()
    torch.save(model.dino.state_dict(), folder / "checkpoints" / "dino_vitbase16_pretrain.pth")
    torch.save({"state_dict": model.clip.state_dict()}, folder / "clip_vitb16_pretrain.pth.tar")
    torch.save({"state_dict": model.open_clip.state_dict()}, folder / "open_clip_vitb16_pretrain.pth.tar")
    torch.save(adapter, folder / "ensemble_lora" / "adapter_model.bin")
    (folder / "ensemble_lora" / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": r, "lora_alpha": alpha, "bias": "none", "target_modules": ["qkv"]}))


def test_load_folder_merges_adapter(tmp_path):
    src, adapter = tiny_model(), random_adapter(tiny_model())
    folder = tmp_path / "dreamsim-ensemble"
    write_release(folder, src, adapter)
    loaded = load_dreamsim(folder, cfg=TINY)
    assert not loaded.training
    merge_lora(src.branches, adapter, LoraSpec(4, 8.0, False, ("qkv",)))
    x = images()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), src(x))


def test_load_errors_name_the_problem(tmp_path, monkeypatch):
    monkeypatch.setenv("KINEMA_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("KINEMA_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("KINEMA_WEIGHT_DREAMSIM_ENSEMBLE", raising=False)
    with pytest.raises(InputError, match="dreamsim-ensemble"):
        load_dreamsim()
    folder = tmp_path / "dreamsim-ensemble"
    write_release(folder, tiny_model(), random_adapter(tiny_model()))
    (folder / "ensemble_lora" / "adapter_model.bin").unlink()
    with pytest.raises(InputError, match="ensemble_lora"):
        load_dreamsim(folder, cfg=TINY)
    with pytest.raises(InputError, match="does not fit"):  # tiny files into the real-size model
        load_dreamsim_folder(DreamSim(DreamSimConfig(ViTConfig(embed_dim=64, num_heads=2, depth=3))), folder)


def test_feature_callables_apply_vbench_preprocessing():
    m = tiny_model()
    frames = np.random.default_rng(0).integers(0, 256, (3, 40, 56, 3), dtype=np.uint8)
    roles = dreamsim_callables(m)
    f, g = roles["i2v_background_frames"], roles["i2v_background_image"]
    assert f.backbone_id == g.backbone_id == "dreamsim-ensemble"
    assert "antialias" in f.preprocessing and "PIL" in g.preprocessing
    with torch.no_grad():
        torch.testing.assert_close(f(frames), m(pp.dreamsim_frames(frames)))
        torch.testing.assert_close(g(frames[:1]), m(pp.dreamsim_image(frames[0])))
    one_by_one = DreamSimFeatures(m, "frames", batch_size=1)(frames)
    torch.testing.assert_close(one_by_one, f(frames), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="source"):
        DreamSimFeatures(m, "video")


def test_default_backbones_wires_dreamsim(monkeypatch, tmp_path):
    import kinema.eval.backbones.dreamsim as ds
    from kinema.eval.vbench.backbones import default_backbones

    monkeypatch.setenv("KINEMA_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("KINEMA_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("KINEMA_WEIGHT_DREAMSIM_ENSEMBLE", raising=False)
    b = default_backbones()
    assert b.i2v_background_frames is None and "dreamsim-ensemble" in b.missing["i2v_background_frames"]
    monkeypatch.setattr(ds, "load_dreamsim", lambda path=None, device="cpu", dino_path=None: tiny_model())
    b = default_backbones()
    assert isinstance(b.i2v_background_frames, DreamSimFeatures)
    assert isinstance(b.i2v_background_image, DreamSimFeatures)
    assert "i2v_background_frames" not in b.missing and "i2v_background_image" not in b.missing
