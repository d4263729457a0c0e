"""Per-frame 2D KL autoencoder for video (LDM, Rombach et al. 2022; Wang et al. 2026, I2V survey Sec. II-A2, Eq. 2's
Z0 = E(V0) and V0 = D(Z0)).

Video tensors (B, 3, T, H, W) are folded to frames (B*T, 3, H, W): every frame is encoded and
decoded on its own, so the latent of frame t never depends on other frames.
"""

from __future__ import annotations

import dataclasses

import torch
from einops import rearrange
from torch import Tensor, nn

from kinema.errors import InputError
from kinema.vae.config import KLAutoencoderConfig
from kinema.vae.distribution import DiagonalGaussian
from kinema.vae.networks import Decoder, Encoder
from kinema.vae.tiling import decode_tiled_frames


def fold(video: Tensor) -> Tensor:
    """(B, C, T, H, W) -> frames (B*T, C, H, W), stored channels-last (one copy, as before).

    The convolutions (oneDNN on CPU) and the per-pixel LayerNorm then read memory in the order
    they want: encode 1.21x, decode 1.42x faster on the CPU (benchmarks/results/vae_memory_format.md);
    the values are the same frames.
    """
    return rearrange(video, "b c t h w -> (b t) h w c").permute(0, 3, 1, 2)


def unfold(frames: Tensor, batch: int) -> Tensor:
    return rearrange(frames, "(b t) c h w -> b c t h w", b=batch)  # (B*T, C, H, W) -> (B, C, T, H, W)


def check_video(video: Tensor, channels: int, factor: int, what: str = "video") -> None:
    """Refuse tensors that are not (B, channels, T, H, W) with H, W multiples of ``factor``."""
    if video.dim() != 5 or video.shape[1] != channels:
        raise InputError(f"{what} must have shape (B, {channels}, T, H, W), got {tuple(video.shape)}")
    if video.shape[-1] % factor or video.shape[-2] % factor:
        raise InputError(f"{what} height and width {tuple(video.shape[-2:])} must be multiples of {factor}")


TILED_ABOVE = 256 * 256  # pixels per frame above which decode(tiled=None) tiles


class KLAutoencoder(nn.Module):
    """encode: (B, 3, T, H, W) in [-1, 1] -> latents (B, C, T, H/f, W/f), scaled as (z - shift) * scale.

    decode inverts the scaling. ``loss`` is the VAE objective recon + kl_weight * KL.
    """

    kind = "kl"

    def __init__(self, config: KLAutoencoderConfig | None = None):
        super().__init__()
        self.config = config if config is not None else KLAutoencoderConfig()
        self.encoder = Encoder(self.config)
        self.decoder = Decoder(self.config)

    @property
    def latent_channels(self) -> int:
        return self.config.latent_channels

    @property
    def downsample(self) -> int:
        return self.config.downsample

    def set_scale_shift(self, scale: float, shift: float) -> None:
        """Store the latent normalisation (e.g. from :func:`estimate_scale_shift`) in the config."""
        self.config = dataclasses.replace(self.config, scale=float(scale), shift=float(shift))

    def encode_dist(self, video: Tensor) -> DiagonalGaussian:
        """Posterior over raw (unscaled) latents of every frame: mean (B*T, C, h, w)."""
        check_video(video, self.config.in_channels, self.downsample)
        return DiagonalGaussian(self.encoder(fold(video)))

    def encode(self, video: Tensor, generator: torch.Generator | None = None, sample: bool = False) -> Tensor:
        """Scaled latents (B, C, T, h, w): the posterior mean, or a draw when ``sample=True``."""
        post = self.encode_dist(video)
        z = post.sample(generator) if sample else post.mode()
        return unfold((z - self.config.shift) * self.config.scale, video.shape[0])

    def _decode_raw(self, z_scaled: Tensor) -> Tensor:
        return self.decoder(z_scaled / self.config.scale + self.config.shift)

    def decode(self, z: Tensor, tiled: bool | None = False) -> Tensor:
        """Scaled latents (B, C, T, h, w) -> video (B, 3, T, h*f, w*f) (not clamped). ``tiled``: through
        :meth:`decode_tiled` (the same pixels, bounded memory); None: when the video exceeds TILED_ABOVE pixels."""
        if tiled is None:
            tiled = z.shape[-2] * z.shape[-1] * self.downsample ** 2 > TILED_ABOVE
        if tiled:
            return self.decode_tiled(z)
        check_video(z, self.latent_channels, 1, "latents")
        return unfold(self._decode_raw(fold(z)), z.shape[0])

    @torch.no_grad()
    def decode_tiled(self, z: Tensor, tile: int = 32, overlap: int = 8, margin: int | None = None,
                     frame_batch: int = 8) -> Tensor:
        """Like :meth:`decode` (inference only, no gradients), with bounded memory: ``tile`` x
        ``tile`` latent tiles, ``overlap`` latents shared by neighbours, ``margin`` (default
        overlap // 4) discarded at cut edges, ``frame_batch`` frames at a time
        (see :mod:`kinema.vae.tiling`)."""
        check_video(z, self.latent_channels, 1, "latents")
        margin = overlap // 4 if margin is None else margin
        frames = decode_tiled_frames(self._decode_raw, fold(z), self.downsample, tile, overlap, margin, frame_batch)
        return unfold(frames, z.shape[0])

    def loss(self, video: Tensor, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """VAE objective on (B, 3, T, H, W): ``recon`` = mean L1 (or L2) per pixel of the
        reconstruction from a posterior draw; ``kl`` = KL(q(z|x) || N(0, I)) summed over latent
        elements, averaged over frames; ``total = recon + kl_weight * kl``."""
        post = self.encode_dist(video)
        x_hat = self.decoder(post.sample(generator))  # (B*T, 3, H, W)
        err = x_hat - fold(video)
        recon = err.abs().mean() if self.config.recon == "l1" else err.pow(2).mean()
        kl = post.kl().mean()
        return {"recon": recon, "kl": kl, "total": recon + self.config.kl_weight * kl}

    def decoder_loss(self, video: Tensor, generator: torch.Generator | None = None,
                     latent_noise: float = 0.0) -> dict[str, Tensor]:
        """Decoder fine-tuning on a frozen encoder: mean squared error of D(mode(E(x))) against x.

        The latents, and so the latent scale and any denoiser trained on them, stay unchanged;
        only the decoder learns to reconstruct better, from exactly the latents inference decodes
        (the posterior mean, not a draw). Stable Diffusion's "ft-MSE" VAE is this recipe; MSE is
        the loss PSNR measures (PSNR = 10 log10(4 / MSE) for pixels in [-1, 1]).

        ``latent_noise`` > 0 adds Gaussian noise of std ``s ~ U(0, latent_noise)`` per frame (in
        scaled latent units) before decoding, still asking for the clean frame: the decoder learns to
        ignore small latent errors, such as a denoiser's frame-to-frame jitter, instead of rendering
        them as flicker (conditioning augmentation, Ho et al. 2021, applied to the decoder)."""
        with torch.no_grad():
            z = self.encode_dist(video).mode()  # (B*T, C, h, w) raw latents
            if latent_noise > 0:
                s = latent_noise * torch.rand(z.shape[0], 1, 1, 1, generator=generator).to(z)
                z = z + s / self.config.scale * torch.randn(z.shape, generator=generator).to(z)
        mse = (self.decoder(z) - fold(video)).pow(2).mean()
        return {"recon": mse, "total": mse}
