"""Sampler invariants: single steps equal their formulas, the ODE solvers converge at their order
on a Gaussian toy problem with its exact denoiser, ancestral samplers keep the data marginal (for
VE and for flow), and sampler/process mismatches are refused with a ConfigError."""

from __future__ import annotations

import math

import pytest
import torch

from kinema.diffusion import alpha, get_parameterization, get_sigmas
from kinema.errors import ConfigError
from kinema.sampling.samplers import SAMPLER_PROCESSES, SAMPLERS, get_sampler, samplers_for

S_DATA = 0.5  # data std of the Gaussian toy problem


class GaussianDenoiser:
    """Exact ``E[x0 | x]`` for ``x0 ~ N(0, S_DATA^2)``: ``alpha s^2 / (alpha^2 s^2 + sigma^2) x``."""

    def __init__(self, process: str):
        self.process, self.calls = process, 0

    def __call__(self, x, sigma, cond=None):
        self.calls += 1
        a = alpha(sigma, self.process).view(-1, 1, 1, 1, 1)
        s = sigma.view(-1, 1, 1, 1, 1)
        return a * S_DATA**2 / (a**2 * S_DATA**2 + s**2) * x


def marginal_std(sigma: float, process: str) -> float:
    a = 1.0 if process == "ve" else 1.0 - sigma
    return math.sqrt(a**2 * S_DATA**2 + sigma**2)


def start(process: str, sigmas, shape=(4, 1, 2, 2, 2), seed=0):
    z = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    return z * marginal_std(float(sigmas[0]), process)


def schedule(process: str, n: int):
    if process == "flow":
        return get_sigmas(get_parameterization("flow"), n, shift=3.0)
    return get_sigmas(get_parameterization("edm"), n)


def capture(name, den, x, sigmas, at: int, **opts):
    """The state a sampler hands to step ``at`` (i.e. after ``at`` steps)."""
    seen = {}
    SAMPLERS[name](den, x, sigmas, callback=lambda d: seen.setdefault(d["i"], d["x"].clone()), **opts)
    return seen[at]


# ----------------------------------------------------------------------------- one step = its formula


def test_euler_and_heun_single_step_formulas():
    den = GaussianDenoiser("ve")
    x = torch.randn(2, 1, 1, 2, 2, generator=torch.Generator().manual_seed(1))
    sigmas = torch.tensor([2.0, 0.5, 0.0])
    d = (x - den(x, torch.full((2,), 2.0))) / 2.0
    torch.testing.assert_close(capture("euler", den, x, sigmas, 1), x + (0.5 - 2.0) * d)
    x_e = x + (0.5 - 2.0) * d
    d2 = (x_e - den(x_e, torch.full((2,), 0.5))) / 0.5
    torch.testing.assert_close(capture("heun", den, x, sigmas, 1), x + (0.5 - 2.0) * (d + d2) / 2)


def test_flow_euler_step_is_x_plus_dt_v():
    """LTX-Video's scheduler test in kinema terms: one step equals ``x + (t' - t) v``."""
    v = torch.randn(2, 1, 1, 2, 2, generator=torch.Generator().manual_seed(3))
    x = torch.randn(2, 1, 1, 2, 2, generator=torch.Generator().manual_seed(4))

    def velocity_denoiser(x_, t, cond=None):  # x0_hat = x - t v, as the flow Denoiser computes
        return x_ - t.view(-1, 1, 1, 1, 1) * v

    velocity_denoiser.process = "flow"
    sigmas = torch.tensor([0.8, 0.3, 0.0])
    torch.testing.assert_close(capture("flow_euler", velocity_denoiser, x, sigmas, 1), x + (0.3 - 0.8) * v)


def test_dpmpp_2m_second_step_formula():
    den = GaussianDenoiser("ve")
    x = torch.randn(3, 1, 1, 2, 2, generator=torch.Generator().manual_seed(5))
    sigmas = torch.tensor([4.0, 1.5, 0.6, 0.0])
    lam = [-math.log(s) for s in (4.0, 1.5, 0.6)]
    d0 = den(x, torch.full((3,), 4.0))
    x1 = (1.5 / 4.0) * x - math.expm1(-(lam[1] - lam[0])) * d0  # first step: first order
    torch.testing.assert_close(capture("dpmpp_2m", den, x, sigmas, 1), x1)
    d1 = den(x1, torch.full((3,), 1.5))
    h, h_prev = lam[2] - lam[1], lam[1] - lam[0]
    r = h_prev / h
    d = (1 + 1 / (2 * r)) * d1 - 1 / (2 * r) * d0
    torch.testing.assert_close(capture("dpmpp_2m", den, x, sigmas, 2), (0.6 / 1.5) * x1 - math.expm1(-h) * d)


