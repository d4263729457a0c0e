"""Invariants of kinema.diffusion: preconditioning, noising, VP tables, schedules, densities, loss."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from kinema.diffusion import (
    PARAM_PRESETS, Denoiser, DiffusionLoss, LossBins, build_parameterization, flow_shift_for_resolution,
    get_density, get_parameterization, get_sigmas, make_betas, raw_loss_weight, vp_timesteps, x0_loss_weight,
)
from kinema.errors import ConfigError

diffusers = pytest.importorskip("diffusers")
from diffusers import DDPMScheduler, EulerDiscreteScheduler  # noqa: E402

NAMES = ["eps", "v", "x0", "edm", "flow"]
SHAPE = (3, 2, 2, 3, 3)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def draw(seed=0):
    g = gen(seed)
    return torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g)


def some_sigmas(param) -> torch.Tensor:
    if param.process == "flow":
        return torch.tensor([0.05, 0.5, 0.97])
    return torch.tensor([param.sigma_min * 1.5, 1.0, param.sigma_max * 0.8])


class Oracle(nn.Module):
    """Returns a fixed tensor and records what the denoiser fed it."""

    def __init__(self, out):
        super().__init__()
        self.out, self.seen = out, {}

    def forward(self, x_in, c_noise, cond=None, **kw):
        self.seen = {"x_in": x_in, "c_noise": c_noise, "cond": cond, **kw}
        return self.out


# ----------------------------------------------------------------------------- parameterizations


@pytest.mark.parametrize("name", NAMES)
def test_exact_target_gives_exact_x0(name):
    """``x0_hat == x0`` when F outputs the parameterization's training target (Karras Eq. 7-8)."""
    param = get_parameterization(name)
    x0, eps = draw()
    sigma = some_sigmas(param)
    x = param.add_noise(x0, eps, sigma)
    den = Denoiser(Oracle(param.training_target(x0, eps, sigma)), param)
    torch.testing.assert_close(den(x, sigma), x0, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["eps", "v", "x0", "flow"])
