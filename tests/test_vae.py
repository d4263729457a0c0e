"""Autoencoders on tiny configs: shapes, frame independence, tiling, scale/shift, training, I/O."""

import dataclasses

import pytest
import torch
from einops import rearrange
from safetensors.torch import save_file

from kinema.errors import ConfigError, InputError
from kinema.vae import (IdentityAutoencoder, KLAutoencoder, KLAutoencoderConfig, PRESETS, DiagonalGaussian,
                        autoencoder_from_spec, autoencoder_spec, build_autoencoder, estimate_scale_shift,
                        load_autoencoder, preset, save_autoencoder)
from kinema.vae.kl import fold, unfold


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def tiny(**overrides):
    torch.manual_seed(0)
    return build_autoencoder("kl", dataclasses.replace(preset("kl", "tiny"), **overrides)).eval()


def smooth_video(b=2, t=3, h=16, w=24, seed=0):
    """Low-frequency colour fields in [-1, 1]: (B, 3, T, H, W)."""
    coarse = torch.rand(b, 3, t, 3, 4, generator=gen(seed)) * 2 - 1
    frames = coarse.flatten(1, 2)  # (B, 3*T, 3, 4)
    up = torch.nn.functional.interpolate(frames, size=(h, w), mode="bilinear", align_corners=True)
    return up.view(b, 3, t, h, w)


def test_presets_set_downsampling_and_channels():
    assert (preset("kl", "f4c4").downsample, preset("kl", "f4c4").latent_channels) == (4, 4)
    assert (preset("kl", "f8c4").downsample, preset("kl", "f8c4").latent_channels) == (8, 4)
    assert (preset("kl", "f4c8").downsample, preset("kl", "f4c8").latent_channels) == (4, 8)
    assert set(PRESETS["kl"]) == {"tiny", "f4c4", "f8c4", "f4c8"}


