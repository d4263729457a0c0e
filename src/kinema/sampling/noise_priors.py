"""Noise priors: the initial noise of sampling, chosen by name (Wang et al. 2026, I2V survey Sec. IV-C, Eq. 18),
and SVD's noise augmentation of conditioning frames.

Every prior returns ``noise`` (B, C, T, h, w) of about unit variance, and the pipeline turns it
into the start state with ``x_T = param.prior(noise, sigma_max)``, which for both noise
processes is ``sigma_max * noise`` (VE: pure noise at sigma_max; flow: ``x = eps`` at sigma=1).
A prior that wants the start state ``x_T = a z + sigma_max eps`` (``a = process.alpha(sigma_max)``:
1 for VE, ``1 - sigma_max`` for flow) therefore returns ``noise = (a / sigma_max) z + eps``.
For a large VE sigma_max the image term is small and the variance stays ~1; for flow at sigma=1
it vanishes (the start carries no image signal) and only the noise structure remains.

Priors (registry ``NOISE_PRIORS``):

* ``iid``: i.i.d. Gaussian noise.
* ``lowfreq`` (FreeInit, Wu et al. 2023; ConsistI2V, Ren et al. 2024): the first-frame latent
  repeated over T, noised to sigma_max, keeps its low spatio-temporal frequencies (3D FFT over
  T, h, w) and takes the high frequencies of fresh i.i.d. noise.
* ``mixed`` (PYoCo, Ge et al. 2023): one noise shared by every frame plus an i.i.d. residual,
  ``eps_i = sqrt(shared) eps_ref + sqrt(1 - shared) eps'_i`` (unit variance, correlation ``shared``
  between frames). Structure only, no image term: the prior an SDEdit start (``strength`` < 1)
  noises its reference video with, so that frames get the same fine detail back.
* ``image_noise`` (TRIP, Zhang et al. 2024; Wang et al. 2026 Eq. 18): every frame starts as the first-frame
  latent plus a noise that shares a reference component across frames, so the image noise prior
  ``eps^{i->1} = (x_T^i - a z_0^1) / sigma_max`` of each frame is that correlated noise.
"""

from __future__ import annotations

import inspect
import math
from typing import Callable

import torch
from torch import Tensor

from kinema.diffusion.process import PROCESSES, VE, get_process, randn
from kinema.errors import ConfigError

FILTERS: tuple[str, ...] = ("gaussian", "butterworth", "ideal")
MIXES: tuple[str, ...] = ("power", "linear")

__all__ = [
    "FILTERS", "MIXED_SHARED", "MIXES", "NOISE_PRIORS", "PROCESSES", "STRUCTURE_PRIORS", "augment_condition",
    "freq_split", "iid_noise", "image_noise_prior", "lowfreq_noise", "lowpass_mask", "make_initial_noise",
    "mixed_noise", "mix_frequencies", "noised_image_noise", "sample_noise_aug_level",
]


# ----------------------------------------------------------------------------- helpers


def _check_sigma(sigma_max: float | None, process: str, prior: str) -> float:
    if sigma_max is None:
        raise ConfigError(f"noise prior {prior!r} needs sigma_max (the sampler's first sigma)")
    hi = get_process(process).sigma_max
    if not (0.0 < sigma_max <= hi):
        raise ConfigError(f"sigma_max={sigma_max!r} is outside the accepted range (0, {hi}] for {process!r}")
    return float(sigma_max)


def _check_first(first_latent: Tensor | None, shape, prior: str) -> Tensor:
    if first_latent is None:
        raise ConfigError(f"noise prior {prior!r} needs an input image: pass first_latent (B, C, h, w)")
    b, c, _, h, w = shape
    if first_latent.dim() != 4 or tuple(first_latent.shape[1:]) != (c, h, w) \
            or first_latent.shape[0] not in (1, b):
        raise ConfigError(f"first_latent shape {tuple(first_latent.shape)} does not match the noise "
                          f"shape {tuple(shape)}: expected {(b, c, h, w)} or {(1, c, h, w)}")
    return first_latent.to(torch.float32).expand(b, c, h, w)  # a single image serves every sample


# ----------------------------------------------------------------------------- frequency filters


