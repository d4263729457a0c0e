"""Issue 21 items 3-4: generation options declared once; modules own their facts."""

from dataclasses import fields

import pytest
import torch

from kinema.cli import build_parser
from kinema.sampling.request import GenerationRequest, SamplingDefaults, request_options


def test_sampling_defaults_map_the_checkpoint_keys_and_fill_older_files():
    config = {"video": {"size": [32, 48], "frames": 8, "fps": 12},
              "diffusion": {"parameterization": "v", "sampler": "heun", "sample_steps": 7, "strength": 0.5}}
    d = SamplingDefaults.from_config(config)
    assert (d.size, d.frames, d.fps, d.sampler, d.steps, d.strength) == ((32, 48), 8, 12.0, "heun", 7, 0.5)
    assert (d.image_guidance, d.plan_guidance, d.noise_prior) == (1.0, 1.0, "iid")  # keys an older file lacks


def test_from_defaults_fills_only_what_was_not_given():
    d = SamplingDefaults(frames=8, fps=12.0, size=(32, 48), sampler="heun", plan_guidance=2.0)
    req = GenerationRequest.from_defaults(d, fps=6, steps=3)
    assert (req.frames, req.fps, req.size, req.sampler, req.plan_guidance) == (8, 6.0, (32, 48), "heun", 2.0)
    assert (req.steps, req.strength, req.noise_prior, req.image_guidance) == (3, None, None, None)  # _resolve's


@pytest.mark.parametrize("verb", [["animate", "x.png", "-o", "y.mp4"], ["bench", "world", "--out", "o"]])
def test_flags_come_from_the_request_fields_with_their_defaults(verb):
    options = request_options(build_parser().parse_args(verb), bench=verb[0] == "bench")
    assert GenerationRequest(**options) == GenerationRequest()
    flagged = {f.name for f in fields(GenerationRequest) if "cli" in f.metadata}
    assert set(options) == (flagged if verb[0] == "animate" else
                            {"size", "frames", "fps", "steps", "sampler", "guidance", "image_guidance",
                             "plan_guidance", "strength", "noise_prior"})


def test_animate_flags_parse_into_request_values():
    argv = ["animate", "x.png", "-o", "y.mp4", "--size", "32x48", "--guidance-ramp", "1,2", "--no-replace-known",
            "--loop", "--seed", "3"]
    options = request_options(build_parser().parse_args(argv))
    assert (options["size"], options["guidance_ramp"], options["replace_known"], options["loop"], options["seed"]) \
        == ((32, 48), (1.0, 2.0), False, True, 3)


def test_resolved_reports_a_text_only_run_as_it_runs():
    import kinema

    pipe = kinema.load()
    assert (pipe.resolved().noise_prior, pipe.resolved().strength) == ("mixed", 0.3)  # the model's defaults
    text_only = pipe.resolved(None, steps=2)
    assert (text_only.noise_prior, text_only.strength) == ("iid", 1.0)


def test_backbones_and_autoencoders_own_their_facts():
    from kinema.models import build_backbone
    from kinema.vae import build_autoencoder

    unet = build_backbone("unet3d", {"channel_mult": [1, 2, 4], "base_channels": 8, "head_dim": 8,
                                     "attention_levels": [], "in_channels": 4, "out_channels": 4})
    assert unet.size_multiple == unet.config.size_multiple == 4
    assert build_backbone("stdit", {"preset": "tiny", "patch_size": [1, 2, 2]}).size_multiple == 2
    ae = build_autoencoder("kl", "f4c4").eval()
    z = torch.randn(1, 4, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(ae.decode(z, tiled=None), ae.decode(z))  # 32x32 pixels: below the tiling size
        torch.testing.assert_close(ae.decode(z, tiled=True), ae.decode(z), atol=1e-5, rtol=0)
