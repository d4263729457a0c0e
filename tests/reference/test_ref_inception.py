"""kinema's FID Inception-v3, FID, KID and IS against pytorch-fid, torch-fidelity and torchmetrics.

One seeded random state dict (no pretrained weights exist here) is saved to a file and loaded by
all four: kinema's module, torch-fidelity's extractor (``feature_extractor_weights_path``),
torchmetrics' (the same argument) and pytorch-fid's (its URL loader patched to return the dict).
Each reference then runs its full pipeline on the same uint8 PNGs / tensors. Features are compared
at pool3 and ``logits_unbiased``; the metrics at the references' 192-d option, so that the 2048-d
matrix square roots (about 30 s each on this CPU) stay out of the test; the code path is the same.

Run: cd /work/main && OMP_NUM_THREADS=1 .venv-ref/bin/python -m pytest tests/reference/test_ref_inception.py -q
"""

import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("pytorch_fid")
pytest.importorskip("torch_fidelity")
pytest.importorskip("torchmetrics")

from PIL import Image
from pytorch_fid import fid_score
from pytorch_fid import inception as pfid_inception
from torch_fidelity import calculate_metrics
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
from torchmetrics.image.fid import FrechetInceptionDistance, NoTrainInceptionV3

from kinema.eval.backbones.inception import InceptionFeatures
from kinema.eval.metrics.inception_metrics import fid, inception_score, kid
from test_eval_inception import random_inception  # tests/ is on the import path

N_REAL, N_GEN, H, W = 6, 6, 40, 56  # tiny sets; the backbone resizes to 299 anyway
LAYER = "192"  # metric comparisons (see module docstring)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("inception")
    net = random_inception(0)
    weights = root / "inception.pth"
    torch.save(net.state_dict(), weights)
    g = torch.Generator().manual_seed(1)
    real = torch.randint(0, 256, (N_REAL, H, W, 3), dtype=torch.uint8, generator=g)  # noise
    ramp = torch.linspace(0, 1, W).view(1, 1, W, 1)
    tint = torch.rand(N_GEN, 1, 1, 3, generator=g)
    gen = (255 * ramp * tint + 40 * torch.rand(N_GEN, H, W, 3, generator=g)).clamp(0, 255).to(torch.uint8)
    dirs = {}
    for name, images in (("real", real), ("gen", gen)):
        dirs[name] = root / name
        dirs[name].mkdir()
        for i, im in enumerate(images.numpy()):
            Image.fromarray(im).save(dirs[name] / f"{i:02d}.png")
    return {"net": net, "weights": str(weights), "real": real, "gen": gen, "dirs": dirs}


def pytorch_fid_model(weights: str, dims: int):
    """pytorch-fid's InceptionV3 with our state dict in place of its download."""
    state = torch.load(weights, weights_only=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pfid_inception, "load_state_dict_from_url", lambda *a, **k: state)
        return pfid_inception.InceptionV3([pfid_inception.InceptionV3.BLOCK_INDEX_BY_DIM[dims]]).eval()


def nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2).contiguous()  # (N, H, W, 3) -> (N, 3, H, W)


def close(a, b, rtol: float):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.abs(b).max(), 1e-12)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale)


def test_state_dict_keys_match_both_weight_files(setup):
    """Same keys as pytorch-fid's file (torchvision-style Inception3) and torch-fidelity's module."""
    state = torch.load(setup["weights"], weights_only=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pfid_inception, "load_state_dict_from_url", lambda *a, **k: state)
        pfid = pfid_inception.fid_inception_v3()  # loads strictly
    tfid = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=setup["weights"])
    keys = set(setup["net"].state_dict())
    assert keys == set(pfid.state_dict()) == set(tfid.state_dict())
    for k, v in tfid.state_dict().items():
        assert torch.equal(v, pfid.state_dict()[k]), k


