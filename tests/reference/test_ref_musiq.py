"""kinema's MUSIQ agrees with pyiqa's (chaofengc/IQA-PyTorch ``pyiqa/archs/musiq_arch.py``), the
network VBench's imaging quality builds (``MUSIQ(pretrained_model_path=...)``, then
``model.training = False``), on its tokens, its scores and VBench's whole frame pipeline.

pyiqa 0.1.16 was installed into .venv-ref with ``pip install --no-deps pyiqa==0.1.16`` (its
declared dependencies include bitsandbytes, datasets, facexlib ...; MUSIQ needs none beyond torch,
torchvision and huggingface_hub). Networks get seeded random weights (``pretrained=False``), copied
unchanged into kinema's module (same keys). Small sizes: two transformer layers of width 64, and one
real-size network on a small image.

    cd /work/main && OMP_NUM_THREADS=1 .venv-ref/bin/python -m pytest tests/reference/test_ref_musiq.py -q
"""

import pytest

pytest.importorskip("pyiqa")

import numpy as np
import torch
from pyiqa.archs.musiq_arch import MUSIQ as RefMUSIQ
from pyiqa.data.multiscale_trans_util import get_multiscale_patches
from torchvision import transforms

from kinema.eval.backbones.musiq import MUSIQ, MusiqConfig, MusiqQuality
from kinema.eval.vbench.dimensions.quality import imaging_quality

TINY = {"hidden_size": 64, "mlp_dim": 96, "num_heads": 4, "num_layers": 2}


def pair(seed: int, **kw):
    """(pyiqa MUSIQ as VBench sets it up, kinema MUSIQ) with the same seeded random weights."""
    torch.manual_seed(seed)
    ref = RefMUSIQ(pretrained=False, **kw)
    ref.training = False  # what VBench does (top module only)
    cfg = MusiqConfig(**{("num_classes" if k == "num_class" else k): v for k, v in kw.items()})
    ours = MUSIQ(cfg).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


def images(seed, *shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("shape", [(1, 3, 40, 56), (2, 3, 97, 130), (1, 3, 512, 288), (1, 3, 17, 300)])
def test_tokens_match_pyiqa(shape):
    x = images(0, *shape) * 2 - 1
    ref = get_multiscale_patches(x, patch_size=32, patch_stride=32, hse_grid_size=10,
                                 longer_side_lengths=[224, 384], max_seq_len_from_original_res=-1)
    ours = MUSIQ(MusiqConfig(**TINY)).tokens((x + 1) / 2)
    assert torch.allclose(ours.patches, ref[..., :-3], atol=1e-6)
    assert torch.equal(ours.spatial, ref[..., -3].long())
    assert torch.equal(ours.scale, ref[..., -2].long())
    assert torch.equal(ours.mask, ref[..., -1].bool())


@pytest.mark.parametrize("shape", [(1, 3, 40, 56), (2, 3, 97, 130), (1, 3, 64, 64), (1, 3, 200, 130)])
def test_tiny_scores_match_pyiqa(shape):
    ref, ours = pair(0, **TINY)
    x = images(1, *shape)
    with torch.no_grad():
        want, got = ref(x).reshape(-1), ours(x)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-6), (got, want)


def test_other_options_match_pyiqa():
    """AVA's 10-bin head, 16 px patches, other scales and a capped native sequence."""
    kw = dict(TINY, num_class=10, patch_size=16, longer_side_lengths=[128, 64], max_seq_len_from_original_res=20)
    ref, ours = pair(1, **kw)
    x = images(2, 2, 3, 70, 90)
    with torch.no_grad():
        want, got = ref(x).reshape(-1), ours(x)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-6), (got, want)


def test_real_size_score_matches_pyiqa():
    ref, ours = pair(2)
    x = images(3, 1, 3, 48, 64)
    with torch.no_grad():
        want, got = ref(x).reshape(-1), ours(x)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-5), (got, want)


def vbench_imaging_quality(model, videos, mode="longer"):
    """VBench's ``technical_quality`` loop (``vbench/imaging_quality.py``) on uint8 (T, H, W, 3) videos."""
    per_video = []
    for v in videos:
        frames = torch.Tensor(v).permute(0, 3, 1, 2)  # load_video: torch.Tensor(uint8 array) is float32 0..255
        _, _, h, w = frames.shape
        if max(h, w) > 512:  # VBench's transform, mode 'longer'
            scale = 512.0 / max(h, w)
            frames = transforms.Resize(size=(int(scale * h), int(scale * w)), antialias=False)(frames)
        frames = frames / 255.0
        per_video.append(sum(float(model(frames[i].unsqueeze(0))) for i in range(len(frames))) / len(frames))
    return sum(per_video) / len(per_video) / 100.0, per_video


def test_vbench_imaging_quality_matches_pyiqa_pipeline():
    ref, ours = pair(3, **TINY)
    g = np.random.default_rng(0)
    videos = [g.integers(0, 256, (2, 300, 560, 3), dtype=np.uint8), g.integers(0, 256, (2, 72, 96, 3), dtype=np.uint8)]
    with torch.no_grad():
        want, want_videos = vbench_imaging_quality(ref, videos)
    got = imaging_quality(videos, quality=MusiqQuality(ours))
    assert np.allclose(got.per_video, [s / 100 for s in want_videos], rtol=1e-5, atol=1e-9)
    assert got.value == pytest.approx(want, rel=1e-5, abs=1e-9)
