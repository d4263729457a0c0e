"""Invariants of VBench's frame pipeline around AMT-S that hold for any weights. The network is
MCG-NKU/AMT's own code from the checkout in KINEMA_AMT_SRC (not shipped: CC-BY-NC-4.0); without it
only the pipeline's pieces and the error paths run. Agreement with VBench is in
tests/reference/test_ref_amt.py."""

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.amt import MIN_SIZE, AmtS, load_amt, load_amt_state_dict
from kinema.eval.backbones.amt_interp import (
    AmtInterpolator,
    AmtPadder,
    quantise,
    vbench_scale,
)

TINY = {"corr_lvls": 3, "num_flows": 2}  # 3 correlation levels so 64 px frames suffice; AMT-S needs 128 px
HAS_SRC = bool(os.environ.get("KINEMA_AMT_SRC"))
needs_src = pytest.mark.skipif(not HAS_SRC, reason="KINEMA_AMT_SRC is not set (MCG-NKU/AMT checkout)")


@pytest.fixture(scope="module")
def tiny():
    if not HAS_SRC:
        pytest.skip("KINEMA_AMT_SRC is not set (MCG-NKU/AMT checkout)")
    torch.manual_seed(0)
    return AmtS(**TINY).eval()


def frames(seed, shape):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)


def test_missing_checkout_is_one_line_config_error(monkeypatch, tmp_path):
    monkeypatch.delenv("KINEMA_AMT_SRC", raising=False)
    with pytest.raises(ConfigError, match="KINEMA_AMT_SRC") as e:
        AmtS()
    assert "\n" not in str(e.value) and "CC-BY-NC-4.0" in str(e.value)
    with pytest.raises(ConfigError, match="has no networks/AMT-S.py"):
        AmtS(tmp_path)


@needs_src
def test_state_dict_has_the_released_layout():
    sd = AmtS().net.state_dict()
    assert len(sd) == 213
    assert sum(v.numel() for v in sd.values()) == 2_990_543  # AMT-S: "3.0M" parameters in the paper
    assert sd["update2.convc1.weight"].shape == (64, 2 * 4 * 7**2, 1, 1)  # both directions, 4 levels, r = 3
    assert sd["decoder1.convblock.2.weight"].shape == (60, 8 * 3, 4, 4)  # 3 flow pairs, masks, residuals
    assert sd["feat_encoder.conv2.weight"].shape == (84, 96, 1, 1)
    assert {"feat_encoder.layer2.0.downsample.0.weight", "encoder.pyramid4.1.1.weight", "comb_block.1.weight",
            "decoder4.convblock.1.conv5.bias", "update4.flow_head.2.bias"} <= set(sd)
    assert not any("norm" in k for k in sd)  # instance norm carries no parameters


@needs_src
def test_load_amt_reads_the_released_file_format(tmp_path):
    torch.manual_seed(1)
    sd = AmtS().net.state_dict()
    path = tmp_path / "amt-s.pth"
    torch.save({"state_dict": sd}, path)  # MCG-NKU/AMT checkpoints nest the weights under "state_dict"
    model = load_amt(path)
    assert not model.training
    assert all(torch.equal(model.net.state_dict()[k], v) for k, v in sd.items())


def test_missing_weight_file_is_named(tmp_path):
    with pytest.raises(InputError, match="absent.pth") as e:
        load_amt(tmp_path / "absent.pth")
    assert "\n" not in str(e.value)


@needs_src
def test_bad_keys_are_named():
    sd = AmtS().net.state_dict()
    del sd["comb_block.2.bias"]
    with pytest.raises(InputError, match="comb_block.2.bias"):
        load_amt_state_dict(AmtS(), sd)


@pytest.mark.parametrize("size,pad", [((128, 128), [0, 0, 0, 0]), ((120, 137), [3, 4, 4, 4]),
                                      ((113, 129), [7, 8, 7, 8])])
def test_padder_splits_evenly_replicates_and_unpads(size, pad):
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(0))
    padder = AmtPadder(size)
    assert padder._pad == pad
    y = padder.pad(x)
    assert y.shape[-2] % 16 == 0 and y.shape[-1] % 16 == 0
    assert torch.equal(padder.unpad(y), x)
    left, top = pad[0], pad[2]
    assert torch.equal(y[..., :top, left:left + size[1]], x[..., :1, :].expand(-1, -1, top, -1))


def test_vbench_scale_only_shrinks_beyond_8192_squared():
    assert vbench_scale(320, 512) == vbench_scale(8192, 8192) == 1.0
    assert vbench_scale(10_000, 10_000) == pytest.approx(16 / 19)  # 16 / floor(16 / sqrt(0.671))


def test_quantise_truncates_like_tensor2img():
    x = torch.tensor([0.0, 0.5, 0.999, 1.0, 3.5 / 255]).view(1, 1, 1, 5).expand(1, 3, 1, 5)
    assert quantise(x)[0, 0, :, 0].tolist() == [0, 127, 254, 255, 3]


