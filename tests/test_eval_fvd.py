"""FVD (Wang et al. 2026 Eq. 6) under its three backbones: shapes, closed forms, refusals, protocol records.

Agreement with cd-fvd / StyleGAN-V lives in tests/reference/test_ref_fvd.py.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.i3d import (
    InceptionI3d,
    TATSI3DFeatures,
    same_pad,
    tats_preprocess,
)
from kinema.eval.backbones.i3d_torchscript import StyleGANVI3DFeatures
from kinema.eval.backbones.videomae import (
    VIDEOMAE_PRESETS,
    VideoMAEFeatures,
    VideoMAEViT,
    sinusoid_table,
)
from kinema.eval.frechet import FeatureStats
from kinema.eval.metrics.fvd import (
    fvd,
    fvd_from_features,
    fvd_reference_stats,
    load_fvd_extractor,
    stats_with_ddof,
    video_features,
)


def videos(n, t=16, h=32, w=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, t, h, w, 3), generator=g, dtype=torch.uint8)


@pytest.fixture(scope="module")
def tiny_videomae():
    torch.manual_seed(0)
    model = VideoMAEViT(VIDEOMAE_PRESETS["tiny"])
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return VideoMAEFeatures(model)


class ToyDetector(torch.nn.Module):
    """Same call signature as StyleGAN-V's i3d_torchscript.pt; each flag changes the output."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 6, (2, 4, 4), stride=(2, 4, 4))
        self.head = torch.nn.Linear(6, 5)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        x = x.float()
        if rescale:
            x = x / 127.5 - 1.0
        if resize:
            x = F.interpolate(x, size=(x.shape[2], 24, 24), mode="trilinear", align_corners=False)
        feats = F.relu(self.conv(x)).mean((2, 3, 4))
        return feats if return_features else self.head(feats).softmax(-1)


@pytest.fixture(scope="module")
def toy_styleganv():
    torch.manual_seed(1)
    return StyleGANVI3DFeatures(torch.jit.script(ToyDetector()), dim=6)


# ---- backbones --------------------------------------------------------------------------------

