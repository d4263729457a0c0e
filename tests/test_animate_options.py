"""Issue 25 item 5: every pair of `kinema animate` options composes on the default model.

Each pair of options is parsed by the real parser and run through the call `kinema animate` makes
(:func:`kinema.cli.animate_call`). A pair either runs, or is a true conflict between two explicit
choices (listed below) that raises one KinemaError naming both. A model default never makes a pair
fail: it gives way and says so in ``result.notes`` and the provenance's ``resolved``.
"""

from itertools import combinations

import numpy as np
import pytest
from PIL import Image

import kinema
from kinema.cli import animate_call, build_parser
from kinema.errors import KinemaError

BASE = ["--frames", "4", "--steps", "2", "--size", "32x32"]  # tiny: ~0.3 s a call on 2 CPU cores
OPTIONS = {  # one value per option (two for --noise-prior: both image priors)
    "prompt": ["--prompt", "a red ball rolls left"],
    "last_frame": ["--last-frame", "LAST"],
    "loop": ["--loop"],
    "text_only": ["--text-only"],
    "fps": ["--fps", "12"],
    "steps": ["--steps", "1"],
    "sampler": ["--sampler", "euler_a"],
    "guidance": ["--guidance", "2"],
    "image_guidance": ["--image-guidance", "1.2"],
    "plan_guidance": ["--plan-guidance", "1.5"],
    "strength": ["--strength", "0.6"],
    "guidance_ramp": ["--guidance-ramp", "1,2"],
    "lowfreq": ["--noise-prior", "lowfreq"],
    "image_noise": ["--noise-prior", "image_noise"],
    "noise_aug": ["--noise-aug", "0.05"],
    "motion": ["--motion", "2"],
    "camera": ["--camera", "pan_left"],
    "mask": ["--mask", "MASK"],
    "no_replace_known": ["--no-replace-known"],
    "seed": ["--seed", "5"],
}
# Two explicit choices that contradict each other, and the words the error must name them by.
CONFLICTS = {
    ("last_frame", "loop"): ("loop", "last_frame"),
    ("loop", "text_only"): ("loop", "image"),
    ("text_only", "mask"): ("object_mask", "image"),
    ("text_only", "strength"): ("strength", "text-to-video"),
    ("text_only", "lowfreq"): ("noise_prior", "image"),
    ("text_only", "image_noise"): ("noise_prior", "image"),
    ("steps", "strength"): ("strength", "steps"),
    ("image_guidance", "guidance_ramp"): ("image_guidance", "guidance_ramp"),
    ("strength", "lowfreq"): ("noise_prior", "strength"),
    ("strength", "image_noise"): ("noise_prior", "strength"),
    ("lowfreq", "image_noise"): None,  # one option given twice: the last wins, as argparse does
}


@pytest.fixture(scope="module")
def pipe():
    pipe = kinema.load()
    pipe.progress_bar = False
    return pipe


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    paths = {name: d / f"{name}.png" for name in ("IMAGE", "LAST", "MASK")}
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(paths["IMAGE"])
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(paths["LAST"])
    mask = np.zeros((48, 64), np.uint8)
    mask[10:30, 20:40] = 255
    Image.fromarray(mask).save(paths["MASK"])
    return {k: str(v) for k, v in paths.items()}


def _argv(names, files) -> list[str]:
    image = [] if "text_only" in names else ["IMAGE"]
    argv = ["animate", *image, "-o", "out.mp4", *BASE, *(a for n in names for a in OPTIONS[n])]
    return [files.get(a, a) for a in argv]


@pytest.mark.parametrize("pair", list(combinations(OPTIONS, 2)), ids="+".join)
def test_every_pair_of_options_composes(pipe, files, pair):
    conflict = CONFLICTS.get(pair, CONFLICTS.get(pair[::-1], ()))
    image, options = animate_call(build_parser().parse_args(_argv(pair, files)))
    if not conflict:
        result = pipe(image, **options)
        assert result.frames.shape[0] == 4 and result.params["resolved"] == result.notes
        return
    with pytest.raises(KinemaError) as e:
        pipe(image, **options)
    message = str(e.value)
    assert "\n" not in message and all(word in message for word in conflict), message


def test_a_default_that_gives_way_is_recorded(pipe, files):
    """noise_prior=lowfreq alone: the model's strength (< 1) yields to 1 and the provenance says so."""
    default = pipe.model_config["diffusion"]["strength"]
    assert default < 1.0  # else this test checks nothing
    result = pipe(files["IMAGE"], noise_prior="lowfreq", frames=4, steps=2, size=(32, 32))
    assert result.params["request"]["strength"] == 1.0
    assert any(note.startswith("strength 1") and "lowfreq" in note for note in result.params["resolved"])
