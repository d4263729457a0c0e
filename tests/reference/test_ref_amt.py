"""kinema's AMT-S and its frame pipeline agree with the AMT code VBench vendors
(Vchitect/VBench ``vbench/third_party/amt``, used by ``vbench/motion_smoothness.py``).

kinema's network is MCG-NKU/AMT's own code from the checkout in ``KINEMA_AMT_SRC`` (CC-BY-NC-4.0,
not shipped). The reference is VBench's copy, imported from the directory named by
``KINEMA_VBENCH_SRC`` (a VBench checkout: it must contain ``vbench/third_party/amt``); the test
skips when either variable is unset. The ``vbench`` package's
own ``__init__`` (which pulls in every VBench dependency) is bypassed with empty stand-in packages,
removed again after the test. The network is built from ``cfgs/AMT-S.yaml`` as VBench builds it,
seeded, at its real size; kinema's AMT-S receives its state dict unchanged (same keys). Frames are
small (120 x 136, padded to 128 x 144: AMT-S needs at least 128 px, below which VBench's output is
NaN). The reference pipeline is VBench's ``motion_score`` loop written out with VBench's own
``img2tensor``, ``InputPadder``, ``tensor2img`` and ``cv2.absdiff``.

Reproduce (VBench commit 45e79ec was used; any checkout with the same ``third_party/amt`` works):

    git clone https://github.com/Vchitect/VBench /tmp/vbench_src
    # or, from a bare mirror: git --git-dir=<mirror> archive HEAD vbench/third_party/amt | tar -x -C /tmp/vbench_src
    git clone https://github.com/MCG-NKU/AMT /tmp/amt_src
    cd /work/main && KINEMA_VBENCH_SRC=/tmp/vbench_src KINEMA_AMT_SRC=/tmp/amt_src OMP_NUM_THREADS=1 \\
        .venv-ref/bin/python -m pytest tests/reference/test_ref_amt.py -q
"""

import importlib
import itertools
import os
import sys
import types
from pathlib import Path

import pytest

SRC = os.environ.get("KINEMA_VBENCH_SRC")
if not SRC or not os.environ.get("KINEMA_AMT_SRC"):
    pytest.skip("KINEMA_VBENCH_SRC (a VBench checkout holding vbench/third_party/amt) or KINEMA_AMT_SRC "
                "(an MCG-NKU/AMT checkout) is unset", allow_module_level=True)
pytest.importorskip("imageio")  # imported by VBench's amt/utils/utils.py
cv2 = pytest.importorskip("cv2")  # VBench's frame difference
yaml = pytest.importorskip("yaml")

import numpy as np
import torch

from kinema.eval.backbones.amt import AmtS, load_amt_state_dict
from kinema.eval.backbones.amt_interp import AmtInterpolator
from kinema.eval.vbench import motion_smoothness

H, W = 120, 136


@pytest.fixture(scope="module")
def reference():
    """(VBench's AMT-S module with seeded random weights, VBench's amt.utils.utils module)."""
    root = Path(SRC)
    amt_dir = root / "vbench" / "third_party" / "amt"
    if not (amt_dir / "networks" / "AMT-S.py").is_file():
        pytest.fail(f"KINEMA_VBENCH_SRC={SRC} has no vbench/third_party/amt/networks/AMT-S.py")
    before = set(sys.modules)
    for name, sub in (("vbench", "vbench"), ("vbench.third_party", "vbench/third_party")):
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(root / sub)]
        sys.modules[name] = pkg
    try:
        utils = importlib.import_module("vbench.third_party.amt.utils.utils")
        Model = importlib.import_module("vbench.third_party.amt.networks.AMT-S").Model
        params = yaml.safe_load((amt_dir / "cfgs" / "AMT-S.yaml").read_text())["network"]["params"]
        torch.manual_seed(0)
        model = Model(**params)
        g = torch.Generator().manual_seed(1)
        with torch.no_grad():  # PReLU slopes all start at 0.25: vary them so every slope is checked
            for m in model.modules():
                if isinstance(m, torch.nn.PReLU):
                    m.weight.copy_(0.05 + 0.4 * torch.rand(m.weight.shape, generator=g))
        yield model.eval(), utils
    finally:
        for name in set(sys.modules) - before:
            if name == "vbench" or name.startswith("vbench."):
                del sys.modules[name]


@pytest.fixture(scope="module")
def ours(reference):
    model = AmtS()
    load_amt_state_dict(model, reference[0].state_dict(), source="VBench AMT-S")
    return model.eval()


