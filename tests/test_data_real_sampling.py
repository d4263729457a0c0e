"""Pure-array parts of the real-data pipeline: clip indices, crop policies, buckets, motion score."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from kinema.data.buckets import BUCKET_PRESETS, Bucket, BucketBatchSampler, assign_bucket, make_buckets
from kinema.data.motion import motion_score
from kinema.data.real import VideoRecord, clip_indices, fit_frames, frame_step, frames_available
from kinema.data.real.geometry import crop_box
from kinema.data.real.sampling import ClipTooShort
from kinema.errors import ConfigError


def test_clip_indices_at_target_fps_and_stride():
    assert clip_indices((0, 100), 4, frame_step(30.0, fps=10.0), "start") == [0, 3, 6, 9]
    assert clip_indices((0, 100), 4, frame_step(24.0, fps=10.0), "start") == [0, 2, 5, 7]
    assert clip_indices((10, 20), 3, frame_step(30.0, stride=4), "start") == [10, 14, 18]
    assert clip_indices((10, 22), 3, frame_step(30.0, stride=4), "center") == [11, 15, 19]  # slack 3
    assert frame_step(8.0, fps=30.0) == 1.0  # never repeat frames to reach a higher rate
    with pytest.raises(ClipTooShort):
        clip_indices((0, 8), 4, 3.0)
    with pytest.raises(ConfigError):
        frame_step(30.0, fps=10.0, stride=2)


def test_random_clip_start_covers_the_window_and_is_seeded():
    starts = {clip_indices((0, 20), 4, 2.0, "random", torch.Generator().manual_seed(s))[0] for s in range(200)}
    assert starts == set(range(0, 14))  # last clip frame 13 + 6 = 19 is the window's last frame
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert clip_indices((0, 50), 5, 2.5, "random", g1) == clip_indices((0, 50), 5, 2.5, "random", g2)


@pytest.mark.parametrize("window,step", [((0, 7), 1.0), ((3, 40), 2.4), ((0, 100), 3.7), ((5, 6), 1.5)])
def test_frames_available_is_the_longest_clip_that_fits(window, step):
    n = frames_available(window[1] - window[0], step)
    idx = clip_indices(window, n, step, "start")
    assert idx[-1] < window[1]
    with pytest.raises(ClipTooShort):
        clip_indices(window, n + 1, step, "start")


def test_resize_crop_keeps_the_centre_and_pad_letterboxes():
    frame = np.zeros((1, 40, 80, 3), np.uint8)
    frame[:, :, 20:60] = 255  # a white 40x40 square in the middle of a 80x40 frame
    assert crop_box((80, 40), (32, 32)) == (20, 0, 40, 40)
    out = fit_frames(frame, (16, 16), "resize_crop", "center")
    assert out.shape == (1, 16, 16, 3) and out.min() == 255
    padded = fit_frames(frame, (16, 16), "pad")
    assert padded[0, :4].max() == 0 and padded[0, 12:].max() == 0  # black bars above and below
    assert padded[0, 4:12, 4:12].min() == 255
    assert fit_frames(frame, (10, 30), "stretch").shape == (1, 30, 10, 3)
    g = torch.Generator().manual_seed(0)
    boxes = {crop_box((80, 40), (32, 32), "random", g)[0] for _ in range(100)}
    assert min(boxes) >= 0 and max(boxes) <= 40 and len(boxes) > 10


def _record(w: int, h: int, frames: int, fps: float = 8.0) -> VideoRecord:
    return VideoRecord(Path(f"/x/{w}x{h}_{frames}.png" if frames == 1 else f"/x/{w}x{h}_{frames}.mp4"),
                       fps=None if frames == 1 else fps, frames=frames, width=w, height=h)


def test_assign_bucket_by_aspect_then_length():
    buckets = make_buckets(32 * 32, (1.0, 16 / 9, 9 / 16), (1, 4, 8), budget=32 * 32 * 8 * 2, multiple=8)
    pick = lambda r: buckets[assign_bucket(r, buckets)]  # noqa: E731
    assert pick(_record(1920, 1080, 100)).width > pick(_record(1920, 1080, 100)).height
    assert pick(_record(1080, 1920, 100)).width < pick(_record(1080, 1920, 100)).height
    assert pick(_record(500, 500, 100)).frames == 8
    assert pick(_record(500, 500, 6)).frames == 4  # too short for 8 frames
    assert pick(_record(500, 500, 1)).frames == 1  # a still goes to the image bucket
    assert assign_bucket(_record(500, 500, 6), buckets, stride=2) is not None
    assert assign_bucket(_record(500, 500, 6), [Bucket(32, 32, 8, 1)]) is None
    b = pick(_record(640, 360, 100))
    assert b.batch_size == max(1, 32 * 32 * 8 * 2 // (b.width * b.height * b.frames))
    with pytest.raises(ConfigError, match="scan"):
        assign_bucket(VideoRecord(Path("/x/a.mp4")), buckets)


def test_bucket_batches_are_single_bucket_with_the_bucket_batch_size():
    sizes = [3, 2, 5]
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 3, 60).tolist() + [None, None]
    sampler = BucketBatchSampler(ids, sizes, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) > 0
    for batch in batches:
        (b,) = {ids[i] for i in batch}
        assert len(batch) == sizes[b]
    seen = [i for batch in batches for i in batch]
    assert len(seen) == len(set(seen))
    assert sum(len(b) for b in batches) == sum(sizes[b] * (ids.count(b) // sizes[b]) for b in range(3))
    assert batches == list(BucketBatchSampler(ids, sizes, seed=1))
    sampler.set_epoch(1)
    assert list(sampler) != batches
    all_kept = [i for b in BucketBatchSampler(ids, sizes, drop_last=False) for i in b]
    assert sorted(all_kept) == [i for i, b in enumerate(ids) if b is not None]
    r0 = [i for b in BucketBatchSampler(ids, sizes, seed=1, rank=0, world_size=2) for i in b]
    r1 = [i for b in BucketBatchSampler(ids, sizes, seed=1, rank=1, world_size=2) for i in b]
    assert not set(r0) & set(r1)
    lengths = {len(BucketBatchSampler(ids, sizes, rank=r, world_size=2)) for r in (0, 1)}
    assert len(lengths) == 1  # every rank runs the same number of steps


def test_bucket_presets_are_valid():
    for name, buckets in BUCKET_PRESETS.items():
        assert buckets and all(b.batch_size >= 1 for b in buckets), name
    with pytest.raises(ConfigError):
        Bucket(0, 16, 8, 1)


def _texture(h: int, w: int) -> np.ndarray:
    small = np.random.default_rng(1).integers(0, 255, (h // 4, w // 4, 3)).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.BILINEAR))


def _panning(speed: float, frames: int = 12, size: int = 64) -> np.ndarray:
    tex = _texture(size, size + int(math.ceil(speed * frames)) + 1)
    return np.stack([tex[:, int(round(i * speed)):int(round(i * speed)) + size] for i in range(frames)])


def test_motion_score_is_zero_when_still_and_grows_with_speed():
    still, slow, fast = (motion_score(_panning(s), fps=8.0) for s in (0.0, 1.0, 2.0))
    assert still < 1e-4 < slow < fast
    assert fast / slow == pytest.approx(2.0, rel=0.15)
    # units: fraction of the diagonal per 1/8 s -> 1 px/frame at 8 fps on a 64x64 frame
    # shown at the 128 px analysis size is 2 px of a 181 px diagonal
    assert slow == pytest.approx(2 / math.hypot(128, 128), rel=0.15)


def test_motion_score_ignores_frame_rate_and_resolution():
    base = motion_score(_panning(2.0), fps=8.0)
    assert motion_score(_panning(1.0, frames=24), fps=16.0) == pytest.approx(base, rel=0.1)  # same px/s
    small = np.stack([np.asarray(Image.fromarray(f).resize((32, 32), Image.BOX)) for f in _panning(2.0)])
    assert motion_score(small, fps=8.0) == pytest.approx(base, rel=0.15)  # half size, half the pixels moved
