"""kinema eval runner: frame protocol, pairing, caching, reference stats, reports."""

import json

import numpy as np
import pytest

from kinema.errors import ConfigError, InputError
from kinema.eval.run import EvalRequest, FrameProtocol, evaluate, reference_statistics, write_reports
from kinema.eval.run.reference_stats import load_reference, save_reference
from kinema.video import write_video


def _moving_square(seed: int, t: int = 8, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = np.full((t, size, size, 3), 40, np.uint8)
    y, x, dx = rng.integers(4, size // 2), rng.integers(2, 8), int(rng.integers(1, 3))
    for i in range(t):
        frames[i, y:y + 8, x + i * dx: x + i * dx + 8] = (200, (80 + 10 * seed) % 256, 60)
    return frames


def _folder(path, seeds, fps=8.0, t=8):
    path.mkdir(parents=True, exist_ok=True)
    for s in seeds:
        write_video(path / f"clip{s}.gif", _moving_square(s, t), fps)
    return path


@pytest.fixture()
def sets(tmp_path):
    return _folder(tmp_path / "gen", range(4)), _folder(tmp_path / "ref", range(4)), tmp_path


def test_identical_sets_score_perfectly(sets):
    gen, ref, tmp = sets
    req = EvalRequest(gen, ref, ["ssim", "first_frame_ssim", "kinema-fmd-v1", "flicker"], cache_dir=None)
    rep = evaluate(req)
    values = {o.result.name: o.result.value for o in rep.outputs}
    assert values["ssim"] == pytest.approx(1.0) and values["first_frame_ssim"] == pytest.approx(1.0)
    assert abs(values["kinema-fmd-v1"]) < 1e-6
    assert values["flicker"] > 0
    ssim = rep.outputs[0]
    assert set(ssim.per_video) == {f"clip{s}" for s in range(4)} and len(ssim.curve) == 8
    assert ssim.result.protocol["n_real"] == 4 and ssim.result.protocol["resolution"] == [32, 32]


def test_reports_written(sets):
    gen, ref, tmp = sets
    rep = evaluate(EvalRequest(gen, ref, ["psnr", "flicker", "kinema-fmd-v1"], cache_dir=None))
    paths = write_reports(rep, tmp / "out" / "report.json")
    data = json.loads(paths["json"].read_text())
    assert [m["name"] for m in data["metrics"]] == ["psnr", "flicker", "kinema-fmd-v1"]
    assert all("protocol" in m for m in data["metrics"])
    for key in ("md", "html", "bars", "curves", "grid"):
        assert paths[key].exists() and paths[key].stat().st_size > 0
    assert "| flicker |" in paths["md"].read_text()


def test_feature_cache_hits_on_second_run(sets):
    gen, ref, tmp = sets
    req = EvalRequest(gen, ref, ["kinema-fmd-v1"], cache_dir=tmp / "cache")
    first = evaluate(req)
    second = evaluate(req)
    assert first.request["cache"]["hits"] == 0 and second.request["cache"]["hits"] == 8
    assert second.outputs[0].result.value == pytest.approx(first.outputs[0].result.value)


def test_mixed_frame_rates_refused_then_resampled(tmp_path):
    gen = _folder(tmp_path / "g", [0, 1], fps=8.0, t=16)
    write_video(gen / "fast.gif", _moving_square(2, 16), 16.0)
    with pytest.raises(InputError, match="mixed frame rates"):
        evaluate(EvalRequest(gen, None, ["flicker"], cache_dir=None))
    rep = evaluate(EvalRequest(gen, None, ["flicker"], FrameProtocol(frames=8, fps=8.0), cache_dir=None))
    assert rep.outputs[0].result.protocol["frames"] == 8 and len(rep.generated.videos) == 3


def test_short_and_unreadable_videos_are_skipped_and_reported(tmp_path):
    gen = _folder(tmp_path / "g", [0, 1], t=8)
    write_video(gen / "short.gif", _moving_square(3, 4), 8.0)
    (gen / "broken.mp4").write_bytes(b"not a video")
    rep = evaluate(EvalRequest(gen, None, ["flicker"], FrameProtocol(frames=8), cache_dir=None))
    reasons = dict((p.split("/")[-1], r) for p, r in rep.skipped["generated"])
    assert set(reasons) == {"short.gif", "broken.mp4"} and "needs 8" in reasons["short.gif"]
    assert rep.outputs[0].result.protocol["n_generated"] == 2


def test_reference_stats_round_trip_and_protocol_check(sets):
    gen, ref, tmp = sets
    stats = reference_statistics(ref, ["kinema-fmd-v1"], FrameProtocol(frames=8), cache_dir=None)
    path = save_reference(tmp / "ref.npz", stats)
    assert load_reference(path)["kinema-fmd-v1"].stats.n == 4
    from_stats = evaluate(EvalRequest(gen, path, ["kinema-fmd-v1"], FrameProtocol(frames=8), cache_dir=None))
    from_dir = evaluate(EvalRequest(gen, ref, ["kinema-fmd-v1"], FrameProtocol(frames=8), cache_dir=None))
    assert from_stats.outputs[0].result.value == pytest.approx(from_dir.outputs[0].result.value, abs=1e-9)
    with pytest.raises(ConfigError, match="another protocol"):
        evaluate(EvalRequest(gen, path, ["kinema-fmd-v1"], FrameProtocol(frames=6), cache_dir=None))
    with pytest.raises(InputError, match="need a reference folder"):
        evaluate(EvalRequest(gen, path, ["psnr"], cache_dir=None))


def test_bad_requests(sets):
    gen, ref, tmp = sets
    with pytest.raises(ConfigError, match="unknown metric"):
        evaluate(EvalRequest(gen, ref, ["nope"], cache_dir=None))
    with pytest.raises(InputError, match="need --reference"):
        evaluate(EvalRequest(gen, None, ["psnr"], cache_dir=None))
    (tmp / "empty").mkdir()
    with pytest.raises(InputError, match="no videos"):
        evaluate(EvalRequest(tmp / "empty", None, ["flicker"], cache_dir=None))


def test_backbone_metric_with_local_weights_and_missing_weights(sets, monkeypatch):
    """LPIPS through kinema eval with weight files found via the registry's environment variables."""
    import torch

    from kinema.cli import main
    from kinema.eval.backbones.lpips_nets import LinearHeads, LPIPSTrunk
    from kinema.eval.run import backbone_metrics

    gen, ref, tmp = sets
    backbone_metrics._lpips.cache_clear()
    monkeypatch.setenv("KINEMA_CACHE", str(tmp / "empty-cache"))
    assert main(["eval", "--generated", str(gen), "--reference", str(ref), "--metrics", "lpips-alex",
                 "--out", str(tmp / "r.json"), "--no-cache"]) == 2  # no weights anywhere: one-line error
    torch.manual_seed(0)
    torch.save(LPIPSTrunk("alex").state_dict(), tmp / "alexnet-owt-7be5be79.pth")
    heads = LinearHeads("alex")
    for p in heads.parameters():
        torch.nn.init.uniform_(p, 0.0, 1.0)
    torch.save(heads.state_dict(), tmp / "alex.pth")
    monkeypatch.setenv("KINEMA_WEIGHTS_DIR", str(tmp))
    rep = evaluate(EvalRequest(gen, ref, ["lpips-alex"], cache_dir=None))
    assert rep.outputs[0].result.value == pytest.approx(0.0, abs=1e-7)  # identical sets
    backbone_metrics._lpips.cache_clear()


def test_runner_fvd_equals_the_fvd_module(tmp_path):
    """The runner's FVD path (features, cache, covariance / n) equals kinema.eval.metrics.fvd.fvd."""
    import torch

    from kinema.eval.backbones.videomae import VIDEOMAE_PRESETS, VideoMAEFeatures, VideoMAEViT
    from kinema.eval.metrics.fvd import fvd
    from kinema.eval.run import METRICS, MetricSpec, register

    torch.manual_seed(0)
    extractor = VideoMAEFeatures(VideoMAEViT(VIDEOMAE_PRESETS["tiny"]))
    register(MetricSpec("fvd-test-tiny", "distribution", "test", extractor=lambda weights=None: extractor,
                        score="fd", options={"ddof": 0}))
    try:
        gen = _folder(tmp_path / "g", range(0, 12), t=16)
        ref = _folder(tmp_path / "r", range(20, 32), t=16)
        rep = evaluate(EvalRequest(gen, ref, ["fvd-test-tiny"], FrameProtocol(frames=16), cache_dir=tmp_path / "c"))
        videos = [v.frames for v in rep.generated.videos], [v.frames for v in rep.reference.videos]
        expected = fvd(videos[0], videos[1], extractor).value
        assert rep.outputs[0].result.value == pytest.approx(expected, rel=1e-6) and expected > 0
    finally:
        METRICS.pop("fvd-test-tiny")


def test_runner_fid_kid_is_equal_the_inception_module(tmp_path, monkeypatch):
    """FID / KID / IS through kinema eval (frame level) equal kinema.eval.metrics.inception_metrics."""
    import torch

    from kinema.eval.backbones.inception import FIDInceptionV3, InceptionFeatures
    from kinema.eval.metrics import inception_metrics as im
    from kinema.eval.run import backbone_metrics

    torch.manual_seed(0)
    net = FIDInceptionV3()
    # the 192-d layer stands in for pool3: the same code path, without a 2048 x 2048 sqrtm per FID
    fake = {(p, f): InceptionFeatures(net, p, "192" if f == "2048" else f)
            for p, f in (("pytorch-fid", "2048"), ("torch-fidelity", "2048"), ("torch-fidelity", "logits_unbiased"))}
    monkeypatch.setattr(backbone_metrics, "_inception", lambda p, f: fake[(p, f)])
    gen, ref = _folder(tmp_path / "g", range(3), t=4), _folder(tmp_path / "r", range(10, 13), t=4)
    rep = evaluate(EvalRequest(gen, ref, ["fid", "kid", "is"], cache_dir=None, kid_subset_size=6, kid_subsets=5,
                               is_splits=2))
    got = {o.result.name: o for o in rep.outputs}
    g = np.stack([v.frames for v in rep.generated.videos])
    r = np.stack([v.frames for v in rep.reference.videos])
    assert got["fid"].result.value == pytest.approx(im.fid(r, g, fake[("pytorch-fid", "2048")]).value, rel=1e-6)
    kid = im.kid(r, g, fake[("torch-fidelity", "2048")], subset_size=6, n_subsets=5)[0].value
    assert got["kid"].result.value == pytest.approx(kid, rel=1e-6, abs=1e-12)
    is_mean = im.inception_score(g, fake[("torch-fidelity", "logits_unbiased")], splits=2)[0].value
    assert got["is"].result.value == pytest.approx(is_mean, rel=1e-6)
    assert got["fid"].result.protocol["n_real"] == 3 and got["fid"].result.protocol["n_features_generated"] == 12


def test_vbench_dimensions_in_the_report(sets):
    """A set-level VBench dimension runs through kinema eval and gets the per-dimension bar chart."""
    from kinema.eval.run import METRICS, MetricSpec, register
    from kinema.eval.vbench import dimensions

    gen, ref, tmp = sets

    def still_features(frames):  # a feature callable that sees only the mean colour of a frame
        import torch

        return torch.as_tensor(np.asarray(frames, np.float32).mean(axis=(1, 2)))

    def compute(videos, ctx):
        score = dimensions.subject_consistency(videos, still_features)
        return score.result(), list(score.per_video)

    register(MetricSpec("vbench-i2v/subject_consistency_test", "set", "test", compute=compute))
    try:
        rep = evaluate(EvalRequest(gen, ref, ["vbench-i2v/subject_consistency_test"], cache_dir=None))
        paths = write_reports(rep, tmp / "v.json")
        assert 0 < rep.outputs[0].result.value <= 1 + 1e-6 and len(rep.outputs[0].per_video) == 4
        assert paths["dimensions"].stat().st_size > 0
    finally:
        METRICS.pop("vbench-i2v/subject_consistency_test")


def test_cli_eval_stats_and_weights(sets, capsys):
    from kinema.cli import main

    gen, ref, tmp = sets
    args = ["--frames", "8", "--no-cache", "--no-progress"]
    assert main(["eval", "stats", str(ref), "--metrics", "kinema-fmd-v1", "--out", str(tmp / "s.npz")] + args) == 0
    assert main(["eval", "--generated", str(gen), "--reference", str(tmp / "s.npz"), "--metrics", "kinema-fmd-v1",
                 "--out", str(tmp / "rep" / "r.json")] + args) == 0
    assert json.loads((tmp / "rep" / "r.json").read_text())["metrics"][0]["protocol"]["frames"] == 8
    assert main(["eval", "--generated", str(gen), "--reference", str(ref), "--metrics", "psnr,flicker",
                 "--out", str(tmp / "r2.json")] + args) == 0
    assert (tmp / "r2.md").exists() and (tmp / "r2.html").exists()
    assert main(["eval", "--generated", str(gen), "--metrics", "bogus", "--out", str(tmp / "x.json")]) == 2
    assert main(["eval", "--generated", str(gen), "--metrics", "flicker", "--frames", "0",
                 "--out", str(tmp / "x.json")]) == 2
    assert not (tmp / "x.json").exists()
    assert main(["weights", "list"]) == 0 and "inception-fid" in capsys.readouterr().out
    assert main(["weights", "where", "bogus"]) == 2
    assert main(["eval", "list"]) == 0 and "fvd-styleganv" in capsys.readouterr().out


def _refuse_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def test_report_json_is_strict_when_psnr_is_infinite(sets):
    """Identical frames give PSNR inf: report.json spells it "inf" (strict JSON), as md and html do."""
    gen, ref, tmp = sets
    paths = write_reports(evaluate(EvalRequest(gen, ref, ["psnr", "flicker"], cache_dir=None)), tmp / "r.json")
    data = json.loads(paths["json"].read_text(), parse_constant=_refuse_constant)
    psnr = data["metrics"][0]
    assert psnr["value"] == "inf" and set(psnr["per_video"].values()) == {"inf"} and float(psnr["value"]) > 1e308
    assert isinstance(data["metrics"][1]["value"], float) and any('"inf"' in n for n in data["notes"])
    assert "| psnr | inf |" in paths["md"].read_text() and "<td>psnr</td><td>inf</td>" in paths["html"].read_text()


def test_a_write_failing_midway_leaves_no_partial_file(sets, monkeypatch, capsys):
    """A full disk while the grid is written: no truncated _grid.png, no temporary, no report.json."""
    import errno
    import pathlib

    from kinema.cli import main

    gen, ref, tmp = sets
    real = pathlib.Path.write_bytes

    def half_then_full(self, data):
        if "_grid" in self.name:
            real(self, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", half_then_full)
    out = tmp / "out"
    assert main(["eval", "--generated", str(gen), "--reference", str(ref), "--metrics", "psnr",
                 "--no-cache", "-q", "--out", str(out / "r.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "r_grid.png" in err and "No space left" in err
    assert sorted(p.name for p in out.iterdir()) == ["r_bars.png", "r_curves.png"]  # complete, written before


def test_every_metric_reports_progress_and_quiet_keeps_stderr_empty(sets, capsys, monkeypatch):
    """Item 12: each step (reading, each metric) goes through the progress callback; -q: no bar."""
    from kinema import progress
    from kinema.cli import build_parser, main
    from kinema.cli_eval import _progress

    monkeypatch.setattr(progress, "_QUIET", False)  # process-wide; an earlier `main([..., "-q"])` sets it
    gen, ref, tmp = sets
    seen = []

    def record(items, desc=None):
        seen.append(desc)
        return items

    evaluate(EvalRequest(gen, ref, ["psnr", "flicker", "kinema-fmd-v1"], cache_dir=None), record)
    assert seen == ["reading gen", "reading ref", "psnr", "flicker", "kinema-motion-histogram-v1",
                    "kinema-motion-histogram-v1"]
    parse = build_parser().parse_args
    assert _progress(parse(["eval", "-q"])) is None and _progress(parse(["eval", "--no-progress"])) is None
    assert callable(_progress(parse(["eval"])))
    assert main(["eval", "--generated", str(gen), "--reference", str(ref), "--metrics", "psnr", "--no-cache",
                 "--quiet", "--out", str(tmp / "q.json")]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.splitlines()[0].split() == ["psnr", "inf"]


def test_flicker_is_listed_and_reported_on_the_0_255_scale(tmp_path, capsys):
    """`eval list` must name the unit flicker's values are in: black/white alternation is 255."""
    from kinema.cli import main

    frames = np.zeros((4, 16, 16, 3), np.uint8)
    frames[1::2] = 255
    write_video(tmp_path / "g" / "blink.gif", frames, 8.0)
    rep = evaluate(EvalRequest(tmp_path / "g", None, ["flicker"], cache_dir=None))
    assert rep.outputs[0].result.value == pytest.approx(255.0)
    assert main(["eval", "list"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("flicker "))
    assert "0..255" in line and "/ 255" not in line


def test_non_finite_values_inside_arrays_get_the_note():
    import numpy as np

    from kinema.eval.run.report import _has_non_finite

    assert _has_non_finite({"a": np.array([1.0, np.inf])}) and not _has_non_finite({"a": np.array([1.0, 2.0])})
