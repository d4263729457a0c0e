"""Classifier-free guidance as a wrapper around a denoiser ``D(x, sigma, cond) -> x0_hat``.

Dual guidance (InstructPix2Pix, Brooks et al. 2023, Eq. 3; DynamiCrafter) with an image and a
text scale::

    x0 = D(none) + s_img (D(img) - D(none)) + s_txt (D(img, txt) - D(img))
       = D(img, txt) + (s_txt - 1) (D(img, txt) - D(img)) + (s_img - 1) (D(img) - D(none))

The second form is the one computed: with both scales 1 it is exactly the conditional output.
A planned model (``reference="planned"``) can also guide its motion plan: one more variant with a
zero plan adds ``(s_plan - 1) (D(img, txt) - D(zero plan))``, an independent term (composable
guidance, Liu et al. 2022) that pushes the video towards the planned camera and object motion.
With one condition guided it reduces to plain CFG, ``x0 = D_c + (s - 1) (D_c - D_u)``, where the
unconditional input drops only that condition (text-only: ``drop_text``; image-only:
``drop_image``, text kept, as SVD). All variants run in ONE forward pass of batch 2B or 3B.

Guidance acts on every channel of x0_hat (DiT's issue #41 guided 3 of 4 channels).

Why x0 space is enough: for fixed ``x`` and ``sigma`` the prediction ``x0_hat`` and the noise
prediction ``eps_hat`` are related by an affine map that does not depend on the condition
(``x0 = x - sigma eps`` for ``process="ve"``, ``x0 = (x - sigma eps) / (1 - sigma)`` for flow).
The combination's weights sum to 1, and affine maps commute with such combinations, so guiding
x0 equals guiding eps (or v) and converting. The std rescale is not affine-invariant; kinema
applies it to x0 as Lin et al. 2023 (Sec. 3.4) state it.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from kinema.conditioning.batch import ConditionBatch
from kinema.errors import ConfigError
from kinema.sampling.guidance.config import GuidanceConfig
from kinema.sampling.guidance.scales import guidance_weights, plan_weight, progress_from_sigmas

Denoise = Callable[..., Tensor]


def rescale_guidance(x_cfg: Tensor, x_cond: Tensor, phi: float) -> Tensor:
    """Lin et al. 2023 (Sec. 3.4): bring ``x_cfg`` to the per-sample std of ``x_cond``, mix with ``phi``.

    ``x = phi * x_cfg * std(x_cond) / std(x_cfg) + (1 - phi) * x_cfg``, std over all but the batch dim.
    """
    if phi == 0.0:
        return x_cfg
    dims = tuple(range(1, x_cfg.dim()))
    std_cond = x_cond.std(dim=dims, keepdim=True)
    std_cfg = x_cfg.std(dim=dims, keepdim=True).clamp_min(torch.finfo(x_cfg.dtype).tiny)
    return phi * x_cfg * (std_cond / std_cfg) + (1.0 - phi) * x_cfg


NESTED: tuple[str, ...] = ("text", "image")  # dual guidance: each drops on top of the one before


def cfg_variants(cond: ConditionBatch, guided) -> list[ConditionBatch]:
    """The condition variants one guided step needs for the set of ``guided`` names, conditional first:
    the :data:`NESTED` names dropped one on top of the other (both: [full, no text, none]; one:
    [full, without it]), then each independent name (e.g. "plan": [zero plan]) dropped alone."""
    out = [cond]
    for name in NESTED:
        if name in guided:
            out.append(out[-1].drop(name))
    return out + [cond.drop(name) for name in sorted(set(guided) - set(NESTED))]


class GuidedDenoiser:
    """``D_cfg(x, sigma, cond, **kw) -> x0_hat``: the guided denoiser (same signature as ``denoise``).

    ``sigmas`` (the sampler's schedule) or ``n_steps`` give the sampling progress that per-step
    schedules read: with ``sigmas`` it is found from ``sigma``; with only ``n_steps`` it is the
    call count (assumes one model call per step, e.g. Euler/DDIM; call ``reset()`` between runs).
    Keyword arguments pass through to ``denoise`` unchanged (they must not be per-sample tensors).
    """

    def __init__(self, denoise: Denoise, cfg: GuidanceConfig, *, n_steps: int | None = None,
                 sigmas: Tensor | None = None) -> None:
        if cfg.schedule != "constant" and n_steps is None and sigmas is None:
            raise ConfigError(f"guidance schedule={cfg.schedule!r} needs the sampler's sigmas= or n_steps=")
        if n_steps is not None and n_steps < 1:
            raise ConfigError(f"guidance n_steps={n_steps!r} must be >= 1")
        self.denoise, self.cfg, self.n_steps, self.sigmas = denoise, cfg, n_steps, sigmas
        self.calls = 0  # model-call counter (one per __call__), read by the n_steps schedule

    def reset(self) -> None:
        self.calls = 0

    def _progress(self, sigma: Tensor) -> Tensor | None:
        if self.cfg.schedule == "constant":
            return None
        if self.sigmas is not None:
            return progress_from_sigmas(sigma, self.sigmas)
        p = min(self.calls / max(self.n_steps - 1, 1), 1.0)
        return torch.full_like(sigma, p, dtype=torch.float32)

    def __call__(self, x: Tensor, sigma: Tensor, cond: ConditionBatch | None = None, **kw) -> Tensor:
        progress = None if self.cfg.is_off else self._progress(sigma)
        self.calls += 1
        if self.cfg.is_off or cond is None:
            return self.denoise(x, sigma, cond, **kw)
        if x.dim() != 5:
            raise ValueError(f"guided denoiser expects x of shape (B, C, T, H, W), got {tuple(x.shape)}")
        if sigma.dim() == 0:
            sigma = sigma.expand(x.shape[0])
        n_frames = x.shape[2]
        g_img, g_txt = guidance_weights(self.cfg, sigma, n_frames, progress)
        guide_image = cond.concat is not None and bool((g_img != 0).any())
        guide_text = cond.tokens is not None and bool((g_txt != 0).any())
        guided = {n for n, on in (("image", guide_image), ("text", guide_text),
                                  ("plan", "plan" in cond.nulls and self.cfg.plan_scale != 1.0)) if on}
        variants = cfg_variants(cond, guided)
        if len(variants) == 1:
            return self.denoise(x, sigma, cond, **kw)
        preds = self._batched(x, sigma, variants, **kw)
        x_cfg = preds[0]
        if "plan" in guided:
            d_zero = preds.pop()
            g_plan = plan_weight(self.cfg, sigma, progress).to(x.dtype)
            x_cfg = x_cfg + g_plan * (preds[0] - d_zero)
        if guide_image or guide_text:
            x_cfg = x_cfg + _combine(preds, g_img.to(x.dtype), g_txt.to(x.dtype), guide_image, guide_text) - preds[0]
        return rescale_guidance(x_cfg, preds[0], self.cfg.rescale)

    def _batched(self, x: Tensor, sigma: Tensor, variants: list[ConditionBatch], **kw) -> list[Tensor]:
        """One forward pass over all variants: batch k*B, split back into k predictions."""
        k = len(variants)
        x_all = torch.cat([x] * k, dim=0)  # (B, C, T, H, W) -> (k*B, C, T, H, W)
        sigma_all = torch.cat([sigma] * k, dim=0)  # (B,) -> (k*B,)
        out = self.denoise(x_all, sigma_all, ConditionBatch.cat(variants), **kw)
        return list(out.chunk(k, dim=0))


def _combine(preds: list[Tensor], g_img: Tensor, g_txt: Tensor, guide_image: bool, guide_text: bool
             ) -> Tensor:
    """The guided x0 from the variant predictions (conditional first), excess weights ``s - 1``."""
    if guide_image and guide_text:
        d_full, d_img, d_none = preds
        return d_full + g_txt * (d_full - d_img) + g_img * (d_img - d_none)
    d_cond, d_uncond = preds
    g = g_txt if guide_text else g_img
    return d_cond + g * (d_cond - d_uncond)


def guided_denoiser(denoise: Denoise, cfg: GuidanceConfig, n_steps: int | None = None,
                    sigmas: Tensor | None = None) -> GuidedDenoiser:
    """Wrap ``denoise`` with classifier-free guidance ``cfg``; see :class:`GuidedDenoiser`."""
    return GuidedDenoiser(denoise, cfg, n_steps=n_steps, sigmas=sigmas)
