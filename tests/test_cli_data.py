"""`kinema data world | scan | cache-latents | preview` end to end on tiny inputs."""

import json

import numpy as np
import pytest
from safetensors.torch import load_file

from kinema.cli import main


def test_world_export_scan_cache_preview(capsys, tmp_path, tiny_model):
    world = tmp_path / "world"
    assert main(["data", "world", "--n", "3", "--out", str(world), "--split", "val", "--seed", "5",
                 "--size", "32x32", "--frames", "6"]) == 0
    rows = [json.loads(line) for line in (world / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(r["split"] == "val" and r["frames"] == 6 and r["width"] == 32 for r in rows)
    assert all(r["caption"] for r in rows)

    manifest = tmp_path / "scanned.jsonl"
    assert main(["data", "scan", str(world / "manifest.jsonl"), "--out", str(manifest), "--min-frames", "4"]) == 0
    scanned = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(scanned) == 3 and all(r["motion_score"] is not None for r in scanned)

    cache = tmp_path / "cache"
    assert main(["data", "cache-latents", str(manifest), "--vae", str(tiny_model), "--out", str(cache),
                 "--size", "16x16", "--frames", "4"]) == 0
    shards = sorted(cache.glob("*.safetensors"))
    assert shards and load_file(shards[0])["latents"].shape[1:] == (3, 4, 16, 16)

    sheet = tmp_path / "sheet.png"
    assert main(["data", "preview", str(world / "manifest.jsonl"), "--out", str(sheet), "--n", "2"]) == 0
    assert sheet.stat().st_size > 0


def test_scan_reports_bad_files_and_exits_0(capsys, tmp_path):
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    (tmp_path / "clips" / "empty.mp4").write_bytes(b"")
    assert main(["data", "scan", str(tmp_path / "clips"), "--out", str(tmp_path / "m.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "skipped" in out.lower()


def test_world_bad_arguments_are_usage_errors(capsys, tmp_path):
    assert main(["data", "world", "--n", "1", "--out", str(tmp_path), "--size", "0x4"]) == 2
    with pytest.raises(SystemExit) as e:
        main(["data", "world", "--n", "1", "--out", str(tmp_path), "--split", "holdout"])
    assert e.value.code == 2


def test_bench_world_cli_writes_reports(capsys, tmp_path, tiny_model):
    out = tmp_path / "bench"
    assert main(["bench", "world", "--model", str(tiny_model), "--n", "2", "--seeds", "1", "--reference", "4",
                 "--steps", "2", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report and (out / "report.md").exists() and (out / "grid.png").exists()


def test_scan_flags_cover_every_scan_option(capsys, tmp_path):
    """Variable frame rate is kept by default; --skip-vfr, --codecs, --workers, --no-motion and
    --min-frames reach scan()."""
    from test_data_real import _vfr_mkv

    from kinema.video import write_video

    clips = tmp_path / "clips"
    clips.mkdir()
    _vfr_mkv(clips / "phone.mkv")
    write_video(clips / "steady.mp4", np.zeros((10, 16, 16, 3), np.uint8), 8.0)
    out = tmp_path / "m.jsonl"
    assert main(["data", "scan", str(clips), "--out", str(out), "--no-motion"]) == 0
    rows = {json.loads(line)["path"]: json.loads(line) for line in out.read_text().splitlines()}
    assert set(rows) == {"clips/phone.mkv", "clips/steady.mp4"} and rows["clips/phone.mkv"]["motion_score"] is None
    capsys.readouterr()
    assert main(["data", "scan", str(clips), "--out", str(out), "--skip-vfr", "--min-frames", "10",
                 "--workers", "0"]) == 0
    assert [json.loads(line)["path"] for line in out.read_text().splitlines()] == ["clips/steady.mp4"]
    assert "variable_frame_rate: " in capsys.readouterr().out
    assert main(["data", "scan", str(clips), "--out", str(out), "--min-frames", "11"]) == 0
    assert [json.loads(line)["path"] for line in out.read_text().splitlines()] == ["clips/phone.mkv"]
    assert main(["data", "scan", str(clips), "--out", str(out), "--codecs", "vp9, h264"]) == 0
    assert [json.loads(line)["path"] for line in out.read_text().splitlines()] == ["clips/steady.mp4"]
    assert "unsupported_codec" in capsys.readouterr().out
    assert main(["data", "scan", str(clips), "--out", str(out), "--min-frames", "0"]) == 2
    assert "min_frames=0" in capsys.readouterr().err
