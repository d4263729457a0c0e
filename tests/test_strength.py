"""SDEdit starts (``strength`` < 1): the schedule tail diffusers' img2img runs, the noised reference
video as the start state, the model's default from its config, and one-line errors."""

import types

import numpy as np
import pytest
import torch
from PIL import Image

from kinema.cli import main
from kinema.diffusion import get_sigmas, strength_sigmas
from kinema.errors import ConfigError
from tests.conftest import TINY_TRAIN


@pytest.fixture(scope="module")
def nearest_model(tmp_path_factory):
    """A 2-step tiny model whose concat route carries the nearest known frame (a reference video),
    with a default SDEdit strength of 0.5 in its config."""
    from kinema.train import Trainer, load_config

    out = tmp_path_factory.mktemp("nearest_model")
    overrides = [*TINY_TRAIN, "conditioner.reference=nearest", "diffusion.strength=0.5", "diffusion.sample_steps=4"]
    Trainer(load_config("toy", overrides), out, progress=False, log=lambda *_: None).run()
    return out / "model.safetensors"


@pytest.mark.parametrize("n, strength", [(20, 1.0), (20, 0.75), (20, 0.5), (25, 0.33), (10, 0.1), (7, 0.99)])
def test_strength_runs_as_many_steps_as_diffusers_img2img(n, strength):
    pytest.importorskip("diffusers")
    from diffusers import EulerDiscreteScheduler, StableDiffusionImg2ImgPipeline

    scheduler = EulerDiscreteScheduler()
    scheduler.set_timesteps(n)
    timesteps, run = StableDiffusionImg2ImgPipeline.get_timesteps(types.SimpleNamespace(scheduler=scheduler),
                                                                  n, strength, "cpu")
    tail = strength_sigmas(scheduler.sigmas, strength)  # (n + 1,) descending, ending in 0
    assert len(tail) - 1 == run == len(timesteps)
    assert float(tail[0]) == pytest.approx(float(scheduler.sigmas[n - run]))  # the same first sigma


@pytest.mark.parametrize("strength", [0.0, -0.1, 1.5, 0.04])
def test_strength_outside_the_range_or_below_one_step_is_refused(strength):
    with pytest.raises(ConfigError, match="strength"):
        strength_sigmas(torch.linspace(1, 0, 21), strength)  # 20 steps: 0.04 runs none


@pytest.mark.parametrize("n", [3, 7, 49])
def test_a_strength_of_k_over_n_runs_k_steps_despite_float_rounding(n):
    """49 * (1 / 49) is 0.999... in floating point; the strength still names one step."""
    for k in (1, n - 1):
        assert len(strength_sigmas(torch.linspace(1, 0, n + 1), k / n)) == k + 1


def _capture_start(pipe, monkeypatch):
    """Zero start noise; record (x, sigmas) handed to the sampler."""
    import kinema.sampling.noise_priors as priors

    seen = {}
    monkeypatch.setattr(priors, "make_initial_noise", lambda prior, shape, **kw: torch.zeros(shape))

    def fake_sample(req, denoise, x, sigmas, cond, gen, callback):
        seen.update(x=x.clone(), sigmas=sigmas.clone(), reference=pipe.conditioner.reference_latents(cond.concat, x.shape[1]))
        return torch.zeros_like(x)

    monkeypatch.setattr(pipe, "_sample", fake_sample)
    return seen


def test_the_start_is_the_reference_video_at_the_first_sigma_that_runs(nearest_model, monkeypatch):
    from kinema.sampling.pipeline import load_pipeline

    pipe = load_pipeline(nearest_model)
    seen = _capture_start(pipe, monkeypatch)
    image = torch.rand(3, 16, 16) * 2 - 1
    result = pipe(image, steps=8, strength=0.5)
    full = get_sigmas(pipe.param, 8)
    torch.testing.assert_close(seen["sigmas"], full[4:])  # 4 of 8 steps run
    torch.testing.assert_close(seen["x"], seen["reference"])  # zero noise: VE start = the reference itself
    assert seen["reference"].abs().sum() > 0  # the nearest known frame, not an empty route
    assert result.params["request"]["strength"] == 0.5


