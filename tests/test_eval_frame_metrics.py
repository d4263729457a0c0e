"""PSNR / SSIM agree with scikit-image; MS-SSIM reduces to SSIM of the coarsest scale."""

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from kinema.errors import InputError
from kinema.eval import MS_SSIM_WEIGHTS, ms_ssim, ms_ssim_frames, psnr, psnr_frames, ssim, ssim_frames
from kinema.eval.frame_metrics import _halve


def _sk_ssim(a, b):
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=255, channel_axis=-1)


def _pair(kind, seed=0, shape=(3, 37, 45, 3)):
    rng = np.random.default_rng(seed)
    if kind == "random":
        a = rng.integers(0, 256, shape, dtype=np.uint8)
    else:  # structured: gradient plus checkerboard, moving per frame
        t, h, w, _ = shape
        yy, xx = np.mgrid[0:h, 0:w]
        a = np.stack([np.stack([(xx * 5 + 40 * ((xx // 6 + yy // 6 + i) % 2) + c * 30) % 256
                                for c in range(3)], -1) for i in range(t)]).astype(np.uint8)
    noise = rng.integers(-40, 41, shape)
    b = np.clip(a.astype(int) + noise, 0, 255).astype(np.uint8)
    return a, b


@pytest.mark.parametrize("kind", ["random", "structured"])
def test_psnr_ssim_match_skimage(kind):
    a, b = _pair(kind)
    np.testing.assert_allclose(psnr_frames(a, b), [peak_signal_noise_ratio(x, y, data_range=255)
                                                   for x, y in zip(a, b)], rtol=1e-12)
    np.testing.assert_allclose(ssim_frames(a, b), [_sk_ssim(x, y) for x, y in zip(a, b)], rtol=1e-9, atol=1e-12)
    assert psnr(a, b) == pytest.approx(psnr_frames(a, b).mean())
    assert ssim(a, b) == pytest.approx(ssim_frames(a, b).mean())


def test_float_tensor_layout_gives_the_same_numbers():
    a, b = _pair("structured", seed=1)
    to_model = lambda v: torch.from_numpy(v).permute(3, 0, 1, 2).double() / 127.5 - 1.0  # noqa: E731  (3,T,H,W)
    assert psnr(to_model(a), to_model(b)) == pytest.approx(psnr(a, b), rel=1e-9)
    assert ssim(to_model(a), to_model(b)) == pytest.approx(ssim(a, b), rel=1e-9)
    assert ssim(a, a) == pytest.approx(1.0) and np.isinf(psnr(a, a))


def test_ms_ssim_identity_and_coarsest_scale():
    a, b = _pair("random", seed=2, shape=(1, 180, 176, 3))
    assert ms_ssim(a, a) == pytest.approx(1.0)
    assert 0.0 < ms_ssim(a, b) < 1.0
    # weights (0, 0, 0, 0, 1): only the full SSIM of the fifth scale remains
    x, y = a[0].astype(np.float64), b[0].astype(np.float64)
    for _ in range(4):
        x, y = _halve(x), _halve(y)
    expected = structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=255, channel_axis=-1)
    assert ms_ssim_frames(a, b, weights=(0, 0, 0, 0, 1.0))[0] == pytest.approx(expected, rel=1e-9)
    assert len(MS_SSIM_WEIGHTS) == 5 and sum(MS_SSIM_WEIGHTS) == pytest.approx(1.0, abs=1e-3)


def test_bad_inputs_teach():
    a, b = _pair("random", shape=(2, 64, 64, 3))
    with pytest.raises(InputError, match="needs frames >= 176"):
        ms_ssim(a, b)
    with pytest.raises(InputError, match="differ in shape"):
        psnr(a, b[:1])
    with pytest.raises(InputError, match="at least 11 px"):
        ssim(a[:, :8, :8], b[:, :8, :8])
