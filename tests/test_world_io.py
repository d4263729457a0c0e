"""kinema world: streaming dataset (DataLoader workers) and export to the real-data layout."""

import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from kinema.data.real import read_manifest
from kinema.data.world import (GT_FIELDS, WorldDataset, clip_seed, export_world, generate_clip,
                               load_ground_truth, world_preset)
from kinema.video import read_video


def test_dataset_item_is_the_clip_and_batches_with_workers():
    cfg = world_preset("tiny")
    ds = WorldDataset(cfg, "val", length=4, fields=GT_FIELDS)
    clip = generate_clip(cfg, clip_seed("val", 2), split="val")
    item = ds[2]
    assert item["video"].shape == (3, 8, 32, 32) and item["video"].dtype == torch.float32
    assert item["video"].min() >= -1 and item["video"].max() <= 1
    back = ((item["video"].permute(1, 2, 3, 0) + 1) * 127.5).round().to(torch.uint8).numpy()
    assert np.array_equal(back, clip.frames)
    assert item["caption"] == clip.caption and item["motion"].item() == pytest.approx(clip.motion_amount)
    assert item["flow"].shape == (7, 2, 32, 32) and item["masks"].shape == (cfg.max_objects, 8, 32, 32)
    assert int(item["object_valid"].sum()) == len(clip.objects)
    loader = DataLoader(ds, batch_size=2, num_workers=2, shuffle=False)
    batches = list(loader)
    assert len(batches) == 2 and batches[1]["video"].shape == (2, 3, 8, 32, 32)
    assert torch.equal(batches[1]["video"][0], item["video"]) and batches[1]["caption"][0] == clip.caption


def test_export_png_is_lossless_and_manifest_reads_back(tmp_path):
    cfg = world_preset("tiny")
    manifest = export_world(cfg, 3, tmp_path / "w", split="test", seed=5, fmt="png")
    records = read_manifest(manifest)
    assert len(records) == 3 and all(r.split == "test" for r in records)
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert not rows[0]["path"].startswith("/")  # relative to the manifest's folder
    for i, (rec, row) in enumerate(zip(records, rows)):
        clip = generate_clip(cfg, clip_seed("test", i, 5), split="test")
        assert rec.seed == clip.seed and rec.caption == clip.caption
        assert (rec.frames, rec.width, rec.height, rec.fps) == (8, 32, 32, cfg.fps)
        frames, fps = read_video(rec.path)
        assert np.array_equal(frames, clip.frames) and fps == pytest.approx(cfg.fps)
        gt = load_ground_truth(manifest.parent / row["gt"])
        assert np.allclose(gt["centers"], clip.stacked("center"))
        assert np.abs(gt["flow"].astype(np.float32) - clip.flow).max() < 0.02  # float16 storage
        assert gt["masks"].shape == (len(clip.objects), 8, 32, 32)
        assert rec.motion_score == pytest.approx(clip.motion_amount)
        assert row["world"]["camera"] == clip.attributes["camera"]


def test_export_mp4_counts(tmp_path):
    manifest = export_world(world_preset("tiny"), 2, tmp_path, split="train", fmt="mp4")
    records = read_manifest(manifest)
    assert [r.path.suffix for r in records] == [".mp4", ".mp4"]
    frames, _ = read_video(records[0].path)
    assert frames.shape == (8, 32, 32, 3)
    assert (tmp_path / "world_config.json").is_file()


def test_motion_amount_agrees_with_farneback_score():
    """The exact motion amount and kinema.data.motion's Farneback estimate rank clips alike."""
    motion = pytest.importorskip("kinema.data.motion")
    if not hasattr(motion, "motion_score"):
        pytest.skip("kinema.data.motion.motion_score not available")
    cfg = world_preset("default", max_objects=2, backgrounds=("texture",), textures=("noise", "stripes"))
    exact, est = [], []
    for seed in range(6):
        clip = generate_clip(cfg, seed)
        exact.append(clip.motion_amount)
        est.append(motion.motion_score(clip.frames, clip.fps))
    rank = lambda v: np.argsort(np.argsort(v))
    assert np.corrcoef(rank(exact), rank(est))[0, 1] > 0.6