def test_pytorch_fid_features_and_fid(setup):
    frames = torch.cat([setup["real"][:2], setup["gen"][:2]])
    files = sorted(setup["dirs"]["real"].glob("*.png"))[:2] + sorted(setup["dirs"]["gen"].glob("*.png"))[:2]
    ref = fid_score.get_activations(files, pytorch_fid_model(setup["weights"], 2048), batch_size=4, dims=2048,
                                    device="cpu", num_workers=0)  # (4, 2048), PIL -> ToTensor -> model
    close(InceptionFeatures(setup["net"], "pytorch-fid", "2048")(frames), ref, 1e-6)

    model = pytorch_fid_model(setup["weights"], int(LAYER))
    stats = [fid_score.calculate_activation_statistics(sorted(setup["dirs"][k].glob("*.png")), model, batch_size=6,
                                                       dims=int(LAYER), device="cpu", num_workers=0)
             for k in ("real", "gen")]
    with warnings.catch_warnings(action="ignore"):  # n < dim: rank-deficient covariances
        expected = fid_score.calculate_frechet_distance(*stats[0], *stats[1])
        got = fid(setup["real"], setup["gen"], InceptionFeatures(setup["net"], "pytorch-fid", LAYER))
    assert got.value > 1.0 and got.value == pytest.approx(expected, rel=1e-9)  # same sqrtm route


def test_torch_fidelity_features(setup):
    frames = torch.cat([setup["real"][:2], setup["gen"][:2]])
    ext = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                      feature_extractor_weights_path=setup["weights"])
    with torch.no_grad():
        pool3, logits = ext(nchw(frames))
    close(InceptionFeatures(setup["net"], "torch-fidelity", "2048")(frames), pool3, 1e-6)
    close(InceptionFeatures(setup["net"], "torch-fidelity", "logits_unbiased")(frames), logits, 1e-6)


def test_torch_fidelity_fid_kid_is(setup):
    ref = calculate_metrics(input1=str(setup["dirs"]["gen"]), input2=str(setup["dirs"]["real"]), cuda=False,
                            isc=True, fid=True, kid=True, verbose=False, cache=False,
                            feature_extractor_weights_path=setup["weights"], feature_layer_fid=LAYER,
                            feature_layer_kid=LAYER, isc_splits=3, kid_subsets=5, kid_subset_size=4,
                            save_cpu_ram=True)  # save_cpu_ram: no DataLoader worker processes
    pooled = InceptionFeatures(setup["net"], "torch-fidelity", LAYER)
    with warnings.catch_warnings(action="ignore"):  # n < dim: rank-deficient covariances
        got_fid = fid(setup["real"], setup["gen"], pooled)
    got_kid, got_kid_std = kid(setup["real"], setup["gen"], pooled, subset_size=4, n_subsets=5)
    got_is, got_is_std = inception_score(setup["gen"], InceptionFeatures(setup["net"], "torch-fidelity",
                                                                         "logits_unbiased"), splits=3)
    # torch-fidelity: FID via eigenvalues with a float32 mean, KID kernels in float32 (kinema: float64)
    assert got_fid.value == pytest.approx(ref["frechet_inception_distance"], rel=1e-6)
    assert got_kid.value == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-5)
    assert got_kid_std.value == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-4)
    assert got_is.value == pytest.approx(ref["inception_score_mean"], rel=1e-9)
    assert got_is_std.value == pytest.approx(ref["inception_score_std"], rel=1e-7)
    assert got_is.value > 1.01 and got_kid_std.value > 0  # non-degenerate numbers, not 1 and 0 by accident


def test_torchmetrics_fid_and_resize_modes(setup):
    metric = FrechetInceptionDistance(feature=int(LAYER), feature_extractor_weights_path=setup["weights"])
    metric.update(nchw(setup["real"]), real=True)
    metric.update(nchw(setup["gen"]), real=False)
    expected = float(metric.compute())
    with warnings.catch_warnings(action="ignore"):  # n < dim: rank-deficient covariances
        got = fid(setup["real"], setup["gen"], InceptionFeatures(setup["net"], "torchmetrics", LAYER))
    assert got.value == pytest.approx(expected, rel=1e-6)  # torchmetrics returns float32

    frames = setup["gen"][:2]
    for antialias, protocol in ((True, "torchmetrics"), (False, "torch-fidelity")):
        tm = NoTrainInceptionV3("inception-v3-compat", ["2048"], setup["weights"], antialias=antialias)
        with torch.no_grad():
            ref = tm(nchw(frames))
        close(InceptionFeatures(setup["net"], protocol, "2048")(frames), ref, 1e-6)
