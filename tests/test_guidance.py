"""Classifier-free guidance: batching, formulas on every channel, ramps, schedules, rescale."""

import math
import re

import pytest
import torch
from diffusers.guiders.guider_utils import rescale_noise_cfg

from kinema.conditioning.batch import ConditionBatch
from kinema.config import from_dict
from kinema.errors import ConfigError
from kinema.sampling.guidance import (
    GUIDANCE_PRESETS,
    GuidanceConfig,
    guidance_preset,
    guided_denoiser,
    progress_from_sigmas,
    rescale_guidance,
    schedule_factor,
)

B, C, T, H, W = 2, 4, 5, 3, 3


class FakeDenoiser:
    """Records every call; output depends on x, sigma, image and text, differently per channel."""

    def __init__(self):
        self.calls = []
        self.w_img = torch.arange(1.0, C + 1).view(1, C, 1, 1, 1)  # every channel its own weight
        self.w_txt = torch.tensor([0.5, -1.0, 2.0, 3.0]).view(1, C, 1, 1, 1)

    def __call__(self, x, sigma, cond, **kw):
        self.calls.append({"x": tuple(x.shape), "sigma": tuple(sigma.shape), "cond": cond, "kw": kw})
        n = x.shape[0]
        cond = cond if cond is not None else ConditionBatch()
        img = cond.concat[:, :C] if cond.concat is not None else torch.zeros_like(x)
        txt = cond.tokens.mean(dim=(1, 2)).view(n, 1, 1, 1, 1) if cond.tokens is not None else 0.0
        s = sigma.view(n, 1, 1, 1, 1)
        return x / (1 + s**2) + self.w_img * img + self.w_txt * txt + 0.3 * img * txt


def make_inputs(seed=0, tokens=True, concat=True):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, C, T, H, W, generator=g)
    sigma = torch.tensor([0.7, 2.0])
    cond = ConditionBatch(
        concat=torch.randn(B, C + 1, T, H, W, generator=g) if concat else None,
        tokens=torch.randn(B, 6, 8, generator=g) + 1.0 if tokens else None,
        token_mask=torch.ones(B, 6, dtype=torch.bool) if tokens else None,
        vector=torch.tensor([[8.0, 1.0, 0.02], [8.0, 2.0, 0.02]]),
    )
    return x, sigma, cond


def separately(fake, x, sigma, cond):
    """Reference predictions from three separate, unbatched calls."""
    d_full = fake(x, sigma, cond)
    d_img = fake(x, sigma, cond.drop_text())
    d_none = fake(x, sigma, cond.drop_text().drop_image())
    return d_full, d_img, d_none


@pytest.mark.parametrize("cfg, k", [
    (GuidanceConfig(text_scale=5.0, image_scale=1.5), 3),
    (GuidanceConfig(text_scale=5.0), 2),
    (GuidanceConfig(image_scale=2.0), 2),
    (GuidanceConfig(frame_ramp=(1.0, 3.0)), 2),
])
def test_one_forward_pass_of_batch_kB(cfg, k):
    fake = FakeDenoiser()
    x, sigma, cond = make_inputs()
    guided_denoiser(fake, cfg)(x, sigma, cond, image_mode=False)
    assert len(fake.calls) == 1
    call = fake.calls[0]
    assert call["x"] == (k * B, C, T, H, W) and call["sigma"] == (k * B,)
    assert call["cond"].batch_size == k * B and call["kw"] == {"image_mode": False}
    # the vector route (fps, motion, noise_aug) is kept in every variant
    assert torch.equal(call["cond"].vector, cond.vector.repeat(k, 1))


def test_all_scales_one_calls_once_with_the_conditional_batch():
    fake = FakeDenoiser()
    x, sigma, cond = make_inputs()
    out = guided_denoiser(fake, GuidanceConfig(rescale=0.7))(x, sigma, cond)
    assert len(fake.calls) == 1 and fake.calls[0]["x"] == (B, C, T, H, W)
    assert torch.equal(out, fake(x, sigma, cond))


def test_dual_guidance_matches_instructpix2pix_formula_on_every_channel():
    fake = FakeDenoiser()
    x, sigma, cond = make_inputs()
    s_txt, s_img = 4.0, 1.7
    out = guided_denoiser(fake, GuidanceConfig(text_scale=s_txt, image_scale=s_img))(x, sigma, cond)
    d_full, d_img, d_none = separately(fake, x, sigma, cond)
    expected = d_none + s_img * (d_img - d_none) + s_txt * (d_full - d_img)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    for c in range(C):  # every channel moved away from the conditional output (DiT issue #41)
        assert (out[:, c] - d_full[:, c]).abs().max() > 1e-2


