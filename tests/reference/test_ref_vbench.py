"""VBench-I2V pieces against reference code: kinema's DINO ViT against timm's VisionTransformer
(DINO's ViT is timm's architecture; same state-dict keys), and kinema's torchvision-free
preprocessing against the torchvision transforms VBench composes (``vbench/utils.py``,
``vbench2_beta_i2v/utils.py``), then the subject-consistency pipeline end to end.

The non-square position-embedding resize is DINO's own (``scale_factor`` with +0.1), which timm
does not reproduce; ``test_dino_source_non_square`` checks it against facebookresearch/dino's
``vision_transformer.py`` when ``KINEMA_DINO_SRC`` names a directory holding that file (and
DINO's ``utils.py``).
"""

import importlib
import os
import sys

import numpy as np
import pytest
import torch

timm = pytest.importorskip("timm")
T = pytest.importorskip("torchvision.transforms")
from PIL import Image
from torchvision.transforms import InterpolationMode

from kinema.eval.backbones.vit import VisionTransformer, ViTConfig
from kinema.eval.vbench import preprocess as pp
from kinema.eval.vbench import subject_consistency
from kinema.eval.vbench.backbones import FrameFeatures

BICUBIC = InterpolationMode.BICUBIC
IMAGENET = T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CLIP = T.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))
DIV255 = T.Lambda(lambda x: x.float().div(255.0))


def frames(n, h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def vbench_tensor(video):
    """VBench's load_video: torch.Tensor(frames) (float32, 0..255), permuted to (T, 3, H, W)."""
    return torch.Tensor(video).permute(0, 3, 1, 2)


def timm_vit(cfg: ViTConfig, seed=0):
    torch.manual_seed(seed)
    return timm.models.vision_transformer.VisionTransformer(
        img_size=cfg.img_size, patch_size=cfg.patch_size, embed_dim=cfg.embed_dim, depth=cfg.depth,
        num_heads=cfg.num_heads, mlp_ratio=cfg.mlp_ratio, qkv_bias=True, num_classes=0, global_pool="token").eval()


def kinema_from(ref, cfg):
    vit = VisionTransformer(cfg).eval()
    vit.load_state_dict(ref.state_dict(), strict=True)
    return vit


def test_vit_b16_matches_timm():
    cfg = ViTConfig()  # ViT-B/16, DINO's dino_vitb16 architecture
    ref = timm_vit(cfg)
    vit = kinema_from(ref, cfg)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(vit(x), ref(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 48, 80), (1, 300, 180)])
def test_preprocessing_matches_torchvision(shape):
    video = frames(*shape)
    x = vbench_tensor(video)
    cases = [
        (pp.dino_frames, T.Compose([T.Resize(224, antialias=False), DIV255, IMAGENET])),
        (pp.dino_i2v_frames, T.Compose([T.Resize(256, interpolation=BICUBIC), T.CenterCrop(224), DIV255, IMAGENET])),
        (pp.clip_frames, T.Compose([T.Resize(224, interpolation=BICUBIC, antialias=False), T.CenterCrop(224),
                                    DIV255, CLIP])),
        (pp.dreamsim_frames, T.Compose([T.Resize((224, 224), interpolation=BICUBIC), DIV255])),
    ]
    for ours, ref in cases:
        torch.testing.assert_close(ours(video), ref(x), rtol=1e-5, atol=1e-5)


def test_image_preprocessing_matches_torchvision_pil():
    image = frames(1, 90, 130)[0]
    pil = Image.fromarray(image)
    ref = T.Compose([T.Resize(256, interpolation=BICUBIC), T.CenterCrop(224), T.ToTensor(), IMAGENET])(pil)
    torch.testing.assert_close(pp.dino_i2v_image(image), ref[None], rtol=0, atol=1e-6)
    ref = T.Compose([T.Resize((224, 224), interpolation=BICUBIC), T.ToTensor()])(pil)
    torch.testing.assert_close(pp.dreamsim_image(image), ref[None], rtol=0, atol=1e-6)


def test_musiq_longer_matches_vbench_transform():
    video = frames(2, 700, 530)
    x = vbench_tensor(video)
    scale = 512.0 / 700
    ref = T.Resize(size=(int(scale * 700), int(scale * 530)), antialias=False)(x) / 255.0
    torch.testing.assert_close(pp.musiq_frames(video, "longer"), ref, rtol=1e-6, atol=1e-6)


def vbench_subject_consistency(model, videos):
    """The loop of vbench/subject_consistency.py (one frame at a time, sim / cnt)."""
    transform = T.Compose([T.Resize(size=224, antialias=False), DIV255, IMAGENET])
    sim, cnt = 0.0, 0
    cos = torch.nn.functional.cosine_similarity
    for video in videos:
        first = former = None
        images = transform(vbench_tensor(video))
        for i in range(len(images)):
            with torch.no_grad():
                f = torch.nn.functional.normalize(model(images[i][None]), dim=-1, p=2)
            if i == 0:
                first = f
            else:
                sim += (max(0.0, cos(former, f).item()) + max(0.0, cos(first, f).item())) / 2
                cnt += 1
            former = f
    return sim / cnt


def test_subject_consistency_pipeline_matches_reference():
    cfg = ViTConfig(embed_dim=192, depth=2, num_heads=3)
    ref = timm_vit(cfg, seed=3)
    vit = kinema_from(ref, cfg)
    base = frames(1, 40, 40, seed=5)
    videos = [np.clip(base.astype(int) + frames(4, 40, 40, seed=s) // 8, 0, 255).astype(np.uint8) for s in (6, 7)]
    features = FrameFeatures(vit, pp.dino_frames, "dino-vit-test", "dino 224 short side")
    ours = subject_consistency(videos, features).value
    assert ours == pytest.approx(vbench_subject_consistency(ref, videos), rel=1e-5)


def test_dino_source_non_square():
    src = os.environ.get("KINEMA_DINO_SRC")
    if not src or not os.path.isfile(os.path.join(src, "vision_transformer.py")):
        pytest.skip("set KINEMA_DINO_SRC to a facebookresearch/dino checkout to compare non-square inputs")
    sys.path.insert(0, src)
    try:
        dino = importlib.import_module("vision_transformer")
    finally:
        sys.path.remove(src)
    torch.manual_seed(0)
    ref = dino.vit_small(patch_size=16, num_classes=0).eval()
    vit = VisionTransformer(ViTConfig(embed_dim=384, num_heads=6)).eval()
    vit.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(1, 3, 224, 398, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(vit(x), ref(x), rtol=1e-4, atol=1e-5)