def test_strength_one_starts_from_pure_noise(nearest_model, monkeypatch):
    from kinema.sampling.pipeline import load_pipeline

    pipe = load_pipeline(nearest_model)
    seen = _capture_start(pipe, monkeypatch)
    pipe(torch.zeros(3, 16, 16), steps=8, strength=1.0)
    assert len(seen["sigmas"]) == 9 and float(seen["x"].abs().max()) == 0.0  # sigma_max * zero noise


def test_the_models_default_strength_and_text_to_video(nearest_model):
    from kinema.sampling.pipeline import load_pipeline

    pipe = load_pipeline(nearest_model)
    request = pipe(torch.zeros(3, 16, 16)).params["request"]
    assert request["strength"] == 0.5 and request["noise_prior"] == "iid"  # diffusion.strength, the default prior
    assert pipe(None, "a red star").params["request"]["strength"] == 1.0  # no image: nothing to start from
    assert pipe(torch.zeros(3, 16, 16), steps=1).params["request"]["strength"] == 1.0  # the default, >= one step
    with pytest.raises(ConfigError, match="runs 0 of 1 steps"):  # a strength asked for is kept, and refused
        pipe(torch.zeros(3, 16, 16), steps=1, strength=0.5)
    pipe.model_config["diffusion"]["noise_prior"] = "mixed"  # a model trained with train_noise "mixed"
    assert pipe(torch.zeros(3, 16, 16)).params["request"]["noise_prior"] == "mixed"
    assert pipe(None, "a red star").params["request"]["noise_prior"] == "iid"  # text-only clips train on i.i.d.
    assert pipe(None, "a red star", noise_prior="mixed").params["request"]["noise_prior"] == "mixed"  # asked for


def test_strength_needs_a_reference_and_excludes_other_noise_priors(tiny_model, nearest_model):
    from kinema.sampling.pipeline import load_pipeline

    with pytest.raises(ConfigError, match="no reference video"):
        load_pipeline(tiny_model)(torch.zeros(3, 16, 16), steps=4, strength=0.5)
    pipe = load_pipeline(nearest_model)
    with pytest.raises(ConfigError, match=r"noise_prior='lowfreq' and strength=0.5 conflict"):
        pipe(torch.zeros(3, 16, 16), steps=4, noise_prior="lowfreq", strength=0.5)  # both explicit


def test_a_default_strength_gives_way_to_an_explicit_choice(nearest_model):
    """Issue 25 item 5: the model's default strength (0.5) yields to what the caller asked for, with a note."""
    from kinema.sampling.pipeline import load_pipeline

    pipe = load_pipeline(nearest_model)
    result = pipe(torch.zeros(3, 16, 16), steps=4, noise_prior="lowfreq")  # lowfreq starts from pure noise
    assert result.params["request"]["strength"] == 1.0 and "strength 1" in result.notes[0]
    result = pipe(torch.zeros(3, 16, 16), strength=0.1)  # 0.1 of the model's 4 steps runs none: 10 steps
    assert result.params["request"]["steps"] == 10 and result.params["resolved"] == result.notes


def test_a_mixed_prior_start_shares_its_noise_across_frames(nearest_model, monkeypatch):
    """strength < 1 with PYoCo's mixed noise: x_i - reference_i is the same up to the i.i.d. part."""
    from kinema.sampling.pipeline import load_pipeline

    pipe = load_pipeline(nearest_model)
    seen = {}

    def fake_sample(req, denoise, x, sigmas, cond, gen, callback):
        seen.update(noise=(x - pipe.conditioner.reference_latents(cond.concat, x.shape[1])) / sigmas[0])
        return torch.zeros_like(x)

    monkeypatch.setattr(pipe, "_sample", fake_sample)
    pipe(torch.rand(3, 16, 16), steps=8, strength=0.5, noise_prior="mixed")
    n = seen["noise"]  # (1, C, T, h, w); default shared 0.9
    assert torch.corrcoef(torch.stack([n[:, :, 0].flatten(), n[:, :, -1].flatten()]))[0, 1] > 0.6


@pytest.mark.parametrize("value", ["1.5", "0", "0.1 --steps 4"])  # 0.1 of 4 steps runs none
def test_cli_bad_strength_is_one_line(capsys, tmp_path, nearest_model, value):
    path = tmp_path / "in.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path)
    code = main(["animate", str(path), "-o", str(tmp_path / "a.gif"), "--model", str(nearest_model),
                 "--strength", *value.split()])
    err = capsys.readouterr().err
    assert code != 0 and "strength" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "a.gif").exists()
