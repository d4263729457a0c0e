"""Invariants of kinema's RAFT-large that hold for any weights (agreement with torchvision's RAFT is
in tests/reference/test_ref_raft.py)."""

import math

import pytest
import torch

from kinema.errors import InputError
from kinema.eval.backbones.raft import MIN_SIZE, RAFT, InputPadder, load_raft, raft_flow, upsample_flow
from kinema.eval.backbones.raft_corr import CorrBlock, bilinear_sampler, coords_grid
from kinema.eval.backbones.raft_keys import load_raft_state_dict, strip_dataparallel

ITERS = 2


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = RAFT()
    g = torch.Generator().manual_seed(1)
    for bn in m.modules():
        if isinstance(bn, torch.nn.BatchNorm2d):
            bn.running_mean.copy_(torch.rand(bn.num_features, generator=g) - 0.5)
            bn.running_var.copy_(0.5 + torch.rand(bn.num_features, generator=g))
    return m.eval()


def frames(seed, shape):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)


def test_state_dict_has_the_original_keys():
    sd = RAFT().state_dict()
    assert len(sd) == 179
    assert "update_block.mask.2.weight" in sd and "fnet.conv2.weight" in sd
    # the shortcut norm is registered twice in the original, and the weight file holds both names
    assert sd["cnet.layer2.0.norm3.running_mean"].data_ptr() == sd["cnet.layer2.0.downsample.1.running_mean"].data_ptr()
    assert not any(k.startswith("fnet") and "norm" in k for k in sd)  # instance norm has no parameters


def test_dataparallel_keys_load_and_bad_keys_are_named(model):
    sd = {"module." + k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    fresh = RAFT()
    load_raft_state_dict(fresh, sd)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in strip_dataparallel(sd).items())
    del sd["module.update_block.gru.convq2.bias"]
    with pytest.raises(InputError, match="convq2.bias"):
        load_raft_state_dict(fresh, sd)


@pytest.mark.parametrize("size,pad", [((128, 128), [0, 0, 0, 0]), ((122, 133), [1, 2, 3, 3]),
                                      ((129, 135), [0, 1, 3, 4])])
def test_input_padder_sintel_split_replicates_and_unpads(size, pad):
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(0))
    padder = InputPadder(x.shape)
    assert padder._pad == pad
    (y,) = padder.pad(x)
    assert y.shape[-2] % 8 == 0 and y.shape[-1] % 8 == 0
    assert torch.equal(padder.unpad(y), x)
    left, top = pad[0], pad[2]
    assert torch.equal(y[..., :top, left:left + size[1]], x[..., :1, :].expand(-1, -1, top, -1))  # replicate


def test_input_padder_kitti_pads_only_the_bottom():
    assert InputPadder((1, 3, 122, 133), mode="kitti")._pad == [1, 2, 0, 6]


def test_flow_shape_padding_and_determinism(model):
    f1, f2 = frames(0, (2, 3, 122, 133)), frames(1, (2, 3, 122, 133))
    flow = raft_flow(model, f1, f2, iters=ITERS)
    assert flow.shape == (2, 2, 122, 133) and flow.dtype == torch.float32
    padded = raft_flow(model, f1, f2, iters=ITERS, unpad=False)
    assert padded.shape == (2, 2, 128, 136)
    assert torch.equal(padded[..., 3:125, 1:134], flow)
    assert torch.equal(raft_flow(model, f1, f2, iters=ITERS), flow)
    assert torch.isfinite(flow).all() and flow.abs().max() > 0


def test_uint8_and_float_frames_agree_and_batch_items_are_independent(model):
    f1, f2 = frames(2, (2, 3, 128, 128)), frames(3, (2, 3, 128, 128))
    batch = raft_flow(model, f1, f2, iters=ITERS)
    assert torch.equal(raft_flow(model, f1.float(), f2.float(), iters=ITERS), batch)
    single = raft_flow(model, f1[1], f2[1], iters=ITERS)  # (3, H, W) accepted as a batch of one
    assert torch.allclose(single, batch[1:], atol=1e-4 * max(1.0, batch.abs().max().item()))


