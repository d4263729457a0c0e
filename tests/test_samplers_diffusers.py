"""Every kinema sampler against the matching diffusers scheduler, driven by one model function.

The model is an analytic function ``f(x_in, t)`` of its (scaled) input and timestep. diffusers
calls it as ``f(scheduler.scale_model_input(x, t), t)``; kinema calls the same function as the
backbone of a :class:`Denoiser`, which feeds it ``c_in * x`` and ``c_noise``. VP schedulers
(DDPM, DDIM, DPM-Solver) work on ``x_vp = x_ve / sqrt(1 + sigma^2)``; the start states are mapped
accordingly and the final samples (at sigma = 0 both states coincide) must agree to 1e-4 relative.
Stochastic samplers draw from generators seeded alike, in the same order.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from kinema.diffusion import Denoiser, get_parameterization, get_sigmas
from kinema.sampling.samplers import SAMPLERS

diffusers = pytest.importorskip("diffusers")
from diffusers import (  # noqa: E402
    DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EDMEulerScheduler, EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler, FlowMatchEulerDiscreteScheduler, FlowMatchHeunDiscreteScheduler, HeunDiscreteScheduler,
)

SHAPE = (2, 2, 2, 3, 3)  # (B, C, T, H, W)
PRED = {"eps": "epsilon", "v": "v_prediction", "x0": "sample"}
VP = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
KVP = dict(schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)


def model_fn(x_in: torch.Tensor, t) -> torch.Tensor:
    """A smooth deterministic 'network' that depends on its input and its timestep."""
    t = torch.as_tensor(t, dtype=torch.float32).reshape(-1, *([1] * (x_in.dim() - 1)))
    w = torch.linspace(-0.3, 0.3, x_in[0].numel()).reshape(x_in.shape[1:])
    return 0.6 * x_in * torch.cos(t / 700.0) + 0.25 * torch.sin(1.5 * x_in + t / 300.0) + w


class Backbone(nn.Module):
    def forward(self, x_in, c_noise, cond=None):
        return model_fn(x_in, c_noise)


TOL = 1e-5  # observed agreement is ~3e-7 (float32 rounding); 1e-5 leaves margin without hiding errors


def relerr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def noise(seed: int = 0) -> torch.Tensor:
    return torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed))


def run_diffusers(sched, x, *, generator=None, model_t=None, **step_kw):
    """The standard diffusers loop; ``model_t(i, t)`` overrides the timestep the model sees."""
    kw = dict(step_kw) if generator is None else {"generator": generator, **step_kw}
    for i, t in enumerate(sched.timesteps):
        x_in = sched.scale_model_input(x, t) if hasattr(sched, "scale_model_input") else x  # flow: unscaled
        out = model_fn(x_in, t if model_t is None else model_t(i, t))
        x = sched.step(out, t, x, **kw).prev_sample
    return x


def run_kinema(name, param, sigmas, x, *, seed=None, **opts):
    den = Denoiser(Backbone(), param)
    gen = None if seed is None else torch.Generator().manual_seed(seed)
    return SAMPLERS[name](den, x, sigmas, generator=gen, **opts)


def vp_sigmas_of(sched, timesteps) -> torch.Tensor:
    ac = sched.alphas_cumprod[torch.as_tensor(timesteps).long()].double()
    return ((1 - ac) / ac).sqrt().float()


# ------------------------------------------------------------------ VP-space schedulers (DDPM, DDIM, DPM)


@pytest.mark.parametrize("pred,spacing", [("eps", "leading"), ("eps", "trailing"), ("v", "leading"),
                                          ("x0", "trailing")])
def test_ddpm_matches_diffusers(pred, spacing):
    sched = DDPMScheduler(**VP, prediction_type=PRED[pred], clip_sample=False, timestep_spacing=spacing)
    sched.set_timesteps(10)
    param = get_parameterization(pred, **KVP)
    sigmas = get_sigmas(param, 10, kind="vp", spacing=spacing)
    torch.testing.assert_close(sigmas[:-1], vp_sigmas_of(sched, sched.timesteps), rtol=1e-5, atol=0)
    z = noise()
    ref = run_diffusers(sched, z, generator=torch.Generator().manual_seed(7))
    out = run_kinema("ddpm", param, sigmas, z * (1 + sigmas[0] ** 2).sqrt(), seed=7)
    assert relerr(out, ref) < TOL
    other = run_kinema("ddpm", param, sigmas, z * (1 + sigmas[0] ** 2).sqrt(), seed=8)
    assert relerr(other, ref) > 1e-2  # the injected noise matters: agreement is not by accident


@pytest.mark.parametrize("pred,eta", [("eps", 0.0), ("eps", 0.5), ("eps", 1.0), ("v", 0.0), ("v", 0.7)])
def test_ddim_matches_diffusers(pred, eta):
    sched = DDIMScheduler(**VP, prediction_type=PRED[pred], clip_sample=False)  # leading spacing
    sched.set_timesteps(10)
    param = get_parameterization(pred, **KVP)
    sigmas = get_sigmas(param, 10, kind="vp", spacing="leading")
    torch.testing.assert_close(sigmas[:-1], vp_sigmas_of(sched, sched.timesteps), rtol=1e-5, atol=0)
    z = noise(1)
    ref = run_diffusers(sched, z, generator=torch.Generator().manual_seed(3), eta=eta)
    out = run_kinema("ddim", param, sigmas, z * (1 + sigmas[0] ** 2).sqrt(), seed=3, eta=eta)
    assert relerr(out, ref) < TOL


@pytest.mark.parametrize("pred,spacing", [("eps", "linspace"), ("eps", "trailing"), ("v", "linspace")])
def test_dpmpp_2m_matches_diffusers(pred, spacing):
    sched = DPMSolverMultistepScheduler(**VP, prediction_type=PRED[pred], algorithm_type="dpmsolver++",
                                        solver_order=2, timestep_spacing=spacing)
    sched.set_timesteps(10)
    param = get_parameterization(pred, **KVP)
    # diffusers' DPM "linspace" rounds its own spacing; kinema takes those timesteps explicitly
    sigmas = get_sigmas(param, 10, kind="vp", timesteps=sched.timesteps.tolist())
    torch.testing.assert_close(sigmas, sched.sigmas, rtol=1e-5, atol=0)
    z = noise(2)
    ref = run_diffusers(sched, z)
    out = run_kinema("dpmpp_2m", param, sigmas, z * (1 + sigmas[0] ** 2).sqrt())
    assert relerr(out, ref) < TOL


def test_dpmpp_2m_flow_matches_diffusers():
    """DPM-Solver++(2M) with alpha = 1 - t on a flow model (diffusers' use_flow_sigmas path)."""
    sched = DPMSolverMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0,
                                        algorithm_type="dpmsolver++", solver_order=2)
    sched.set_timesteps(8)
    param = get_parameterization("flow")
    z = noise(3)
    # diffusers hands the model int64-truncated timesteps; give it the exact 1000 t kinema uses
    ref = run_diffusers(sched, z, model_t=lambda i, t: sched.sigmas[i] * 1000)
    out = run_kinema("dpmpp_2m", param, sched.sigmas.clone(), z.clone())
    assert relerr(out, ref) < TOL


