"""FID Inception-v3, its input pipelines and FID / KID / IS (no reference packages needed).

Agreement with pytorch-fid, torch-fidelity and torchmetrics is in tests/reference/test_ref_inception.py.
"""

import warnings

import numpy as np
import pytest
import torch

from kinema.errors import ConfigError, InputError
from kinema.eval.backbones.inception import (
    FEATURE_DIMS, PROTOCOLS, FIDInceptionV3, InceptionFeatures, load_inception_state, resize_bilinear_tf1,
)
from kinema.eval.kid import kernel_distance
from kinema.eval.metrics.inception_metrics import (
    fid, inception_score, inception_score_from_logits, kid, kid_from_features, pool_frames, reference_stats,
)
from kinema.eval.protocol import compare


def random_inception(seed: int = 0) -> FIDInceptionV3:
    """Seeded weights that keep activations O(1) (He-normal convs, BN near identity, peaky fc)."""
    g = torch.Generator().manual_seed(seed)
    net = FIDInceptionV3()
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("conv.weight"):
                t.copy_(torch.randn(t.shape, generator=g) * (2.0 / t[0].numel()) ** 0.5)
            elif name.endswith(("bn.weight", "bn.running_var")):
                t.copy_(0.8 + 0.4 * torch.rand(t.shape, generator=g))
            elif name.endswith(("bn.bias", "bn.running_mean")):
                t.copy_(0.2 * torch.rand(t.shape, generator=g) - 0.1)
            elif name.startswith("fc."):
                t.copy_(torch.randn(t.shape, generator=g) * 10 / 2048 ** 0.5)
    return net.eval()


@pytest.fixture(scope="module")
def net():
    return random_inception(0)


@pytest.fixture(scope="module")
def frames():
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (4, 40, 56, 3), dtype=torch.uint8, generator=g)  # non-square on purpose


class FakeExtractor:
    """A cheap stand-in (fixed random projection of 4x4-pooled pixels) for metric-plumbing tests."""

    def __init__(self, dim=32, preprocessing="fake", features="2048"):
        self.backbone_id, self.dim, self.preprocessing, self.features = "fake", dim, preprocessing, features
        self.proj = torch.randn(48, dim, generator=torch.Generator().manual_seed(3), dtype=torch.float64)

    def __call__(self, frames):
        x = torch.nn.functional.adaptive_avg_pool2d(frames.permute(0, 3, 1, 2).double(), 4)  # (N, 3, 4, 4)
        return x.flatten(1) @ self.proj / 255


# ---- network and pipelines -------------------------------------------------------------------

