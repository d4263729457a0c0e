"""kinema's three FVDs agree with the reference code paths on randomly initialised backbones.

* ``fvd-tats`` / ``fvd-videomae``: cd-fvd's own pipeline (``cdfvd.fvd.cdfvd.compute_fvd`` on uint8
  arrays: its ``preprocess_i3d`` / ``preprocess_videomae``, its ``FeatureStats`` and its Fréchet
  formula). Its weight download is bypassed by patching ``load_i3d_model`` / ``load_videomae_model``
  to return cd-fvd's own network classes built with random weights, whose state kinema loads.
  The I3D gets a 2-way logits layer (the trunk is the real one) so that 3 videos per set give
  full-rank covariances (I3D at 224x224 costs ~2 s a video here); VideoMAE is a tiny ViT of cd-fvd's ``VisionTransformer`` class.
* ``fvd-tats`` with ``ddof=1``: TATS's ``frechet_distance`` (shipped verbatim in cd-fvd's
  ``third_party/i3d/utils.py``) on the same features.
* ``fvd-styleganv``: StyleGAN-V is not a package, so its code path is replayed here: a scripted
  random detector with the ``i3d_torchscript.pt`` call signature is saved to a file, loaded by
  ``torch.jit.load`` and called as StyleGAN-V's ``compute_feature_stats_for_dataset`` calls it (uint8
  (N, 3, T, H, W), ``rescale=True, resize=True, return_features=True``); features are accumulated in
  cd-fvd's ``FeatureStats`` (StyleGAN-V's class, copied) and the distance is cd-fvd's
  ``compute_fvd_from_stats`` (StyleGAN-V's ``compute_fvd`` formula).

Run: cd /work/main && OMP_NUM_THREADS=1 .venv-ref/bin/python -m pytest tests/reference/test_ref_fvd.py -q
"""

from functools import partial

import pytest

pytest.importorskip("cdfvd")

import numpy as np
import torch
import torch.nn.functional as F
from cdfvd import fvd as cdfvd_fvd
from cdfvd.third_party.i3d.pytorch_i3d import InceptionI3d as RefI3D
from cdfvd.third_party.i3d.utils import frechet_distance as tats_frechet_distance
from cdfvd.third_party.VideoMAEv2.videomaev2_finetune import VisionTransformer
from cdfvd.utils.metric_utils import FeatureStats as RefStats

from kinema.eval.backbones.i3d import InceptionI3d, TATSI3DFeatures
from kinema.eval.backbones.i3d_torchscript import StyleGANVI3DFeatures
from kinema.eval.backbones.videomae import VideoMAEConfig, VideoMAEFeatures, VideoMAEViT
from kinema.eval.metrics.fvd import fvd, fvd_from_features

FEATURE_RTOL = 1e-4
FVD_RTOL = 1e-3


def uint8_videos(n, seed, t=16, h=64, w=64, low=0, high=256):
    """Noisy videos of one random colour each (drawn in [low, high)), so the features differ between
    videos and the generated sets (narrower colour range) sit at a clear distance from the real ones."""
    rng = np.random.default_rng(seed)
    colour = rng.integers(low, high, (n, 1, 1, 1, 3))
    noise = rng.integers(-40, 41, (n, t, h, w, 3))
    return np.clip(colour + noise, 0, 255).astype(np.uint8)