def test_ddpm_step_is_the_posterior_draw():
    den = GaussianDenoiser("ve")
    x = torch.randn(2, 1, 1, 2, 2, generator=torch.Generator().manual_seed(6))
    s, s_next = 3.0, 1.0
    x0 = den(x, torch.full((2,), s))
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(9))
    var = s_next**2 * (s**2 - s_next**2) / s**2  # Ho et al. Eq. 7 (beta tilde), in VE units
    mean = x0 + (s_next**2 / s**2) * (x - x0)
    out = capture("ddpm", den, x, torch.tensor([s, s_next, 0.0]), 1, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(out, mean + math.sqrt(var) * z)


@pytest.mark.parametrize("process", ["ve", "flow"])
def test_eta_zero_ancestral_is_euler(process):
    den = GaussianDenoiser(process)
    sigmas = schedule(process, 7)
    x = start(process, sigmas)
    ref = SAMPLERS["euler"](den, x, sigmas)
    torch.testing.assert_close(SAMPLERS["euler_a"](den, x, sigmas, eta=0.0), ref)
    if process == "ve":
        torch.testing.assert_close(SAMPLERS["ddim"](den, x, sigmas, eta=0.0), ref)


# ----------------------------------------------------------------------------- convergence


@pytest.mark.parametrize("process", ["ve", "flow"])
@pytest.mark.parametrize("name,order", [("euler", 1), ("heun", 2), ("dpmpp_2m", 2)])
def test_ode_solvers_converge_at_their_order(process, name, order):
    """The exact PF-ODE solution for Gaussian data keeps ``x / marginal_std(sigma)`` constant."""
    errs = []
    for n in (16, 32, 64):
        sigmas = schedule(process, n)
        x = start(process, sigmas)
        exact = x * S_DATA / marginal_std(float(sigmas[0]), process)
        errs.append(float((SAMPLERS[name](GaussianDenoiser(process), x, sigmas) - exact).abs().max()))
    rate = math.log2(errs[1] / errs[2])
    assert errs[2] < (0.1 if order == 1 else 0.06)
    assert rate > order - 0.4, f"{name} converges at rate {rate:.2f}, expected ~{order}: {errs}"


def test_heun_calls_the_model_twice_per_step_except_the_last():
    den = GaussianDenoiser("ve")
    sigmas = schedule("ve", 6)
    SAMPLERS["heun"](den, start("ve", sigmas), sigmas)
    assert den.calls == 2 * 6 - 1


# ----------------------------------------------------------------------------- stochastic samplers


class PointMassDenoiser:
    """Exact denoiser for data concentrated at ``C``: every step of every sampler is then exact."""

    def __init__(self, process: str, c: float = 0.7):
        self.process, self.c = process, c

    def __call__(self, x, sigma, cond=None):
        return torch.full_like(x, self.c)


@pytest.mark.parametrize("process,name,opts", [
    ("ve", "ddpm", {}), ("ve", "ddim", {"eta": 0.6}), ("ve", "euler_a", {}), ("flow", "euler_a", {}),
    ("flow", "euler_a", {"eta": 0.5}), ("ve", "heun", {"s_churn": 20.0}), ("flow", "heun", {"s_churn": 20.0}),
    ("flow", "euler", {"s_churn": 20.0}),
])
def test_noise_injection_keeps_the_process_marginals(process, name, opts):
    """With data at a point C, the state seen at each step must be ``alpha C + sigma eps`` exactly in
    law: mean ``alpha(sigma_hat) C`` and std ``sigma_hat``. Re-noising a flow state like a VE state
    (or the reverse) breaks this."""
    den = PointMassDenoiser(process)
    sigmas = schedule(process, 10)
    eps = torch.randn(4000, 1, 1, 1, 2, generator=torch.Generator().manual_seed(1))
    x = den.c * alpha(sigmas[:1], process) + sigmas[0] * eps
    seen = []
    SAMPLERS[name](den, x, sigmas, generator=torch.Generator().manual_seed(2), callback=seen.append, **opts)
    assert len(seen) == 10
    for d in seen:
        s_hat = d["sigma_hat"]
        mean = float(d["x"].mean())
        assert abs(mean - float(alpha(s_hat, process)) * den.c) < 0.05 * float(s_hat) + 1e-6
        assert abs(float(d["x"].std()) / float(s_hat) - 1.0) < 0.04
    if "s_churn" in opts:
        assert any(float(d["sigma_hat"]) != float(d["sigma"]) for d in seen)  # churn did act


def test_stochastic_samplers_are_reproducible_from_the_generator():
    sigmas = schedule("ve", 6)
    x = start("ve", sigmas)
    den = GaussianDenoiser("ve")
    a = SAMPLERS["euler_a"](den, x, sigmas, generator=torch.Generator().manual_seed(3))
    b = SAMPLERS["euler_a"](den, x, sigmas, generator=torch.Generator().manual_seed(3))
    c = SAMPLERS["euler_a"](den, x, sigmas, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


# ----------------------------------------------------------------------------- validation, registry


def test_registry_and_docstrings():
    assert set(SAMPLERS) == {"ddpm", "ddim", "euler", "euler_a", "heun", "dpmpp_2m", "flow_euler", "flow_heun"}
    assert set(SAMPLER_PROCESSES) == set(SAMPLERS)
    for name, fn in SAMPLERS.items():
        assert fn.__doc__ and any(str(y) in fn.__doc__ for y in range(2019, 2025)), name
    assert samplers_for("flow") == ["dpmpp_2m", "euler", "euler_a", "flow_euler", "flow_heun", "heun"]


@pytest.mark.parametrize("name,process", [("ddim", "flow"), ("ddpm", "flow"), ("flow_euler", "ve"),
                                          ("flow_heun", "ve")])
def test_sampler_process_mismatch_raises(name, process):
    with pytest.raises(ConfigError, match=name):
        get_sampler(name, process)
    sigmas = schedule(process, 3)
    with pytest.raises(ConfigError, match="samplers for this model"):
        SAMPLERS[name](GaussianDenoiser(process), start(process, sigmas), sigmas)


def test_process_is_read_from_a_kinema_denoiser():
    from torch import nn

    from kinema.diffusion import Denoiser

    class Zero(nn.Module):
        def forward(self, x_in, c_noise, cond=None):
            return torch.zeros_like(x_in)

    den = Denoiser(Zero(), get_parameterization("flow"))
    sigmas = schedule("flow", 3)
    with pytest.raises(ConfigError, match="ddim"):
        SAMPLERS["ddim"](den, start("flow", sigmas), sigmas)
    SAMPLERS["ddim"](den, start("flow", sigmas), sigmas, process="ve")  # an explicit process wins


def test_bad_arguments_raise():
    den = GaussianDenoiser("ve")
    x = torch.zeros(1, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="end in 0"):
        SAMPLERS["euler"](den, x, torch.tensor([2.0, 1.0]))
    with pytest.raises(ValueError, match="decreasing"):
        SAMPLERS["euler"](den, x, torch.tensor([1.0, 2.0, 0.0]))
    with pytest.raises(ConfigError, match="eta"):
        SAMPLERS["ddim"](den, x, torch.tensor([2.0, 0.0]), eta=1.5)
    with pytest.raises(ConfigError, match="not one of"):
        get_sampler("lms")
    with pytest.raises(ValueError, match="flow sigmas"):
        SAMPLERS["flow_euler"](GaussianDenoiser("flow"), x, torch.tensor([2.0, 0.0]))


def test_callback_payload():
    seen = []
    sigmas = schedule("ve", 4)
    SAMPLERS["dpmpp_2m"](GaussianDenoiser("ve"), start("ve", sigmas), sigmas, callback=seen.append)
    assert [d["i"] for d in seen] == [0, 1, 2, 3]
    assert set(seen[0]) == {"i", "x", "sigma", "sigma_hat", "denoised"}


def test_process_is_found_through_wrappers_and_check_sampler_takes_a_param():
    """A guidance wrapper keeping the Denoiser as ``.denoise`` still tells the sampler it is flow."""

    class Wrapper:
        def __init__(self, denoise):
            self.denoise = denoise

        def __call__(self, x, sigma, cond=None):
            return self.denoise(x, sigma, cond)

    den = Wrapper(GaussianDenoiser("flow"))
    sigmas = schedule("flow", 3)
    with pytest.raises(ConfigError, match="ddim"):
        SAMPLERS["ddim"](den, start("flow", sigmas), sigmas)
    SAMPLERS["flow_euler"](den, start("flow", sigmas), sigmas)
    with pytest.raises(ConfigError, match="flow_heun"):
        get_sampler("flow_heun", get_parameterization("eps"))
    get_sampler("flow_heun", get_parameterization("flow"))