def test_state_dict_layout(net):
    sd = net.state_dict()
    assert sd["fc.weight"].shape == (1008, 2048) and sd["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert "Mixed_7c.branch_pool.conv.weight" in sd and "Mixed_6e.branch7x7dbl_5.bn.running_var" in sd
    assert not any(k.startswith("AuxLogits") for k in sd)  # the FID graph has no auxiliary head
    assert net.Conv2d_1a_3x3.bn.eps == 1e-3


def test_extractor_shapes_determinism_and_batching(net, frames):
    one = InceptionFeatures(net, "torch-fidelity", batch_size=1)(frames[:3])
    all3 = InceptionFeatures(net, "torch-fidelity", batch_size=3)(frames[:3])
    assert one.shape == (3, 2048) and one.dtype == torch.float64 and torch.isfinite(one).all()
    torch.testing.assert_close(one, all3, rtol=1e-5, atol=1e-6)  # a frame's features ignore its batch
    assert torch.equal(all3, InceptionFeatures(net, "torch-fidelity", batch_size=3)(frames[:3]))
    assert (all3[0] - all3[1]).abs().max() > 1e-4  # different frames, different features


def test_logits_unbiased_is_fc_without_bias(net, frames):
    pool3 = InceptionFeatures(net, "torch-fidelity")(frames[:2]).float()
    logits = InceptionFeatures(net, "torch-fidelity", "logits_unbiased")(frames[:2])
    assert logits.shape == (2, FEATURE_DIMS["logits_unbiased"])
    torch.testing.assert_close(logits.float(), pool3 @ net.fc.weight.T, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(net.logits(pool3) - net.logits_unbiased(pool3), net.fc.bias.expand(2, -1))


def test_tf1_resize_known_answer():
    x = torch.tensor([[1.0, 3.0], [5.0, 9.0]]).view(1, 1, 2, 2)
    # TF 1.x: source = dst * in/out = 0, .5, 1, 1.5 -> taps (0,1), (0,1), (1,1), (1,1) with weights 0, .5, 0, .5
    col = torch.tensor([1.0, 2.0, 3.0, 3.0])
    expected = torch.stack([col, (col + torch.tensor([5.0, 7.0, 9.0, 9.0])) / 2,
                            torch.tensor([5.0, 7.0, 9.0, 9.0]), torch.tensor([5.0, 7.0, 9.0, 9.0])])
    torch.testing.assert_close(resize_bilinear_tf1(x, 4)[0, 0], expected)
    y = torch.rand(2, 3, 7, 7, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(resize_bilinear_tf1(y, 7), y)  # same size is the identity


def test_protocols_inputs_and_descriptions():
    u8 = torch.randint(0, 256, (2, 3, 40, 56), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    inputs = {name: p.to_input(u8) for name, p in PROTOCOLS.items()}
    for name, x in inputs.items():
        assert x.shape == (2, 3, 299, 299) and x.min() >= -1 and x.max() <= 1, name
    torch.testing.assert_close(PROTOCOLS["pytorch-fid"].to_input(torch.full((1, 3, 5, 5), 255, dtype=torch.uint8)),
                               torch.ones(1, 3, 299, 299))
    assert (inputs["torch-fidelity"] - inputs["pytorch-fid"]).abs().max() > 1e-2  # different resamplers
    texts = {InceptionFeatures(FIDInceptionV3(), name).preprocessing for name in PROTOCOLS}
    assert len(texts) == 3 and all("299x299" in t for t in texts)


def test_extractor_rejects_bad_input_and_choices(net):
    ex = InceptionFeatures(net, "pytorch-fid")
    with pytest.raises(InputError, match="uint8"):
        ex(torch.zeros(2, 32, 32, 3))
    with pytest.raises(ConfigError):
        InceptionFeatures(net, "clean-fid")
    with pytest.raises(ConfigError):
        InceptionFeatures(net, "pytorch-fid", "logits_unbiased")  # pytorch-fid offers pooled features only
    assert ex.backbone_id.endswith("unverified-weights")


def test_state_loading_fills_step_counters_and_names_bad_keys():
    src = FIDInceptionV3()
    sd = {k: v for k, v in src.state_dict().items() if not k.endswith("num_batches_tracked")}
    dst = load_inception_state(FIDInceptionV3(), sd)
    torch.testing.assert_close(dst.fc.weight, src.fc.weight)
    sd["fc.weights"] = sd.pop("fc.weight")
    with pytest.raises(InputError, match="fc.weight"):
        load_inception_state(FIDInceptionV3(), sd)


def test_missing_weights_file_is_an_input_error(tmp_path):
    pytest.importorskip("kinema.eval.weights")
    from kinema.eval.backbones.inception import load_inception

    with pytest.raises(InputError):
        load_inception(tmp_path / "absent.pth")


# ---- metrics ---------------------------------------------------------------------------------

def test_is_closed_forms():
    c = 10
    assert inception_score_from_logits(torch.zeros(20, c), splits=10) == pytest.approx((1.0, 0.0), abs=1e-12)
    onehot = 50.0 * torch.eye(c)  # every class once: p(y) uniform, p(y|x) one-hot -> IS = number of classes
    assert inception_score_from_logits(onehot, splits=1)[0] == pytest.approx(c, rel=1e-9)
    mean, std = inception_score_from_logits(onehot, splits=2, shuffle=False)  # 5 distinct classes per split
    assert mean == pytest.approx(5.0, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_is_shuffle_is_torch_fidelity_permutation_and_shift_invariant():
    x = torch.randn(13, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    perm = np.random.RandomState(2020).permutation(13)
    assert inception_score_from_logits(x, splits=3) == inception_score_from_logits(x[perm], 3, shuffle=False)
    shifted = inception_score_from_logits(x + torch.randn(13, 1, dtype=torch.float64), splits=3)  # softmax ignores row shifts
    assert shifted == pytest.approx(inception_score_from_logits(x, splits=3), rel=1e-12)
    with pytest.raises(InputError, match="splits"):
        inception_score_from_logits(x, splits=14)


def test_inception_score_pipeline(net, frames):
    ex = InceptionFeatures(net, "torch-fidelity", "logits_unbiased")
    mean, std = inception_score(frames, ex, splits=2)
    assert mean.value >= 1.0 and std.value >= 0.0 and std.name == "is_std"
    assert mean.protocol["metric"] == "is" and mean.protocol["seed"] == 2020 and mean.protocol["splits"] == 2
    with pytest.raises(ConfigError, match="logits_unbiased"):
        inception_score(frames, InceptionFeatures(net, "torch-fidelity"))
    with pytest.raises(ConfigError, match="pooled"):
        fid(frames, frames, ex)


def test_fid_of_identical_sets_is_zero(net, frames):
    ex = InceptionFeatures(net, "pytorch-fid", "192")  # 192-d keeps sqrtm cheap (2048-d: ~30 s here)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n < dim: rank-deficient covariance (expected here)
        result = fid(frames, frames, ex)
    scale = float(ex(frames).var(0).sum())  # Tr(S)
    assert scale > 1e-3 and abs(result.value) < 1e-6 * scale
    assert result.protocol["backbone"] == ex.backbone_id and result.protocol["n_real"] == 4


def test_fid_plumbing_reference_stats_and_protocol_refusal():
    g = torch.Generator().manual_seed(5)
    real = torch.randint(0, 256, (6, 3, 16, 16, 3), dtype=torch.uint8, generator=g)
    gen = torch.randint(0, 128, (6, 3, 16, 16, 3), dtype=torch.uint8, generator=g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = fid(real, gen, FakeExtractor(), frames_per_video=2, stride=2)
        stats = reference_stats(real, FakeExtractor(), frames_per_video=2, stride=2)
        via_stats = fid(stats, gen, FakeExtractor(), frames_per_video=2, stride=2)
        other = fid(real, gen, FakeExtractor(preprocessing="other"), frames_per_video=2, stride=2)
        with pytest.raises(ConfigError, match="stride"):
            fid(stats, gen, FakeExtractor(), frames_per_video=2, stride=1)
    assert direct.value > 0 and via_stats.value == pytest.approx(direct.value, rel=1e-12)
    assert direct.protocol["frames"] == 2 and direct.protocol["stride"] == 2 and direct.protocol["n_generated"] == 6
    with pytest.raises(ConfigError, match="preprocessing"):
        compare(direct, other)


def test_pool_frames():
    v = torch.arange(2 * 5, dtype=torch.uint8).view(2, 5, 1, 1, 1).expand(2, 5, 4, 6, 3).contiguous()
    frames, layout = pool_frames(v, frames_per_video=2, stride=2)
    assert frames[:, 0, 0, 0].tolist() == [0, 2, 5, 7]  # video-major: (v0 t0, v0 t2, v1 t0, v1 t2)
    assert layout == {"n": 2, "frames": 2, "stride": 2, "resolution": [4, 6]}
    assert pool_frames(v, stride=2)[0].shape[0] == 6  # all frames at stride 2: t = 0, 2, 4
    with pytest.raises(InputError, match="frames_per_video"):
        pool_frames(v, frames_per_video=3, stride=3)
    with pytest.raises(InputError, match="uint8"):
        pool_frames(v.float())


def test_kid_subsets_and_refusal():
    g = np.random.default_rng(0)
    a, b = g.normal(size=(12, 16)), g.normal(0.3, 1, size=(10, 16))
    full = kid_from_features(a[:10], b, subset_size=10, n_subsets=3)  # whole sets: subsets are permutations
    assert full.mean == pytest.approx(kernel_distance(a[:10], b, subset_size=10, n_subsets=1).mean, rel=1e-12)
    assert full.std == pytest.approx(0.0, abs=1e-12)
    sub = kid_from_features(a, b, subset_size=6, n_subsets=4, seed=1)
    assert sub == kid_from_features(a, b, subset_size=6, n_subsets=4, seed=1) and sub.std > 0
    with pytest.raises(InputError, match="subset_size=11"):
        kid_from_features(a, b, subset_size=11)


def test_kid_pipeline_records_protocol():
    g = torch.Generator().manual_seed(6)
    real = torch.randint(0, 256, (8, 12, 12, 3), dtype=torch.uint8, generator=g)
    gen = torch.randint(0, 200, (8, 12, 12, 3), dtype=torch.uint8, generator=g)
    mean, std = kid(real, gen, FakeExtractor(), subset_size=5, n_subsets=7)
    assert mean.protocol["subset_size"] == 5 and mean.protocol["n_subsets"] == 7 and mean.protocol["seed"] == 2020
    assert std.name == "kid_std" and std.value >= 0
    with pytest.raises(InputError, match="subset_size"):
        kid(real, gen, FakeExtractor())  # default 1000 > 8, refused as the references do