def video(seed, t):
    """A smooth-ish moving pattern plus noise, so interpolations are neither flat nor saturated."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    frames = [127 + 80 * torch.sin((xx + 3 * i) / 9.0)[..., None] * torch.cos(yy[..., None] / 13.0 + torch.arange(3))
              + 25 * torch.rand(H, W, 3, generator=g) for i in range(t)]
    return torch.stack(frames).clamp(0, 255).to(torch.uint8).numpy()  # (T, H, W, 3)


def vbench_scale(h, w):
    """``MotionSmoothness.initialization`` + ``motion_score`` on the branch VBench takes (device != 'cuda')."""
    anchor_resolution, anchor_memory, anchor_memory_bias, vram_avail = 8192 * 8192, 1, 0, 1
    scale = anchor_resolution / (h * w) * np.sqrt((vram_avail - anchor_memory_bias) / anchor_memory)
    scale = 1 if scale > 1 else scale  # noqa: FURB136 - VBench's line
    return 1 / np.floor(1 / np.sqrt(scale) * 16) * 16


def reference_middle_frames(reference, kept):
    """VBench ``motion_score`` (niters = 1) on kept frames (n, H, W, 3) -> the n-1 uint8 predictions."""
    model, utils = reference
    inputs = [utils.img2tensor(f) for f in kept]
    scale = vbench_scale(*inputs[0].shape[-2:])
    padder = utils.InputPadder(inputs[0].shape, int(16 / scale))
    inputs = padder.pad(*inputs)
    embt = torch.tensor(1 / 2).float().view(1, 1, 1, 1)
    preds = []
    for in_0, in_1 in itertools.pairwise(inputs):
        with torch.no_grad():
            preds.append(model(in_0, in_1, embt, scale_factor=scale, eval=True)["imgt_pred"].cpu())
    return np.stack([utils.tensor2img(p) for p in padder.unpad(*preds)])


def reference_smoothness(reference, frames):
    """VBench's per-video score: interpolate kept frames 0, 2, ..., compare with 1, 3, ... (cv2.absdiff)."""
    preds = reference_middle_frames(reference, frames[0::2])
    held = frames[1::2]
    vfi = np.mean([np.mean(cv2.absdiff(held[i], preds[i])) for i in range(len(preds))])
    return (255.0 - vfi) / 255.0


def test_state_dict_keys_equal_the_reference(reference):
    ref_sd, our_sd = reference[0].state_dict(), AmtS().net.state_dict()
    assert list(ref_sd) == list(our_sd)
    assert all(ref_sd[k].shape == our_sd[k].shape for k in ref_sd)


def test_middle_frames_are_identical(reference, ours):
    frames = video(0, 5)
    expected = reference_middle_frames(reference, frames[0::2])  # (2, H, W, 3)
    got = AmtInterpolator(ours)(frames[0::2][:-1], frames[0::2][1:]).numpy()
    inside = ((expected > 0) & (expected < 255)).mean()
    assert inside > 0.5  # the comparison is not decided by the clamp
    np.testing.assert_array_equal(got, expected)
    batched = AmtInterpolator(ours, batch_size=2)(frames[0::2][:-1], frames[0::2][1:]).numpy()
    diff = np.abs(batched.astype(int) - expected.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3  # batching only changes float rounding


def test_network_output_with_rescaling_matches(reference, ours):
    """The ``scale_factor != 1`` path (VBench takes it only for frames over 8192^2 px)."""
    g = torch.Generator().manual_seed(2)
    a, b = torch.rand(1, 3, 256, 256, generator=g), torch.rand(1, 3, 256, 256, generator=g)
    embt = torch.tensor(0.5).view(1, 1, 1, 1)
    with torch.no_grad():
        expected = reference[0](a, b, embt, scale_factor=0.5, eval=True)["imgt_pred"]
        got = ours(a, b, embt, scale_factor=0.5)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def test_motion_smoothness_score_matches_vbench(reference, ours):
    videos = [video(1, 6), video(2, 5)]  # even T: the last held-out frame has no prediction
    expected = [reference_smoothness(reference, v) for v in videos]
    score = motion_smoothness(videos, interpolate=AmtInterpolator(ours))
    np.testing.assert_allclose(score.per_video, expected, rtol=0, atol=1e-12)
    assert score.value == pytest.approx(np.mean(expected), abs=1e-12)