def lowpass_mask(n_frames: int, height: int, width: int, *, kind: str = "butterworth",
                 cutoff_spatial: float = 0.25, cutoff_temporal: float = 0.25, order: int = 4,
                 device=None) -> Tensor:
    """Low-pass transfer function on the unshifted 3D FFT grid, shape (T, h, w), values in [0, 1].

    Normalised radius ``rho^2 = (2 f_t / d_t)^2 + (2 f_h / d_s)^2 + (2 f_w / d_s)^2`` with ``f`` in
    cycles per sample (``2 f`` = 1 at Nyquist) and cutoffs ``d`` as fractions of Nyquist.
    ``gaussian``: ``exp(-rho^2 / 2)``; ``butterworth``: ``1 / (1 + rho^(2 n))`` (FreeInit's
    defaults n=4, d=0.25); ``ideal``: ``1[rho <= 1]``. A cutoff of 0 passes nothing; ``inf`` on both
    passes everything.
    """
    if kind not in FILTERS:
        raise ConfigError(f"lowfreq filter={kind!r} is not one of {list(FILTERS)}")
    for key, d in (("cutoff_spatial", cutoff_spatial), ("cutoff_temporal", cutoff_temporal)):
        if not d >= 0.0:
            raise ConfigError(f"lowfreq {key}={d!r} must be >= 0 (fraction of Nyquist; inf = all-pass)")
    if order < 1:
        raise ConfigError(f"lowfreq order={order!r} must be an integer >= 1")
    if cutoff_spatial == 0.0 or cutoff_temporal == 0.0:
        return torch.zeros(n_frames, height, width, device=device)
    ft = 2 * torch.fft.fftfreq(n_frames, device=device) / cutoff_temporal
    fh = 2 * torch.fft.fftfreq(height, device=device) / cutoff_spatial
    fw = 2 * torch.fft.fftfreq(width, device=device) / cutoff_spatial
    rho2 = ft.view(-1, 1, 1) ** 2 + fh.view(1, -1, 1) ** 2 + fw.view(1, 1, -1) ** 2  # (T, h, w)
    if kind == "gaussian":
        return torch.exp(-0.5 * rho2)
    if kind == "butterworth":
        return 1.0 / (1.0 + rho2**order)
    return (rho2 <= 1.0).to(torch.float32)


def _filter(x: Tensor, transfer: Tensor) -> Tensor:
    """Multiply the 3D spectrum over (T, h, w) of ``x`` (..., T, h, w) by ``transfer`` (T, h, w)."""
    spectrum = torch.fft.fftn(x, dim=(-3, -2, -1))
    return torch.fft.ifftn(spectrum * transfer, dim=(-3, -2, -1)).real


