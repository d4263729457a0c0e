"""Noise priors (survey Sec. IV-C, Eq. 18) and SVD noise augmentation."""

import math

import pytest
import scipy.fft
import torch

from kinema.errors import ConfigError
from kinema.sampling.noise_priors import (
    NOISE_PRIORS,
    augment_condition,
    freq_split,
    lowpass_mask,
    make_initial_noise,
    mix_frequencies,
    noised_image_noise,
    sample_noise_aug_level,
)

SHAPE = (8, 4, 8, 16, 16)  # (B, C, T, h, w)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def first_latent(seed=100, shape=SHAPE):
    b, c, _, h, w = shape
    return torch.randn(b, c, h, w, generator=gen(seed))


@pytest.mark.parametrize("prior, process, sigma_max", [
    ("iid", "ve", 80.0),
    ("mixed", "ve", 80.0),
    ("lowfreq", "ve", 80.0),
    ("lowfreq", "flow", 1.0),
    ("image_noise", "ve", 80.0),
    ("image_noise", "flow", 1.0),
])
def test_priors_have_zero_mean_and_unit_variance(prior, process, sigma_max):
    noise = make_initial_noise(prior, SHAPE, generator=gen(0), first_latent=first_latent(),
                               sigma_max=sigma_max, process=process)
    assert noise.shape == SHAPE and noise.dtype == torch.float32
    assert abs(noise.mean().item()) < 0.03
    assert abs(noise.std().item() - 1.0) < 0.03


@pytest.mark.parametrize("prior", sorted(NOISE_PRIORS))
def test_same_seed_same_noise(prior):
    kw = dict(first_latent=first_latent(), sigma_max=5.0)
    a = make_initial_noise(prior, SHAPE, generator=gen(7), **kw)
    b = make_initial_noise(prior, SHAPE, generator=gen(7), **kw)
    c = make_initial_noise(prior, SHAPE, generator=gen(8), **kw)
    assert torch.equal(a, b) and not torch.allclose(a, c)


@pytest.mark.parametrize("prior", ["lowfreq", "image_noise"])
def test_prior_needing_an_image_checks_first_latent(prior):
    with pytest.raises(ConfigError, match=f"{prior}.*needs an input image"):
        make_initial_noise(prior, SHAPE, generator=gen(0), sigma_max=80.0)
    one = make_initial_noise(prior, SHAPE, generator=gen(0), sigma_max=5.0,
                             first_latent=first_latent()[:1])
    every = make_initial_noise(prior, SHAPE, generator=gen(0), sigma_max=5.0,
                               first_latent=first_latent()[:1].expand(SHAPE[0], -1, -1, -1))
    assert torch.equal(one, every)  # a (1, C, h, w) image serves every sample
    with pytest.raises(ConfigError, match="does not match"):
        make_initial_noise(prior, SHAPE, generator=gen(0), sigma_max=80.0,
                           first_latent=torch.zeros(8, 4, 15, 16))


def test_bad_names_and_ranges_raise_config_error():
    z = first_latent()
    with pytest.raises(ConfigError, match="'pink'"):
        make_initial_noise("pink", SHAPE, generator=gen(0))
    with pytest.raises(ConfigError, match="'cutof'"):
        make_initial_noise("lowfreq", SHAPE, generator=gen(0), first_latent=z, sigma_max=1.0, cutof=0.1)
    with pytest.raises(ConfigError, match="sigma_max=2.0"):
        make_initial_noise("image_noise", SHAPE, generator=gen(0), first_latent=z, sigma_max=2.0,
                           process="flow")
    with pytest.raises(ConfigError, match="shared=1.5"):
        make_initial_noise("image_noise", SHAPE, generator=gen(0), first_latent=z, sigma_max=2.0,
                           shared=1.5)


