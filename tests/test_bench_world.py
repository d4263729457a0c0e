"""kinema bench world: the static and ground-truth baselines bound every metric as they must,
the report is written as strict JSON + Markdown + a grid, and a model file runs end to end."""

import json
import math
import warnings

import numpy as np
import pytest

from kinema.bench import bench_world
from kinema.bench.clip_metrics import DIRECTION_WORDS, clip_metrics, moving_main_object
from kinema.bench.generators import static_baseline
from kinema.bench.report import json_safe
from kinema.data.world import clip_seed, generate_clip, world_preset
from kinema.errors import ConfigError


@pytest.fixture(scope="module")
def baseline_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_world")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FD with n < feature dim: biased, still comparable
        report = bench_world(None, n_clips=64, n_reference=32, size=(48, 48), out_dir=out)
    return report, out


def test_static_baseline_is_perfect_on_frame0_and_never_moves(baseline_report):
    s = baseline_report[0]["generators"]["static"]
    assert s["first_frame_psnr"] == math.inf and s["first_frame_ssim"] == pytest.approx(1.0)
    assert s["n_moving"] > 0 and s["direction_accuracy"] == 0.0
    assert s["camera_accuracy"] == 0.0 and s["static_camera_accuracy"] == 1.0
    assert s["warping_error_ratio"] == 0.0 and s["flicker_ratio"] == 0.0
    assert s["trajectory_epe_final"] > s["trajectory_epe"] > 0  # the object is left behind


def test_ground_truth_baseline_recovers_direction_and_camera(baseline_report):
    report = baseline_report[0]
    g = report["generators"]["gt"]
    assert g["direction_accuracy"] >= 0.8 and g["trajectory_epe"] < 0.05
    assert g["n_camera"] > 0 and g["camera_accuracy"] >= 0.8
    assert g["warping_error_ratio"] == 1.0 and g["flicker_ratio"] == 1.0
    assert g["fd_world"] < report["generators"]["static"]["fd_world"]
    assert g["fd_world_inf"] < g["fd_world"]  # the extrapolation removes (some of) the small-sample bias
    assert report["encoder_check"]["real"] == g["fd_world"]  # the same clips, the same reference


def test_report_files(baseline_report):
    report, out = baseline_report
    data = json.loads((out / "report.json").read_text())  # strict JSON: inf is written as "inf"
    assert data["generators"]["static"]["first_frame_psnr"] == "inf"
    assert data["protocol"]["world"]["size"] == [48, 48] and data["protocol"]["fd"]["n_real"] == 32
    assert data["protocol"]["fd_inf"]["resampled_by"] == "clip" and data["protocol"]["fd_inf"]["draws_per_size"] == 64
    md = (out / "report.md").read_text()
    assert "| metric | static | gt |" in md and "camera-move accuracy" in md
    from PIL import Image

    grid = np.asarray(Image.open(out / "grid.png"))
    assert grid.shape[0] >= 4 * 2 * 48 and grid.shape[1] >= 8 * 48  # 4 clips x (gt, static) rows, 8 frames


def test_static_video_of_a_moving_clip_scores_still():
    cfg = world_preset("default", size=(48, 48))
    clip = next(c for c in (generate_clip(cfg, clip_seed("test", i), "test") for i in range(64))
                if moving_main_object(c))
    m = clip_metrics(static_baseline(clip), clip)
    assert m["direction"] == "still" and m["direction_correct"] == 0.0 and m["angle_error"] == 180.0
    real = clip_metrics(clip.frames, clip)
    assert real["direction"] == DIRECTION_WORDS[clip.objects[0].attributes["direction_screen"]]
    assert real["direction_correct"] == 1.0 and real["angle_error"] < 22.5 and real["epe"] < 0.05


def test_json_safe_and_bad_requests():
    assert json_safe({"a": [math.inf, math.nan, np.float32(1.5)]}) == {"a": ["inf", "nan", 1.5]}
    with pytest.raises(ConfigError):
        bench_world(None, baselines=())
    with pytest.raises(ConfigError):
        bench_world(None, baselines=("blurry",))
    with pytest.raises(ConfigError):
        bench_world(None, n_clips=1)


def test_model_file_end_to_end(tiny_model, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = bench_world(tiny_model, baselines=("static",), n_clips=3, seeds_per_clip=2, n_reference=4,
                             steps=2, out_dir=tmp_path)
    m = report["generators"]["model"]
    assert list(report["generators"]) == ["model", "static"]
    assert m["n_videos"] == 6 and m["seeds_per_clip"] == 2 and m["clips_timed"] == 6
    assert report["protocol"]["world"]["size"] == [16, 16] and report["protocol"]["world"]["frames"] == 4
    assert m["seconds_per_clip"] > 0 and m["peak_rss_mib"] > 0 and math.isfinite(m["fd_world"])
    assert report["model"].startswith("model.safetensors@sha256:")
    ran = report["protocol"]["sampling_resolved"]  # steps given; the rest from the model's config
    assert ran["steps"] == 2 and ran["sampler"] == "euler" and ran["strength"] == 1.0
    assert (tmp_path / "report.md").read_text().count("| model | static |") == 2  # main + background table