def test_text_only_cfg_drops_text_and_image_only_cfg_drops_image():
    fake = FakeDenoiser()
    x, sigma, cond = make_inputs()
    d_c = fake(x, sigma, cond)
    out_t = guided_denoiser(fake, GuidanceConfig(text_scale=3.0))(x, sigma, cond)
    d_u = fake(x, sigma, cond.drop_text())
    torch.testing.assert_close(out_t, d_u + 3.0 * (d_c - d_u), rtol=1e-5, atol=1e-5)
    out_i = guided_denoiser(fake, GuidanceConfig(image_scale=2.5))(x, sigma, cond)
    d_u = fake(x, sigma, cond.drop_image())
    torch.testing.assert_close(out_i, d_u + 2.5 * (d_c - d_u), rtol=1e-5, atol=1e-5)
    for c in range(C):
        assert (out_t[:, c] - d_c[:, c]).abs().max() > 1e-2
        assert (out_i[:, c] - d_c[:, c]).abs().max() > 1e-2


def test_absent_route_is_not_guided_and_not_batched():
    fake = FakeDenoiser()
    x, sigma, cond = make_inputs(tokens=False)
    cfg = GuidanceConfig(text_scale=6.0, image_scale=2.0)
    out = guided_denoiser(fake, cfg)(x, sigma, cond)
    assert fake.calls[0]["x"][0] == 2 * B  # no text route: image-only CFG
    d_full, d_img, d_none = separately(fake, x, sigma, cond)
    torch.testing.assert_close(out, d_none + 2.0 * (d_img - d_none) + 6.0 * (d_full - d_img),
                               rtol=1e-5, atol=1e-5)
    fake.calls.clear()
    out = guided_denoiser(fake, cfg)(x, sigma, None)
    assert len(fake.calls) == 1 and fake.calls[0]["x"][0] == B


def test_frame_ramp_scales_equal_linspace_per_frame():
    fake = FakeDenoiser()
    x, sigma, cond = make_inputs()
    out = guided_denoiser(fake, GuidanceConfig(frame_ramp=(1.0, 3.0)))(x, sigma, cond)
    d_c, d_u = fake(x, sigma, cond), fake(x, sigma, cond.drop_image())
    scale = 1.0 + (out - d_c) / (d_c - d_u)  # (B, C, T, H, W), constant over all but T
    expected = torch.linspace(1.0, 3.0, T).view(1, 1, T, 1, 1).expand_as(scale)
    torch.testing.assert_close(scale, expected, rtol=1e-4, atol=1e-4)


