"""The command line: exit codes, one-line errors, no half-written outputs, provenance."""

import json

import numpy as np
import pytest
from PIL import Image

from kinema.cli import main


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 30, 3), dtype=np.uint8)).save(path)
    return path


def test_animate_writes_video_with_provenance_and_same_seed_same_video(capsys, tmp_path, tiny_model, image):
    for name in ("a.gif", "b.gif"):
        code, out, _ = _run(capsys, "animate", image, "-o", tmp_path / name, "--model", tiny_model,
                            "--steps", 2, "--seed", 3, "--prompt", "a red star moves left")
        assert code == 0 and "wrote" in out
    from kinema.video import read_metadata, read_video

    a, b = read_video(tmp_path / "a.gif")[0], read_video(tmp_path / "b.gif")[0]
    assert a.shape == (4, 16, 16, 3) and np.array_equal(a, b)
    meta = read_metadata(tmp_path / "a.gif")
    assert meta["request"]["seed"] == 3 and meta["request"]["prompt"] == "a red star moves left"
    assert meta["model"].startswith("model.safetensors@sha256:") and "kinema_version" in meta
    assert json.loads((tmp_path / "a.gif.json").read_text()) == meta


def test_animate_mask_on_a_model_without_segmenter_is_one_line(capsys, tmp_path, tiny_model, image):
    code, _, err = _run(capsys, "animate", image, "-o", tmp_path / "a.gif", "--model", tiny_model,
                        "--steps", 2, "--mask", image)
    assert code != 0 and "object_mask" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "a.gif").exists()


@pytest.mark.parametrize("modes", [
    ["--loop"], ["--last-frame", "IMG"], ["--sampler", "heun", "--guidance", "2", "--image-guidance", "1.5"],
    ["--noise-prior", "lowfreq", "--sampler", "dpmpp_2m"], ["--sampler", "ddim", "--noise-aug", "0.05"],
])
def test_animate_modes(capsys, tmp_path, tiny_model, image, modes):
    modes = [str(image) if m == "IMG" else m for m in modes]
    code, _, err = _run(capsys, "animate", image, "-o", tmp_path / "v.mp4", "--model", tiny_model, "--steps", 2, *modes)
    assert code == 0, err
    assert (tmp_path / "v.mp4").stat().st_size > 0


def test_text_to_video(capsys, tmp_path, tiny_model):
    code, _, err = _run(capsys, "animate", "--text-only", "-o", tmp_path / "t.webm", "--model", tiny_model, "--steps", 2)
    assert code == 0, err


@pytest.mark.parametrize("args,needle", [
    (["animate", "MISSING", "-o", "OUT"], "no such file"),
    (["animate", "TEXT", "-o", "OUT"], "not an image"),
    (["animate", "IMG", "-o", "OUT", "--device", "cuda"], "no CUDA GPU"),
    (["animate", "IMG", "-o", "OUT", "--sampler", "foo"], "sampler='foo' is not one of"),
    (["animate", "IMG", "-o", "OUT", "--size", "33x10"], "multiple of"),
    (["animate", "IMG", "-o", "OUT", "--frames", "0"], "frames=0 is outside"),
    (["animate", "IMG", "-o", "OUT", "--noise-prior", "foo"], "noise prior 'foo'"),
    (["animate", "IMG", "-o", "BADEXT"], "cannot tell the video format"),
    (["animate", "IMG", "-o", "OUT", "--model", "PICKLE"], "pickle checkpoints can run code"),
    (["animate", "IMG", "-o", "OUT", "--size", "big"], "WIDTHxHEIGHT"),
    (["animate", "IMG", "-o", "OUT", "--camera", "spin"], "unknown camera move 'spin'"),
    (["animate", "IMG", "-o", "OUT", "--camera", "pan_left"], "takes no motion plan or camera move"),
    (["animate", "IMG", "-o", "OUT", "--plan-guidance", "-1"], "plan_guidance=-1.0 is outside"),
    (["train", "NOCONFIG", "--out", "OUTDIR"], "neither a file nor a preset"),
    (["train", "toy", "--out", "OUTDIR", "--set", "optim.lr=abc"], "optim.lr: expected a number"),
    (["train", "toy", "--out", "OUTDIR", "--resume"], "no checkpoint"),
    (["info", "MISSING"], "does not exist"),
])
def test_bad_input_is_one_line_exit_2_and_leaves_no_output(capsys, tmp_path, tiny_model, image, args, needle):
    import torch

    torch.save({"x": torch.ones(1)}, tmp_path / "m.pt")
    (tmp_path / "t.txt").write_text("hello")
    subst = {"MISSING": tmp_path / "missing.png", "TEXT": tmp_path / "t.txt", "IMG": image,
             "OUT": tmp_path / "out.mp4", "BADEXT": tmp_path / "out.avi", "PICKLE": tmp_path / "m.pt",
             "NOCONFIG": tmp_path / "no.json", "OUTDIR": tmp_path / "run"}
    argv = [subst.get(a, a) for a in args]
    if argv[0] == "animate" and "--model" not in args:
        argv += ["--model", tiny_model]
    if argv[0] == "train":
        argv += ["--set", "conditioner.text_encoder=null:16"]
    code, _, err = _run(capsys, *argv)
    assert code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "out.avi").exists()


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["animate"])
    assert e.value.code == 2


def test_info_prints_config_and_parameter_count(capsys, tiny_model):
    code, out, _ = _run(capsys, "info", tiny_model)
    data = json.loads(out)
    assert code == 0 and data["parameters"]["backbone"] > 0 and data["config"]["backbone"]["kind"] == "unet3d"
    assert data["info"]["steps"] == 2


def test_train_dry_run(capsys, tmp_path):
    code, out, _ = _run(capsys, "train", "toy", "--out", tmp_path / "r", "--dry-run",
                        "--set", "conditioner.text_encoder=null:16")
    assert code == 0 and "backbone parameters" in out


def test_train_export_to_writes_the_last_checkpoint_as_a_model(capsys, tmp_path):
    from kinema.checkpoint import load_checkpoint

    sets = ["--set", "conditioner.text_encoder=null:16", "--set", "data.size=[16,16]", "--set", "data.frames=4",
            "--set", "batch_size=2", "--set", "model.preset=tiny", "--set", "save_every=1", "--no-progress"]
    run = tmp_path / "r"
    code, _, _ = _run(capsys, "train", "toy", "--out", run, "--max-steps", "2", *sets)
    assert code == 0 and not (run / "model.safetensors").exists()  # stopped early: no model yet
    logs = sorted(p.name for p in run.rglob("*"))
    code, out, _ = _run(capsys, "train", "toy", "--out", run, "--export-to", tmp_path / "m.safetensors", *sets)
    tensors, _, info = load_checkpoint(tmp_path / "m.safetensors")
    assert code == 0 and info["steps"] == 2 and any(k.startswith("backbone.") for k in tensors)
    assert sorted(p.name for p in run.rglob("*")) == logs  # the run itself is left as it was
    code, _, err = _run(capsys, "train", "toy", "--out", tmp_path / "none", "--export-to", tmp_path / "x", *sets)
    assert code != 0 and "no checkpoint" in err
