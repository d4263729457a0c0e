"""build_backbone, config validation and the named presets (largest counted on the meta device)."""

import pytest
import torch

from kinema.config import to_dict
from kinema.errors import ConfigError
from kinema.models import (PRESETS, STDiT, STDiTConfig, UNet3D, UNet3DConfig, backbone_config, backbone_config_class,
                           build_backbone, count_parameters)

COND_DIMS = dict(in_channels=4, out_channels=4, concat_channels=5, vector_dim=3, text_dim=1024)


def test_build_from_preset_dict_and_dataclass():
    model = build_backbone("stdit", {"preset": "tiny", "depth": 1, "attention": "full"})
    assert isinstance(model, STDiT) and model.config.depth == 1 and model.config.hidden_size == 32
    assert isinstance(build_backbone("unet3d", UNet3DConfig(base_channels=8, head_dim=8, channel_mult=(1,),
                                                            attention_levels=())), UNet3D)
    assert backbone_config_class("stdit") is STDiTConfig
    cfg = backbone_config("unet3d", {"preset": "small"})
    assert backbone_config("unet3d", to_dict(cfg)) == cfg  # a saved config rebuilds the same model


@pytest.mark.parametrize("call, words", [
    (lambda: build_backbone("unet2d", {}), ["'unet2d'", "stdit", "unet3d"]),
    (lambda: build_backbone("stdit", {"preset": "huge"}), ["'huge'", "tiny", "xl"]),
    (lambda: build_backbone("stdit", {"hidden_size": 30, "num_heads": 4}), ["hidden_size=30", "num_heads=4"]),
    (lambda: build_backbone("stdit", {"attention": "sparse"}), ["attention", "'sparse'", "full"]),
    (lambda: build_backbone("stdit", {"patch_size": [1, 2]}), ["patch_size"]),
    (lambda: build_backbone("stdit", {"hidden_sise": 32}), ["hidden_sise", "hidden_size"]),
    (lambda: build_backbone("unet3d", {"base_channels": 24, "head_dim": 32}), ["head_dim=32", "48"]),
    (lambda: build_backbone("unet3d", {"attention_levels": [5]}), ["attention_levels", "5"]),
    (lambda: build_backbone("unet3d", {"dropout": 1.5}), ["dropout=1.5"]),
    (lambda: build_backbone("stdit", UNet3DConfig()), ["STDiTConfig", "UNet3DConfig"]),
])
def test_bad_configs_raise_teaching_errors(call, words):
    with pytest.raises(ConfigError) as err:
        call()
    for w in words:
        assert w in str(err.value)


def test_tiny_presets_run_on_cpu():
    x, c_noise = torch.zeros(1, 4, 4, 16, 16), torch.zeros(1)
    for kind in PRESETS:
        model = build_backbone(kind, {"preset": "tiny"})
        assert model(x, c_noise, None).shape == x.shape
        assert count_parameters(model) < 1_000_000


def test_preset_sizes_grow_to_about_one_billion_parameters():
    counts = {}
    with torch.device("meta"):  # nothing is allocated: the largest presets are only counted
        for kind, presets in PRESETS.items():
            for name in presets:
                counts[kind, name] = count_parameters(build_backbone(kind, {"preset": name, **COND_DIMS}))
    print({k: f"{v / 1e6:.1f}M" for k, v in counts.items()})
    for kind, presets in PRESETS.items():
        sizes = [counts[kind, n] for n in presets]
        assert sizes == sorted(sizes), f"{kind} presets must grow: {sizes}"
        assert 0.8e9 < sizes[-1] < 1.3e9, f"largest {kind} preset has {sizes[-1]} parameters"


def test_count_parameters_trainable_only():
    model = build_backbone("stdit", {"preset": "tiny"})
    total = count_parameters(model)
    model.final_layer.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == total - count_parameters(model.final_layer)