def test_interpolator_shapes_dtype_determinism_and_batching(tiny):
    f0, f1 = frames(0, (3, 60, 70, 3)), frames(1, (3, 60, 70, 3))
    out = AmtInterpolator(tiny)(f0, f1)
    assert out.shape == (3, 60, 70, 3) and out.dtype == torch.uint8
    assert torch.equal(AmtInterpolator(tiny)(f0.numpy(), f1.numpy()), out)  # numpy in, same frames out
    batched = AmtInterpolator(tiny, batch_size=2)(f0, f1)
    assert (batched.int() - out.int()).abs().max() <= 1  # only float rounding differs between batch sizes
    assert out.float().std() > 0


def test_interpolator_is_pad_network_unpad_truncate(tiny):
    f0, f1 = frames(2, (2, 60, 70, 3)), frames(3, (2, 60, 70, 3))
    pad = [5, 5, 2, 2]  # 70 -> 80 and 60 -> 64, odd pixel bottom/right
    a, b = (F.pad(f.permute(0, 3, 1, 2) / 255.0, pad, mode="replicate") for f in (f0, f1))
    with torch.no_grad():
        y = tiny(a, b, torch.full((1, 1, 1, 1), 0.5))[..., 2:62, 5:75] * 255.0
    expected = torch.floor(y).to(torch.uint8).permute(0, 2, 3, 1)
    assert not torch.equal(torch.round(y), torch.floor(y))  # so truncation vs rounding is tested
    out = AmtInterpolator(tiny)(f0, f1)
    # equal up to float rounding: BLAS results may differ in the last bits between calls (memory
    # alignment, CPU model), which flips floor() only where y sits on an integer
    off = out.int() - expected.int()
    assert off.abs().max() <= 1 and (off != 0).float().mean() < 0.01  # rounding would be off in ~50%


@needs_src
def test_static_flat_scene_with_zeroed_heads_is_reproduced():
    """With no residual and no merge correction, a flat frame warps to itself and the mean is added
    back, so the middle frame is the input (truncation may take 1 off)."""
    torch.manual_seed(3)
    model = AmtS(**TINY).eval()
    with torch.no_grad():
        for conv in (model.net.decoder1.convblock[2], model.net.comb_block[2]):
            conv.weight.zero_()
            conv.bias.zero_()
    flat = torch.full((1, 64, 64, 3), 0, dtype=torch.uint8) + torch.tensor([30, 140, 251], dtype=torch.uint8)
    out = AmtInterpolator(model)(flat, flat).int()
    assert ((flat.int() - out >= 0) & (flat.int() - out <= 1)).all()


def test_rescaled_forward_keeps_the_frame_size(tiny):
    a, b = (frames(s, (1, 3, 128, 128)).float() / 255 for s in (4, 5))
    with torch.no_grad():
        y = tiny(a, b, torch.full((1, 1, 1, 1), 0.5), scale_factor=0.5)
    assert y.shape == a.shape and y.min() >= 0 and y.max() <= 1


def test_small_or_bad_frames_are_refused(tiny):
    with pytest.raises(InputError, match=str(MIN_SIZE)):
        AmtInterpolator(AmtS().eval())(frames(0, (1, 100, 140, 3)), frames(1, (1, 100, 140, 3)))
    with pytest.raises(InputError, match="64"):
        AmtInterpolator(tiny)(frames(0, (1, 40, 64, 3)), frames(1, (1, 40, 64, 3)))
    with pytest.raises(InputError, match="uint8"):
        AmtInterpolator(tiny)(torch.zeros(1, 64, 64, 3), torch.zeros(1, 64, 64, 3))
    with pytest.raises(InputError, match="differ"):
        AmtInterpolator(tiny)(frames(0, (1, 64, 64, 3)), frames(1, (2, 64, 64, 3)))
    with pytest.raises(InputError, match="batch_size"):
        AmtInterpolator(tiny, batch_size=0)


def test_motion_smoothness_with_amt(tiny):
    from kinema.eval.vbench import motion_smoothness

    video = frames(6, (5, 64, 64, 3)).numpy()
    interp = AmtInterpolator(tiny)
    score = motion_smoothness([video], interpolate=interp)
    pred = interp(video[[0, 2]], video[[2, 4]]).numpy().astype(int)
    vfi = np.mean([np.abs(pred[i] - video[2 * i + 1].astype(int)).mean() for i in range(2)])
    assert score.value == pytest.approx((255 - vfi) / 255, abs=1e-12)
    assert score.protocol["backbone"] == "amt-s"


@needs_src
def test_default_backbones_wires_amt(tmp_path):
    from kinema.eval.vbench import default_backbones

    missing = tmp_path / "absent.pth"
    others = {name: missing for name in ("dino_path", "clip_b32_path", "clip_l14_path", "aesthetic_path", "raft_path")}
    b = default_backbones(amt_path=missing, **others)
    assert b.interpolate is None and "absent.pth" in b.missing["interpolate"]
    path = tmp_path / "amt-s.pth"
    torch.save({"state_dict": AmtS().net.state_dict()}, path)
    b = default_backbones(amt_path=path, **others)
    assert isinstance(b.interpolate, AmtInterpolator) and "interpolate" not in b.missing