def test_same_pad_gives_ceil_output_size():
    x = torch.zeros(1, 1, 15, 17, 9)
    y = same_pad(x, (3, 7, 2), (2, 2, 2))  # TF "SAME": output = ceil(size / stride)
    out = [(s - k) // st + 1 for s, k, st in zip(y.shape[2:], (3, 7, 2), (2, 2, 2))]
    assert out == [8, 9, 5]


def test_i3d_feature_shape_and_batch_independence():
    torch.manual_seed(0)
    ext = TATSI3DFeatures(InceptionI3d(num_classes=7))
    v = videos(2, t=18, h=40, w=24)
    f = ext(v)
    assert f.shape == (2, 7) and f.dtype == torch.float64 and ext.dim == 7
    # a video's features depend only on its own first 16 frames, not on its batch neighbours
    torch.testing.assert_close(ext(v[1:, :16]), f[1:], rtol=1e-5, atol=1e-6)


def test_tiny_videomae_is_deterministic(tiny_videomae):
    v = videos(3, seed=2)
    torch.testing.assert_close(tiny_videomae(v), tiny_videomae(v), rtol=0, atol=0)


def test_tats_preprocess_range_and_layout():
    v = torch.zeros(1, 16, 8, 8, 3, dtype=torch.uint8)
    v[..., 0] = 255
    x = tats_preprocess(v)
    assert x.shape == (1, 3, 16, 224, 224)
    torch.testing.assert_close(x[:, 0], torch.ones_like(x[:, 0]))  # 2 * 255 / 255 - 1
    torch.testing.assert_close(x[:, 1:], -torch.ones_like(x[:, 1:]))


def test_videomae_shapes_and_sinusoid_table(tiny_videomae):
    f = tiny_videomae(videos(3, h=20, w=36))
    assert f.shape == (3, 16) and f.dtype == torch.float64
    table = sinusoid_table(5, 4)[0].double()
    p = torch.arange(5.0, dtype=torch.float64)
    torch.testing.assert_close(table[:, 0], torch.sin(p)), torch.testing.assert_close(table[:, 1], torch.cos(p))
    torch.testing.assert_close(table[:, 2], torch.sin(p / 100), rtol=1e-6, atol=1e-7)
    assert "pos_embed" not in VideoMAEViT(VIDEOMAE_PRESETS["tiny"]).state_dict()  # not in the checkpoint


def test_styleganv_passes_uint8_clips_and_the_protocol_flags(toy_styleganv):
    v = videos(2, t=20)
    clip = v[:, :16].permute(0, 4, 1, 2, 3).contiguous()  # (N, 3, T, H, W) uint8, as StyleGAN-V
    expected = toy_styleganv.detector(clip, rescale=True, resize=True, return_features=True).double()
    torch.testing.assert_close(toy_styleganv(v), expected, rtol=0, atol=0)
    wrong = StyleGANVI3DFeatures(toy_styleganv.detector, dim=5)
    with pytest.raises(InputError, match="returned shape"):
        wrong(v)


@pytest.mark.parametrize("which", ["tats", "styleganv", "videomae"])
def test_short_videos_are_refused(which, tiny_videomae, toy_styleganv):
    ext = {"tats": lambda: TATSI3DFeatures(InceptionI3d(3)), "styleganv": lambda: toy_styleganv,
           "videomae": lambda: tiny_videomae}[which]()
    with pytest.raises(InputError, match="at least 16 frames.*T=8"):
        ext(videos(2, t=8))
    with pytest.raises(InputError, match="uint8"):
        ext(videos(2).float())


# ---- FVD ----------------------------------------------------------------------------------------

def test_identical_sets_give_zero(tiny_videomae):
    v = videos(24, seed=3)
    result = fvd(v, v, tiny_videomae)
    assert abs(result.value) < 1e-6
    assert result.name == "fvd-videomae"


def test_fvd_equals_closed_form_with_population_covariance(toy_styleganv):
    gen, ref = videos(12, seed=4), videos(12, seed=5)
    fg, fr = video_features(toy_styleganv, gen), video_features(toy_styleganv, ref)
    from scipy import linalg
    for ddof in (0, 1):
        sg, sr = np.cov(fg, rowvar=False, ddof=ddof), np.cov(fr, rowvar=False, ddof=ddof)
        d = fr.mean(0) - fg.mean(0)
        expected = d @ d + np.trace(sg + sr - 2 * linalg.sqrtm(sr @ sg).real)
        got = fvd(gen, ref, toy_styleganv, ddof=ddof)
        assert got.value == pytest.approx(expected, rel=1e-9)
        assert got.protocol["covariance"] == f"ddof={ddof}"


def test_protocol_records_everything(toy_styleganv):
    r = fvd(videos(8, seed=6), videos(10, seed=7), toy_styleganv, seed=11)
    p = r.protocol
    assert (r.name, p["metric"], p["backbone"]) == ("fvd-styleganv", "fvd-styleganv", "i3d-stylegan-v")
    assert (p["n_real"], p["n_generated"], p["frames"], p["stride"], p["resolution"]) == (10, 8, 16, 1, [224, 224])
    assert "rescale=True, resize=True" in p["preprocessing"] and p["seed"] == 11 and p["reference_stats"] is None


def test_reference_stats_file_matches_videos(tiny_videomae, tmp_path):
    gen, ref = videos(20, seed=8), videos(22, seed=9)
    direct = fvd(gen, ref, tiny_videomae)
    stats = fvd_reference_stats(tiny_videomae, ref)
    stats.save(tmp_path / "ref.npz")
    from_stats = fvd(gen, stats, tiny_videomae)
    from_file = fvd(gen, tmp_path / "ref.npz", tiny_videomae)
    assert from_stats.value == pytest.approx(direct.value, rel=1e-9)
    assert from_file.value == pytest.approx(direct.value, rel=1e-9)
    assert from_file.protocol["n_real"] == 22 and "sha256:" in from_file.protocol["reference_stats"]


def test_reference_stats_of_another_backbone_are_refused(tiny_videomae):
    stats = fvd_reference_stats(tiny_videomae, videos(20, seed=10))
    stats.meta["backbone"] = "i3d-tats-400"
    with pytest.raises(ConfigError, match="backbone"):
        fvd(videos(20, seed=11), stats, tiny_videomae)


def test_ddof_rescaling_is_exact():
    x = np.random.default_rng(0).normal(size=(9, 3))
    s1 = FeatureStats.from_features(x)  # ddof=1 covariance
    s0 = stats_with_ddof(s1, 0)
    np.testing.assert_allclose(s0.sigma, np.cov(x, rowvar=False, ddof=0), rtol=1e-12)
    assert s0.meta["ddof"] == 0
    with pytest.raises(ConfigError, match="ddof"):
        fvd_from_features(x, x, TATSI3DFeatures(InceptionI3d(3)), ddof=2)


def test_sequences_of_mixed_lengths_match_arrays(tiny_videomae):
    v = videos(6, t=16, seed=12)
    longer = [torch.cat([x, x[:4]]) if i % 2 else x for i, x in enumerate(v)]  # 20 or 16 frames
    np.testing.assert_allclose(video_features(tiny_videomae, longer, batch_size=4),
                               video_features(tiny_videomae, v, batch_size=4), rtol=1e-6, atol=1e-7)


def test_missing_weights_and_unknown_metric(tmp_path, monkeypatch):
    monkeypatch.setenv("KINEMA_CACHE", str(tmp_path))
    monkeypatch.delenv("KINEMA_WEIGHTS_DIR", raising=False)
    for metric in ("fvd-styleganv", "fvd-tats", "fvd-videomae"):
        with pytest.raises(InputError, match="not found|obtain it from"):
            load_fvd_extractor(metric)
    with pytest.raises(ConfigError, match="unknown FVD metric"):
        load_fvd_extractor("fvd-i3d")
