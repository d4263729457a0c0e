"""LoRA: identity at injection, the low-rank formula, freezing, merge, separate save / load."""

import pytest
import torch
from torch import nn

from kinema.conditioning.batch import ConditionBatch
from kinema.errors import ConfigError, InputError
from kinema.models import (LoRAConfig, build_backbone, inject_lora, load_lora, load_lora_state_dict, lora_parameters,
                           lora_state_dict, merge_lora, save_lora)
from kinema.models.lora import LoRAConv1x1, LoRALinear

DIMS = dict(in_channels=4, out_channels=4, text_dim=8, vector_dim=3)


def gen(seed):
    return torch.Generator().manual_seed(seed)


@torch.no_grad()
def perturb(model, seed=1, only=None):
    g = gen(seed)
    for name, p in model.named_parameters():
        noise = 0.1 * torch.randn(p.shape, generator=g)
        if only is None or only in name:
            p.add_(noise)
    return model


def make(kind="stdit"):
    torch.manual_seed(0)
    return perturb(build_backbone(kind, {"preset": "tiny", **DIMS})).eval()


def inputs():
    g = gen(0)
    cond = ConditionBatch(tokens=torch.randn(1, 5, 8, generator=g), vector=torch.rand(1, 3, generator=g))
    return torch.randn(1, 4, 2, 8, 8, generator=g), torch.rand(1, generator=g), cond


def test_lora_linear_is_the_low_rank_update():
    base = nn.Linear(6, 5)
    layer = LoRALinear(base, LoRAConfig(rank=2, alpha=3.0), generator=gen(1))
    assert layer.weight is base.weight and layer.lora_B.abs().max() == 0
    with torch.no_grad():
        layer.lora_B.normal_(generator=gen(2))
    x = torch.randn(4, 6, generator=gen(3))
    expected = x @ base.weight.T + base.bias + 1.5 * x @ layer.lora_A.T @ layer.lora_B.T
    torch.testing.assert_close(layer(x), expected)


@pytest.mark.parametrize("kind", ["stdit", "unet3d"])
def test_injection_is_identity_and_keeps_base_weight_names(kind):
    model = make(kind)
    base_keys = set(model.state_dict())
    x, c_noise, cond = inputs()
    with torch.no_grad():
        before = model(x, c_noise, cond)
    names = inject_lora(model, LoRAConfig(rank=2), generator=gen(4))
    assert names and all(isinstance(model.get_submodule(n), LoRALinear) for n in names)
    assert base_keys < set(model.state_dict())  # a base checkpoint still loads after injection
    with torch.no_grad():
        # identity up to float rounding (a zero update; BLAS may round the base matmul differently
        # between calls on some CPUs); a non-zero init would be off by orders of magnitude more
        torch.testing.assert_close(model(x, c_noise, cond), before, atol=1e-5, rtol=1e-5)


def test_only_lora_parameters_train():
    model = make()
    inject_lora(model, LoRAConfig(rank=2, targets=("to_q", "to_v", "mlp.fc1")), generator=gen(4))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {n for n in trainable if n.endswith(("lora_A", "lora_B"))} and trainable
    assert {id(p) for p in lora_parameters(model)} == {id(p) for p in model.parameters() if p.requires_grad}
    x, c_noise, cond = inputs()
    perturb(model, seed=5, only="lora_B")
    model(x, c_noise, cond).square().mean().backward()
    assert all((p.grad is not None) == p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("kind, conv", [("stdit", False), ("unet3d", True)])
def test_merge_equals_unmerged_and_removes_wrappers(kind, conv):
    model = make(kind)
    targets = ("to_q", "to_k", "to_v", "to_out", "skip") if conv else ("to_q", "to_out", "fc2", "adaLN")
    names = inject_lora(model, LoRAConfig(rank=3, alpha=6.0, targets=targets, conv1x1=conv), generator=gen(4))
    assert any(isinstance(model.get_submodule(n), LoRAConv1x1) for n in names) == conv
    perturb(model, seed=6, only="lora_B")
    x, c_noise, cond = inputs()
    with torch.no_grad():
        unmerged = model(x, c_noise, cond)
        merged_names = merge_lora(model)
        merged = model(x, c_noise, cond)
    assert sorted(merged_names) == sorted(names)
    assert not lora_state_dict(model) and not any("lora" in k for k in model.state_dict())
    torch.testing.assert_close(merged, unmerged, atol=1e-5, rtol=1e-5)
    assert (unmerged - make(kind)(x, c_noise, cond)).abs().max() > 1e-4  # the adapters did something


def test_save_and_load_adapters_separately(tmp_path):
    cfg = LoRAConfig(rank=2, alpha=4.0, targets=("to_k", "fc1"))
    model = make()
    inject_lora(model, cfg, generator=gen(4))
    perturb(model, seed=7, only="lora_")
    x, c_noise, cond = inputs()
    with torch.no_grad():
        expected = model(x, c_noise, cond)
    save_lora(tmp_path / "adapter.safetensors", model, cfg)
    fresh = make()  # the same base weights, no adapters yet
    assert load_lora(tmp_path / "adapter.safetensors", fresh) == cfg
    with torch.no_grad():
        torch.testing.assert_close(fresh(x, c_noise, cond), expected, atol=0, rtol=0)
    sd = lora_state_dict(fresh)
    assert set(sd) == set(lora_state_dict(model)) and all(k.endswith(("lora_A", "lora_B")) for k in sd)


def test_mismatched_adapters_and_targets_are_refused():
    model = make()
    inject_lora(model, LoRAConfig(rank=2, targets=("to_q",)), generator=gen(4))
    other = make()
    inject_lora(other, LoRAConfig(rank=2, targets=("to_v",)), generator=gen(4))
    with pytest.raises(InputError, match="missing"):
        load_lora_state_dict(model, lora_state_dict(other))
    wrong_rank = {k: torch.zeros(4, v.shape[1]) if k.endswith("lora_A") else v for k, v in lora_state_dict(model).items()}
    with pytest.raises(InputError, match="rank"):
        load_lora_state_dict(model, wrong_rank)
    with pytest.raises(ConfigError, match="matched no layer"):
        inject_lora(make(), LoRAConfig(targets=("nonexistent",)))
