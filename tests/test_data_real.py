"""Real-video pipeline on tiny synthetic files: scan, manifests, datasets, workers, cache, preview."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from kinema.data.buckets import Bucket, BucketBatchSampler
from kinema.data.latent_cache import LatentCacheDataset, cache_latents
from kinema.data.preview import LABEL_HEIGHT, contact_sheet
from kinema.data.real import (ImageFolderDataset, VideoClipDataset, VideoRecord, decode_frames, load_records,
                              read_manifest, write_manifest)
from kinema.data.scan import scan
from kinema.data.workers import worker_context
from kinema.errors import InputError
from kinema.vae.identity import IdentityAutoencoder
from kinema.video import write_video


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (h // 4 + 1, w // 4 + 1, 3)).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.BILINEAR))


def _panning(frames: int, h: int, w: int, speed: int) -> np.ndarray:
    """A texture panning left by ``speed`` pixels per frame: uint8 (T, H, W, 3)."""
    tex = _texture(h, w + speed * frames + 1)
    return np.stack([tex[:, i * speed:i * speed + w] for i in range(frames)])


def _ramp(frames: int, h: int = 16, w: int = 16) -> np.ndarray:
    """Frame i is uniformly grey at level 8 * i, so a decoded frame tells its index."""
    return np.stack([np.full((h, w, 3), 8 * i, np.uint8) for i in range(frames)])


def _vfr_mkv(path: Path) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4")
        s.width, s.height, s.pix_fmt = 16, 16, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for i in range(12):
            f = av.VideoFrame.from_ndarray(np.full((16, 16, 3), 10 * i, np.uint8), format="rgb24")
            f.pts, f.time_base = pts, Fraction(1, 1000)
            pts += 40 if i % 2 else 160
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _b_frame_avi(path: Path, offset: int, frames: int = 16) -> Path:
    """MPEG-4 Part 2 in AVI with B-frames, its first frame at pts ``offset`` (an encoder delay,
    as Xvid/DivX files have); frame i is grey level 16 * i."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=8)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        s.codec_context.max_b_frames = 2
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 16 * i, np.uint8), format="rgb24")
            f.pts = offset + i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _fps_filter_levels(path: Path, fps: float) -> list[float]:
    """Mean grey level of each frame ffmpeg's fps filter (round=near) outputs: the reference
    for resampling a variable-frame-rate file to a constant rate."""
    out = []
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        graph = av.filter.Graph()
        src, fps_filter, sink = (graph.add_buffer(template=stream),
                                 graph.add("fps", f"fps={Fraction(fps).limit_denominator(10000)}:round=near"),
                                 graph.add("buffersink"))
        src.link_to(fps_filter)
        fps_filter.link_to(sink)
        graph.configure()
        for frame in [*c.decode(stream), None]:
            graph.push(frame)
            while True:
                try:
                    out.append(float(graph.pull().to_ndarray(format="rgb24").mean()))
                except (av.BlockingIOError, av.EOFError):
                    break
    return out


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    """A folder with good and bad files (see the expected scan reasons in test_scan)."""
    d = tmp_path_factory.mktemp("media")
    write_video(d / "moving.mp4", _panning(16, 32, 48, speed=2), 8.0)
    (d / "moving.txt").write_text("a texture pans left\n")
    write_video(d / "still.webm", np.repeat(_texture(32, 32)[None], 16, 0), 8.0)
    (d / "still.json").write_text(json.dumps({"caption": "nothing moves"}))
    write_video(d / "ramp.mp4", _ramp(24), 24.0)
    write_video(d / "short.mp4", _panning(3, 16, 16, 1), 8.0)
    (d / "empty.mp4").write_bytes(b"")
    (d / "garbage.mp4").write_bytes(np.random.default_rng(0).integers(0, 255, 3000, dtype=np.uint8).tobytes())
    whole = write_video(d / "cut.webm", _panning(16, 32, 32, speed=3), 8.0).read_bytes()
    (d / "cut.webm").write_bytes(whole[: len(whole) * 3 // 5])
    _vfr_mkv(d / "vfr.mkv")
    Image.fromarray(_texture(24, 40)).save(d / "photo.png")
    write_video(d / "loop.gif", _panning(10, 16, 16, speed=1), 10.0)
    (d / "notes.md").write_text("not media: ignored")
    return d


EXPECTED_SKIPS = {"too_short": ["short.mp4"], "zero_length": ["empty.mp4"], "unreadable": ["garbage.mp4"],
                  "truncated": ["cut.webm"]}  # vfr.mkv is kept by default (resampled)


@pytest.fixture(scope="module")
def scanned(media, tmp_path_factory):
    out = tmp_path_factory.mktemp("scan") / "manifest.jsonl"
    return scan(media, out, min_frames=8), out


def test_scan_keeps_good_files_and_names_each_skip(scanned):
    summary, out = scanned
    got = {reason: sorted(Path(p).name for p in paths) for reason, paths in summary.skipped.items()}
    assert got == EXPECTED_SKIPS
    kept = {r.path.name: r for r in summary.kept}
    assert sorted(kept) == ["loop.gif", "moving.mp4", "photo.png", "ramp.mp4", "still.webm", "vfr.mkv"]
    assert kept["moving.mp4"].caption == "a texture pans left"
    assert kept["still.webm"].caption == "nothing moves"
    assert (kept["moving.mp4"].frames, kept["moving.mp4"].fps, kept["moving.mp4"].width) == (16, 8.0, 48)
    assert kept["photo.png"].frames == 1 and (kept["photo.png"].width, kept["photo.png"].height) == (40, 24)
    assert kept["moving.mp4"].motion_score > 20 * kept["still.webm"].motion_score
    assert "garbage.mp4" in summary.report() and summary.num_skipped == 4
    # the written manifest reads back to the kept records, paths relative to the manifest
    assert read_manifest(out) == summary.kept
    first = json.loads(out.read_text().splitlines()[0])
    assert not Path(first["path"]).is_absolute()
    assert set(first) >= {"path", "caption", "fps", "frames", "width", "height", "motion_score", "split", "seed"}


def test_scan_with_workers_matches_serial(media, scanned, tmp_path):
    summary = scan(media, tmp_path / "m.csv", min_frames=8, workers=2)
    assert summary.kept == scanned[0].kept and summary.skipped == scanned[0].skipped
    assert read_manifest(tmp_path / "m.csv") == summary.kept


def test_scan_keeps_vfr_by_default_and_skips_it_on_request(media, scanned):
    vfr = [r for r in scanned[0].kept if r.path.name == "vfr.mkv"]
    # mean rate (12 frames over ~1.3 s), not the container's nominal guess of 24 fps
    assert len(vfr) == 1 and vfr[0].fps == pytest.approx(10.0, rel=0.1) and vfr[0].frames == 12
    strict = scan(media, None, min_frames=8, allow_vfr=False, compute_motion=False)
    assert [Path(p).name for p in strict.skipped["variable_frame_rate"]] == ["vfr.mkv"]
    assert "--skip-vfr" in strict.details[str(media / "vfr.mkv")]


def test_vfr_file_is_resampled_like_ffmpegs_fps_filter(media, scanned):
    """Intervals alternate 160 / 40 ms: each grid tick shows the frame on screen at that instant."""
    (rec,) = [r for r in scanned[0].kept if r.path.name == "vfr.mkv"]
    want = _fps_filter_levels(media / "vfr.mkv", rec.fps)
    got = decode_frames(rec.path, list(range(len(want))), rec.fps).mean(axis=(1, 2, 3))
    assert len(want) >= 10 and np.allclose(got, want, atol=0.5)
    assert len(set(np.round(want))) < len(want)  # some frames held across a gap, some dropped
    # a training clip at 5 fps: its frames are the ones on screen every 0.2 s
    clip = VideoClipDataset([rec], frames=5, size=(16, 16), fps=5.0, temporal="start")[0]
    every_fifth = _fps_filter_levels(media / "vfr.mkv", 5.0)[:5]
    assert float(clip["fps"]) == pytest.approx(5.0)
    assert np.allclose((clip["video"].mean(dim=(0, 2, 3)) + 1) * 127.5, every_fifth, atol=1.0)


@pytest.mark.parametrize("offset", [0, 5])
def test_avi_whose_first_frame_is_not_at_pts_0_scans_and_decodes_in_order(tmp_path, offset):
    """Xvid-style AVIs: B-frames delay the first frame (pts >= 1) while the stream starts at 0."""
    path = _b_frame_avi(tmp_path / f"xvid{offset}.avi", offset)
    with av.open(str(path)) as c:
        first_pts = next(c.decode(video=0)).pts
        assert c.streams.video[0].start_time == 0 and first_pts >= 1  # the case this test is about
    summary = scan(tmp_path, None, min_frames=8)
    assert summary.skipped == {} and [(r.frames, r.fps) for r in summary.kept] == [(16, 8.0)]
    levels = decode_frames(path, [0, 1, 2, 9, 10, 15], 8.0).mean(axis=(1, 2, 3)) / 16
    assert np.allclose(levels, [0, 1, 2, 9, 10, 15], atol=0.3)  # presentation order, seek path included


def test_decode_error_names_the_real_cause(media, tmp_path):
    with pytest.raises(InputError, match=r"frame 30 .*past the end of the video, which ends at frame 23"):
        decode_frames(media / "ramp.mp4", [0, 30], 24.0)
    with pytest.raises(InputError, match="empty"):
        decode_frames(media / "empty.mp4", [0])


def test_scan_of_a_manifest_uses_windows_and_codec_filter(media, tmp_path):
    (tmp_path / "m.csv").write_text(f"path,caption,start,end\n{media / 'moving.mp4'},pan,0.5,1.5\n"
                                    f"{media / 'still.webm'},still,,\nnowhere.mp4,gone,,\n")
    summary = scan(tmp_path / "m.csv", tmp_path / "out.jsonl", min_frames=8)
    assert summary.skipped == {"missing": [str(tmp_path / "nowhere.mp4")]}
    moving = summary.kept[0]
    assert (moving.start, moving.end, moving.window()) == (0.5, 1.5, (4, 12))
    assert read_manifest(tmp_path / "out.jsonl")[0].start == 0.5
    assert scan(tmp_path / "m.csv", min_frames=9).skipped["too_short"] == [str(media / "moving.mp4")]
    vp9_only = scan(tmp_path / "m.csv", min_frames=8, codecs=("vp9",), compute_motion=False)
    assert vp9_only.skipped["unsupported_codec"] == [str(media / "moving.mp4")]
    assert [r.caption for r in vp9_only.kept] == ["still"]


def test_manifest_round_trip_jsonl_and_csv(tmp_path):
    recs = [VideoRecord(tmp_path / "a" / "x.mp4", "a cat, \"quoted\"", 24.0, 1.5, 4.0, 120, 64, 48, 0.01,
                        "val", None, {"source": "webvid", "tags": ["a", "b"]}),
            VideoRecord(tmp_path / "y.png", "", None, None, None, 1, 8, 8, None, "train", 3, {})]
    for name in ("m.jsonl", "m.csv"):
        write_manifest(recs, tmp_path / name)
        back = read_manifest(tmp_path / name)
        assert [r.path for r in back] == [r.path.resolve() for r in recs]
        for a, b in zip(back, recs):
            assert (a.caption, a.fps, a.start, a.end, a.frames, a.motion_score, a.split, a.seed) == \
                   (b.caption, b.fps, b.start, b.end, b.frames, b.motion_score, b.split, b.seed)
    assert read_manifest(tmp_path / "m.jsonl")[0].extra == {"source": "webvid", "tags": ["a", "b"]}


def test_manifest_reads_webvid_csv_and_world_jsonl(tmp_path):
    (tmp_path / "webvid.csv").write_text("videoid,page_dir,name,duration\n"
                                         "1066,000001_000050,Aerial view of a lake,PT00H00M12S\n")
    (r,) = read_manifest(tmp_path / "webvid.csv")
    assert r.path == tmp_path / "000001_000050" / "1066.mp4" and r.caption == "Aerial view of a lake"
    assert r.extra == {"duration": "PT00H00M12S"}
    world = {"path": "clips/000.mp4", "caption": "a red ball", "fps": 8.0, "frames": 24, "width": 64,
             "height": 64, "motion_score": 0.02, "split": "train", "seed": 17, "camera": "pan_left"}
    (tmp_path / "manifest.jsonl").write_text(json.dumps(world) + "\n")
    (w,) = read_manifest(tmp_path / "manifest.jsonl")
    assert (w.path, w.seed, w.frames, w.extra) == (tmp_path / "clips/000.mp4", 17, 24, {"camera": "pan_left"})
    with pytest.raises(InputError, match="path"):
        (tmp_path / "bad.csv").write_text("caption\nhello\n")
        read_manifest(tmp_path / "bad.csv")


def _grey_index(video: torch.Tensor) -> list[float]:
    """(3, T, H, W) in [-1, 1] of a ramp video -> frame index per clip frame."""
    return ((video.mean(dim=(0, 2, 3)) + 1) * 127.5 / 8).tolist()


def test_clip_at_target_fps_decodes_the_right_frames(scanned):
    ramp = [r for r in scanned[0].kept if r.path.name == "ramp.mp4"][0]  # 24 frames at 24 fps
    ds = VideoClipDataset([ramp], frames=4, size=(8, 8), fps=10.0, temporal="start")
    item = ds[0]
    assert np.allclose(_grey_index(item["video"]), [0, 2, 5, 7], atol=0.3)  # step 2.4
    assert float(item["fps"]) == pytest.approx(10.0)
    windowed = VideoClipDataset([ramp.replace(start=0.5, end=1.0)], frames=3, size=(8, 8), stride=4,
                                temporal="start")
    assert np.allclose(_grey_index(windowed[0]["video"]), [12, 16, 20], atol=0.3)
    assert float(windowed[0]["fps"]) == pytest.approx(6.0)


def test_items_have_shapes_ranges_and_are_deterministic(scanned):
    videos = [r for r in scanned[0].kept if not r.is_image]
    ds = VideoClipDataset(videos, frames=6, size=(24, 16), crop="random", seed=3)
    a, b = ds[0], ds[0]
    assert a["video"].shape == (3, 6, 16, 24) and a["video"].dtype == torch.float32
    assert -1.0 <= a["video"].min() and a["video"].max() <= 1.0
    assert torch.equal(a["video"], b["video"]) and a["cond_mask"].tolist() == [1, 0, 0, 0, 0, 0]
    assert isinstance(a["caption"], str) and a["retries"] == 0
    other = VideoClipDataset(videos, frames=6, size=(24, 16), crop="random", seed=4)
    assert any(not torch.equal(ds[i]["video"], other[i]["video"]) for i in range(len(ds)))


def test_bad_file_at_read_time_does_not_stop_two_worker_loader(media, scanned):
    good = [r for r in scanned[0].kept if not r.is_image]
    bad = VideoRecord(media / "garbage.mp4", "broken", fps=8.0, frames=16, width=48, height=32)
    ds = VideoClipDataset(good + [bad], frames=4, size=(16, 16))
    # kinema's loaders start workers by forkserver (kinema.data.workers); a bare fork once crashed here
    loader = DataLoader(ds, batch_size=2, num_workers=2, multiprocessing_context=worker_context(2), timeout=120)
    items = [p for batch in loader for p in batch["path"]]
    retries = [int(r) for batch in loader for r in batch["retries"]]
    assert len(items) == len(ds) and all(not p.endswith("garbage.mp4") for p in items)
    assert retries[-1] == 1 and sum(retries) == 1
    with pytest.raises(InputError, match="in a row"):
        VideoClipDataset([bad, bad], frames=4, size=(16, 16))[0]


def test_forked_workers_decode_after_the_parent_used_pyavs_threaded_converter(scanned):
    """PyAV's shared swscale context runs slice threads; a forked child that inherited it used to
    hang freeing them (avpriv_slicethread_free). kinema converts with its own per-process,
    single-threaded context, so the parent's state does not matter."""
    other = av.VideoFrame.from_ndarray(np.zeros((24, 40, 3), np.uint8), format="rgb24").reformat(format="yuv420p")
    other.to_ndarray(format="rgb24")  # parent: PyAV's own per-thread context, automatic threads
    videos = [r for r in scanned[0].kept if not r.is_image]
    ds = VideoClipDataset(videos, frames=4, size=(16, 16))
    loader = DataLoader(ds, batch_size=2, num_workers=2, multiprocessing_context="fork", timeout=60)
    assert sum(len(b["path"]) for b in loader) == len(ds)


def test_image_folder_gives_one_frame_videos(media):
    ds = ImageFolderDataset(media, size=(20, 12))
    (item,) = [ds[i] for i in range(len(ds))]
    assert item["video"].shape == (3, 1, 12, 20) and float(item["motion"]) == 0.0
    assert torch.isnan(item["fps"]) and item["cond_mask"].tolist() == [1.0]


def test_multi_frame_dataset_leaves_out_stills(scanned):
    ds = VideoClipDataset(scanned[0].kept, frames=4, size=(8, 8))
    assert len(ds) == len(scanned[0].kept) - 1 and not any(r.is_image for r in ds.records)


def test_bucketed_loader_yields_bucket_shapes(scanned):
    buckets = [Bucket(16, 16, 8, 2), Bucket(24, 16, 8, 1), Bucket(16, 16, 1, 1)]
    ds = VideoClipDataset(scanned[0].kept, buckets=buckets)
    sampler = BucketBatchSampler.from_dataset(ds, seed=0, drop_last=False)
    for batch in DataLoader(ds, batch_sampler=sampler):
        T, W, H = ds.shape_of(batch["index"][0].item())
        assert batch["video"].shape[1:] == (3, T, H, W)
    names = {r.path.name: ds.buckets[b] for r, b in zip(ds.records, ds.bucket_ids)}
    assert names["moving.mp4"] == buckets[1] and names["photo.png"] == buckets[2]


def test_latent_cache_round_trip_equals_direct_encoding(media, scanned, tmp_path):
    records = [r for r in scanned[0].kept if not r.is_image]
    bad = VideoRecord(media / "garbage.mp4", "", fps=8.0, frames=16, width=48, height=32)
    index = cache_latents(records + [bad], IdentityAutoencoder(), tmp_path / "cache", frames=4, size=(16, 16),
                          shard_size=2, batch_size=2)
    assert index["num_items"] == len(records) and len(index["shards"]) == (len(records) + 1) // 2
    assert list(index["skipped"]) == [str(bad.path)]
    cached = LatentCacheDataset(tmp_path / "cache")
    direct = VideoClipDataset(records, frames=4, size=(16, 16), crop="center", temporal="start")
    vae = IdentityAutoencoder()
    for i in range(len(records)):
        want = vae.encode(direct[i]["video"][None])[0]
        got = cached[i]
        assert torch.equal(got["latents"], want)
        assert got["caption"] == records[i].caption and got["path"] == str(records[i].path)
        assert float(got["motion"]) == pytest.approx(records[i].motion_score)
        assert got["cond_mask"].tolist() == [1, 0, 0, 0]


def test_contact_sheet_has_one_row_per_clip(media, tmp_path):
    out = contact_sheet(media, tmp_path / "sheet.png", n=3, frames_per_clip=4, thumb=16)
    w, h = Image.open(out).size
    assert (w, h) == (4 * 18 + 2, 3 * (LABEL_HEIGHT + 18) + 2)
    assert len(load_records(media)) > 3


def test_build_real_dataset_and_cache_cli(media, scanned, tmp_path):
    from kinema.data.real import build_real_dataset, cache_latents_cli
    from kinema.vae import save_autoencoder

    _, manifest = scanned
    ds = build_real_dataset("manifest", manifest, size=(16, 16), frames=4, fps=8.0, seed=0)
    assert len(ds) == 5 and ds[0]["video"].shape == (3, 4, 16, 16)  # the still is left out
    assert len(build_real_dataset("images", media, size=(16, 16), frames=1)) == 1
    with pytest.raises(InputError, match="split"):
        build_real_dataset("manifest", manifest, size=(16, 16), frames=4, split="val")
    save_autoencoder(IdentityAutoencoder(), tmp_path / "vae.safetensors")
    index = cache_latents_cli(manifest, tmp_path / "vae.safetensors", tmp_path / "cache", size=(8, 8), frames=2)
    assert index["num_items"] == 5 and index["latent_shape"] == [3, 2, 8, 8]


def test_training_batches_are_the_same_with_forkserver_workers(scanned):
    """The trainer's loader (kinema.train.data.batch_iterator) starts workers by forkserver: the dataset
    must pickle, and a step's batch must not depend on which process decoded it."""
    from kinema.train.data import batch_iterator

    ds = VideoClipDataset([r for r in scanned[0].kept if not r.is_image], frames=4, size=(16, 16))
    serial, workers = (batch_iterator(ds, 2, seed=0, start_step=0, num_workers=n) for n in (0, 1))
    for _ in range(3):
        a, b = next(serial), next(workers)
        assert a["caption"] == b["caption"] and torch.equal(a["video"], b["video"])
