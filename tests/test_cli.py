"""The command line: exit codes, one-line errors, no half-written outputs, provenance."""

import hashlib
import io
import json
import os
import re
import subprocess
import sys

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


def _files(path):
    """{name: bytes} of an output file or of a PNG-sequence folder."""
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())} if path.is_dir() else {path.name: path.read_bytes()}


@pytest.mark.parametrize("name", ["a.mp4", "a.webm", "a.gif", "frames/"])
def test_same_command_same_bytes_in_every_format(capsys, tmp_path, tiny_model, image, name):
    """Issue 25 item 4: one seed, one file, byte for byte (timings live in the sidecar only)."""
    outputs = []
    for run in ("1", "2"):
        code, out, err = _run(capsys, "animate", image, "-o", f"{tmp_path / run}/{name}", "--model", tiny_model,
                              "--steps", 2, "--seed", 3, "--prompt", "a red star moves left")
        assert code == 0 and "wrote" in out, err
        outputs.append(tmp_path / run / name.rstrip("/"))
    assert _files(outputs[0]) == _files(outputs[1])


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
    assert meta["known_frames"] == [{"index": 0, "strength": 1.0, "of": "file",
                                     "sha256": hashlib.sha256(image.read_bytes()).hexdigest()}]
    assert meta["device"] == "cpu" and "seconds" not in json.dumps(meta)
    sidecar = json.loads((tmp_path / "a.gif.json").read_text())
    assert sidecar.pop("timing")["seconds"] > 0 and sidecar == meta


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


def test_info_json_prints_config_and_parameter_count(capsys, tiny_model):
    code, out, _ = _run(capsys, "info", tiny_model, "--json")
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


# ---- progress, --quiet, start-up, info (issue 25 items 12-14) ----------------------------------

class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, so progress bars show (they hide on pipes and files)."""

    def isatty(self) -> bool:
        return True


def _run_on_terminal(monkeypatch, capsys, *argv):
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().out, err.getvalue()


def test_animate_shows_a_denoising_bar_on_a_terminal_and_quiet_hides_it(monkeypatch, capsys, tmp_path, tiny_model,
                                                                        image):
    args = ("animate", image, "-o", tmp_path / "a.gif", "--model", tiny_model, "--steps", 3, "--strength", 1)
    code, out, err = _run_on_terminal(monkeypatch, capsys, *args)
    assert code == 0 and "denoise" in err and "/3 [" in err  # a bar over the 3 sampler steps
    assert out.count("\n") == 1 and out.startswith("wrote ")  # stdout: the result only
    for quiet in (("-q", *args), (*args, "--quiet")):  # global or after the verb
        code, out, err = _run_on_terminal(monkeypatch, capsys, *quiet)
        assert code == 0 and err == "" and out.startswith("wrote ")


def test_no_bar_when_stderr_is_not_a_terminal(capsys, tmp_path, tiny_model, image):
    code, _, err = _run(capsys, "animate", image, "-o", tmp_path / "a.gif", "--model", tiny_model, "--steps", 2)
    assert code == 0 and err == ""


def test_animate_says_video_length_and_generation_time_apart(capsys, tmp_path, tiny_model, image):
    code, out, _ = _run(capsys, "animate", image, "-o", tmp_path / "a.gif", "--model", tiny_model, "--steps", 2,
                        "--fps", 8)
    assert code == 0
    assert re.fullmatch(r"wrote .*a\.gif: 4 frames at 8 fps \(0\.5 s of video\), generated in \d+\.\d s\n", out)


def test_pipeline_bar_keeps_the_callers_callback(tiny_model, image):
    import kinema
    from kinema.progress import progress

    pipe = kinema.load(tiny_model)
    seen = []
    pipe(image, steps=3, strength=1.0, callback=lambda d: seen.append(d["i"]))
    assert seen == [0, 1, 2]
    with progress(total=2, quiet=True) as bar:  # quiet: a bar object that shows nothing
        bar.update()
        assert bar.disable


@pytest.mark.filterwarnings("ignore:only n=")  # a tiny reference set, on purpose
def test_bench_stdout_is_one_line(capsys, tmp_path):
    code, out, _ = _run(capsys, "bench", "world", "--baselines", "static", "--n", 16, "--reference", 4,
                        "--size", "32x32", "--frames", 4, "--out", tmp_path / "b")
    assert code == 0 and out.count("\n") == 1 and "report.json" in out


_IN_FRESH_PYTHON = """
import os, sys
from kinema.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(os.environ.get("OMP_WAIT_POLICY"), "torch" in sys.modules)
"""


@pytest.mark.parametrize("argv", [["--help"], ["animate", "--help"], ["animate"], ["animate", "x.png"],
                                  ["info", "--bogus"]])
def test_help_and_usage_errors_import_no_torch_and_set_passive_threads(argv):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", _IN_FRESH_PYTHON, *argv], env=env, capture_output=True, text=True)
    assert out.stdout.split()[-2:] == ["PASSIVE", "False"], out.stderr


def test_a_users_wait_policy_is_kept():
    env = {**os.environ, "OMP_WAIT_POLICY": "ACTIVE"}
    out = subprocess.run([sys.executable, "-c", _IN_FRESH_PYTHON, "--help"], env=env, capture_output=True, text=True)
    assert out.stdout.split()[-2:] == ["ACTIVE", "False"]


def test_entry_freezes_the_heap_before_exit_once_torch_is_loaded(monkeypatch, capsys, tiny_model):
    import gc

    from kinema import cli

    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(sys, "argv", ["kinema", "info", str(tiny_model)])
    assert cli.entry() == 0 and frozen == [True]


def test_info_default_is_a_short_summary(capsys, tiny_model):
    code, out, _ = _run(capsys, "info", tiny_model)
    lines = out.splitlines()
    assert code == 0 and 5 <= len(lines) <= 12 and not out.lstrip().startswith("{")
    assert re.search(r"^size +0\.\d\d M parameters \(backbone", out, re.M)
    assert re.search(r"^trained +16x16, 4 frames at \d+ fps", out, re.M)
    assert "benchmark" not in out  # a file without figures shows no benchmark line (never invented)


def test_info_summary_of_the_default_model_names_figures_and_recipe(capsys):
    code, out, _ = _run(capsys, "info")
    assert code == 0 and len(out.splitlines()) <= 12
    for needle in ("image-to-video", "M parameters", "64x64, 16 frames", "first frame", "FD_inf", "recipe", "--json"):
        assert needle in out, needle


def test_info_summary_leaves_out_a_missing_fps():
    from kinema.model_info import _trained

    assert _trained({"video": {"size": [64, 64], "frames": 16}}, {}) == "64x64, 16 frames"
