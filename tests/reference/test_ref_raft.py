"""kinema's RAFT-large agrees with torchvision's ``raft_large`` (a faithful port of princeton-vl/RAFT).

torchvision is the reference here because the original repository is not an installable package.
Its network matches the original in every numeric detail kinema relies on: instance-norm feature
encoder, batch-norm context encoder, correlation scaled by 1/sqrt(D), 4 levels of radius 4 sampled
with ``align_corners=True`` and the same (x-offset-first) window ordering, separable ConvGRU, mask
logits scaled by 0.25, convex upsampling. The differences are outside the network: torchvision takes
frames already in [-1, 1] and refuses sizes that are not multiples of 8, so the reference pipeline
below normalises and replicate-pads ('sintel' split) itself, as VBench's InputPadder does.

Run: cd /work/main && OMP_NUM_THREADS=1 .venv-ref/bin/python -m pytest tests/reference/test_ref_raft.py -q
"""

import pytest

pytest.importorskip("torchvision")

import torch
import torch.nn.functional as F
from torchvision.models.optical_flow import raft_large

from kinema.eval.backbones.raft import RAFT, load_raft, raft_flow
from kinema.eval.backbones.raft_keys import load_raft_state_dict, state_dict_from_torchvision

ITERS = 4


@pytest.fixture(scope="module")
def models():
    """Seeded random torchvision RAFT-large (batch-norm statistics randomised too) and kinema's copy."""
    torch.manual_seed(0)
    tv = raft_large(weights=None)
    g = torch.Generator().manual_seed(1)
    for m in tv.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.rand(c, generator=g) - 0.5)
            m.running_var.copy_(0.5 + torch.rand(c, generator=g))
            m.weight.data.copy_(0.5 + torch.rand(c, generator=g))
            m.bias.data.copy_(0.2 * torch.rand(c, generator=g) - 0.1)
    tv.eval()
    ours = RAFT()
    load_raft_state_dict(ours, state_dict_from_torchvision(tv.state_dict()))
    return tv, ours.eval()


def reference_flow(tv, frame1, frame2, iters):
    """uint8 (B, 3, H, W) pair -> torchvision flow (B, 2, H, W), with VBench's padding and scaling."""
    h, w = frame1.shape[-2:]
    ph, pw = (-h) % 8, (-w) % 8
    pad = [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2]
    a, b = (F.pad(f.float(), pad, mode="replicate") * (2 / 255) - 1 for f in (frame1, frame2))
    with torch.no_grad():
        flow = tv(a, b, num_flow_updates=iters)[-1]
    return flow[..., pad[2]:pad[2] + h, pad[0]:pad[0] + w]


def test_key_map_covers_every_parameter(models):
    tv, ours = models
    mapped = state_dict_from_torchvision(tv.state_dict())
    expected = ours.state_dict()
    assert set(mapped) == set(expected)
    assert all(mapped[k].shape == expected[k].shape for k in expected)
    assert len(expected) == 179  # as the original model (and raft-things.pth without "module.") has


def test_flow_matches_torchvision(models):
    tv, ours = models
    g = torch.Generator().manual_seed(2)
    frame1 = torch.randint(0, 256, (2, 3, 122, 133), generator=g, dtype=torch.uint8)  # padded to 128x136
    frame2 = torch.roll(frame1, shifts=(3, -2), dims=(2, 3))
    frame2[1] = torch.randint(0, 256, frame2[1].shape, generator=g, dtype=torch.uint8)
    expected = reference_flow(tv, frame1, frame2, ITERS)
    got = raft_flow(ours, frame1, frame2, iters=ITERS)
    assert got.shape == (2, 2, 122, 133)
    scale = expected.abs().max().item()
    assert scale > 0.1
    assert (got - expected).abs().max().item() <= 1e-4 * max(1.0, scale)


def test_float_frames_give_the_uint8_result(models):
    tv, ours = models
    g = torch.Generator().manual_seed(3)
    frame1 = torch.randint(0, 256, (1, 3, 128, 128), generator=g, dtype=torch.uint8)
    frame2 = torch.randint(0, 256, (1, 3, 128, 128), generator=g, dtype=torch.uint8)
    expected = reference_flow(tv, frame1, frame2, 2)
    got = raft_flow(ours, frame1.float(), frame2.double(), iters=2)
    assert (got - expected).abs().max().item() <= 1e-4 * max(1.0, expected.abs().max().item())


def test_load_raft_accepts_dataparallel_and_torchvision_files(models, tmp_path, monkeypatch):
    tv, ours = models
    pytest.importorskip("kinema.eval.weights")
    sd = ours.state_dict()
    dp_file, tv_file = tmp_path / "raft-things.pth", tmp_path / "raft_large_tv.pth"
    torch.save({"module." + k: v for k, v in sd.items()}, dp_file)
    torch.save(tv.state_dict(), tv_file)
    for path in (dp_file, tv_file):
        loaded = load_raft(path)
        assert not loaded.training
        assert all(torch.equal(loaded.state_dict()[k], v) for k, v in sd.items())