@pytest.mark.parametrize("kind", ["gaussian", "butterworth", "ideal"])
def test_frequency_split_is_exact_and_matches_scipy(kind):
    x = torch.randn(2, 3, 6, 10, 12, generator=gen(1))
    mask = lowpass_mask(6, 10, 12, kind=kind, cutoff_spatial=0.4, cutoff_temporal=0.6)
    assert 0.0 <= mask.min() and mask.max() <= 1.0 and mask[0, 0, 0] == 1.0
    low, high = freq_split(x, mask)
    torch.testing.assert_close(low + high, x, rtol=1e-5, atol=1e-5)
    ref = scipy.fft.ifftn(scipy.fft.fftn(x.numpy(), axes=(-3, -2, -1)) * mask.numpy(), axes=(-3, -2, -1))
    assert abs(ref.imag).max() < 1e-5  # symmetric mask: the low part is real
    torch.testing.assert_close(low, torch.from_numpy(ref.real).float(), rtol=1e-4, atol=1e-5)


def test_ideal_lowpass_keeps_slow_and_removes_fast_waves():
    t, h, w = torch.meshgrid(torch.arange(8.0), torch.arange(16.0), torch.arange(16.0), indexing="ij")
    slow = torch.cos(2 * math.pi * (t / 8 + h / 16))  # 1/8 cycle per frame, 1/16 per row: inside
    fast = torch.cos(2 * math.pi * (3 * t / 8))  # 3/8 cycle per frame: outside a 0.5 temporal cutoff
    mask = lowpass_mask(8, 16, 16, kind="ideal", cutoff_spatial=0.5, cutoff_temporal=0.5)
    low, high = freq_split(slow + fast, mask)
    torch.testing.assert_close(low, slow, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(high, fast, rtol=1e-4, atol=1e-4)


def test_lowfreq_cutoff_zero_is_the_fresh_iid_noise():
    z = first_latent()
    out = make_initial_noise("lowfreq", SHAPE, generator=gen(3), first_latent=z, sigma_max=4.0,
                             cutoff_spatial=0.0)
    g = gen(3)  # documented draw order: eps_image, then eps_fresh
    torch.randn(SHAPE, generator=g)
    fresh = torch.randn(SHAPE, generator=g)
    torch.testing.assert_close(out, fresh, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("process, sigma_max", [("ve", 4.0), ("flow", 0.8)])
def test_lowfreq_full_pass_is_the_noised_image_latent(process, sigma_max):
    z = first_latent()
    out = make_initial_noise("lowfreq", SHAPE, generator=gen(3), first_latent=z, sigma_max=sigma_max,
                             process=process, cutoff_spatial=math.inf, cutoff_temporal=math.inf)
    eps_image = torch.randn(SHAPE, generator=gen(3))
    a = 1.0 if process == "ve" else 1.0 - sigma_max
    expected = a * z.unsqueeze(2) / sigma_max + eps_image  # x_T / sigma_max, x_T = a z + sigma eps
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(noised_image_noise(z, eps_image, sigma_max, process), expected)


@pytest.mark.parametrize("kind", ["gaussian", "butterworth"])
def test_mixing_variance_linear_vs_power(kind):
    a = torch.randn(SHAPE, generator=gen(5))
    b = torch.randn(SHAPE, generator=gen(6))
    mask = lowpass_mask(*SHAPE[2:], kind=kind, cutoff_spatial=0.5, cutoff_temporal=0.5)
    expected_linear = (mask**2 + (1 - mask) ** 2).mean().item()
    assert expected_linear < 0.95  # the linear mix visibly loses variance here
    assert abs(mix_frequencies(a, b, mask, "linear").var().item() - expected_linear) < 0.03
    assert abs(mix_frequencies(a, b, mask, "power").var().item() - 1.0) < 0.03
    torch.testing.assert_close(mix_frequencies(a, b, torch.zeros_like(mask)), b, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(mix_frequencies(a, b, torch.ones_like(mask)), a, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("process, sigma_max", [("ve", 2.0), ("flow", 0.5)])
def test_image_noise_prior_follows_eq18(process, sigma_max):
    z = first_latent()
    shared = 0.6
    noise = make_initial_noise("image_noise", SHAPE, generator=gen(9), first_latent=z,
                               sigma_max=sigma_max, process=process, shared=shared)
    a = 1.0 if process == "ve" else 1.0 - sigma_max
    x_T = sigma_max * noise  # the pipeline's start state
    eps = (x_T - a * z.unsqueeze(2)) / sigma_max  # Eq. 18: eps^{i->1} per frame
    assert abs(eps.mean().item()) < 0.03 and abs(eps.std().item() - 1.0) < 0.03
    z_rep = z.unsqueeze(2).expand_as(noise)
    cov = lambda u, v: ((u - u.mean()) * (v - v.mean())).mean()  # noqa: E731
    assert abs(cov(eps, z_rep).item()) < 0.03  # the residual noise is independent of the image
    for i in range(SHAPE[2]):  # every frame carries the first frame with weight a / sigma_max
        slope = cov(noise[:, :, i], z) / z.var()
        assert abs(slope.item() - a / sigma_max) < 0.05
    frame_corr = torch.corrcoef(torch.stack([eps[:, :, 0].flatten(), eps[:, :, 5].flatten()]))[0, 1]
    assert abs(frame_corr.item() - shared) < 0.05


def test_augment_condition_adds_scaled_seeded_noise():
    x = torch.randn(3, 4, 2, 5, 5, generator=gen(0))
    assert torch.equal(augment_condition(x, 0.0, gen(1)), x)
    eps = torch.randn(x.shape, generator=gen(1))
    torch.testing.assert_close(augment_condition(x, 0.02, gen(1)), x + 0.02 * eps)
    level = torch.tensor([0.0, 0.1, 1.0])
    out = augment_condition(x, level, gen(1))
    torch.testing.assert_close(out, x + level.view(3, 1, 1, 1, 1) * eps)
    with pytest.raises(ConfigError, match="-0.1"):
        augment_condition(x, -0.1, gen(1))


def test_noise_aug_levels_are_log_normal():
    levels = sample_noise_aug_level(20000, gen(2), mean=-3.0, std=0.5)
    assert levels.shape == (20000,) and bool((levels > 0).all())
    assert abs(levels.log().mean().item() + 3.0) < 0.02
    assert abs(levels.log().std().item() - 0.5) < 0.02
    assert torch.equal(levels, sample_noise_aug_level(20000, gen(2)))


@pytest.mark.parametrize("shared", [0.0, 0.5, 0.9, 1.0])
def test_mixed_noise_frames_correlate_by_shared(shared):
    """PYoCo's mixed noise: unit variance, correlation ``shared`` between any two frames."""
    noise = make_initial_noise("mixed", (64, 4, 4, 16, 16), generator=gen(3), shared=shared)
    a, b = noise[:, :, 0].flatten(), noise[:, :, 3].flatten()
    assert abs(noise.std().item() - 1.0) < 0.03
    assert torch.corrcoef(torch.stack([a, b]))[0, 1].item() == pytest.approx(shared, abs=0.03)
    with pytest.raises(ConfigError, match="shared=1.5"):
        make_initial_noise("mixed", SHAPE, generator=gen(0), shared=1.5)


def test_mixed_noise_takes_one_share_per_sample():
    """A (B,) share draws each sample as the scalar share would, from the same draws."""
    from kinema.sampling.noise_priors import mixed_noise

    both = mixed_noise((2, 4, 3, 8, 8), generator=gen(7), shared=torch.tensor([0.9, 0.0]))
    g = gen(7)
    eps_ref, eps_res = torch.randn(2, 4, 1, 8, 8, generator=g), torch.randn(2, 4, 3, 8, 8, generator=g)
    torch.testing.assert_close(both[0], 0.9 ** 0.5 * eps_ref[0] + 0.1 ** 0.5 * eps_res[0])
    torch.testing.assert_close(both[1], eps_res[1])  # share 0: i.i.d.
    with pytest.raises(ConfigError, match="shared"):
        mixed_noise((2, 4, 3, 8, 8), generator=gen(0), shared=torch.tensor([0.5, -0.1]))


def test_image_noise_is_the_first_frame_plus_mixed_noise():
    """TRIP's prior (Eq. 18) = the noised first frame with PYoCo's mixed noise as its eps~_i."""
    z, sigma_max = first_latent(), 4.0
    eps = make_initial_noise("mixed", SHAPE, generator=gen(5), shared=0.3)
    expected = noised_image_noise(z, eps, sigma_max, "ve")
    got = make_initial_noise("image_noise", SHAPE, generator=gen(5), first_latent=z, sigma_max=sigma_max, shared=0.3)
    torch.testing.assert_close(got, expected)