def test_closed_form_target_equals_generic_formula(name):
    """Each class's closed-form target equals the base class's ``(x0 - c_skip x) / c_out``."""
    param = get_parameterization(name)
    x0, eps = draw(1)
    sigma = some_sigmas(param)
    c_skip, c_out, _, _ = (c.view(-1, 1, 1, 1, 1) for c in param.precondition(sigma))
    generic = (x0 - c_skip * param.add_noise(x0, eps, sigma)) / c_out
    torch.testing.assert_close(param.training_target(x0, eps, sigma), generic, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("schedule,start,end", [("linear", 1e-4, 0.02), ("scaled_linear", 0.00085, 0.012),
                                                ("squaredcos_cap_v2", 1e-4, 0.02)])
def test_vp_state_timestep_and_v_match_diffusers(schedule, start, end):
    """c_in * x is DDPM's x_t, c_noise its timestep, and the v target diffusers' get_velocity."""
    sched = DDPMScheduler(beta_schedule=schedule, beta_start=start, beta_end=end)
    param = get_parameterization("v", schedule=schedule, beta_start=start, beta_end=end)
    torch.testing.assert_close(make_betas(schedule, 1000, start, end).float(), sched.betas, rtol=1e-5, atol=1e-8)
    t = torch.tensor([0, 417, 999])
    sigma = param.schedule.sigmas[t].float()
    x0, eps = draw(2)
    oracle = Oracle(torch.zeros(SHAPE))
    Denoiser(oracle, param)(param.add_noise(x0, eps, sigma), sigma)
    torch.testing.assert_close(oracle.seen["x_in"], sched.add_noise(x0, eps, t), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(oracle.seen["c_noise"], t.float(), rtol=0, atol=1e-3)
    torch.testing.assert_close(param.training_target(x0, eps, sigma), sched.get_velocity(x0, eps, t),
                               rtol=1e-5, atol=1e-5)


def test_sigma_to_t_matches_diffusers_log_interpolation_and_round_trips():
    param = get_parameterization("eps", schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    sched = EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    sigma = torch.exp(torch.empty(50).uniform_(math.log(0.03), math.log(14.0), generator=gen(3)))
    log_sigmas = ((1 - sched.alphas_cumprod) / sched.alphas_cumprod).sqrt().log().numpy()
    ref = torch.tensor([float(sched._sigma_to_t(s, log_sigmas)) for s in sigma.double().numpy()])
    t = param.schedule.sigma_to_t(sigma)
    torch.testing.assert_close(t, ref.float(), rtol=0, atol=2e-3)
    torch.testing.assert_close(param.schedule.t_to_sigma(t), sigma, rtol=1e-5, atol=0)


def test_edm_preconditioning_gives_unit_variance_input_and_target():
    """Karras et al. 2022 Eq. 114-117: for Var[x0] = sd^2, Var[c_in x] = 1 and Var[target] = 1."""
    param = get_parameterization("edm", sigma_data=0.5)
    sigma = torch.tensor([0.002, 0.3, 5.0, 80.0])
    c_skip, c_out, c_in, c_noise = param.precondition(sigma)
    sd2 = 0.25
    torch.testing.assert_close(c_in**2 * (sd2 + sigma**2), torch.ones(4))
    target_var = ((1 - c_skip) ** 2 * sd2 + c_skip**2 * sigma**2) / c_out**2
    torch.testing.assert_close(target_var, torch.ones(4))
    torch.testing.assert_close(c_noise, sigma.log() / 4)


def test_flow_noising_and_coefficients():
    param = get_parameterization("flow")
    x0, eps = draw(4)
    t = torch.tensor([0.0, 0.25, 1.0])
    x = param.add_noise(x0, eps, t)
    torch.testing.assert_close(x[0], x0[0])
    torch.testing.assert_close(x[2], eps[2])
    torch.testing.assert_close(x[1], 0.75 * x0[1] + 0.25 * eps[1])
    torch.testing.assert_close(param.precondition(t)[3], t * 1000)
    assert param.process == "flow" and get_parameterization("eps").process == "ve"


def test_prior_is_sigma_max_times_noise():
    noise = torch.randn(SHAPE, generator=gen(5))
    for name in NAMES:
        param = get_parameterization(name)
        torch.testing.assert_close(param.prior(noise, param.sigma_max), noise * param.sigma_max)


def test_factory_errors_and_presets():
    with pytest.raises(ConfigError, match="not one of"):
        get_parameterization("epsilon")
    with pytest.raises(ConfigError, match="cosine"):
        get_parameterization("eps", schedule="cosinus")
    with pytest.raises(ConfigError):
        get_parameterization("edm", sigma_min=5.0, sigma_max=1.0)
    for name in PARAM_PRESETS:
        p = build_parameterization(name)
        assert type(p) is type(get_parameterization(p.name, **p.config()))
    assert get_parameterization("v", schedule="cosine").schedule.schedule == "cosine"


def test_denoiser_broadcasts_scalar_sigma_and_passes_kwargs():
    param = get_parameterization("edm")
    oracle = Oracle(torch.ones(SHAPE))
    den = Denoiser(oracle, param)
    x = torch.randn(SHAPE, generator=gen(6))
    out = den(x, torch.tensor(2.0), "cond", image_mode=True)
    assert oracle.seen["image_mode"] is True and oracle.seen["cond"] == "cond"
    assert oracle.seen["c_noise"].shape == (3,)
    torch.testing.assert_close(out, den(x, torch.full((3,), 2.0), "cond"))
    assert den.process == "ve"
    with pytest.raises(ValueError, match="shape"):
        den(x, torch.ones(2))


# ----------------------------------------------------------------------------- schedules


@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
@pytest.mark.parametrize("n", [7, 10, 25])
def test_vp_timesteps_match_diffusers_spacing(spacing, n):
    sched = EulerDiscreteScheduler(timestep_spacing=spacing)
    sched.set_timesteps(n)
    torch.testing.assert_close(vp_timesteps(n, spacing).float(), sched.timesteps, rtol=0, atol=1e-3)


@pytest.mark.parametrize("name,kind,kw", [("eps", "vp", {"spacing": "trailing"}), ("v", "vp", {"spacing": "linspace"}),
                                          ("x0", "karras", {}), ("edm", None, {}), ("flow", None, {"shift": 3.0}),
                                          ("flow", "karras", {"sigma_max": 1.0, "sigma_min": 0.01})])
@pytest.mark.parametrize("n", [1, 2, 13])
def test_get_sigmas_endpoints_and_monotonicity(name, kind, kw, n):
    param = get_parameterization(name)
    s = get_sigmas(param, n, kind=kind, **kw)
    assert s.dtype == torch.float32 and s.shape == (n + 1,)
    assert float(s[-1]) == 0.0 and bool((s[1:] < s[:-1]).all())
    if name == "flow" and kind is None:
        assert float(s[0]) == 1.0
    elif name == "edm" or kind == "karras" or (kw.get("spacing") == "linspace" and n > 1):
        expected = kw.get("sigma_max", param.sigma_max)
        assert math.isclose(float(s[0]), expected, rel_tol=1e-5)
        if n > 1:
            assert math.isclose(float(s[-2]), kw.get("sigma_min", param.sigma_min), rel_tol=1e-4)


def test_get_sigmas_errors():
    with pytest.raises(ConfigError, match="flow"):
        get_sigmas(get_parameterization("eps"), 10, kind="flow")
    with pytest.raises(ConfigError, match="VP"):
        get_sigmas(get_parameterization("flow"), 10, kind="vp")
    with pytest.raises(ConfigError, match="kind"):
        get_sigmas(get_parameterization("edm"), 10, kind="linear")
    with pytest.raises(ConfigError, match="n_steps"):
        get_sigmas(get_parameterization("edm"), 0)
    with pytest.raises(ConfigError, match="exceeds 1"):
        get_sigmas(get_parameterization("flow"), 5, kind="karras", sigma_max=2.0)


def test_flow_shift_for_resolution_is_exp_of_linear_mu():
    assert math.isclose(flow_shift_for_resolution(256), math.exp(0.5))
    assert math.isclose(flow_shift_for_resolution(4096), math.exp(1.15))
    mid = math.log(flow_shift_for_resolution(2176))  # halfway between 256 and 4096 tokens
    assert math.isclose(mid, (0.5 + 1.15) / 2)
    s = get_sigmas(get_parameterization("flow"), 4, num_tokens=4096)
    t = torch.linspace(1.0, 1e-3, 4, dtype=torch.float64)
    shift = math.exp(1.15)
    torch.testing.assert_close(s[:-1], (shift * t / (1 + (shift - 1) * t)).float())


# ----------------------------------------------------------------------------- densities


def test_lognormal_density_statistics():
    d = get_density("lognormal", get_parameterization("edm"))
    s = d.sample(20000, gen(7))
    assert s.shape == (20000,) and s.dtype == torch.float32
    assert abs(float(s.log().mean()) + 1.2) < 0.05 and abs(float(s.log().std()) - 1.2) < 0.05
    torch.testing.assert_close(d.sample(8, gen(1)), d.sample(8, gen(1)))


def test_logitnormal_density_statistics_and_shift():
    flow = get_parameterization("flow")
    t = get_density("logit_normal", flow).sample(20000, gen(8))
    logit = (t / (1 - t)).log()
    assert abs(float(logit.mean())) < 0.05 and abs(float(logit.std()) - 1.0) < 0.05
    shifted = get_density("logitnormal", flow, shift=3.0).sample(20000, gen(8))
    assert abs(float(shifted.median()) - 0.75) < 0.02  # median 0.5 -> 3*0.5/(1+2*0.5)


def test_uniform_densities():
    eps = get_parameterization("eps")
    s = get_density("uniform", eps).sample(5000, gen(9))
    t = eps.schedule.sigma_to_t(s)
    torch.testing.assert_close(t, t.round(), rtol=0, atol=2e-3)  # on the table
    assert abs(float(t.mean()) - 499.5) < 15
    u = get_density("uniform", get_parameterization("flow")).sample(5000, gen(9))
    assert 0.0 < float(u.min()) and float(u.max()) <= 1.0 and abs(float(u.mean()) - 0.5) < 0.02
    e = get_density("uniform", get_parameterization("edm")).sample(5000, gen(9))
    assert 0.002 <= float(e.min()) and float(e.max()) <= 80.0


def test_density_process_mismatch_raises():
    with pytest.raises(ConfigError, match="logitnormal"):
        get_density("logitnormal", get_parameterization("eps"))
    with pytest.raises(ConfigError, match="lognormal"):
        get_density("lognormal", get_parameterization("flow"))
    with pytest.raises(ConfigError, match="not one of"):
        get_density("gaussian", get_parameterization("flow"))


# ----------------------------------------------------------------------------- loss


def test_min_snr_weights_follow_hang_et_al():
    """Raw-space Min-SNR weights: min(SNR,g)/SNR (eps), min(SNR,g)/(SNR+1) (v), min(SNR,g) (x0)."""
    t = torch.tensor([0, 50, 300, 999])
    for name, f in [("eps", lambda snr, m: m / snr), ("v", lambda snr, m: m / (snr + 1)), ("x0", lambda snr, m: m)]:
        param = get_parameterization(name)
        ac = param.schedule.alphas_cumprod[t]
        snr = (ac / (1 - ac)).float()  # Ho et al.: alphā / (1 - alphā)
        sigma = param.schedule.sigmas[t].float()
        expected = f(snr, snr.clamp(max=5.0))
        torch.testing.assert_close(raw_loss_weight(param, sigma, "min_snr", 5.0), expected, rtol=1e-4, atol=0)
        torch.testing.assert_close(x0_loss_weight(param, sigma, "min_snr", 5.0), snr.clamp(max=5.0), rtol=1e-4, atol=0)


def test_top_weight_ratio_flags_an_untrained_sampling_start():
    """Min-SNR and eps-loss on a cosine schedule give sigma_max ~SNR ~1e-9 of the weight; native v does not."""
    from kinema.diffusion import top_weight_ratio

    cosine_v, cosine_eps = get_parameterization("v", schedule="cosine"), get_parameterization("eps", schedule="cosine")
    assert top_weight_ratio(cosine_v, "min_snr") < 1e-6 and top_weight_ratio(cosine_eps, "native") < 1e-6
    assert top_weight_ratio(cosine_v, "native") == pytest.approx(0.5, rel=1e-3)  # SNR + 1: 1 at the top, 2 at sigma=1
    assert top_weight_ratio(get_parameterization("flow"), "native") is None


@pytest.mark.parametrize("name", NAMES)
def test_native_loss_is_raw_target_mse_and_weighted_x0_error(name):
    param = get_parameterization(name)
    x0, eps = draw(10)
    out = torch.randn(SHAPE, generator=gen(11))
    sigma = some_sigmas(param)
    den = Denoiser(Oracle(out), param)
    loss, s = DiffusionLoss(param, None)(den, x0, None, sigma=sigma, eps=eps)
    target = param.training_target(x0, eps, sigma)
    torch.testing.assert_close(loss, ((out - target) ** 2).flatten(1).mean(1))
    x0_err = ((den(param.add_noise(x0, eps, sigma), sigma) - x0) ** 2).flatten(1).mean(1)
    torch.testing.assert_close(loss, x0_err * x0_loss_weight(param, sigma), rtol=1e-3, atol=1e-5)
    assert s is sigma


def test_loss_draws_from_density_and_respects_frame_mask():
    param = get_parameterization("flow")
    x0 = torch.randn(SHAPE, generator=gen(12))
    out = torch.randn(SHAPE, generator=gen(13))
    loss_fn = DiffusionLoss(param, get_density("logitnormal", param), weighting="min_snr")
    den = Denoiser(Oracle(out), param)
    l1, s1 = loss_fn(den, x0, None, gen(0))
    l2, s2 = loss_fn(den, x0, None, gen(0))
    torch.testing.assert_close(l1, l2)
    torch.testing.assert_close(s1, s2)
    mask = torch.tensor([1.0, 0.0]).view(1, 1, 2, 1, 1).expand(3, 1, 2, 1, 1)  # frame 1 ignored
    l_mask, _ = loss_fn(den, x0, None, gen(0), loss_mask=mask)
    x0_changed = x0.clone()
    x0_changed[:, :, 1] += 5.0
    l_changed, _ = loss_fn(den, x0_changed, None, gen(0), loss_mask=mask)
    torch.testing.assert_close(l_mask, l_changed)
    l_ones, _ = loss_fn(den, x0, None, gen(0), loss_mask=torch.ones(3, 1, 2, 1, 1))
    torch.testing.assert_close(l_ones, l1)
    with pytest.raises(ValueError, match="loss_mask"):
        loss_fn(den, x0, None, gen(0), loss_mask=torch.ones(3, 1, 5, 1, 1))


def test_loss_config_errors():
    with pytest.raises(ConfigError, match="weighting"):
        DiffusionLoss(get_parameterization("eps"), None, weighting="snr")
    with pytest.raises(ConfigError, match="edm"):
        DiffusionLoss(get_parameterization("flow"), None, weighting="edm")


def test_loss_bins_average_per_bin():
    bins = LossBins([0.0, 0.5, 1.0], log_scale=False)
    bins.add(torch.tensor([1.0, 3.0, 10.0, 7.0]), torch.tensor([0.1, 0.4, 0.6, 2.0]))  # 2.0 -> last bin
    means = list(bins.means().values())
    assert means == [2.0, 8.5]
    bins.reset()
    assert all(math.isnan(v) for v in bins.means().values())
    edm = LossBins.for_param(get_parameterization("edm"), n_bins=4)
    edm.add(torch.tensor([1.0, 2.0]), torch.tensor([0.002, 80.0]))
    vals = list(edm.means().values())
    assert vals[0] == 1.0 and vals[-1] == 2.0 and all(k.startswith("loss_ln_sigma[") for k in edm.means())


def test_a_truncated_uniform_density_is_uniform_over_the_low_timesteps():
    """Truncated(uniform timesteps, sigma(t_max)) = t ~ U{0..t_max} (SDXL refiner-style low-noise training)."""
    from kinema.diffusion import Truncated

    eps = get_parameterization("eps")
    t_max = 299
    d = Truncated(get_density("uniform", eps), float(eps.schedule.sigmas[t_max]))
    t = eps.schedule.sigma_to_t(d.sample(6000, gen(4))).round()
    assert int(t.max()) == t_max and int(t.min()) == 0
    counts = torch.bincount(t.long() // 50, minlength=6).float()  # 6 bins of 50 timesteps
    assert float((counts / counts.mean() - 1).abs().max()) < 0.12  # flat, as U{0..299}
    with pytest.raises(ConfigError, match="max_sigma"):
        Truncated(get_density("uniform", eps), 0.0)
    with pytest.raises(ConfigError, match="almost never"):
        Truncated(get_density("uniform", eps), 1e-9, max_rounds=3).sample(8, gen(0))