# ------------------------------------------------------------------ VE-space schedulers (Euler, Heun)


@pytest.mark.parametrize("pred,spacing,karras", [("eps", "linspace", False), ("eps", "trailing", False),
                                                 ("v", "leading", False), ("x0", "trailing", False),
                                                 ("eps", "linspace", True)])
def test_euler_matches_diffusers(pred, spacing, karras):
    sched = EulerDiscreteScheduler(**VP, prediction_type=PRED[pred], timestep_spacing=spacing,
                                   use_karras_sigmas=karras)
    sched.set_timesteps(10)  # linspace with 10 steps gives integer timesteps (999 / 9 = 111)
    param = get_parameterization(pred, **KVP)
    sigmas = get_sigmas(param, 10, kind="karras") if karras else get_sigmas(param, 10, kind="vp", spacing=spacing)
    torch.testing.assert_close(sigmas, sched.sigmas, rtol=2e-5, atol=0)
    x = noise(4) * sched.init_noise_sigma
    assert relerr(run_kinema("euler", param, sigmas, x), run_diffusers(sched, x)) < TOL


@pytest.mark.parametrize("pred", ["eps", "v"])
def test_euler_ancestral_matches_diffusers(pred):
    sched = EulerAncestralDiscreteScheduler(**VP, prediction_type=PRED[pred], timestep_spacing="trailing")
    sched.set_timesteps(10)
    param = get_parameterization(pred, **KVP)
    sigmas = get_sigmas(param, 10, kind="vp", spacing="trailing")
    torch.testing.assert_close(sigmas, sched.sigmas, rtol=2e-5, atol=0)
    x = noise(5) * sched.init_noise_sigma
    ref = run_diffusers(sched, x, generator=torch.Generator().manual_seed(11))
    assert relerr(run_kinema("euler_a", param, sigmas, x, seed=11), ref) < TOL
    assert relerr(run_kinema("euler_a", param, sigmas, x, seed=12), ref) > 1e-2


