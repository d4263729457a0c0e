"""Round trips, provenance and atomicity of kinema.video (tiny clips, seconds on CPU)."""

from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from kinema.errors import ConfigError, InputError
from kinema.video import probe_video, read_metadata, read_video, sidecar_path, write_video


def smooth_clip(t=6, h=48, w=64):
    """A smooth moving colour pattern (what lossy codecs reproduce well)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    frames = [np.stack([128 + 90 * np.sin(x / 9 + 0.3 * i + c) * np.cos(y / 11 - c) for c in range(3)], -1)
              for i in range(t)]
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


def palette_clip(t=5, h=20, w=30):
    """Few distinct colours, every frame different: GIF keeps it exactly."""
    colours = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [255, 255, 0]], np.uint8)
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([colours[((x // 5) + (y // 4) + i) % len(colours)] for i in range(t)])


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_lossy_round_trip(tmp_path, suffix):
    frames = smooth_clip()
    out = write_video(tmp_path / f"clip{suffix}", frames, fps=24.0)
    back, fps = read_video(out)
    assert back.shape == frames.shape and back.dtype == np.uint8
    assert fps == pytest.approx(24.0)
    assert psnr(back, frames) > 30.0
    info = probe_video(out)
    assert (info.frames, info.width, info.height, info.vfr) == (6, 64, 48, False)
    assert info.duration == pytest.approx(6 / 24.0, abs=1e-3)
    assert info.codec in ({"h264", "mpeg4"} if suffix == ".mp4" else {"vp9", "vp8"})


def test_odd_size_is_padded_by_edge_replication(tmp_path):
    frames = smooth_clip(t=3, h=33, w=45)
    back, _ = read_video(write_video(tmp_path / "odd.mp4", frames, fps=10))
    assert back.shape == (3, 34, 46, 3)
    assert psnr(back[:, :33, :45], frames) > 30.0
    # the padded row repeats the last row (up to codec error)
    assert np.abs(back[:, 33].astype(int) - back[:, 32].astype(int)).mean() < 6


def test_png_sequence_is_lossless(tmp_path):
    frames = smooth_clip(t=4, h=17, w=23)
    out = write_video(tmp_path / "frames", frames, fps=8.0)
    assert sorted(p.name for p in out.iterdir()) == [f"frame_{i:04d}.png" for i in range(4)]
    back, fps = read_video(out)
    np.testing.assert_array_equal(back, frames)
    assert fps == pytest.approx(8.0)
    assert probe_video(out).frames == 4


def test_single_png_needs_one_frame(tmp_path):
    frames = smooth_clip(t=1, h=9, w=7)
    back, _ = read_video(write_video(tmp_path / "still.png", frames, fps=1.0))
    np.testing.assert_array_equal(back, frames)
    with pytest.raises(ConfigError, match="PNG"):
        write_video(tmp_path / "two.png", smooth_clip(t=2), fps=1.0)


def test_gif_round_trip(tmp_path):
    frames = palette_clip()
    out = write_video(tmp_path / "clip.gif", frames, fps=10.0)
    back, fps = read_video(out)
    assert back.shape == frames.shape
    np.testing.assert_array_equal(back, frames)
    assert fps == pytest.approx(10.0)
    # 12 fps is not representable in 1/100 s delays: it becomes 100 / 8 = 12.5
    _, fps12 = read_video(write_video(tmp_path / "c12.gif", frames, fps=12.0))
    assert fps12 == pytest.approx(12.5)


def test_max_frames(tmp_path):
    frames = smooth_clip(t=6)
    for name in ("a.mp4", "a.gif", "seq"):
        back, _ = read_video(write_video(tmp_path / name, frames, fps=10), max_frames=2)
        assert back.shape[0] == 2


@pytest.mark.parametrize("name", ["c.mp4", "c.webm", "c.gif", "seq", "still.png"])
def test_metadata_round_trip(tmp_path, name):
    meta = {"model": "kinema-tiny", "seed": 1234, "prompt": "un chat 🐈 " * 40, "cfg": [1.5, 3.0]}
    frames = palette_clip(t=1 if name.endswith(".png") else 3)
    out = write_video(tmp_path / name, frames, fps=10, metadata=meta)
    side = sidecar_path(out)
    assert side.name == out.name + ".json"
    assert read_metadata(out, source="sidecar") == meta
    side.unlink()  # the container alone must carry it
    assert read_metadata(out) == meta
    assert read_metadata(out, source="sidecar") == {}


def test_no_metadata_reads_empty(tmp_path):
    out = write_video(tmp_path / "c.mp4", smooth_clip(t=2), fps=10)
    assert read_metadata(out) == {}
    assert not sidecar_path(out).exists()


def _fail_on_third_call(monkeypatch, owner, attr):
    real = getattr(owner, attr)
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("injected failure mid-write")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, attr, flaky)


@pytest.mark.parametrize("name,owner,attr", [
    ("c.mp4", av.VideoFrame, "from_ndarray"),
    ("c.webm", av.VideoFrame, "from_ndarray"),
    ("c.gif", Image, "fromarray"),
    ("seq", Image, "fromarray"),
])
def test_failed_write_leaves_nothing(tmp_path, monkeypatch, name, owner, attr):
    _fail_on_third_call(monkeypatch, owner, attr)
    with pytest.raises(RuntimeError, match="injected"):
        write_video(tmp_path / name, smooth_clip(t=5), fps=10, metadata={"seed": 1})
    assert list(tmp_path.iterdir()) == []  # no output, no temp file, no sidecar


def test_failed_overwrite_keeps_old_output(tmp_path, monkeypatch):
    old = write_video(tmp_path / "seq", palette_clip(t=2), fps=5)
    _fail_on_third_call(monkeypatch, Image, "fromarray")
    with pytest.raises(RuntimeError):
        write_video(old, palette_clip(t=5), fps=5)
    assert [p.name for p in tmp_path.iterdir()] == ["seq"]
    assert read_video(old)[0].shape[0] == 2


def test_unreadable_videos_raise_input_error(tmp_path):
    good = write_video(tmp_path / "good.mp4", smooth_clip(t=8), fps=10)
    data = good.read_bytes()
    (tmp_path / "half.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("not a video at all\n")
    (tmp_path / "emptydir").mkdir()
    for name in ("half.mp4", "empty.mp4", "text.mp4", "missing.webm", "emptydir"):
        for fn in (read_video, probe_video):
            with pytest.raises(InputError) as err:
                fn(tmp_path / name)
            msg = str(err.value)
            assert name in msg and "\n" not in msg


def test_probe_detects_variable_frame_rate(tmp_path):
    path = tmp_path / "vfr.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        for i, t_ms in enumerate([0, 40, 80, 200, 240, 400]):
            f = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 30 * i, np.uint8), format="rgb24")
            f.pts, f.time_base = t_ms, Fraction(1, 1000)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    info = probe_video(path)
    assert info.vfr and info.frames == 6
    assert info.duration == pytest.approx(0.44, abs=1e-3)


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="format"):
        write_video(tmp_path / "a.avi", smooth_clip(t=1), fps=1)
    with pytest.raises(ConfigError, match="uint8"):
        write_video(tmp_path / "a.mp4", smooth_clip(t=1).astype(np.float32), fps=1)
    with pytest.raises(ConfigError, match="fps"):
        write_video(tmp_path / "a.mp4", smooth_clip(t=1), fps=0)
    out = write_video(tmp_path / "a.bin", smooth_clip(t=2), fps=5, fmt="mp4")
    assert read_video(out)[0].shape[0] == 2


_ENCODE_IN_A_FRESH_PROCESS = """
import sys, numpy as np, torch  # torch loaded, as in `kinema animate`
from kinema.video import write_video
rng = np.random.default_rng(0)
base = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
frames = np.stack([np.roll(base, (i, 2 * i), (0, 1)) for i in range(16)])  # a textured pan, 64x64
write_video(sys.argv[1], frames, 8.0)
"""


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_same_frames_same_bytes_across_processes(tmp_path, suffix):
    """Each process has its own heap and FP state: x264's mbtree once gave 2-3 different files in
    6 processes for the same frames (a test inside one process never saw it)."""
    import subprocess
    import sys

    outs = [tmp_path / f"v{i}{suffix}" for i in range(4)]
    for out in outs:
        subprocess.run([sys.executable, "-c", _ENCODE_IN_A_FRESH_PROCESS, str(out)], check=True, timeout=120)
    assert len({out.read_bytes() for out in outs}) == 1
