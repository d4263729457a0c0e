"""kinema's MUSIQ wrapper (VBench imaging quality): pyiqa's own network code, from an installed pyiqa or
the checkout in KINEMA_PYIQA_SRC (not shipped: PolyForm-Noncommercial-1.0.0). Without it the error paths
and the protocol (on a stand-in network) run; with it, pyiqa's MUSIQ checks the released layout.
Agreement with VBench's whole loop is in tests/reference/test_ref_musiq.py."""

import inspect
import sys

import numpy as np
import pytest
import torch

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.musiq import (
    MusiqQuality,
    load_musiq,
    load_musiq_state_dict,
    musiq_arch,
    musiq_network,
)
from kinema.eval.vbench.dimensions.quality import imaging_quality

TINY = {"hidden_size": 32, "mlp_dim": 48, "num_heads": 4, "num_layers": 2}
try:
    musiq_arch()
    HAS_SRC = True
except ConfigError:
    HAS_SRC = False
needs_src = pytest.mark.skipif(not HAS_SRC, reason="no pyiqa: install it or set KINEMA_PYIQA_SRC (chaofengc/IQA-PyTorch)")


class StandIn(torch.nn.Module):
    """pyiqa MUSIQ's interface: (B, 3, H, W) in [0, 1] -> (B, 1); a score of 100 x the pixel mean."""

    def __init__(self):
        super().__init__()
        self.data_preprocess_opts = {"patch_size": 32, "hse_grid_size": 10, "longer_side_lengths": [224, 384]}
        self.gain = torch.nn.Parameter(torch.tensor(100.0))

    def forward(self, x):
        return self.gain * x.mean((1, 2, 3))[:, None]


def images(seed, *shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def no_pyiqa(monkeypatch):
    monkeypatch.delenv("KINEMA_PYIQA_SRC", raising=False)
    monkeypatch.setitem(sys.modules, "pyiqa.archs.musiq_arch", None)  # import raises ImportError


def test_missing_code_is_one_line_config_error(monkeypatch, tmp_path):
    no_pyiqa(monkeypatch)
    with pytest.raises(ConfigError, match="KINEMA_PYIQA_SRC") as e:
        musiq_network()
    assert "\n" not in str(e.value) and "PolyForm-Noncommercial-1.0.0" in str(e.value) and "pip install" in str(e.value)
    with pytest.raises(ConfigError, match="has no pyiqa/archs/musiq_arch.py"):
        musiq_network(tmp_path)


def test_missing_weight_file_and_bad_keys_are_named(tmp_path):
    with pytest.raises(InputError, match="absent.pth") as e:
        load_musiq(tmp_path / "absent.pth")
    assert "\n" not in str(e.value)
    sd = StandIn().state_dict()
    with pytest.raises(InputError, match="gain"):
        load_musiq_state_dict(StandIn(), {})
    with pytest.raises(InputError, match=r"of other shapes \['gain \(2,\) != \(\)"):
        load_musiq_state_dict(StandIn(), {"gain": torch.zeros(2)})
    load_musiq_state_dict(model := StandIn(), {"module.gain": sd["gain"] * 2})  # DataParallel prefix dropped
    assert model.gain == 200


def test_quality_callable_serves_vbench_imaging_quality():
    net = StandIn()
    quality = MusiqQuality(net, batch_size=2)
    assert quality.backbone_id == "musiq-spaq" and "224 and 384" in quality.preprocessing
    x = images(7, 3, 3, 40, 64)
    assert torch.allclose(quality(x), 100 * x.mean((1, 2, 3)), rtol=1e-6)
    with pytest.raises(InputError, match="torch.uint8"):
        quality((x * 255).to(torch.uint8))
    g = np.random.default_rng(0)
    videos = [g.integers(0, 256, (2, 40, 64, 3), dtype=np.uint8) for _ in range(2)]
    score = imaging_quality(videos, quality=quality)
    assert np.allclose(score.per_video, [v.mean() / 255 for v in videos], rtol=1e-5)
    assert score.protocol["backbone"] == "musiq-spaq"


def test_default_backbones_wires_musiq(monkeypatch, tmp_path):
    from kinema.eval.vbench import default_backbones

    missing = tmp_path / "absent.pth"
    others = {name: missing for name in inspect.signature(default_backbones).parameters
              if name.endswith("_path") and name != "musiq_path"}
    b = default_backbones(musiq_path=missing, **others)
    assert b.quality is None and "absent.pth" in b.missing["quality"]
    path = tmp_path / "musiq_spaq_ckpt-358bb6af.pth"
    torch.save(StandIn().state_dict(), path)
    with monkeypatch.context() as m:
        no_pyiqa(m)
        b = default_backbones(musiq_path=path, **others)
    assert b.quality is None and "KINEMA_PYIQA_SRC" in b.missing["quality"]
    if HAS_SRC:
        torch.save(musiq_network().state_dict(), path)
        b = default_backbones(musiq_path=path, **others)
        assert isinstance(b.quality, MusiqQuality) and "quality" not in b.missing


@needs_src
def test_state_dict_has_the_released_layout():
    sd = musiq_network().state_dict()
    assert len(sd) == 248
    assert sum(v.numel() for v in sd.values()) == 27_125_825  # "27M" parameters (paper Table 1)
    assert sd["embedding.weight"].shape == (384, 256 * 8 * 8)  # 8 x 8 x 256 stem map per 32 px patch
    assert sd["transformer_encoder.posembed_input.position_emb"].shape == (1, 100, 384)  # G = 10
    assert sd["head.weight"].shape == (1, 384)  # SPAQ: one score


@needs_src
def test_load_musiq_reads_pyiqa_files_and_scores_per_image(tmp_path):
    torch.manual_seed(2)
    sd = musiq_network(**TINY).state_dict()
    path = tmp_path / "musiq_spaq_ckpt-358bb6af.pth"
    torch.save({f"module.{k}": v for k, v in sd.items()}, path)  # DataParallel prefix, dropped as pyiqa does
    model = load_musiq(path, config=TINY)
    assert not model.training
    assert all(torch.equal(model.state_dict()[k], v) for k, v in sd.items())
    x = images(5, 3, 3, 50, 70)
    batched, single = MusiqQuality(model, batch_size=3)(x), MusiqQuality(model)(x)
    assert batched.shape == (3,) and torch.allclose(batched, single, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(batched[0], batched[1])