def freq_split(x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Split ``x`` (..., T, h, w) into low (mask ``L``) and high (mask ``1 - L``) frequencies.

    The masks are complementary, so ``low + high == x`` up to FFT round-off.
    """
    return _filter(x, mask), _filter(x, 1.0 - mask)


def mix_frequencies(low_src: Tensor, high_src: Tensor, mask: Tensor, mix: str = "power") -> Tensor:
    """Low frequencies of ``low_src`` with high frequencies of ``high_src`` (per 3D frequency f).

    ``linear`` (FreeInit / ConsistI2V): ``L(f) A(f) + (1 - L(f)) B(f)``; for white unit inputs the
    variance is ``mean_f(L^2 + (1 - L)^2)`` <= 1 (exactly 1 only for an ideal 0/1 mask).
    ``power`` (default): ``L(f) A(f) + sqrt(1 - L(f)^2) B(f)``, which keeps white unit-variance
    inputs white with unit variance for any mask. Both give B for L = 0 and A for L = 1.
    """
    if mix not in MIXES:
        raise ConfigError(f"lowfreq mix={mix!r} is not one of {list(MIXES)}")
    high_gain = 1.0 - mask if mix == "linear" else (1.0 - mask**2).clamp_min(0.0).sqrt()
    spectrum = torch.fft.fftn(low_src, dim=(-3, -2, -1)) * mask
    spectrum = spectrum + torch.fft.fftn(high_src, dim=(-3, -2, -1)) * high_gain
    return torch.fft.ifftn(spectrum, dim=(-3, -2, -1)).real


# ----------------------------------------------------------------------------- priors


def iid_noise(shape, *, generator, first_latent=None, sigma_max=None, process=VE) -> Tensor:
    """Plain i.i.d. standard Gaussian noise."""
    device = None if first_latent is None else first_latent.device
    return randn(shape, generator, device)


MIXED_SHARED = 0.9  # the mixed prior's default share, screened on warping error (README)


def mixed_noise(shape, *, generator, first_latent=None, sigma_max=None, process=VE,
                shared: float | Tensor = MIXED_SHARED) -> Tensor:
    """PYoCo's mixed noise (Ge et al. 2023, "Preserve Your Own Correlation"), (B, C, T, h, w).

    ``eps_i = sqrt(shared) eps_ref + sqrt(1 - shared) eps'_i``: a reference noise ``eps_ref``
    broadcast over the T frames (drawn first), plus i.i.d. ``eps'`` (unit variance per element,
    correlation ``shared`` between any two frames; 0 = i.i.d., 1 = one noise for all frames).
    ``shared`` may be a (B,) tensor: one share per sample (training draws i.i.d. noise for text-only
    samples, see ``diffusion.train_noise``).
    """
    share = torch.as_tensor(shared, dtype=torch.float32)
    if bool(((share < 0) | (share > 1)).any()):
        raise ConfigError(f"noise prior shared={shared!r} is outside the accepted range [0, 1]")
    device = None if first_latent is None else first_latent.device
    b, c, _, h, w = shape
    eps_ref = randn((b, c, 1, h, w), generator, device)  # broadcast over T
    eps_res = randn(shape, generator, device)
    if share.dim() == 0:
        return math.sqrt(float(share)) * eps_ref + math.sqrt(1.0 - float(share)) * eps_res
    share = share.reshape(-1, 1, 1, 1, 1).to(eps_res.device)  # (B,) -> per sample
    return share.sqrt() * eps_ref + (1.0 - share).sqrt() * eps_res


def noised_image_noise(first_latent: Tensor, eps: Tensor, sigma_max: float, process: str) -> Tensor:
    """Noise equivalent of the first frame repeated over T and noised to sigma_max.

    ``x_T = a z_rep + sigma_max eps`` -> ``noise = x_T / sigma_max = (a / sigma_max) z_rep + eps``.
    ``first_latent`` (B, C, h, w), ``eps`` (B, C, T, h, w).
    """
    a = get_process(process).alpha(sigma_max)
    z_rep = first_latent.unsqueeze(2)  # (B, C, h, w) -> (B, C, 1, h, w), broadcast over T
    return (a / sigma_max) * z_rep + eps


def lowfreq_noise(shape, *, generator, first_latent=None, sigma_max=None, process=VE,
                  lowpass: str = "butterworth", cutoff_spatial: float = 0.25,
                  cutoff_temporal: float = 0.25, order: int = 4, mix: str = "power") -> Tensor:
    """Low-frequency noise initialisation (FreeInit / ConsistI2V).

    ``A = (a / sigma_max) repeat_T(z_0^1) + eps_1`` (the first frame repeated over T and noised
    to sigma_max, as noise), ``B = eps_2`` fresh i.i.d. noise (drawn in that order), and
    ``noise = mix_frequencies(A, B, lowpass_mask(...), mix)``: low band from A, high band from B.

    Options: ``lowpass`` ("gaussian" | "butterworth" | "ideal"), ``cutoff_spatial`` and
    ``cutoff_temporal`` (fractions of Nyquist; 0 = plain i.i.d. noise, inf on both = A),
    ``order`` (Butterworth), ``mix`` ("power" keeps unit variance; "linear" is FreeInit's sum).
    The image signal in A is weighted by ``a / sigma_max``: strong at SD-like terminal levels
    (sigma ~ 15), faint at EDM's sigma_max = 80, absent for flow at sigma = 1.
    """
    z = _check_first(first_latent, shape, "lowfreq")
    sigma_max = _check_sigma(sigma_max, process, "lowfreq")
    eps_image = randn(shape, generator, z.device)
    eps_fresh = randn(shape, generator, z.device)
    mask = lowpass_mask(shape[2], shape[3], shape[4], kind=lowpass, cutoff_spatial=cutoff_spatial,
                        cutoff_temporal=cutoff_temporal, order=order, device=z.device)
    return mix_frequencies(noised_image_noise(z, eps_image, sigma_max, process), eps_fresh, mask, mix)


def image_noise_prior(shape, *, generator, first_latent=None, sigma_max=None, process=VE,
                      shared: float = 0.5) -> Tensor:
    """TRIP's image noise prior (Wang et al. 2026, I2V survey Eq. 18) as an initial noise.

    Frame ``i`` starts at ``x_T^i = a z_0^1 + sigma_max eps~_i`` with
    ``eps~_i = sqrt(shared) eps_ref + sqrt(1 - shared) eps_i`` (one reference noise shared by all
    frames, plus an i.i.d. residual; unit variance, correlation ``shared`` between frames). Eq. 18
    in this convention, ``eps^{i->1} = (x_T^i - a z_0^1) / sigma_max``, then returns exactly
    ``eps~_i``. Returned: ``noise = x_T / sigma_max = (a / sigma_max) z_0^1 + eps~_i``.
    """
    z = _check_first(first_latent, shape, "image_noise")
    sigma_max = _check_sigma(sigma_max, process, "image_noise")
    eps = mixed_noise(shape, generator=generator, first_latent=z, shared=shared)  # eps~_i
    return noised_image_noise(z, eps, sigma_max, process)


NoisePrior = Callable[..., Tensor]
# priors with no image term: what an SDEdit start may noise its own reference video with
STRUCTURE_PRIORS: tuple[str, ...] = ("iid", "mixed")
NOISE_PRIORS: dict[str, NoisePrior] = {
    "iid": iid_noise,
    "mixed": mixed_noise,
    "lowfreq": lowfreq_noise,
    "image_noise": image_noise_prior,
}


def make_initial_noise(prior: str, shape, *, generator: torch.Generator | None,
                       first_latent: Tensor | None = None, sigma_max: float | None = None,
                       process: str = VE, **opts) -> Tensor:
    """Initial noise (B, C, T, h, w) from the prior named ``prior``; ``opts`` are that prior's options."""
    if prior not in NOISE_PRIORS:
        raise ConfigError(f"noise prior {prior!r} is not one of {sorted(NOISE_PRIORS)}")
    if len(shape) != 5:
        raise ConfigError(f"noise shape {tuple(shape)} must be (B, C, T, h, w)")
    process = get_process(process)
    fn = NOISE_PRIORS[prior]
    accepted = [p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY]
    common = {"generator", "first_latent", "sigma_max", "process"}
    unknown = sorted(set(opts) - set(accepted))
    if unknown:
        raise ConfigError(f"noise prior {prior!r} has no option {unknown[0]!r}; accepted: "
                          f"{sorted(set(accepted) - common) or 'none'}")
    return fn(tuple(shape), generator=generator, first_latent=first_latent, sigma_max=sigma_max,
              process=process, **opts)


# ----------------------------------------------------------------------------- noise augmentation


def augment_condition(latents: Tensor, level: float | Tensor, generator: torch.Generator | None
                      ) -> Tensor:
    """SVD's noise augmentation of conditioning latents: ``latents + level * eps``.

    ``level`` is a float or a (B,) tensor; the caller also passes it to the model through the
    vector route (``VECTOR_FIELDS`` "noise_aug"), so the model knows how blurred its condition is.
    """
    level = torch.as_tensor(level, dtype=latents.dtype, device=latents.device)
    if not bool(torch.isfinite(level).all()) or bool((level < 0).any()):
        raise ConfigError(f"noise augmentation level={level.tolist()!r} must be finite and >= 0")
    if level.dim() == 1:
        level = level.view(-1, *([1] * (latents.dim() - 1)))  # (B,) -> (B, 1, ..., 1)
    eps = randn(latents.shape, generator, latents.device).to(latents.dtype)
    return latents + level * eps


def sample_noise_aug_level(batch: int, generator: torch.Generator | None, mean: float = -3.0,
                           std: float = 0.5) -> Tensor:
    """Training-time augmentation levels (B,): log-normal, ``exp(mean + std * n)`` (SVD)."""
    if not (math.isfinite(mean) and math.isfinite(std) and std >= 0.0):
        raise ConfigError(f"noise augmentation mean={mean!r}, std={std!r}: need finite values, std >= 0")
    return torch.exp(mean + std * randn((batch,), generator))
