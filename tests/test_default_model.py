"""The model shipped in the package: loads with no path, carries its provenance, survives bad input."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import kinema
from kinema.checkpoint import read_metadata
from kinema.errors import ConfigError
from kinema.sampling.pipeline import default_model_path
from kinema.train.config import load_config

REPO = Path(__file__).resolve().parents[1]

FAST = dict(steps=2, frames=4)  # the invariants below hold at any step count


@pytest.fixture(scope="module")
def pipe():
    return kinema.load()  # no path: the bundled default model


def test_default_model_ships_with_provenance():
    path = default_model_path()
    assert path.is_file() and path.stat().st_size < 40e6  # "tens of MB at most"
    config, info = read_metadata(path)
    prov = info["provenance"]
    assert prov["recipe"].startswith("configs/") and len(prov["recipe_sha256"]) == 64
    assert prov["steps"] > 0 and prov["train_seconds"] > 0
    assert {"first_frame_psnr", "camera_accuracy", "fd_world", "seconds_per_clip"} <= set(info["benchmark"])
    assert config["conditioner"]["text_encoder"].startswith("minilm")
    assert config["video"]["frames"] >= 16 and min(config["video"]["size"]) >= 64 and config["video"]["fps"] >= 8


def test_shipped_recipe_is_the_committed_file():
    """The recipe named in the shipped model's provenance is in the repo, byte for byte."""
    prov = read_metadata(default_model_path())[1]["provenance"]
    recipe = REPO / prov["recipe"]
    assert recipe.is_file()
    assert hashlib.sha256(recipe.read_bytes()).hexdigest() == prov["recipe_sha256"]


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.json")), ids=lambda p: p.name)
def test_committed_configs_are_valid(path):
    config = load_config(str(path))
    assert config.stages and all(stage.steps > 0 for stage in config.stages)


def _photo(mode: str, size: tuple[int, int]) -> Image.Image:
    rgb = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(rgb).convert(mode)


@pytest.mark.parametrize("mode,size", [("RGB", (97, 61)), ("L", (300, 40)), ("RGBA", (64, 64)),
                                       ("P", (41, 130)), ("CMYK", (80, 80)), ("I;16", (70, 50))])
def test_any_photo_mode_and_size(pipe, mode, size):
    out = pipe(_photo(mode, size), "a red circle moves right", **FAST)
    assert out.frames.shape == (4, 64, 64, 3) and out.frames.dtype == np.uint8


@pytest.mark.parametrize("prompt", ["", "x" * 5000, "猫が右にゆっくり動く", "🐱➡️🎥", "\n\t  ", "la cámara se acerca"])
def test_unseen_prompts(pipe, prompt):
    out = pipe(_photo("RGB", (64, 64)), prompt, **FAST)
    assert np.isfinite(out.frames.astype(np.float64)).all() and out.frames.shape[0] == 4


def test_sizes_and_lengths_outside_the_trained_range(pipe):
    assert pipe(_photo("RGB", (64, 64)), "", steps=2, frames=1).frames.shape[0] == 1
    assert pipe(_photo("RGB", (64, 64)), "", steps=2, frames=4, size=(96, 32)).frames.shape[1:3] == (32, 96)
    with pytest.raises(ConfigError, match="trained on"):
        pipe(_photo("RGB", (64, 64)), "", steps=2, frames=1000 // 2)
    with pytest.raises(ConfigError, match="trained at"):
        pipe(_photo("RGB", (64, 64)), "", steps=2, frames=2, size=(2048, 2048))
    with pytest.raises(ConfigError, match="multiple of"):
        pipe(_photo("RGB", (64, 64)), "", steps=2, frames=2, size=(66, 64))


def test_text_to_video_and_transition(pipe):
    t2v = pipe(None, "a blue square bounces", **FAST)
    trans = pipe(_photo("RGB", (64, 64)), "", last_frame=_photo("L", (64, 64)), **FAST)
    assert t2v.frames.shape == trans.frames.shape == (4, 64, 64, 3)


def test_sampling_defaults_come_from_the_model_unless_given(pipe):
    d = pipe.model_config["diffusion"]
    auto = pipe(_photo("RGB", (64, 64)), "", **FAST).params["request"]
    assert auto["image_guidance"] == d.get("image_guidance", 1.0) and auto["sampler"] == d["sampler"]
    given = pipe(_photo("RGB", (64, 64)), "", image_guidance=1.0, **FAST).params["request"]
    assert given["image_guidance"] == 1.0


def test_the_shipped_planner_reads_camera_and_direction_words(pipe):
    from kinema.conditioning import Conditions

    def plan(prompt, **kw):
        conds = Conditions(prompt=prompt, motion=0.02, **kw)
        tokens, mask = pipe.conditioner.encode_text([prompt])
        return pipe.conditioner.sampling_plan(conds, tokens, mask, None)[0]

    assert plan("A red circle stays still; the camera pans left.")[0] < 0
    assert plan("A red circle stays still; the camera pans right.")[0] > 0
    assert plan("A large red ball moves quickly to the left while the camera is static.")[4] < 0
    assert plan("A large red ball moves quickly upward while the camera is static.")[5] < 0  # y down
    assert plan("", camera="zoom_in:0.02")[:4].tolist() == pytest.approx([0.0, 0.0, 0.04, 0.0])  # named move wins
    out = pipe(_photo("RGB", (64, 64)), "a red circle", camera="tilt_up", **FAST)
    assert out.params["request"]["camera"] == "tilt_up"


def test_motion_brush_mask_from_a_file_or_an_array(pipe, tmp_path):
    painted = np.zeros((90, 120), np.uint8)
    painted[30:60, 40:80] = 255  # a third of the height, a third of the width
    Image.fromarray(painted).save(tmp_path / "mask.png")
    image = _photo("RGB", (120, 90))
    from_file = pipe(image, "the block moves to the left", object_mask=tmp_path / "mask.png", **FAST)
    from_array = pipe(image, "the block moves to the left", object_mask=painted > 0, **FAST)
    assert from_file.params["object_mask"] == from_array.params["object_mask"] > 0.05  # resize-cropped alike
    with pytest.raises(ConfigError, match="no object pixel"):
        pipe(image, "", object_mask=np.zeros((90, 120)), **FAST)
    with pytest.raises(ConfigError, match="needs|give an image"):
        pipe(None, "a block", object_mask=painted, **FAST)


def test_bench_exact_mask_oracle_is_the_motion_brush_with_the_true_mask(pipe):
    from kinema.bench.generators import ModelGenerator, first_frame_tensor
    from kinema.data.world import clip_seed, generate_clip, world_preset

    clip = generate_clip(world_preset("default", size=(64, 64), frames=4, fps=8.0), clip_seed("test", 0, 0), "test")
    oracle = ModelGenerator(pipe, {"steps": 1}, exact_mask=True)(clip, seed=0)
    brushed = pipe(first_frame_tensor(clip), clip.caption, motion=float(clip.motion_amount), frames=4, size=(64, 64),
                   steps=1, object_mask=clip.objects[0].mask[0])
    assert np.array_equal(oracle, brushed.frames)