def randomise(model: torch.nn.Module, std: float, seed: int) -> torch.nn.Module:
    """Seeded normal parameters of one scale (for the small transformer and the toy detector)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * std)
    return model.eval()


def randomise_i3d(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """He-normal convolutions (so the signal survives the 60-odd layers) and random BatchNorm."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if name.endswith("running_var"):
                p.copy_(torch.rand(p.shape, generator=g) * 0.5 + 0.75)
            elif name.endswith(("running_mean", "bias")):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif name.endswith("bn.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("conv3d.weight"):
                p.copy_(torch.randn(p.shape, generator=g) * (2.0 / p[0].numel()) ** 0.5)
    return model.eval()


def run_cdfvd(monkeypatch, model_name: str, ref_model, real, fake):
    """cd-fvd's compute_fvd with its loader patched to hand back ``ref_model``: (fvd, real, fake features)."""
    loader = "load_i3d_model" if model_name == "i3d" else "load_videomae_model"
    monkeypatch.setattr(cdfvd_fvd, loader, lambda device, ckpt_path=None: ref_model)
    metric = cdfvd_fvd.cdfvd(model=model_name, n_real="full", n_fake="full", compute_feats=True, device="cpu")
    value = metric.compute_fvd(real, fake)
    return float(value), metric.real_stats.get_all(), metric.fake_stats.get_all()


def test_fvd_tats_matches_cdfvd_i3d(monkeypatch):
    ref = randomise_i3d(RefI3D(num_classes=2, in_channels=3), seed=0)
    ours = InceptionI3d(num_classes=2)
    ours.load_state_dict(ref.state_dict())  # same keys, strict
    real, fake = uint8_videos(3, seed=1), uint8_videos(3, seed=2, low=40, high=160)
    ref_fvd, ref_real, ref_fake = run_cdfvd(monkeypatch, "i3d", ref, real, fake)

    ext = TATSI3DFeatures(ours)
    real_f, fake_f = ext(torch.from_numpy(real)).numpy(), ext(torch.from_numpy(fake)).numpy()
    np.testing.assert_allclose(real_f, ref_real, rtol=FEATURE_RTOL, atol=1e-6 * np.abs(ref_real).max())
    np.testing.assert_allclose(fake_f, ref_fake, rtol=FEATURE_RTOL, atol=1e-6 * np.abs(ref_fake).max())

    assert ref_fvd > 0.01  # the sets differ: a pipeline that collapses the features cannot pass
    result = fvd_from_features(fake_f, real_f, ext)  # ddof=0, as cd-fvd
    assert result.name == "fvd-tats" and result.value == pytest.approx(ref_fvd, rel=FVD_RTOL)
    # TATS's own script: ddof=1 covariance, TF-GAN SVD square root (run in float64 here)
    tats = float(tats_frechet_distance(torch.from_numpy(real_f), torch.from_numpy(fake_f)))
    assert fvd_from_features(fake_f, real_f, ext, ddof=1).value == pytest.approx(tats, rel=FVD_RTOL)


def test_fvd_videomae_matches_cdfvd(monkeypatch):
    cfg = VideoMAEConfig(patch_size=32, embed_dim=16, depth=2, num_heads=2, mlp_ratio=48 / 11, num_classes=5)
    torch.manual_seed(3)
    ref = VisionTransformer(img_size=224, patch_size=cfg.patch_size, num_classes=cfg.num_classes,
                            embed_dim=cfg.embed_dim, depth=cfg.depth, num_heads=cfg.num_heads,
                            mlp_ratio=cfg.mlp_ratio, qkv_bias=True, all_frames=16, tubelet_size=2,
                            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), use_mean_pooling=True)
    ref = randomise(ref, std=0.3, seed=4)
    ours = VideoMAEViT(cfg)
    ours.load_state_dict(ref.state_dict())  # same keys, strict (the sinusoid table is not stored)
    real, fake = uint8_videos(20, seed=5, h=48, w=80), uint8_videos(20, seed=6, h=48, w=80, low=40, high=160)
    ref_fvd, ref_real, ref_fake = run_cdfvd(monkeypatch, "videomae", ref, real, fake)

    ext = VideoMAEFeatures(ours)
    np.testing.assert_allclose(ext(real).numpy(), ref_real, rtol=FEATURE_RTOL, atol=1e-5)
    np.testing.assert_allclose(ext(fake).numpy(), ref_fake, rtol=FEATURE_RTOL, atol=1e-5)
    assert ref_fvd > 0.01
    result = fvd(fake, real, ext)
    assert result.name == "fvd-videomae" and result.value == pytest.approx(ref_fvd, rel=FVD_RTOL)


class ToyI3DTorchScript(torch.nn.Module):
    """Random stand-in for StyleGAN-V's i3d_torchscript.pt with its forward signature and flags."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 8, (2, 8, 8), stride=(2, 8, 8))
        self.head = torch.nn.Linear(8, 4)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        x = x.float()
        if rescale:
            x = 2.0 * x / 255.0 - 1.0
        if resize:
            x = F.interpolate(x, size=(x.shape[2], 224, 224), mode="trilinear", align_corners=False)
        feats = torch.tanh(self.conv(x)).mean((2, 3, 4))  # (N, 8)
        return feats if return_features else self.head(feats).softmax(-1)


def styleganv_reference(detector, real: np.ndarray, fake: np.ndarray, frames: int = 16):
    """StyleGAN-V compute_fvd on uint8 batches [N, T, C, H, W]: (FVD, (real stats, fake stats))."""
    stats = []
    for videos in (real, fake):
        s = RefStats(capture_mean_cov=True, capture_all=True)
        images = torch.from_numpy(videos[:, :frames]).permute(0, 1, 4, 2, 3)  # the dataset's [N, T, C, H, W]
        images = images.permute(0, 2, 1, 3, 4).contiguous()  # [N, C, T, H, W], as StyleGAN-V
        with torch.no_grad():
            s.append_torch(detector(images, rescale=True, resize=True, return_features=True), num_gpus=1, rank=0)
        stats.append(s)
    return float(cdfvd_fvd.cdfvd.compute_fvd_from_stats(None, fake_stats=stats[1], real_stats=stats[0])), stats


def test_fvd_styleganv_matches_stylegan_v_code_path(tmp_path):
    torch.manual_seed(7)
    path = tmp_path / "i3d_torchscript.pt"
    torch.jit.save(torch.jit.script(randomise(ToyI3DTorchScript(), std=0.2, seed=8)), str(path))
    real, fake = uint8_videos(12, seed=9, t=18, h=40, w=56), uint8_videos(12, seed=10, t=16, h=40, w=56, low=40, high=160)
    ref_fvd, (ref_real, ref_fake) = styleganv_reference(torch.jit.load(str(path)), real, fake)

    ext = StyleGANVI3DFeatures(torch.jit.load(str(path)), dim=8)
    np.testing.assert_allclose(ext(real).numpy(), ref_real.get_all(), rtol=FEATURE_RTOL, atol=1e-6)
    np.testing.assert_allclose(ext(fake).numpy(), ref_fake.get_all(), rtol=FEATURE_RTOL, atol=1e-6)
    assert ref_fvd > 0.01
    result = fvd(fake, real, ext)
    assert result.name == "fvd-styleganv" and result.value == pytest.approx(ref_fvd, rel=FVD_RTOL)
