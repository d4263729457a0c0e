"""Invariants of kinema's MUSIQ and its multi-scale tokens that hold for any weights (agreement with
pyiqa's MUSIQ, the network VBench's imaging quality runs, is in tests/reference/test_ref_musiq.py)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.musiq import (
    MUSIQ,
    MUSIQ_SPAQ,
    MusiqConfig,
    MusiqQuality,
    load_musiq,
    load_musiq_state_dict,
)
from kinema.eval.backbones.musiq_layers import StdConv, same_pad
from kinema.eval.backbones.musiq_patches import (
    Tokens,
    hashed_positions,
    multiscale_patches,
    scaled_size,
)
from kinema.eval.vbench.dimensions.quality import imaging_quality

TINY = MusiqConfig(hidden_size=32, mlp_dim=48, num_heads=4, num_layers=2)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return MUSIQ(TINY).eval()


def images(seed, *shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def test_state_dict_has_the_released_layout():
    sd = MUSIQ().state_dict()
    assert len(sd) == 248
    assert sum(v.numel() for v in sd.values()) == 27_125_825  # "27M" parameters (paper Table 1)
    assert sd["embedding.weight"].shape == (384, 256 * 8 * 8)  # 8 x 8 x 256 stem map per 32 px patch
    assert sd["transformer_encoder.posembed_input.position_emb"].shape == (1, 100, 384)  # G = 10
    assert sd["transformer_encoder.scaleembed_input.scale_emb"].shape == (3, 384)  # 224, 384, native
    assert sd["head.weight"].shape == (1, 384)  # SPAQ: one score
    assert {"block1.conv_proj.weight", "transformer_encoder.cls", "transformer_encoder.encoder_norm.bias",
            "transformer_encoder.transformer.encoderblock_13.attention.query.weight",
            "transformer_encoder.transformer.encoderblock_0.attention.out.bias"} <= set(sd)
    assert MUSIQ(MusiqConfig(num_classes=10)).state_dict()["head.0.weight"].shape == (10, 384)  # AVA head


@pytest.mark.parametrize("h,w,side,want", [(512, 288, 224, (224, 126)), (288, 512, 384, (216, 384)),
                                           (40, 56, 224, (160, 224)), (100, 100, 384, (384, 384)),
                                           (97, 130, 224, (167, 224))])
def test_scaled_size_keeps_the_aspect_ratio_and_rounds(h, w, side, want):
    assert scaled_size(h, w, side) == want


def test_hashed_positions_resample_the_grid_by_nearest_neighbour():
    assert hashed_positions(10, 1, 10).tolist() == list(range(10))
    assert hashed_positions(10, 1, 5).tolist() == [0, 2, 4, 6, 8]
    assert hashed_positions(10, 1, 20).tolist() == [i // 2 for i in range(20)]
    assert hashed_positions(10, 1, 7).tolist() == [math.floor(i * 10 / 7) for i in range(7)]
    grid = hashed_positions(10, 3, 4).reshape(3, 4)  # row-major, index = row * G + col
    assert grid.tolist() == [[r * 10 + c for c in (0, 2, 5, 7)] for r in (0, 3, 6)]


@pytest.mark.parametrize("size,kernel,stride,pad", [(32, 7, 2, (2, 3)), (16, 3, 2, (0, 1)), (40, 32, 32, (12, 12)),
                                                    (33, 32, 32, (15, 16)), (8, 1, 1, (0, 0))])
def test_same_pad_gives_tensorflow_output_sizes(size, kernel, stride, pad):
    x = torch.ones(1, 1, size, size)
    y = same_pad(x, kernel, stride)
    assert y.shape[-1] == size + sum(pad)
    assert y[0, 0, pad[0], pad[0]] == 1 and (pad[0] == 0 or y[0, 0, 0, 0] == 0)
    assert F.max_pool2d(y, kernel, stride).shape[-1] == math.ceil(size / stride)


def test_std_conv_standardises_each_filter():
    torch.manual_seed(0)
    conv = StdConv(4, 8, 3)
    x = torch.randn(2, 4, 9, 9)
    w = conv.weight.detach()
    std_w = (w - w.mean((1, 2, 3), keepdim=True)) / (w.std((1, 2, 3), keepdim=True) + 1e-5)
    want = F.conv2d(F.pad(x, (1, 1, 1, 1)), std_w)
    assert torch.allclose(conv(x), want, atol=1e-5)
    with torch.no_grad():  # an affine change of a filter is undone by the standardisation
        conv.weight.mul_(3.0).add_(0.5)
    assert torch.allclose(conv(x), want, rtol=1e-3, atol=1e-3)  # up to the 1e-5 in the denominator


def test_tokens_of_each_scale_are_laid_out_in_order():
    x = images(0, 2, 3, 64, 96)
    t = multiscale_patches(x)
    native = 2 * 3
    assert t.patches.shape == (2, 49 + 144 + native, 3 * 32 * 32)
    assert t.scale[0][t.mask[0]].tolist() == [0] * 35 + [1] * 96 + [2] * native
    # 224 scale: 150 x 224 -> 5 x 7 = 35 real patches; 384 scale: 256 x 384 -> 8 x 12 = 96
    assert t.mask[0].tolist() == [True] * 35 + [False] * 14 + [True] * 96 + [False] * 48 + [True] * native
    pad = ~t.mask
    assert (t.patches[pad] == 0).all() and (t.spatial[pad] == 0).all() and (t.scale[pad] == 0).all()
    assert t.spatial[0, 193:].tolist() == hashed_positions(10, 2, 3).tolist()


def test_native_patches_are_the_image_blocks_channel_major():
    x = images(1, 1, 3, 64, 96)
    t = multiscale_patches(x, longer_side_lengths=())
    assert t.patches.shape == (1, 6, 3 * 32 * 32)
    blocks = x.reshape(1, 3, 2, 32, 3, 32).permute(0, 2, 4, 1, 3, 5).reshape(1, 6, -1)  # (row, col) major
    assert torch.equal(t.patches, blocks)
    cut = multiscale_patches(x, longer_side_lengths=(), max_seq_len_from_original_res=4)
    assert torch.equal(cut.patches, blocks[:, :4])
    assert multiscale_patches(x, longer_side_lengths=(224,), max_seq_len_from_original_res=None).patches.shape[1] == 49


def test_native_tokens_are_zero_padded_tf_same():
    x = images(2, 1, 3, 40, 40)  # 2 x 2 patches; 24 pad pixels split 12 / 12
    t = multiscale_patches(x, longer_side_lengths=())
    first = t.patches[0, 0].reshape(3, 32, 32)
    assert (first[:, :12] == 0).all() and (first[:, :, :12] == 0).all()
    assert torch.equal(first[:, 12:, 12:], x[0, :, :20, :20])


def test_padding_tokens_do_not_change_the_score(tiny):
    x = images(3, 2, 3, 48, 80)
    tokens = tiny.tokens(x)
    pad = ~tokens.mask
    g = torch.Generator().manual_seed(4)
    noisy = Tokens(tokens.patches + pad[..., None] * torch.randn(tokens.patches.shape, generator=g),
                   torch.where(pad, 37, tokens.spatial), torch.where(pad, 2, tokens.scale), tokens.mask)
    with torch.no_grad():
        assert torch.allclose(tiny.score(noisy), tiny.score(tokens), atol=1e-6)
        assert torch.allclose(tiny.score(noisy), tiny(x), atol=1e-6)


def test_scores_are_per_image(tiny):
    x = images(5, 3, 3, 50, 70)
    with torch.no_grad():
        batched = tiny(x)
        single = torch.cat([tiny(x[i:i + 1]) for i in range(3)])
    assert batched.shape == (3,)
    assert torch.allclose(batched, single, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(batched[0], batched[1])


def test_ava_head_gives_the_mean_of_a_ten_bin_distribution():
    torch.manual_seed(1)
    model = MUSIQ(MusiqConfig(hidden_size=32, mlp_dim=32, num_heads=2, num_layers=1, num_classes=10)).eval()
    x = images(6, 2, 3, 40, 40)
    with torch.no_grad():
        tokens = model.tokens(x)
        cls = model.transformer_encoder(model.embed_patches(tokens.patches), tokens)[:, 0]
        p = torch.softmax(model.head[0](cls), dim=-1)
        assert torch.allclose(model(x), (p * torch.arange(1, 11)).sum(-1), atol=1e-5)
    assert ((model(x) > 1) & (model(x) < 10)).all()


def test_config_errors_name_the_bad_value():
    with pytest.raises(ConfigError, match="patch_size"):
        MusiqConfig(patch_size=30)
    with pytest.raises(ConfigError, match="num_heads 5"):
        MusiqConfig(num_heads=5)
    with pytest.raises(ConfigError, match="num_scales=2"):
        MusiqConfig(num_scales=2)
    assert MusiqConfig(num_scales=2, max_seq_len_from_original_res=None).num_scales == 2


def test_load_musiq_reads_pyiqa_files(tmp_path):
    torch.manual_seed(2)
    sd = MUSIQ(TINY).state_dict()
    path = tmp_path / "musiq_spaq_ckpt-358bb6af.pth"
    torch.save({f"module.{k}": v for k, v in sd.items()}, path)  # DataParallel prefix, dropped as pyiqa does
    model = load_musiq(path, config=TINY)
    assert not model.training
    assert all(torch.equal(model.state_dict()[k], v) for k, v in sd.items())


def test_missing_weight_file_and_bad_keys_are_named(tmp_path):
    with pytest.raises(InputError, match="absent.pth") as e:
        load_musiq(tmp_path / "absent.pth")
    assert "\n" not in str(e.value)
    sd = MUSIQ(TINY).state_dict()
    del sd["head.bias"]
    with pytest.raises(InputError, match="head.bias"):
        load_musiq_state_dict(MUSIQ(TINY), sd)
    with pytest.raises(InputError, match=r"of other shapes \['embedding.weight \(32, 16384\) != \(384, 16384\)"):
        load_musiq_state_dict(MUSIQ(MUSIQ_SPAQ), MUSIQ(TINY).state_dict())


def test_quality_callable_serves_vbench_imaging_quality(tiny):
    quality = MusiqQuality(tiny, batch_size=2)
    assert quality.backbone_id == "musiq-spaq" and "224 and 384" in quality.preprocessing
    x = images(7, 3, 3, 40, 64)
    with torch.no_grad():
        assert torch.allclose(quality(x), tiny(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="torch.uint8"):
        quality((x * 255).to(torch.uint8))

    g = np.random.default_rng(0)
    videos = [g.integers(0, 256, (2, 40, 64, 3), dtype=np.uint8) for _ in range(2)]
    score = imaging_quality(videos, quality=quality)
    with torch.no_grad():
        want = [float(tiny(torch.from_numpy(v).permute(0, 3, 1, 2).float() / 255).mean()) / 100 for v in videos]
    assert np.allclose(score.per_video, want, rtol=1e-5)
    assert score.protocol["backbone"] == "musiq-spaq"


def test_default_backbones_wires_musiq(tmp_path):
    import inspect

    from kinema.eval.vbench import default_backbones

    missing = tmp_path / "absent.pth"
    others = {name: missing for name in inspect.signature(default_backbones).parameters
              if name.endswith("_path") and name != "musiq_path"}
    b = default_backbones(musiq_path=missing, **others)
    assert b.quality is None and "absent.pth" in b.missing["quality"]
    path = tmp_path / "musiq_spaq_ckpt-358bb6af.pth"
    torch.save(MUSIQ().state_dict(), path)
    b = default_backbones(musiq_path=path, **others)
    assert isinstance(b.quality, MusiqQuality) and "quality" not in b.missing