def test_rescale_phi0_is_plain_cfg_and_phi1_matches_conditional_std():
    fake = FakeDenoiser()
    x, sigma, cond = make_inputs()
    plain = guided_denoiser(fake, GuidanceConfig(text_scale=7.0))(x, sigma, cond)
    phi0 = guided_denoiser(fake, GuidanceConfig(text_scale=7.0, rescale=0.0))(x, sigma, cond)
    phi1 = guided_denoiser(fake, GuidanceConfig(text_scale=7.0, rescale=1.0))(x, sigma, cond)
    assert torch.equal(plain, phi0)
    d_c = fake(x, sigma, cond)
    dims = (1, 2, 3, 4)
    torch.testing.assert_close(phi1.std(dim=dims), d_c.std(dim=dims), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(plain.std(dim=dims), d_c.std(dim=dims), rtol=1e-2)


def test_rescale_agrees_with_diffusers():
    g = torch.Generator().manual_seed(3)
    x_cfg, x_cond = torch.randn(3, 4, 2, 5, 5, generator=g) * 3, torch.randn(3, 4, 2, 5, 5, generator=g)
    for phi in (0.0, 0.3, 0.7, 1.0):
        torch.testing.assert_close(rescale_guidance(x_cfg, x_cond, phi),
                                   rescale_noise_cfg(x_cfg, x_cond, guidance_rescale=phi))


@pytest.mark.parametrize("process", ["ve", "flow"])
def test_guidance_in_x0_space_equals_guidance_in_eps_space(process):
    fake = FakeDenoiser()
    x, _, cond = make_inputs()
    sigma = torch.tensor([0.3, 0.8])
    s = sigma.view(-1, 1, 1, 1, 1)
    a = torch.ones_like(s) if process == "ve" else 1 - s  # x = a x0 + sigma eps
    to_eps = lambda x0: (x - a * x0) / s  # noqa: E731
    out = guided_denoiser(fake, GuidanceConfig(text_scale=4.0, image_scale=2.0))(x, sigma, cond)
    e_full, e_img, e_none = (to_eps(d) for d in separately(fake, x, sigma, cond))
    eps = e_none + 2.0 * (e_img - e_none) + 4.0 * (e_full - e_img)
    torch.testing.assert_close(out, (x - s * eps) / a, rtol=1e-4, atol=1e-4)


def test_schedule_factor_endpoints():
    p = torch.tensor([0.0, 0.5, 1.0])
    assert torch.equal(schedule_factor("constant", p, 0.2, 0.9), torch.ones(3))
    torch.testing.assert_close(schedule_factor("linear", p, 1.0, 0.2), torch.tensor([1.0, 0.6, 0.2]))
    torch.testing.assert_close(schedule_factor("cosine", p, 1.0, 0.2), torch.tensor([1.0, 0.6, 0.2]))
    quarter = schedule_factor("cosine", torch.tensor([0.25]), 1.0, 0.0)
    torch.testing.assert_close(quarter, torch.tensor([0.5 * (1 + math.cos(math.pi / 4))]))


def test_progress_from_sigmas_indexes_steps_and_midpoints():
    sigmas = torch.tensor([80.0, 20.0, 5.0, 1.0, 0.0])
    progress = progress_from_sigmas(torch.tensor([80.0, 20.0, 5.0, 1.0, 10.0, 200.0, 0.5]), sigmas)
    torch.testing.assert_close(progress, torch.tensor([0.0, 1 / 3, 2 / 3, 1.0, 0.5, 0.0, 1.0]))


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedule_applied_at_first_and_last_step(kind):
    fake = FakeDenoiser()
    x, _, cond = make_inputs()
    sigmas = torch.tensor([10.0, 3.0, 1.0, 0.0])
    cfg = GuidanceConfig(text_scale=5.0, schedule=kind, schedule_start=1.0, schedule_end=0.25)
    for guided in (guided_denoiser(fake, cfg, sigmas=sigmas), guided_denoiser(fake, cfg, n_steps=3)):
        for sig, factor in ((sigmas[0], 1.0), (sigmas[1], None), (sigmas[2], 0.25)):
            sigma = sig.expand(B)
            out = guided(x, sigma, cond)
            if factor is None:
                continue
            d_c, d_u = fake(x, sigma, cond), fake(x, sigma, cond.drop_text())
            expected = d_c + (5.0 - 1.0) * factor * (d_c - d_u)
            torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_interval_guides_only_inside():
    fake = FakeDenoiser()
    x, _, cond = make_inputs()
    guided = guided_denoiser(fake, GuidanceConfig(text_scale=5.0, interval=(0.5, 2.0)))
    outside = torch.tensor([3.0, 0.5])  # 0.5 is excluded: the interval is (lo, hi]
    out = guided(x, outside, cond)
    assert fake.calls[-1]["x"][0] == B and torch.equal(out, fake(x, outside, cond))
    mixed = torch.tensor([3.0, 2.0])  # sample 0 outside, sample 1 inside
    out = guided(x, mixed, cond)
    d_c, d_u = fake(x, mixed, cond), fake(x, mixed, cond.drop_text())
    torch.testing.assert_close(out[0], d_c[0], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(out[1], (d_c + 4.0 * (d_c - d_u))[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs, needle", [
    ({"text_scale": float("nan")}, "text_scale=nan"),
    ({"image_scale": -1.0}, "image_scale=-1.0"),
    ({"text_scale": float("inf")}, "text_scale=inf"),
    ({"rescale": 1.5}, "rescale=1.5"),
    ({"frame_ramp": (1.0, -2.0)}, "frame_ramp=-2.0"),
    ({"frame_ramp": (1.0, 2.0), "image_scale": 2.0}, "image_scale=2.0"),
    ({"interval": (2.0, 1.0)}, "interval=(2.0, 1.0)"),
    ({"schedule": "exp"}, "schedule='exp'"),
    ({"schedule_end": -0.5}, "schedule_end=-0.5"),
])
def test_invalid_config_raises_config_error_naming_value(kwargs, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        GuidanceConfig(**kwargs)


def test_schedule_without_steps_is_a_config_error():
    with pytest.raises(ConfigError, match="sigmas= or n_steps="):
        guided_denoiser(FakeDenoiser(), GuidanceConfig(text_scale=2.0, schedule="linear"))


def test_from_dict_and_presets():
    cfg = from_dict(GuidanceConfig, {"text_scale": 7, "rescale": "0.7", "schedule": "cosine"})
    assert cfg.text_scale == 7.0 and cfg.rescale == 0.7 and cfg.schedule == "cosine"
    with pytest.raises(ConfigError):
        from_dict(GuidanceConfig, {"schedule": "exp"})
    for name in GUIDANCE_PRESETS:
        assert isinstance(guidance_preset(name), GuidanceConfig)
    assert guidance_preset("off").is_off and not guidance_preset("svd").is_off
    assert guidance_preset("svd") is not guidance_preset("svd")
    with pytest.raises(ConfigError, match="nope"):
        guidance_preset("nope")