@pytest.mark.parametrize("mult,factor", [((1, 2, 2), 4), ((1, 1, 2, 2), 8)])
def test_shapes(mult, factor):
    ae = tiny(channel_mult=mult)
    assert ae.downsample == factor and ae.latent_channels == 4
    with torch.no_grad():
        z = ae.encode(smooth_video(h=32, w=48))
        assert z.shape == (2, 4, 3, 32 // factor, 48 // factor)
        assert ae.decode(z).shape == (2, 3, 3, 32, 48)
        post = ae.encode_dist(smooth_video(h=32, w=48))
        assert post.mean.shape == (6, 4, 32 // factor, 48 // factor)  # frames folded into the batch


def test_frames_are_independent():
    ae = tiny()
    video = smooth_video(b=1, t=3)
    changed = video.clone()
    changed[:, :, 1] = -changed[:, :, 1]
    with torch.no_grad():
        z, z2 = ae.encode(video), ae.encode(changed)
        torch.testing.assert_close(z[:, :, [0, 2]], z2[:, :, [0, 2]], atol=1e-6, rtol=0)
        assert (z[:, :, 1] - z2[:, :, 1]).abs().max() > 1e-3
        torch.testing.assert_close(ae.encode(video[:, :, 2:3]), z[:, :, 2:3], atol=1e-6, rtol=0)
        x, x2 = ae.decode(z), ae.decode(z2)
        torch.testing.assert_close(x[:, :, [0, 2]], x2[:, :, [0, 2]], atol=1e-6, rtol=0)


def test_fold_gives_the_frames_stored_channels_last_and_the_same_codes_as_contiguous_frames():
    video = smooth_video(b=2, t=3, h=16, w=24)
    frames = fold(video)
    plain = rearrange(video, "b c t h w -> (b t) c h w")
    assert torch.equal(frames, plain) and frames.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(unfold(frames, 2), video)
    ae = tiny()
    with torch.no_grad():  # the memory layout changes the kernels' summation order, not the result
        torch.testing.assert_close(DiagonalGaussian(ae.encoder(frames)).mode(),
                                   DiagonalGaussian(ae.encoder(plain)).mode(), atol=1e-5, rtol=0)
        z = ae.encode_dist(video).mode()
        torch.testing.assert_close(ae.decoder(z.contiguous(memory_format=torch.channels_last)),
                                   ae.decoder(z.contiguous()), atol=1e-5, rtol=0)


def test_encode_sampling_is_seeded():
    ae = tiny()
    v = smooth_video(b=1, t=1)
    with torch.no_grad():
        a = ae.encode(v, generator=gen(3), sample=True)
        b = ae.encode(v, generator=gen(3), sample=True)
        torch.testing.assert_close(a, b)
        assert (a - ae.encode(v)).abs().max() > 1e-3  # a draw differs from the posterior mean


def test_kl_matches_torch_distributions():
    moments = torch.randn(3, 8, 2, 5, generator=gen(1))
    post = DiagonalGaussian(moments)
    q = torch.distributions.Normal(post.mean, post.std)
    p = torch.distributions.Normal(torch.zeros_like(post.mean), torch.ones_like(post.std))
    ref = torch.distributions.kl_divergence(q, p).flatten(1).sum(1)
    torch.testing.assert_close(post.kl(), ref, atol=1e-5, rtol=1e-5)


def test_tiled_decode_equals_full_decode():
    """The tiny decoder's receptive radius is under 8 latents (no attention, per-pixel norm):
    with margin 8 every blended pixel is exact; with no margin the tile borders show."""
    ae = tiny()
    z = torch.randn(1, 4, 2, 40, 56, generator=gen(2))
    with torch.no_grad():
        full = ae.decode(z)
        tiled = ae.decode_tiled(z, tile=28, overlap=20, margin=8, frame_batch=1)
        naive = ae.decode_tiled(z, tile=28, overlap=4, margin=0)
    assert tiled.shape == full.shape
    torch.testing.assert_close(tiled, full, atol=2e-5, rtol=0)
    assert (naive - full).abs().max() > 1e-2
    with pytest.raises(ConfigError, match="margin"):
        ae.decode_tiled(z, tile=28, overlap=8, margin=4)


def test_tiled_decode_smaller_than_tile_is_full_decode():
    ae = tiny()
    z = torch.randn(1, 4, 1, 6, 5, generator=gen(4))
    with torch.no_grad():
        torch.testing.assert_close(ae.decode_tiled(z), ae.decode(z), atol=1e-6, rtol=0)


def test_scale_shift_gives_unit_variance_zero_mean():
    ae = tiny()
    batches = [smooth_video(seed=s) for s in range(3)]
    scale, shift = estimate_scale_shift(ae, batches)
    assert scale > 0
    ae.set_scale_shift(scale, shift)
    with torch.no_grad():
        z = torch.cat([ae.encode(v).flatten() for v in batches]).double()
        # decoding undoes the normalisation
        torch.testing.assert_close(ae.decode(ae.encode(batches[0])), tiny().decode(tiny().encode(batches[0])),
                                   atol=1e-5, rtol=1e-5)
    assert abs(z.mean().item()) < 1e-5
    assert abs(z.std(unbiased=False).item() - 1.0) < 1e-5


def test_training_steps_reduce_the_loss():
    ae = tiny(kl_weight=1e-4).train()
    video = smooth_video(b=2, t=2)
    opt = torch.optim.Adam(ae.parameters(), lr=2e-3)
    with torch.no_grad():
        before = ae.loss(video, generator=gen(9))
    assert set(before) == {"recon", "kl", "total"}
    torch.testing.assert_close(before["total"], before["recon"] + 1e-4 * before["kl"])
    g = gen(5)
    for _ in range(25):
        opt.zero_grad()
        ae.loss(video, generator=g)["total"].backward()
        opt.step()
    with torch.no_grad():
        after = ae.loss(video, generator=gen(9))
    assert after["total"] < 0.7 * before["total"]


def test_decoder_loss_is_the_mse_of_the_mean_reconstruction_and_leaves_the_encoder_alone():
    ae = tiny()
    ae.set_scale_shift(1.7, 0.3)
    video = smooth_video()
    loss = ae.decoder_loss(video)
    with torch.no_grad():
        expected = (ae.decode(ae.encode(video)) - video).pow(2).mean()  # inference's round trip
    torch.testing.assert_close(loss["total"].detach(), expected, atol=1e-6, rtol=1e-5)
    loss["total"].backward()
    assert all(p.grad is None for p in ae.encoder.parameters())
    assert all(p.grad is not None for p in ae.decoder.parameters())


def test_decoder_loss_with_latent_noise_decodes_noisy_scaled_latents_against_the_clean_frames():
    ae = tiny()
    ae.set_scale_shift(1.7, 0.3)
    video = smooth_video()
    loss = ae.decoder_loss(video, torch.Generator().manual_seed(3), latent_noise=0.2)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        z = rearrange(ae.encode(video), "b c t h w -> (b t) c h w")  # scaled latents, one row per frame
        s = 0.2 * torch.rand(z.shape[0], 1, 1, 1, generator=g)  # one noise level per frame
        z = z + s * torch.randn(z.shape, generator=g)
        noisy = ae.decode(rearrange(z, "(b t) c h w -> b c t h w", b=video.shape[0]))
        expected = (noisy - video).pow(2).mean()
        clean = ae.decoder_loss(video)["total"]
    torch.testing.assert_close(loss["total"].detach(), expected, atol=1e-6, rtol=1e-5)
    assert loss["total"].item() != pytest.approx(clean.item(), rel=1e-4)


def test_save_load_round_trip(tmp_path):
    ae = tiny(channel_mult=(1, 2, 2, 2), latent_channels=8)
    ae.set_scale_shift(0.7, -0.1)
    path = save_autoencoder(ae, tmp_path / "vae.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["vae.safetensors"]  # no temp file left
    back = load_autoencoder(path)
    assert isinstance(back, KLAutoencoder) and back.config == ae.config
    sd, sd2 = ae.state_dict(), back.state_dict()
    assert sd.keys() == sd2.keys() and all(torch.equal(sd[k], sd2[k]) for k in sd)
    z = torch.randn(1, 8, 1, 2, 3, generator=gen(0))
    with torch.no_grad():
        torch.testing.assert_close(back.decode(z), ae.decode(z), atol=0, rtol=0)
    ident = load_autoencoder(save_autoencoder(IdentityAutoencoder(), tmp_path / "id.safetensors"))
    assert isinstance(ident, IdentityAutoencoder)


def test_load_refuses_bad_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_autoencoder(tmp_path / "nope.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 32)
    with pytest.raises(InputError):
        load_autoencoder(tmp_path / "junk.safetensors")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(InputError, match="kinema_config"):
        load_autoencoder(tmp_path / "plain.safetensors")


def test_identity_autoencoder():
    ae = build_autoencoder("identity")
    v = smooth_video(b=1, t=2, h=5, w=7)
    assert (ae.latent_channels, ae.downsample) == (3, 1)
    assert torch.equal(ae.encode(v), v) and torch.equal(ae.decode(v), v) and torch.equal(ae.decode_tiled(v), v)
    assert ae.encode(v) is not v


def test_build_and_spec():
    ae = build_autoencoder("kl", {"base_channels": 8, "channel_mult": [1, 2], "latent_channels": 2})
    assert ae.config.channel_mult == (1, 2) and ae.downsample == 2
    again = autoencoder_from_spec(autoencoder_spec(ae))
    assert again.config == ae.config
    assert isinstance(build_autoencoder("kl", KLAutoencoderConfig(base_channels=4, channel_mult=(1,))),
                      KLAutoencoder)
    with pytest.raises(ConfigError, match="accepted keys"):
        build_autoencoder("kl", {"base_chanels": 8})
    with pytest.raises(ConfigError):
        build_autoencoder("kl", "f16")
    with pytest.raises(ConfigError):
        build_autoencoder("vqgan")
    with pytest.raises(ConfigError):
        KLAutoencoderConfig(channel_mult=())
    with pytest.raises(ConfigError):
        KLAutoencoderConfig(recon="l3")


def test_input_validation():
    ae = tiny()
    with pytest.raises(InputError, match=r"\(B, 3, T, H, W\)"):
        ae.encode(torch.zeros(1, 3, 16, 16))
    with pytest.raises(InputError, match="multiples of 4"):
        ae.encode(torch.zeros(1, 3, 1, 18, 16))
    with pytest.raises(InputError):
        ae.decode(torch.zeros(1, 3, 1, 4, 4))
