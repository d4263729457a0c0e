"""Write procedural clips to disk in the layout kinema reads for real footage.

``export_world(config, n, out_dir, split, seed)`` writes::

    out_dir/manifest.jsonl          one row per clip (kinema.data.real.manifest schema) plus
                                    "gt" (sidecar path), "index" and "world" (attributes)
    out_dir/videos/<split>_<i>.mp4  the frames (fmt="png": a folder of lossless PNG frames)
    out_dir/gt/<split>_<i>.npz      exact ground truth (see README.md, "On disk")
    out_dir/world_config.json       the WorldConfig used

Any tool that reads a JSON-lines manifest and video files can use the export;
``load_ground_truth`` reads a sidecar back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from kinema.config import check_range, to_dict
from kinema.data.real.manifest import write_manifest
from kinema.data.real.records import VideoRecord
from kinema.data.world.clip import Clip, generate_clip
from kinema.data.world.config import WorldConfig
from kinema.data.world.splits import clip_seed
from kinema.video import FORMATS, write_video
from kinema.errors import ConfigError


def ground_truth_arrays(clip: Clip) -> dict[str, np.ndarray]:
    """The sidecar arrays of a clip (flow stored as float16, masks as bool)."""
    return {
        "centers": clip.stacked("center").astype(np.float32),  # (N, T, 2) image (x, y)
        "boxes": clip.stacked("box").astype(np.float32),  # (N, T, 4) image (x0, y0, x1, y1)
        "visible": clip.stacked("visible").astype(bool),  # (N, T)
        "visible_fraction": clip.stacked("visible_fraction").astype(np.float32),  # (N, T)
        "centers_world": clip.stacked("center_world").astype(np.float32),  # (N, T, 2)
        "angles": clip.stacked("angle").astype(np.float32),  # (N, T)
        "scales": clip.stacked("scale").astype(np.float32),  # (N, T)
        "masks": clip.stacked("mask").astype(bool),  # (N, T, H, W) visible pixels
        "amodal_masks": clip.stacked("amodal_mask").astype(bool),  # (N, T, H, W)
        "labels": clip.labels,  # (T, H, W) int8, -1 = background
        "camera": clip.camera.astype(np.float32),  # (T, 4) tx, ty, zoom, roll
        "camera_matrix": clip.camera_matrix.astype(np.float64),  # (T, 3, 3) world -> image
        "flow": clip.flow.astype(np.float16),  # (T-1, H, W, 2)
        "flow_valid": clip.flow_valid,  # (T-1, H, W)
        "motion_amount": np.float32(clip.motion_amount),
    }


def load_ground_truth(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a ``gt/*.npz`` sidecar (no pickle) into a dict of arrays."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def export_world(config: WorldConfig, n: int, out_dir: str | os.PathLike, split: str = "train", seed: int = 0,
                 fmt: str = "mp4", start: int = 0) -> Path:
    """Render clips ``start .. start+n-1`` of ``split`` (world ``seed``) to ``out_dir``; return the manifest path."""
    check_range("n", n, 1, 1 << 25)
    if fmt not in FORMATS:
        raise ConfigError(f"fmt={fmt!r} is not one of {sorted(FORMATS)}")
    out = Path(out_dir)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    records = []
    for index in range(start, start + n):
        clip_s = clip_seed(split, index, seed)
        clip = generate_clip(config, clip_s, split=split)
        name = f"{split}_{index:06d}"
        video = out / "videos" / (name + FORMATS[fmt])
        write_video(video, clip.frames, clip.fps, fmt=fmt,
                    metadata={"generator": "kinema.data.world", "seed": clip_s, "split": split,
                              "caption": clip.caption})
        gt = out / "gt" / f"{name}.npz"
        np.savez_compressed(gt, **ground_truth_arrays(clip))
        t, h, w = clip.frames.shape[:3]
        records.append(VideoRecord(path=video.resolve(), caption=clip.caption, fps=clip.fps, frames=t, width=w,
                                   height=h, motion_score=clip.motion_amount, split=split, seed=clip_s,
                                   extra={"gt": f"gt/{name}.npz", "index": index, "world": clip.attributes}))
    (out / "world_config.json").write_text(json.dumps(to_dict(config), indent=1) + "\n")
    return write_manifest(records, out / "manifest.jsonl")