@pytest.mark.parametrize("pred,karras", [("eps", False), ("v", False), ("eps", True)])
def test_heun_matches_diffusers(pred, karras):
    # diffusers' Karras ends at the sigmas of its spacing's end timesteps: linspace spans the table
    sched = HeunDiscreteScheduler(**VP, prediction_type=PRED[pred], use_karras_sigmas=karras,
                                  timestep_spacing="linspace" if karras else "trailing")
    sched.set_timesteps(6)
    param = get_parameterization(pred, **KVP)
    sigmas = get_sigmas(param, 6, kind="karras") if karras else get_sigmas(param, 6, kind="vp", spacing="trailing")
    torch.testing.assert_close(sigmas, torch.unique_consecutive(sched.sigmas), rtol=2e-5, atol=0)
    x = noise(6) * sched.init_noise_sigma
    assert relerr(run_kinema("heun", param, sigmas, x), run_diffusers(sched, x)) < TOL


def test_edm_euler_matches_diffusers():
    """EDM preconditioning (c_skip, c_out, c_in, c_noise = ln(sigma)/4) and Karras sigmas."""
    sched = EDMEulerScheduler(sigma_min=0.002, sigma_max=80.0, sigma_data=0.5)
    sched.set_timesteps(12)
    param = get_parameterization("edm")
    sigmas = get_sigmas(param, 12)
    torch.testing.assert_close(sigmas, sched.sigmas, rtol=2e-5, atol=0)
    x = noise(7) * sched.init_noise_sigma
    assert relerr(run_kinema("euler", param, sigmas, x), run_diffusers(sched, x)) < TOL


# ------------------------------------------------------------------ rectified flow


@pytest.mark.parametrize("name", ["flow_euler", "euler"])
@pytest.mark.parametrize("shift", [1.0, 3.0])
def test_flow_euler_matches_diffusers(name, shift):
    sched = FlowMatchEulerDiscreteScheduler(shift=shift)
    t_min = sched.sigma_min  # diffusers' schedule ends at its (already shifted) sigma_min, shifted again
    sched.set_timesteps(8)
    param = get_parameterization("flow")
    sigmas = get_sigmas(param, 8, shift=shift, t_min=t_min)
    torch.testing.assert_close(sigmas, sched.sigmas, rtol=1e-5, atol=1e-7)
    x = noise(8)
    assert relerr(run_kinema(name, param, sigmas, x), run_diffusers(sched, x)) < TOL


def test_flow_resolution_shift_matches_diffusers_dynamic_shifting():
    from kinema.diffusion import flow_shift_for_resolution

    shift = flow_shift_for_resolution(1024)
    sched = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True)
    sched.set_timesteps(8, mu=math.log(shift))
    sigmas = get_sigmas(get_parameterization("flow"), 8, num_tokens=1024)
    torch.testing.assert_close(sigmas, sched.sigmas, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["flow_heun", "heun"])
def test_flow_heun_matches_diffusers(name):
    sched = FlowMatchHeunDiscreteScheduler(shift=2.0)
    t_min = sched.sigma_min
    sched.set_timesteps(6)
    param = get_parameterization("flow")
    sigmas = get_sigmas(param, 6, shift=2.0, t_min=t_min)
    torch.testing.assert_close(sigmas, torch.unique_consecutive(sched.sigmas), rtol=1e-5, atol=1e-7)
    x = noise(9)
    assert relerr(run_kinema(name, param, sigmas, x), run_diffusers(sched, x)) < TOL


@pytest.mark.parametrize("eta", [1.0, 0.5])
def test_flow_euler_ancestral_matches_diffusers_rf(eta):
    from diffusers.schedulers.scheduling_ltx_euler_ancestral_rf import LTXEulerAncestralRFScheduler

    param = get_parameterization("flow")
    sigmas = get_sigmas(param, 8, shift=3.0)
    sched = LTXEulerAncestralRFScheduler(eta=eta)
    sched.set_timesteps(sigmas=sigmas.clone())
    x, gen = noise(10), torch.Generator().manual_seed(5)
    ref = x
    for t in sched.timesteps[:-1]:
        ref = sched.step(model_fn(ref, t), t, ref, generator=gen).prev_sample
    assert relerr(run_kinema("euler_a", param, sigmas, x, seed=5, eta=eta), ref) < TOL
