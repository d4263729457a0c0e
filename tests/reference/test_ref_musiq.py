"""kinema's MUSIQ wrapper runs pyiqa's own network (chaofengc/IQA-PyTorch ``pyiqa/archs/musiq_arch.py``),
the one VBench's imaging quality builds (``MUSIQ(pretrained_model_path=...)``, then
``model.training = False``), and VBench's whole frame pipeline around it gives VBench's numbers.

pyiqa 0.1.16 was installed into .venv-ref with ``pip install --no-deps pyiqa==0.1.16`` (its
declared dependencies include bitsandbytes, datasets, facexlib ...; MUSIQ needs none beyond torch,
torchvision and huggingface_hub). Networks get seeded random weights (``pretrained=False``), written
to a file and read back through kinema's loader. Small sizes: two transformer layers of width 64.

    cd /work/main && OMP_NUM_THREADS=1 .venv-ref/bin/python -m pytest tests/reference/test_ref_musiq.py -q
"""

import pytest

pytest.importorskip("pyiqa")

import numpy as np
import torch
from pyiqa.archs.musiq_arch import MUSIQ as RefMUSIQ
from torchvision import transforms

from kinema.eval.backbones.musiq import MusiqQuality, load_musiq
from kinema.eval.vbench.dimensions.quality import imaging_quality

TINY = {"hidden_size": 64, "mlp_dim": 96, "num_heads": 4, "num_layers": 2}


def pair(seed: int, tmp_path, **kw):
    """(pyiqa MUSIQ as VBench sets it up, kinema's load_musiq of the same seeded random weights)."""
    torch.manual_seed(seed)
    ref = RefMUSIQ(pretrained=False, **kw)
    ref.training = False  # what VBench does (top module only)
    path = tmp_path / "musiq_spaq_ckpt-358bb6af.pth"
    torch.save(ref.state_dict(), path)
    return ref, load_musiq(path, config=kw)


def images(seed, *shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("shape", [(1, 3, 40, 56), (2, 3, 97, 130)])
def test_scores_equal_pyiqa(shape, tmp_path):
    ref, ours = pair(0, tmp_path, **TINY)
    x = images(1, *shape)
    with torch.no_grad():
        want = ref(x).reshape(-1)
    assert torch.equal(MusiqQuality(ours, batch_size=len(x))(x), want)


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


def test_vbench_imaging_quality_matches_pyiqa_pipeline(tmp_path):
    ref, ours = pair(3, tmp_path, **TINY)
    g = np.random.default_rng(0)
    videos = [g.integers(0, 256, (2, 300, 560, 3), dtype=np.uint8), g.integers(0, 256, (2, 72, 96, 3), dtype=np.uint8)]
    with torch.no_grad():
        want, want_videos = vbench_imaging_quality(ref, videos)
    got = imaging_quality(videos, quality=MusiqQuality(ours))
    assert np.allclose(got.per_video, [s / 100 for s in want_videos], rtol=1e-5, atol=1e-9)
    assert got.value == pytest.approx(want, rel=1e-5, abs=1e-9)