def test_upsample_constant_flow_is_eight_times_it_inside():
    flow = torch.tensor([1.5, -0.25]).view(1, 2, 1, 1).expand(1, 2, 4, 5).contiguous()
    mask = torch.randn(1, 576, 4, 5, generator=torch.Generator().manual_seed(0))
    up = upsample_flow(flow, mask)  # convex weights: any mix of equal neighbours is that value
    assert up.shape == (1, 2, 32, 40)
    inner = up[..., 8:24, 8:32]
    assert torch.allclose(inner, 8 * flow[..., :1, :1].expand_as(inner), atol=1e-6)


def test_upsample_with_centre_mask_repeats_each_coarse_vector():
    flow = torch.randn(2, 2, 3, 4, generator=torch.Generator().manual_seed(1))
    mask = torch.full((2, 1, 9, 8, 8, 3, 4), -1e4)
    mask[:, :, 4] = 0.0  # all weight on the centre of the 3x3 neighbourhood
    up = upsample_flow(flow, mask.view(2, 576, 3, 4))
    assert torch.allclose(up, 8 * flow.repeat_interleave(8, dim=2).repeat_interleave(8, dim=3), atol=1e-5)


def test_bilinear_sampler_uses_pixel_coordinates_and_zero_outside():
    img = torch.arange(20.0).view(1, 1, 4, 5)
    coords = torch.tensor([[[[2.0, 1.0], [0.5, 3.0], [-3.0, 0.0]]]])  # (x, y)
    out = bilinear_sampler(img, coords).flatten().tolist()
    assert out == pytest.approx([img[0, 0, 1, 2].item(), 15.5, 0.0])


def test_correlation_lookup_window_order_follows_the_original():
    """At zero flow, level 0, channel i*(2r+1)+j holds <g1(u), g2(u + (dx_i, dy_j))> / sqrt(D):
    the first window index runs over x offsets (the original's ordering)."""
    g = torch.Generator().manual_seed(0)
    D, h, w, r = 8, 16, 16, 4
    f1, f2 = torch.randn(1, D, h, w, generator=g), torch.randn(1, D, h, w, generator=g)
    corr = CorrBlock(f1, f2)(coords_grid(1, h, w, torch.device("cpu")))
    assert corr.shape == (1, 4 * (2 * r + 1) ** 2, h, w)
    y, x = 7, 6
    for dx, dy in [(0, 0), (1, 0), (0, 1), (-3, 2)]:
        channel = (dx + r) * (2 * r + 1) + (dy + r)
        expected = (f1[0, :, y, x] * f2[0, :, y + dy, x + dx]).sum() / math.sqrt(D)
        assert corr[0, channel, y, x].item() == pytest.approx(expected.item(), abs=1e-5)


def test_bad_inputs_raise_input_errors(model):
    small = frames(0, (1, 3, MIN_SIZE - 8, 200))
    with pytest.raises(InputError, match="at least 128"):
        raft_flow(model, small, small)
    with pytest.raises(InputError, match=r"\(B, 3, H, W\)"):
        raft_flow(model, frames(0, (1, 128, 128, 3)), frames(0, (1, 128, 128, 3)))
    with pytest.raises(InputError, match="differ in shape"):
        raft_flow(model, frames(0, (1, 3, 128, 128)), frames(0, (1, 3, 128, 136)))
    with pytest.raises(InputError, match="iters"):
        raft_flow(model, frames(0, (1, 3, 128, 128)), frames(0, (1, 3, 128, 128)), iters=0)
    model.train()
    try:
        with pytest.raises(InputError, match="eval"):
            raft_flow(model, frames(0, (1, 3, 128, 128)), frames(0, (1, 3, 128, 128)))
    finally:
        model.eval()


def test_load_raft_names_the_missing_file(tmp_path):
    pytest.importorskip("kinema.eval.weights", reason="weights registry not in this checkout")
    with pytest.raises(InputError, match="raft"):
        load_raft(tmp_path / "no-such-raft-things.pth")
